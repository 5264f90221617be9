using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Evaluation;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Training;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// <c>mlContext.LanguageModel.Evaluate</c>: the metrics checked by hand, the two backends against each other, and the
/// evaluation against the trainer's own validation loss on the same windows.
/// </summary>
[TestClass]
public sealed class EvaluationTests
{
    private static readonly string[] Texts = ["Tom had a red ball. He liked to play with it in the park.", "  Lily met a curious owl.\n", "", "Sam ran."];

    private static IDataView TextData(MLContext ml, IEnumerable<string> texts) =>
        ml.Data.LoadFromEnumerable(texts.Select(t => new StoryPrompt { Text = t }));

    private static LanguageModelEvaluationOptions On(GenerationBackend backend, int batch = 3) => new() { Backend = backend, Device = "cpu", BatchSize = batch };

    [TestMethod]
    public void AModelThatKnowsNothingScoresLnVocabPerTokenAndLog2VocabBitsPerTokenOverTheBytes()
    {
        // All-zero weights: every logit is 0, so p = 1 / vocab for every token, whatever the text.
        var ml = new MLContext(seed: 1);
        var zero = new TransformerWeights(new LlamaConfig { Dim = 16, NLayers = 1, NHeads = 2, NKvHeads = 1, VocabSize = Tokenizer.VocabSize, MultipleOf = 16, MaxSeqLen = 8 });
        var metrics = ml.LanguageModel.Evaluate(zero, Tokenizer, TextData(ml, Texts), On(GenerationBackend.Engine));

        string[] stripped = Texts.Select(t => t.Trim()).Where(t => t.Length > 0).ToArray();
        long tokens = stripped.Sum(t => Tokenizer.Encode(t).Count - 1); // every token after BOS
        long bytes = stripped.Sum(t => System.Text.Encoding.UTF8.GetByteCount(t));
        Assert.AreEqual(tokens, metrics.TokenCount);
        Assert.AreEqual(bytes, metrics.ByteCount);
        Assert.AreEqual(3, metrics.RowCount, "the empty text has nothing to predict");
        Assert.AreEqual(Math.Log(Tokenizer.VocabSize), metrics.CrossEntropy, 1e-9);
        Assert.AreEqual(Tokenizer.VocabSize, metrics.Perplexity, 1e-6);
        Assert.AreEqual(tokens * Math.Log2(Tokenizer.VocabSize) / bytes, metrics.BitsPerByte, 1e-9);
    }

    [TestMethod]
    public void CrossEntropyAndBitsPerByteAreTheNegativeLogLikelihoodsOfEveryTokenCountedByHand()
    {
        // A context of 8, so the first text spans several windows: each restarts the context at a stride of 8 tokens.
        var ml = new MLContext(seed: 1);
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 8, scale: 3f);
        var metrics = ml.LanguageModel.Evaluate(weights, Tokenizer, TextData(ml, Texts), On(GenerationBackend.Engine));

        double total = 0;
        long bytes = 0, tokens = 0, windows = 0;
        using var engine = new InferenceEngine(weights);
        foreach (string text in Texts.Select(t => t.Trim()).Where(t => t.Length > 0))
        {
            var ids = Tokenizer.Encode(text).ToArray();
            for (int start = 0; start < ids.Length - 1; start += 8, windows++)
            {
                for (int p = 0; start + p + 1 < ids.Length && p < 8; p++)
                {
                    var logits = engine.Forward(ids[start + p], p).ToArray();
                    double max = logits.Max();
                    double logSumExp = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
                    total += logSumExp - logits[ids[start + p + 1]];
                }
            }
            tokens += ids.Length - 1;
            bytes += System.Text.Encoding.UTF8.GetByteCount(text);
        }
        Assert.IsTrue(windows > 3, "the long text should span several windows");
        Assert.AreEqual(windows, metrics.WindowCount);
        Assert.AreEqual(tokens, metrics.TokenCount);
        Assert.AreEqual(total / tokens, metrics.CrossEntropy, 1e-9);
        Assert.AreEqual(total / Math.Log(2) / bytes, metrics.BitsPerByte, 1e-9);
        StringAssert.Contains(metrics.ToString(), "bits/byte");
    }

    [TestMethod]
    public void TheEngineAndTorchSharpAgreeTiedAndUntiedOnTextAndOnTokenIds()
    {
        var ml = new MLContext(seed: 1);
        var stories = TextData(ml, GenerationTestModels.Stories.Take(12));
        foreach (bool shared in new[] { true, false })
        {
            var weights = InteropTestModels.Random(Tokenizer.VocabSize, shared, seqLen: 32);
            var engine = ml.LanguageModel.Evaluate(weights, Tokenizer, stories, On(GenerationBackend.Engine, batch: 5));
            var torch = ml.LanguageModel.Evaluate(weights, Tokenizer, stories, On(GenerationBackend.TorchSharp, batch: 4));
            Assert.AreEqual(engine.TokenCount, torch.TokenCount);
            Assert.AreEqual(engine.ByteCount, torch.ByteCount);
            Assert.AreEqual(engine.CrossEntropy, torch.CrossEntropy, 1e-4 * engine.CrossEntropy, $"shared {shared}");
            Assert.AreEqual(engine.BitsPerByte, torch.BitsPerByte, 1e-4 * engine.BitsPerByte, $"shared {shared}");
        }

        // The same stories as token ids: the same tokens, and their pieces decode to the same bytes.
        var weightsTied = InteropTestModels.Random(Tokenizer.VocabSize, shared: true, seqLen: 32);
        var ids = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Take(12).Select(s => new TokenRow { Tokens = Tokenizer.Encode(s.Trim()).ToArray() }));
        var fromText = ml.LanguageModel.Evaluate(weightsTied, Tokenizer, stories, On(GenerationBackend.Engine));
        var fromIds = ml.LanguageModel.Evaluate(weightsTied, Tokenizer, ids, new LanguageModelEvaluationOptions { TokensColumnName = "Tokens", Backend = GenerationBackend.TorchSharp });
        Assert.AreEqual(fromText.TokenCount, fromIds.TokenCount);
        Assert.AreEqual(fromText.ByteCount, fromIds.ByteCount, "pieces decode to the stories' bytes (these stories have single spaces only)");
        Assert.AreEqual(fromText.CrossEntropy, fromIds.CrossEntropy, 1e-4 * fromText.CrossEntropy);
        var noTokenizer = ml.LanguageModel.Evaluate(weightsTied, null, ids, new LanguageModelEvaluationOptions { TokensColumnName = "Tokens", Backend = GenerationBackend.Engine });
        Assert.AreEqual(fromText.CrossEntropy, noTokenizer.CrossEntropy, 1e-9);
        Assert.IsTrue(double.IsNaN(noTokenizer.BitsPerByte), "no tokenizer, no bytes");
    }

    [TestMethod]
    public void OnTheSameWindowsTheEvaluationIsTheTrainersValidationLoss()
    {
        string dir = Directory.CreateTempSubdirectory("tinyllm-eval-windows-").FullName;
        try
        {
            // A small validation shard (shard 0) and two training shards.
            new TokenShardWriter(Tokenizer.ToBytes()).Write(Enumerable.Range(0, 3).Select(s =>
                TokenShardInput.FromStories($"data{s:D2}", () => s == 0 ? GenerationTestModels.Stories.Take(6) : GenerationTestModels.Stories.Skip(s * 50).Take(50))), dir);
            var ml = new MLContext(seed: 1);
            using var windows = ml.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 32, Split = DataSplit.Validation, Columns = TokenWindowColumns.Window });
            int count = (int)windows.WindowCount(DataSplit.Validation);
            var options = new TrainingOptions
            {
                OutDir = Path.Combine(dir, "out"), Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = Tokenizer.VocabSize, MaxSeqLen = 32,
                BatchSize = 8, EvalIters = 1, EvalInterval = 100, MaxIters = 8, WarmupIters = 1, LearningRate = 1e-2, GradientAccumulationSteps = 1,
                Device = "cpu", Dtype = "float32", Seed = 1, WriteMetrics = false,
            };
            using var model = new LlamaTrainer(options).Fit(windows).Model;
            // One batch of every validation window, each once: the trainer's estimate is the mean over all of them.
            options.BatchSize = count;
            double valLoss = new LlamaTrainer(options).EstimateLoss(model, windows).Val;

            var weights = model.ToTransformerWeights();
            foreach (var backend in new[] { GenerationBackend.Engine, GenerationBackend.TorchSharp })
            {
                var metrics = ml.LanguageModel.Evaluate(weights, Tokenizer, windows, new LanguageModelEvaluationOptions { TokensColumnName = TokenWindowDataView.WindowColumnName, Backend = backend });
                Assert.AreEqual((long)count * 32, metrics.TokenCount);
                Assert.AreEqual(valLoss, metrics.CrossEntropy, 1e-4, backend.ToString());
            }
            Assert.IsTrue(count >= 20, $"{count} validation windows");
            Assert.IsTrue(valLoss < Math.Log(Tokenizer.VocabSize) - 0.5, $"the model learned nothing: val loss {valLoss}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void AZipLoadedInAFreshContextEvaluatesAsTheFittedModelAndLogsItsMetrics()
    {
        var ml = new MLContext(seed: 1);
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 2f);
        var data = TextData(ml, GenerationTestModels.Stories.Take(6));
        using var generator = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes());
        string zip = Path.Combine(Directory.CreateTempSubdirectory("tinyllm-eval-zip-").FullName, "model.zip");
        try
        {
            ml.Model.Save(generator, data.Schema, zip);
            var fresh = new MLContext(seed: 2);
            var log = new List<string>();
            fresh.Log += (_, e) => { lock (log) log.Add(e.Message); };
            var loaded = fresh.Model.Load(zip, out _);
            var reloaded = fresh.LanguageModel.Evaluate(loaded, data, new LanguageModelEvaluationOptions { Backend = GenerationBackend.Engine });
            var direct = ml.LanguageModel.Evaluate(generator, data);
            Assert.AreEqual(direct.CrossEntropy, reloaded.CrossEntropy, 1e-9);
            Assert.AreEqual(direct.BitsPerByte, reloaded.BitsPerByte, 1e-9);
            lock (log) Assert.IsTrue(log.Any(l => l.Contains("cross-entropy") && l.Contains("bits/byte")), string.Join("\n", log));

            var progress = new List<LanguageModelEvaluationProgress>();
            var limited = ml.LanguageModel.Evaluate(generator, data, new LanguageModelEvaluationOptions { MaxTokens = 50, Progress = new Collect<LanguageModelEvaluationProgress>(progress) });
            Assert.IsTrue(limited.TokenCount >= 50 && limited.TokenCount < direct.TokenCount, $"{limited.TokenCount} of {direct.TokenCount}");
            Assert.IsTrue(progress.Count > 0 && progress[^1].Tokens == limited.TokenCount);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(zip)!, recursive: true);
        }
    }

    [TestMethod]
    public void BadDataIsRefusedInMLNetsWordsOrByName()
    {
        var ml = new MLContext(seed: 1);
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 16, scale: 1f);
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 1f } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, numbers));
        StringAssert.Contains(e.Message, "Schema mismatch for input column 'Text': expected String, got Single");
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, numbers, new LanguageModelEvaluationOptions { TextColumnName = "Story" }));
        StringAssert.Contains(e.Message, "Could not find input column 'Story'");

        var empty = Assert.ThrowsExactly<ArgumentException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, TextData(ml, ["", "   ", "\n"]), On(GenerationBackend.Engine)));
        StringAssert.Contains(empty.Message, "no token to predict");
        var none = Assert.ThrowsExactly<ArgumentException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, TextData(ml, []), On(GenerationBackend.Engine)));
        StringAssert.Contains(none.Message, "no rows");

        var foreign = ml.Data.LoadFromEnumerable(new[] { new TokenRow { Tokens = [1, 5, Tokenizer.VocabSize + 3] } });
        var outside = Assert.ThrowsExactly<ArgumentException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, foreign, new LanguageModelEvaluationOptions { TokensColumnName = "Tokens", Backend = GenerationBackend.Engine }));
        StringAssert.Contains(outside.Message, $"token id {Tokenizer.VocabSize + 3}, outside the model's vocabulary");
        var textWithoutTokenizer = Assert.ThrowsExactly<ArgumentException>(() => ml.LanguageModel.Evaluate(weights, null, TextData(ml, ["Tom"])));
        StringAssert.Contains(textWithoutTokenizer.Message, "needs the model's tokenizer");
        var notAModel = Assert.ThrowsExactly<ArgumentException>(() => ml.LanguageModel.Evaluate(ml.Transforms.CopyColumns("A", "Text").Fit(TextData(ml, ["Tom"])), TextData(ml, ["Tom"])));
        StringAssert.Contains(notAModel.Message, "holds no TinyLlm language model");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.LanguageModel.Evaluate(weights, Tokenizer, TextData(ml, ["Tom"]), new LanguageModelEvaluationOptions { MaxTokens = 0 }));
    }

    private sealed class NumberRow
    {
        public float Text { get; set; }
    }

    private sealed class TokenRow
    {
        [Microsoft.ML.Data.VectorType]
        public int[] Tokens { get; set; } = [];
    }

    private sealed class Collect<T>(List<T> into) : IProgress<T>
    {
        public void Report(T value) => into.Add(value);
    }
}
