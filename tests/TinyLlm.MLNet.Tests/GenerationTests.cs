using Microsoft.ML;
using TinyLlm.MLNet.ProcessProbe;
using TorchSharp;

using static TinyLlm.MLNet.Tests.GenerationTestModels;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class SamplerTests
{
    private static float[] Logits(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
    }

    [TestMethod]
    public void GreedyTopK1AndTinyTopPAllPickTheArgmax()
    {
        var logits = Logits(500, 1);
        int argmax = Array.IndexOf(logits, logits.Max());
        Assert.AreEqual(argmax, new Sampler(500, new SamplingOptions { Temperature = 0 }).Sample(logits));
        var topK1 = new Sampler(500, new SamplingOptions { TopK = 1, Seed = 3 });
        var tinyP = new Sampler(500, new SamplingOptions { TopK = 500, TopP = 1e-6f, Seed = 4 });
        for (int i = 0; i < 20; i++)
        {
            Assert.AreEqual(argmax, topK1.Sample(logits));
            Assert.AreEqual(argmax, tinyP.Sample(logits));
        }
    }

    [TestMethod]
    public void SameSeedSameTokensOtherSeedOtherTokens()
    {
        var logits = Logits(300, 2);
        int[] Draw(ulong seed)
        {
            var s = new Sampler(300, new SamplingOptions { Seed = seed, TopK = int.MaxValue });
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits)).ToArray();
        }
        CollectionAssert.AreEqual(Draw(7), Draw(7));
        CollectionAssert.AreNotEqual(Draw(7), Draw(8));
    }

    [TestMethod]
    public void DrawsFollowTheSoftmaxWithinTopK()
    {
        float[] logits = [2f, 1f, 0f, -1f, 5f];
        var s = new Sampler(5, new SamplingOptions { TopK = 3, Seed = 11 });
        var counts = new int[5];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[s.Sample(logits)]++;
        Assert.AreEqual(0, counts[2] + counts[3], "tokens outside the top 3 were drawn");
        double z = Math.Exp(5) + Math.Exp(2) + Math.Exp(1);
        Assert.AreEqual(Math.Exp(5) / z, counts[4] / (double)n, 0.01);
        Assert.AreEqual(Math.Exp(2) / z, counts[0] / (double)n, 0.01);
        Assert.AreEqual(Math.Exp(1) / z, counts[1] / (double)n, 0.01);
    }

    [TestMethod]
    public void OptionsOutOfRangeNameTheOption()
    {
        void Bad(SamplingOptions o, string name)
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(o.Validate);
            StringAssert.Contains(e.Message, name);
        }
        Bad(new SamplingOptions { Temperature = -0.5f }, "temperature");
        Bad(new SamplingOptions { Temperature = float.NaN }, "temperature");
        Bad(new SamplingOptions { TopK = 0 }, "top_k");
        Bad(new SamplingOptions { TopP = 0f }, "top_p");
        Bad(new SamplingOptions { TopP = 1.5f }, "top_p");
        Bad(new SamplingOptions { MaxNewTokens = 0 }, "max_new_tokens");
    }
}

[TestClass]
public sealed class GenerationTests
{
    [TestMethod]
    [DataRow(4, 4, DisplayName = "multi-head")]
    [DataRow(4, 2, DisplayName = "grouped-query")]
    [DataRow(8, 1, DisplayName = "multi-query")]
    public void EngineLogitsEqualTheTorchSharpModelsForEachAttentionShape(int heads, int kvHeads)
    {
        torch.manual_seed(11);
        using var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = heads, NKvHeads = kvHeads, VocabSize = 100, MultipleOf = 16, MaxSeqLen = 24 });
        model.eval();
        var engine = new InferenceEngine(model.ToTransformerWeights());
        long[] ids = Enumerable.Range(0, 24).Select(i => (long)((i * 37 + 5) % 100)).ToArray();
        using var noGrad = torch.no_grad();
        var expected = model.forward(torch.tensor(ids, [1, ids.Length]))[0];
        float scale = expected.abs().max().item<float>();
        for (int pos = 0; pos < ids.Length; pos++)
        {
            float diff = (expected[pos] - torch.tensor(engine.Forward((int)ids[pos], pos).ToArray())).abs().max().item<float>();
            Assert.IsTrue(diff / scale < 1e-4, $"position {pos}: relative difference {diff / scale:E2}");
        }
    }

    [TestMethod]
    public void GreedyWithTheCacheEqualsGreedyWithoutItFor200Tokens()
    {
        var weights = RandomWeights(vocab: 128, seqLen: 256, scale: 25f);
        var engine = new InferenceEngine(weights);
        var sampler = new Sampler(128, new SamplingOptions { Temperature = 0 });
        var cached = new List<int> { 1 };
        var logits = engine.Forward(1, 0);
        for (int i = 0; i < 200; i++)
        {
            int next = sampler.Sample(logits);
            cached.Add(next);
            if (i < 199) logits = engine.Forward(next, cached.Count - 1);
        }

        // The tutorial's loop: the whole sequence through the training model at every step, no cache.
        using var model = weights.ToLlamaModel();
        model.eval();
        using var noGrad = torch.no_grad();
        var uncached = new List<long> { 1 };
        for (int i = 0; i < 200; i++)
        {
            using var scope = torch.NewDisposeScope();
            var all = model.forward(torch.tensor(uncached.ToArray(), [1, uncached.Count]));
            uncached.Add(all[0, -1].argmax().item<long>());
        }
        CollectionAssert.AreEqual(uncached.Select(t => (int)t).ToArray(), cached.ToArray());
        Assert.IsTrue(cached.Distinct().Count() > 5, "the check is weak if greedy decoding repeats one token");
    }

    [TestMethod]
    public void StreamedPiecesAddUpToTheTextWithWholeCharacters()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        var pieces = new List<string>();
        var result = generator.Generate("Once upon a time, Lily saw a cat. ", new SamplingOptions { Seed = 9, MaxNewTokens = 60 }, pieces.Add);
        Assert.AreEqual(result.Text, string.Concat(pieces));
        Assert.IsTrue(result.TokenIds.Count > 0);
        Assert.IsFalse(result.TokenIds.Contains(Tokenizer.EosId));
    }

    [TestMethod]
    public void ABatchGivesTheSameStoriesAsOneAtATime()
    {
        // Prompts of different lengths advance together; sequence i uses seed + i, as generated alone.
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 48, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        string[] prompts = ["Tom had a ball.", "Once upon a time, there was a little girl named Lily who", "Tom had a ball."];
        var options = new SamplingOptions { Seed = 21, MaxNewTokens = 60, TopK = 40 };
        var streamed = new string[3];
        var batch = generator.GenerateBatch(prompts, options, (i, piece) => streamed[i] += piece);
        for (int i = 0; i < prompts.Length; i++)
        {
            var one = options.Clone();
            one.Seed = 21 + (ulong)i;
            var alone = generator.Generate(prompts[i], one);
            CollectionAssert.AreEqual(alone.TokenIds.ToArray(), batch[i].TokenIds.ToArray(), $"sequence {i}");
            Assert.AreEqual(alone.Text, batch[i].Text);
            Assert.AreEqual(batch[i].Text, streamed[i] ?? "");
        }
        Assert.AreNotEqual(batch[0].Text, batch[2].Text, "same prompt, different seeds");
        Assert.IsTrue(batch.Any(r => r.TokenIds.Count + r.PromptTokens > 48) || batch.All(r => r.StoppedAtEndOfText),
            "the check should include a sequence that outgrows the 48-token context");
    }

    [TestMethod]
    public void ByteFallbackPiecesAreHeldBackUntilTheyFormACharacter()
    {
        // "é" is U+00E9, UTF-8 C3 A9; byte pieces <0xNN> have ids 3 + NN.
        int[] prompt = Tokenizer.Encode("Lily").ToArray();
        var decoder = new IncrementalDetokenizer(Tokenizer, prompt);
        Assert.AreEqual("", decoder.Append(3 + 0xC3));
        Assert.AreEqual("é", decoder.Append(3 + 0xA9));
        // A three-byte character (U+2603, E2 98 83) appears only when its last byte arrives.
        Assert.AreEqual("", decoder.Append(3 + 0xE2));
        Assert.AreEqual("", decoder.Append(3 + 0x98));
        Assert.AreEqual("☃", decoder.Append(3 + 0x83));
        Assert.AreEqual("é☃", decoder.Text);
    }

    [TestMethod]
    public void APromptLongerThanTheContextKeepsItsLastTokens()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        string longPrompt = string.Join(" ", GenerationTestModels.Stories.Take(3));
        int[] ids = generator.EncodePrompt(longPrompt);
        var full = Tokenizer.Encode(longPrompt);
        Assert.AreEqual(31, ids.Length);
        CollectionAssert.AreEqual(full.Skip(full.Count - 31).ToArray(), ids);
        var result = generator.Generate(longPrompt, new SamplingOptions { Seed = 1, MaxNewTokens = 80 });
        Assert.AreEqual(31, result.PromptTokens);
        Assert.IsTrue(result.TokenIds.Count == 80 || result.StoppedAtEndOfText);
    }

    [TestMethod]
    public void APredictionEngineSamplesEachCallWithTheNextSeed()
    {
        var ml = new MLContext();
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        var options = new LlamaGenerationOptions { Sampling = new SamplingOptions { Seed = 40, MaxNewTokens = 20 }, TokenIdsColumnName = "Ids" };
        var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), options);
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(transformer);
        string first = engine.Predict(new StoryPrompt { Text = "Tom had a ball." }).Completion;
        string second = engine.Predict(new StoryPrompt { Text = "Tom had a ball." }).Completion;
        Assert.AreNotEqual(first, second);

        var generator = transformer.Generator;
        Assert.AreEqual(generator.Generate("Tom had a ball.", new SamplingOptions { Seed = 40, MaxNewTokens = 20 }).Text, first);
        Assert.AreEqual(generator.Generate("Tom had a ball.", new SamplingOptions { Seed = 41, MaxNewTokens = 20 }).Text, second);

        // The IDataView path: row i uses seed 40 + i, and the ids column agrees with the text.
        var rows = ml.Data.CreateEnumerable<IdsRow>(transformer.Transform(ml.Data.LoadFromEnumerable(
            [new StoryPrompt { Text = "Tom had a ball." }, new StoryPrompt { Text = "Tom had a ball." }])), reuseRowObject: false).ToArray();
        Assert.AreEqual(first, rows[0].Completion);
        Assert.AreEqual(second, rows[1].Completion);
        CollectionAssert.AreEqual(new[] { first, second }, transformer.GenerateBatch(["Tom had a ball.", "Tom had a ball."]).ToArray());
        Assert.AreEqual(first, Tokenizer.Decode(Tokenizer.Encode("Tom had a ball.").Concat(rows[0].Ids)).Substring("Tom had a ball.".Length));
    }

    [TestMethod]
    public void ACursorCompletesRowsInBatchesWithTheSameStoriesAsRowByRow()
    {
        var ml = new MLContext();
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        string[] prompts = ["Tom had a ball.", "Once upon a time", "Lily", "Tom had a ball.", "One day, Lily met a", "The sun", "Ben ran"];
        var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new StoryPrompt { Text = p }).ToArray());
        var sampling = new SamplingOptions { Seed = 7, MaxNewTokens = 24, Temperature = 1f, TopK = 50, TopP = 0.9f };
        LlamaGenerationTransformer With(int batch) => new(ml, weights, Tokenizer.ToBytes(),
            new LlamaGenerationOptions { Sampling = sampling, BatchSize = batch, TokenIdsColumnName = "Ids" });

        // 7 rows in batches of 3 (3 + 3 + 1) and of 4 (4 + 3) against one at a time: row n uses seed 7 + n.
        var rowByRow = ml.Data.CreateEnumerable<IdsRow>(With(1).Transform(data), reuseRowObject: false).ToArray();
        foreach (int batch in new[] { 3, 4 })
        {
            var batched = ml.Data.CreateEnumerable<IdsRow>(With(batch).Transform(data), reuseRowObject: false).ToArray();
            Assert.HasCount(prompts.Length, batched);
            for (int i = 0; i < prompts.Length; i++)
            {
                Assert.AreEqual(rowByRow[i].Completion, batched[i].Completion, $"batch {batch}, row {i}");
                CollectionAssert.AreEqual(rowByRow[i].Ids, batched[i].Ids, $"batch {batch}, row {i}");
            }
        }
        Assert.AreNotEqual(rowByRow[0].Completion, rowByRow[3].Completion, "same prompt, rows 0 and 3, different seeds");

        // The same as a PredictionEngine scoring the prompts in order, and as GenerateBatch.
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(With(4));
        for (int i = 0; i < prompts.Length; i++)
            Assert.AreEqual(rowByRow[i].Completion, engine.Predict(new StoryPrompt { Text = prompts[i] }).Completion, $"row {i}");
        CollectionAssert.AreEqual(rowByRow.Select(r => r.Completion).ToArray(), With(4).GenerateBatch(prompts).ToArray());

        // Reading only some rows: each still gets its own row's seed.
        using var cursor = With(3).Transform(data).GetRowCursor(With(3).GetOutputSchema(data.Schema).Where(c => c.Name == "Completion"));
        var completion = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Completion"]);
        ReadOnlyMemory<char> text = default;
        for (int i = 0; cursor.MoveNext(); i++)
        {
            if (i % 3 != 2) continue;
            completion(ref text);
            Assert.AreEqual(rowByRow[i].Completion, text.ToString(), $"sparse row {i}");
        }

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => With(0));
    }

    private sealed class IdsRow
    {
        public string Completion { get; set; } = "";

        [Microsoft.ML.Data.VectorType]
        public int[] Ids { get; set; } = [];
    }

    [TestMethod]
    public void ATokenizerOfAnotherVocabularyIsRejected()
    {
        var weights = RandomWeights(vocab: 128, seqLen: 16, scale: 1f);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new TextGenerator(weights, Tokenizer));
        StringAssert.Contains(e.Message, "400");
        StringAssert.Contains(e.Message, "128");
    }

    [TestMethod]
    public void WholePipelineFitsSavesAndScoresTheSameStoryInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var stories = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new StoryPrompt { Text = s }));
        string dir = Directory.CreateTempSubdirectory("tinyllm-pipeline-").FullName;
        var pipeline = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 })
            .Append(ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions
            {
                Training = new TrainingOptions
                {
                    OutDir = dir, Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, MaxSeqLen = 32,
                    BatchSize = 8, GradientAccumulationSteps = 1, MaxIters = 20, WarmupIters = 2, EvalInterval = 10,
                    EvalIters = 2, LearningRate = 1e-2, Device = "cpu", Dtype = "float32",
                },
                Generation = new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 30 } },
            }));
        var model = pipeline.Fit(stories);
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(model);
        string before = engine.Predict(new StoryPrompt { Text = "One day, Lily met a" }).Completion;
        Assert.IsFalse(string.IsNullOrEmpty(before));

        string zip = Path.Combine(dir, "tinyllm.zip");
        ml.Model.Save(model, stories.Schema, zip);
        int code = ModelPersistenceTests.RunProbe("story", zip, "One day, Lily met a", out string after);
        Assert.AreEqual(0, code, after);
        Assert.AreEqual(before, after);

        // Serving needs no libtorch and no registration call: the same from the probe's own build, which references
        // TinyLlm.MLNet.Core only and loads the zip on a bare MLContext.
        string probeDir = ModelPersistenceTests.ProbeBuildFolder();
        Assert.IsFalse(File.Exists(Path.Combine(probeDir, "TorchSharp.dll")), $"TorchSharp.dll is in {probeDir}");
        Assert.IsFalse(Directory.EnumerateFiles(probeDir, "libtorch*", SearchOption.AllDirectories).Any(), $"libtorch is in {probeDir}");
        code = ReferenceTools.Run("dotnet", $"\"{Path.Combine(probeDir, "TinyLlm.MLNet.ProcessProbe.dll")}\" story-unregistered \"{zip}\" \"One day, Lily met a\"", out string served);
        Assert.AreEqual(0, code, served);
        Assert.AreEqual(before, served);
    }
}
