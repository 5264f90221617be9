using System.Text.Json;
using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Evaluation;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// scale-out/train.py, the distributed PyTorch trainer, against TinyLlm: the same window order, DDP over two gloo
/// processes equal to one process, the same losses as <c>tinyllm train</c> from the same weights, and a model that
/// goes out (export), trains on two processes and comes back (import, ML.NET zip, PredictionEngine).
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class ScaleOutTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The tiny model and schedule of the equivalence tests (tinyllm train's flag names).</summary>
    internal static readonly string[] TinyRun =
    [
        "--vocab-size", "96", "--dim", "64", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16",
        "--max-seq-len", "32", "--batch-size", "8", "--gradient-accumulation-steps", "2", "--learning-rate", "0.003",
        "--warmup-iters", "4", "--max-iters", "19", "--min-lr", "0.0003", "--weight-decay", "0.1", "--grad-clip", "1.0",
        "--eval-iters", "2", "--eval-interval", "10", "--seed", "7", "--device", "cpu",
    ];

    /// <summary>A tutorial-style dataset folder <c>tok96/</c>: a validation shard and two training shards of synthetic stories.</summary>
    internal static string TinyDataset()
    {
        string dir = TokenShardTestData.NewFolder("scale-out");
        string tok = Path.Combine(dir, "tok96");
        Directory.CreateDirectory(tok);
        for (int s = 0; s < 3; s++)
            TokenShardTestData.WriteBin(Path.Combine(tok, $"data{s:D2}.bin"), InMemoryTokenSource.SyntheticStories(s == 0 ? 3_000 : 12_000, 96, 30 + s));
        return dir;
    }

    [TestMethod]
    public void WindowOrderIsTinyLlmsForEverySplitAndEpoch()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        string shards = Path.Combine(data, "tok96");
        using var source = TokenShardBatchSource.Open(shards, new TokenWindowOptions { SequenceLength = 32, Seed = -5 });
        long train = source.WindowCount(DataSplit.Train), val = source.WindowCount(DataSplit.Validation);
        // three epochs of each split: the permutation of each epoch, and the wrap from one to the next
        long[] expectedTrain = Enumerable.Range(0, (int)(3 * train)).Select(p => source.WindowAt(DataSplit.Train, p)).ToArray();
        long[] expectedVal = Enumerable.Range(0, (int)(3 * val)).Select(p => source.WindowAt(DataSplit.Validation, p)).ToArray();

        string probe = Path.Combine(data, "windows.py");
        File.WriteAllText(probe, $$"""
            import json, sys
            sys.path.insert(0, {{JsonSerializer.Serialize(Path.GetDirectoryName(ScaleOutProcesses.Script))}})
            from shards import TokenWindows, TRAIN, VALIDATION
            d = TokenWindows({{JsonSerializer.Serialize(shards)}}, 32, -5, 96)
            print(json.dumps({"train": [d.window_at(TRAIN, p) for p in range(3 * d.window_count(TRAIN))],
                              "val": [d.window_at(VALIDATION, p) for p in range(3 * d.window_count(VALIDATION))],
                              "tokens": d.window(TRAIN, 17).tolist()}))
            """);
        Assert.AreEqual(0, ReferenceTools.Run(ReferenceTools.SystemPython, $"\"{probe}\"", out string stdout), stdout);
        var result = JsonDocument.Parse(stdout).RootElement;
        CollectionAssert.AreEqual(expectedTrain, result.GetProperty("train").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        CollectionAssert.AreEqual(expectedVal, result.GetProperty("val").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        CollectionAssert.AreEqual(source.Window(DataSplit.Train, 17).ToArray().Select(t => (long)t).ToArray(),
            result.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    [TestMethod]
    public void TwoGlooProcessesWithHalfTheBatchEachGiveTheLossesOfOneProcess()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        string one = Path.Combine(data, "one"), two = Path.Combine(data, "two");
        ScaleOutProcesses.Run(1, ["--data-dir", data, "--out-dir", one, .. TinyRun]);
        ScaleOutProcesses.Run(2, ["--data-dir", data, "--out-dir", two, .. TinyRun]);

        AssertSameRun(one, "1 process", two, "2 processes", 1e-5);
    }

    [TestMethod]
    public void FromTheSameExportedWeightsThePythonTrainerMatchesTinyllmTrain()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        string ours = Path.Combine(data, "tinyllm"), theirs = Path.Combine(data, "python");

        // Both trainers start from the one file (a llama2.c v0 file of a fresh model) with a new optimizer and schedule:
        // `tinyllm train --init-from` and scale-out/train.py --init-from; the shape comes from the file on both sides.
        string initial = Path.Combine(data, "initial", "model.bin"); // not beside tok96/: a .bin there would be read as a shard
        Directory.CreateDirectory(Path.GetDirectoryName(initial)!);
        torch.manual_seed(11);
        using (var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = 96, MaxSeqLen = 32 }))
            Llama2cCheckpoint.Write(model.ToTransformerWeights(), initial);

        string[] sameShape = ["--vocab-size", "--dim", "--n-layers", "--n-heads", "--n-kv-heads", "--multiple-of", "--max-seq-len"];
        var run = Cli.Capture(["train", "--data-dir", data, "--out-dir", ours, "--init-from", initial, .. WithoutFlags(TinyRun, sameShape)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        StringAssert.Contains(run.Error, "fine-tuning the initial model");
        ScaleOutProcesses.Run(1, ["--data-dir", data, "--out-dir", theirs, "--init-from", initial, .. WithoutFlags(TinyRun, sameShape)]);

        AssertSameRun(ours, "tinyllm train", theirs, "scale-out/train.py", 1e-4);
    }

    /// <summary>The 20 step losses and the evaluations of two runs' metrics.csv agree to <paramref name="tolerance"/>, and the run learned.</summary>
    private void AssertSameRun(string expectedDir, string expectedName, string actualDir, string actualName, double tolerance)
    {
        var (expected, expectedEvals) = ScaleOutProcesses.ReadMetrics(expectedDir);
        var (actual, actualEvals) = ScaleOutProcesses.ReadMetrics(actualDir);
        Assert.AreEqual(20, expected.Count);
        CollectionAssert.AreEqual(expected.Keys.ToArray(), actual.Keys.ToArray());
        double worst = 0;
        foreach (var (iter, loss) in expected)
        {
            TestContext.WriteLine($"step {iter}: {expectedName} {loss:F7}, {actualName} {actual[iter]:F7}");
            worst = Math.Max(worst, Math.Abs(loss - actual[iter]));
            Assert.AreEqual(loss, actual[iter], tolerance, $"step {iter}");
        }
        TestContext.WriteLine($"largest difference {worst:E2}");
        Assert.AreEqual(expectedEvals.Count, actualEvals.Count);
        foreach (var (iter, (trainLoss, valLoss)) in expectedEvals)
        {
            Assert.AreEqual(trainLoss, actualEvals[iter].Train, tolerance, $"eval {iter} (train)");
            Assert.AreEqual(valLoss, actualEvals[iter].Val, tolerance, $"eval {iter} (val)");
        }
        Assert.IsTrue(expected[19] < expected[0] - 0.5, "the run did not learn: the comparison would be weak");
    }

    [TestMethod]
    public void ModelGoesOutTrainsOnTwoProcessesAndComesBackIntoAnMLNetZip()
    {
        ScaleOutProcesses.RequirePyTorch();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Stage(string name) => TestContext.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {name}");
        var tokenizer = GenerationTestModels.Tokenizer;
        string dir = TokenShardTestData.NewFolder("scale-out-round-trip");
        string tokPath = Path.Combine(dir, "tok400.model");
        tokenizer.Save(tokPath);
        string shards = Path.Combine(dir, "data", "tok400");
        Directory.CreateDirectory(shards);
        var stories = SyntheticStories.Generate(600, seed: 21).ToArray(); // not the tokenizer's stories (seed 5)
        int[][] parts = [stories[..100].SelectMany(s => tokenizer.Encode(s)).ToArray(),
                         stories[100..350].SelectMany(s => tokenizer.Encode(s)).ToArray(),
                         stories[350..].SelectMany(s => tokenizer.Encode(s)).ToArray()];
        for (int s = 0; s < parts.Length; s++) TokenShardTestData.WriteBin(Path.Combine(shards, $"data{s:D2}.bin"), parts[s]);

        Stage("tokenizer and shards");

        // 1. TinyLlm trains 50 steps and exports a Hugging Face folder
        string[] schedule = ["--batch-size", "8", "--gradient-accumulation-steps", "1", "--max-iters", "50", "--eval-interval", "50",
                             "--eval-iters", "2", "--always-save-checkpoint", "true", "--device", "cpu", "--seed", "3"];
        string csharpOut = Path.Combine(dir, "csharp"), exported = Path.Combine(dir, "exported-hf");
        Assert.AreEqual(0, Cli.Run(["train", "--data-dir", Path.Combine(dir, "data"), "--out-dir", csharpOut, "--vocab-size", "400", "--dim", "64",
                                   "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "64",
                                   "--learning-rate", "0.003", "--warmup-iters", "5", .. schedule]));
        Assert.AreEqual(0, Cli.Run(["export", "--checkpoint", Path.Combine(csharpOut, "ckpt.bin"), "--format", "hf", "--out", exported, "--tokenizer-model-path", tokPath]));

        Stage("tinyllm train, tinyllm export");

        // 2. torchrun's two gloo processes continue from the folder for 50 more steps (the shape comes from the folder)
        string pythonOut = Path.Combine(dir, "python");
        string summary = ScaleOutProcesses.RunTorchrun(2, ["--data-dir", Path.Combine(dir, "data"), "--out-dir", pythonOut, "--init-from", exported,
                                                   "--learning-rate", "0.002", "--warmup-iters", "5", .. schedule]);
        Assert.AreEqual(51, JsonDocument.Parse(summary).RootElement.GetProperty("iter_num").GetInt32());

        Stage("torchrun scale-out/train.py, two processes");

        // 3. back: both of its exports import to the same weights, and the held-out loss went down
        string hf = Path.Combine(pythonOut, "hf"), v0 = Path.Combine(pythonOut, "model.bin");
        var fromHf = GenerationModelLoader.ReadWeights(hf);
        var fromV0 = GenerationModelLoader.ReadWeights(v0);
        foreach (var ((name, a), (_, b)) in fromHf.InFileOrder().Zip(fromV0.InFileOrder()))
            CollectionAssert.AreEqual(a, b, $"{name} differs between hf/ and model.bin");
        var evaluation = new MLContext(seed: 0);
        var heldOut = evaluation.Data.LoadFromTokenShards(shards, new TokenShardLoaderOptions { SequenceLength = 64, Split = DataSplit.Validation, Columns = TokenWindowColumns.Window });
        var onWindows = new LanguageModelEvaluationOptions { TokensColumnName = "Window", Backend = GenerationBackend.Engine };
        double before = evaluation.LanguageModel.Evaluate(GenerationModelLoader.ReadWeights(exported), null, heldOut, onWindows).CrossEntropy;
        double after = evaluation.LanguageModel.Evaluate(fromHf, null, heldOut, onWindows).CrossEntropy;
        TestContext.WriteLine($"held-out loss: exported after 50 steps {before:F4}, after 50 more on two processes {after:F4}");
        Assert.IsTrue(after < before - 0.05, $"held-out loss {after:F4} is not below the exported model's {before:F4}");

        Stage("import, held-out loss");

        // 4. served from an ML.NET zip through a PredictionEngine, the same text as the llama2.c file gives
        var greedy = new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 30 } };
        var ml = new MLContext(seed: 0);
        var fromFolder = ml.Transforms.Text.LoadLlama(hf, Path.Combine(hf, "tokenizer.model"), greedy);
        string zip = Path.Combine(dir, "scaled-out.zip");
        ml.Model.Save(fromFolder, ml.Data.LoadFromEnumerable(Array.Empty<StoryPrompt>()).Schema, zip);
        var ml2 = new MLContext(seed: 0);
        var engine = ml2.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(ml2.Model.Load(zip, out _));
        string prompt = "Once upon a time, Lily";
        string served = engine.Predict(new StoryPrompt { Text = prompt }).Completion;
        var direct = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(ml.Transforms.Text.LoadLlama(v0, tokPath, greedy));
        TestContext.WriteLine($"{prompt}|{served}");
        Assert.IsFalse(string.IsNullOrWhiteSpace(served));
        Assert.AreEqual(direct.Predict(new StoryPrompt { Text = prompt }).Completion, served);
        Stage("ML.NET zip, PredictionEngine");
    }

    internal static string[] WithoutFlags(string[] args, string[] flags)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (flags.Contains(args[i])) i++; // and its value
            else kept.Add(args[i]);
        }
        return kept.ToArray();
    }
}
