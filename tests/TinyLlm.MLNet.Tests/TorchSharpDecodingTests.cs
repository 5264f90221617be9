using Microsoft.ML;
using Spectre.Console;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Decoding;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>The TorchSharp decoding path (KV cache on the model's device) against the full forward and the .NET engine.</summary>
[TestClass]
public sealed class TorchSharpDecodingTests
{
    private static void AssertClose(torch.Tensor expected, ReadOnlySpan<float> actual, string what)
    {
        float scale = expected.abs().max().item<float>();
        float diff = (expected - torch.tensor(actual.ToArray())).abs().max().item<float>();
        Assert.IsLessThan(1e-4, diff / scale, $"{what}: relative difference {diff / scale:E2}");
    }

    [TestMethod]
    [DataRow(4, 4, DisplayName = "multi-head")]
    [DataRow(4, 2, DisplayName = "grouped-query")]
    public void CachedLogitsEqualTheFullForwardOverASequence(int heads, int kvHeads)
    {
        torch.manual_seed(11);
        using var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = heads, NKvHeads = kvHeads, VocabSize = 100, MultipleOf = 16, MaxSeqLen = 32 });
        model.eval();
        int[] a = Enumerable.Range(0, 30).Select(i => (i * 37 + 5) % 100).ToArray();
        int[] b = Enumerable.Range(0, 30).Select(i => (i * 11 + 3) % 100).ToArray();
        using var noGrad = torch.no_grad();
        var fullA = model.forward(torch.tensor(a.Select(t => (long)t).ToArray(), [1, a.Length]))[0];
        var fullB = model.forward(torch.tensor(b.Select(t => (long)t).ToArray(), [1, b.Length]))[0];

        // Two sequences in slots 1 and 0: prompts of different lengths prefilled in one batch, then single tokens
        // with each sequence at its own position.
        using var decoder = new TorchSharpDecoder(model, slots: 2);
        decoder.Prefill([1, 0], [a[..10], b[..4]]);
        AssertClose(fullA[9], decoder.Logits(1), "prefill, a's last position");
        AssertClose(fullB[3], decoder.Logits(0), "prefill, b's last position");
        for (int pos = 10; pos < a.Length; pos++)
        {
            int posB = pos - 6;
            decoder.Forward([1, 0], [a[pos], b[posB]], [pos, posB]);
            AssertClose(fullA[pos], decoder.Logits(1), $"a at position {pos}");
            AssertClose(fullB[posB], decoder.Logits(0), $"b at position {posB}");
        }

        // The model's cached forward itself gives every prompt position's logits.
        using var cache = new KvCache(model.Config, slots: 1);
        var prompt = model.forward(torch.tensor(a[..12].Select(t => (long)t).ToArray(), [1, 12]), torch.arange(12L).view(1, 12), cache, torch.tensor(new long[] { 0 }));
        float rel = ((prompt[0] - fullA[..12]).abs().max() / fullA.abs().max()).item<float>();
        Assert.IsLessThan(1e-4, rel, $"prefill logits: relative difference {rel:E2}");
    }

    [TestMethod]
    public void Bf16ComputeStaysWithinBf16PrecisionOfTheFullForward()
    {
        var weights = RandomWeights(vocab: 100, seqLen: 32, scale: 1f);
        using var reference = weights.ToLlamaModel();
        reference.eval();
        int[] ids = Enumerable.Range(0, 20).Select(i => (i * 37 + 5) % 100).ToArray();
        using var noGrad = torch.no_grad();
        var full = reference.forward(torch.tensor(ids.Select(t => (long)t).ToArray(), [1, ids.Length]))[0];
        var decoders = new TorchSharpDecoders(weights, "cpu", torch.ScalarType.BFloat16);
        Assert.AreEqual(torch.ScalarType.BFloat16, decoders.Model.ComputeType);
        using var decoder = decoders.Create(1);
        decoder.Prefill([0], [ids[..8]]);
        float worst = 0;
        for (int pos = 8; pos < ids.Length; pos++)
        {
            decoder.Forward([0], [ids[pos]], [pos]);
            float scale = full[pos].abs().max().item<float>();
            worst = Math.Max(worst, (full[pos] - torch.tensor(decoder.Logits(0).ToArray())).abs().max().item<float>() / scale);
        }
        Assert.IsLessThan(0.05, worst, $"bf16 relative difference {worst:E2}");
        Assert.IsGreaterThan(1e-5, worst, "bf16 compute should not be exact fp32");
    }

    [TestMethod]
    public void NoTensorOutlivesADecodingStep()
    {
        torch.manual_seed(5);
        using var model = new LlamaModel(new LlamaConfig { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 50, MultipleOf = 16, MaxSeqLen = 64 });
        using var decoder = new TorchSharpDecoder(model, slots: 2);
        decoder.Prefill([0, 1], [[1, 2, 3], [4, 5]]);
        long live = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        for (int pos = 3; pos < 40; pos++) decoder.Forward([0, 1], [pos % 50, (pos * 7) % 50], [pos, pos - 1]);
        decoder.Prefill([1], [[9, 8, 7, 6]]);
        Assert.AreEqual(live, DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount, "live tensors after 37 steps and a prefill");
    }

    [TestMethod]
    public void ACursorFreesItsDecoderWhenDisposed()
    {
        var ml = new MLContext(seed: 1);
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var options = new LlamaGenerationOptions { Backend = GenerationBackend.TorchSharp, Device = "cpu", BatchSize = 2, Sampling = new SamplingOptions { MaxNewTokens = 6 } };
        var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), options);
        transformer.GenerateBatch(["Tom"]); // puts the model on its device once
        long live = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

        var data = ml.Data.LoadFromEnumerable(new[] { "Tom", "Lily", "Ben" }.Select(t => new StoryPrompt { Text = t }).ToArray());
        var output = transformer.Transform(data);
        using (var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name == "Completion")))
        {
            var completion = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Completion"]);
            ReadOnlyMemory<char> text = default;
            while (cursor.MoveNext()) completion(ref text);
            Assert.IsGreaterThan(live, DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount, "the cursor's decoder holds its cache");
        }
        Assert.AreEqual(live, DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount, "tensors left after the cursor was disposed");
        // (A PredictionEngine disposes only its input row, not the output row; its decoder goes with the garbage collector.)
    }

    [TestMethod]
    public void GreedyTextIsTheSameOnTheEngineAndOnTorchSharpFor200Tokens()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 256, scale: 12f);
        var engine = new TextGenerator(weights, Tokenizer, GenerationBackend.Engine, "cpu");
        var torchSharp = new TextGenerator(weights, Tokenizer, GenerationBackend.TorchSharp, "cpu");
        Assert.AreEqual(GenerationBackend.Engine, engine.Decoders.Backend);
        Assert.AreEqual(GenerationBackend.TorchSharp, torchSharp.Decoders.Backend);
        Assert.AreEqual("cpu", torchSharp.Decoders.Device);
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 200 };
        var expected = engine.Generate("Once upon a time", greedy);
        var actual = torchSharp.Generate("Once upon a time", greedy);
        Assert.AreEqual(200, expected.TokenIds.Count, "the check is weak if the story ends early");
        Assert.IsGreaterThan(5, expected.TokenIds.Distinct().Count(), "the check is weak if greedy decoding repeats one token");
        CollectionAssert.AreEqual(expected.TokenIds.ToArray(), actual.TokenIds.ToArray());
        Assert.AreEqual(expected.Text, actual.Text);
    }

    [TestMethod]
    public void SamplingGivesTheSameTokensOnBothBackendsForEachSeed()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 128, scale: 3f);
        var engine = new TextGenerator(weights, Tokenizer, GenerationBackend.Engine, "cpu");
        var torchSharp = new TextGenerator(weights, Tokenizer, GenerationBackend.TorchSharp, "cpu");
        foreach (ulong seed in new ulong[] { 1, 7, 42, 1337 })
        {
            var options = new SamplingOptions { Temperature = 1.0f, TopK = 50, TopP = 0.9f, Seed = seed, MaxNewTokens = 60 };
            var expected = engine.Generate("Lily saw a", options);
            var actual = torchSharp.Generate("Lily saw a", options);
            Assert.IsGreaterThan(10, expected.TokenIds.Count, $"seed {seed}: the check is weak on a short story");
            CollectionAssert.AreEqual(expected.TokenIds.ToArray(), actual.TokenIds.ToArray(), $"seed {seed}");
        }
    }

    [TestMethod]
    public void ABatchOnTorchSharpGivesTheSameStoriesAsOneAtATime()
    {
        // Prompts of different lengths, and a context short enough that the sliding window refills a cache.
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 48, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer, GenerationBackend.TorchSharp, "cpu");
        string[] prompts = ["Tom had a ball.", "Once upon a time, there was a little girl named Lily who", "Tom had a ball."];
        var options = new SamplingOptions { Seed = 21, MaxNewTokens = 60, TopK = 40 };
        var batch = generator.GenerateBatch(prompts, options);
        var engineBatch = new TextGenerator(weights, Tokenizer, GenerationBackend.Engine, "cpu").GenerateBatch(prompts, options);
        for (int i = 0; i < prompts.Length; i++)
        {
            var one = options.Clone();
            one.Seed = 21 + (ulong)i;
            var alone = generator.Generate(prompts[i], one);
            CollectionAssert.AreEqual(alone.TokenIds.ToArray(), batch[i].TokenIds.ToArray(), $"sequence {i}");
            CollectionAssert.AreEqual(engineBatch[i].TokenIds.ToArray(), batch[i].TokenIds.ToArray(), $"sequence {i} on the engine");
        }
        Assert.IsTrue(batch.Any(r => r.TokenIds.Count + r.PromptTokens > 48), "the check should include a sequence that outgrows the 48-token context");
    }

    [TestMethod]
    public void TheBackendChoiceSurvivesSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        ml.ComponentCatalog.RegisterTinyLlm();
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var data = ml.Data.LoadFromEnumerable(new[] { new StoryPrompt { Text = "Tom had a ball." } });
        string dir = Directory.CreateTempSubdirectory("tinyllm-backend-").FullName;
        try
        {
            foreach (var (backend, device, batch) in new[] { (GenerationBackend.TorchSharp, "cpu", 2), (GenerationBackend.Engine, "auto", 1), (GenerationBackend.Auto, "cuda", 16) })
            {
                var options = new LlamaGenerationOptions { Backend = backend, Device = device, BatchSize = batch, Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 5 } };
                var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), options);
                string zip = Path.Combine(dir, $"{backend}-{device}.zip");
                ml.Model.Save(transformer, data.Schema, zip);
                var loaded = (LlamaGenerationTransformer)ml.Model.Load(zip, out _);
                Assert.AreEqual(backend, loaded.Options.Backend);
                Assert.AreEqual(device, loaded.Options.Device);
                Assert.AreEqual(batch, loaded.Options.BatchSize);
            }
            var torchLoaded = (LlamaGenerationTransformer)ml.Model.Load(Path.Combine(dir, "TorchSharp-cpu.zip"), out _);
            Assert.AreEqual(GenerationBackend.TorchSharp, torchLoaded.Generator.Decoders.Backend);
            var engineLoaded = (LlamaGenerationTransformer)ml.Model.Load(Path.Combine(dir, "Engine-auto.zip"), out _);
            Assert.AreEqual(GenerationBackend.Engine, engineLoaded.Generator.Decoders.Backend);
            // Greedy stories agree across the two loaded backends.
            CollectionAssert.AreEqual(engineLoaded.GenerateBatch(["Tom had a ball."]).ToArray(), torchLoaded.GenerateBatch(["Tom had a ball."]).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void AnUnavailableBackendOrDeviceGivesAClearError()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 1f);
        if (!torch.cuda.is_available())
        {
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => DecoderBackends.Select(weights, GenerationBackend.TorchSharp, "cuda"));
            StringAssert.Contains(e.Message, "CPU-only libtorch (libtorch-cpu-linux-x64)");
            StringAssert.Contains(e.Message, "-p:TinyLlmTorchBackend=cuda");
            e = Assert.ThrowsExactly<InvalidOperationException>(() => new TextGenerator(weights, Tokenizer, GenerationBackend.Auto, "cuda").Generate("Tom", new SamplingOptions()));
            StringAssert.Contains(e.Message, "'cuda'");
            // Auto on a machine without CUDA is the .NET engine.
            Assert.AreEqual(GenerationBackend.Engine, DecoderBackends.Select(weights).Backend);
        }
        var engineOnCuda = Assert.ThrowsExactly<ArgumentException>(() => DecoderBackends.Select(weights, GenerationBackend.Engine, "cuda"));
        StringAssert.Contains(engineOnCuda.Message, "CPU only");
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => new TextGenerator(weights, Tokenizer, GenerationBackend.Engine, "tpu"));
        StringAssert.Contains(unknown.Message, "auto, cpu or cuda");
    }

    [TestMethod]
    public void AnAppWithoutTheTorchSharpPackageNamesItWhenAModelAsksForTorchSharp()
    {
        // The probe's own build references TinyLlm.MLNet.Core only (that Auto serves there is checked by
        // GenerationTests.WholePipelineFitsSavesAndScoresTheSameStoryInAFreshProcess).
        var ml = new MLContext(seed: 1);
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var data = ml.Data.LoadFromEnumerable(new[] { new StoryPrompt { Text = "Tom" } });
        string dir = Directory.CreateTempSubdirectory("tinyllm-probe-backend-").FullName;
        try
        {
            var options = new LlamaGenerationOptions { Backend = GenerationBackend.TorchSharp, Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 5 } };
            string zip = Path.Combine(dir, "torchsharp.zip");
            ml.Model.Save(new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), options), data.Schema, zip);
            string dll = Path.Combine(ModelPersistenceTests.ProbeBuildFolder(), "TinyLlm.MLNet.ProcessProbe.dll");
            int code = ReferenceTools.Run("dotnet", $"\"{dll}\" story \"{zip}\" \"Tom had a\"", out string output);
            Assert.AreEqual(1, code, output);
            StringAssert.Contains(output, "needs the TinyLlm.MLNet package (TorchSharp)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void AVersion1GenerationModelReadsAsAutoOnAuto()
    {
        // The main stream exactly as format version 1 wrote it: no backend or device fields.
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var main = new MemoryStream();
        using (var w = new BinaryWriter(main, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write("Text"); w.Write("Completion"); w.Write(false); w.Write(false);
            w.Write(0f); w.Write(300); w.Write(1f); w.Write(7UL); w.Write(12);
        }
        main.Position = 0;
        var parts = new Dictionary<string, byte[]> { ["tokenizer.model"] = Tokenizer.ToBytes() };
        using (var blob = new MemoryStream())
        {
            Llama2cCheckpoint.Write(weights, blob);
            parts["weights.bin"] = blob.ToArray();
        }
        var reader = new ModelPayloadReader(new BinaryReader(main), 1, "TinyLlmLlamaGeneration", (name, read) =>
        {
            if (!parts.TryGetValue(name, out var bytes)) return false;
            read(new MemoryStream(bytes));
            return true;
        });
        var loaded = LlamaGenerationTransformer.Load(new MLContext(), reader);
        Assert.AreEqual(GenerationBackend.Auto, loaded.Options.Backend);
        Assert.AreEqual("auto", loaded.Options.Device);
        Assert.AreEqual(4, loaded.Options.BatchSize);
        Assert.AreEqual(12, loaded.Options.Sampling.MaxNewTokens);
        Assert.AreEqual(7UL, loaded.Options.Sampling.Seed);
    }

    [TestMethod]
    public void TheGenerateCommandRunsTheChosenBackendAndRejectsBadChoices()
    {
        string dir = Directory.CreateTempSubdirectory("tinyllm-generate-backend-").FullName;
        try
        {
            string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
            Llama2cCheckpoint.Write(RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f), model);
            File.WriteAllBytes(tok, Tokenizer.ToBytes());
            string[] common = ["generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--max-new-tokens", "8", "--temperature", "0"];
            CliResult run;

            run = Cli.Capture([.. common, "--backend", "torch", "--device", "cpu"]);
            Assert.AreEqual(0, run.ExitCode, run.All);
            StringAssert.Contains(run.All, "torch on cpu");
            run = Cli.Capture([.. common, "--backend", "engine"]);
            Assert.AreEqual(0, run.ExitCode, run.All);
            StringAssert.Contains(run.All, "engine on cpu");

            run = Cli.Capture([.. common, "--backend", "onnx"]);
            Assert.AreEqual(1, run.ExitCode, run.All);
            StringAssert.Contains(run.All, "--backend must be auto, engine or torch; it was 'onnx'.");
            run = Cli.Capture([.. common, "--device", "tpu"]);
            Assert.AreEqual(1, run.ExitCode, run.All);
            StringAssert.Contains(run.All, "--device must be auto, cpu or cuda; it was 'tpu'.");
            run = Cli.Capture([.. common, "--backend", "engine", "--device", "cuda"]);
            Assert.AreEqual(1, run.ExitCode, run.All);
            StringAssert.Contains(run.All, "CPU only");
            if (!torch.cuda.is_available())
            {
                run = Cli.Capture([.. common, "--device", "cuda"]);
                Assert.AreEqual(1, run.ExitCode, run.All);
                // one line naming what is missing and how to get it, no native trace
                StringAssert.Contains(run.All, "CPU-only libtorch (libtorch-cpu-linux-x64): build it with -p:TinyLlmTorchBackend=cuda");
                Assert.AreEqual(1, run.All.Trim().Split('\n').Length, run.All);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
