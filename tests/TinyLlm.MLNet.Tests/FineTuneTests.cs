using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Evaluation;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Fine-tuning (<c>init_from</c> a model, <c>LlamaEstimatorOptions.InitialModel</c>): a model trained on the classic
/// synthetic stories learns the space stories (other names, other words), keeps its tokenizer and shape, and stays
/// loadable in every format; bad starting points and mismatched data are refused by name.
/// </summary>
[TestClass]
public sealed class FineTuneTests
{
    /// <summary>The base model: 40 steps on the classic stories (dim 32, 2 layers, context 64), with the 400-piece tokenizer.</summary>
    private static readonly Lazy<LlamaGenerationTransformer> Base = new(TrainBase);

    private static readonly Lazy<string[]> SpaceTrain = new(() => SyntheticStories.Generate(240, seed: 11, SyntheticTheme.Space).ToArray());
    private static readonly Lazy<string[]> SpaceHeldOut = new(() => SyntheticStories.Generate(40, seed: 12, SyntheticTheme.Space).ToArray());

    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    private static TrainingOptions Tiny(string outDir, int iters) => new()
    {
        OutDir = outDir, Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, MaxSeqLen = 64, BatchSize = 8,
        GradientAccumulationSteps = 1, MaxIters = iters, WarmupIters = 2, EvalInterval = iters, EvalIters = 2, LearningRate = 1e-2,
        Device = "cpu", Dtype = "float32", Seed = 1, WriteMetrics = false,
    };

    /// <summary>Fine-tuning options: no shape option (the model's is taken).</summary>
    private static TrainingOptions FineTuning(string outDir, int iters) => new()
    {
        OutDir = outDir, BatchSize = 8, GradientAccumulationSteps = 1, MaxIters = iters, WarmupIters = 2, EvalInterval = iters, EvalIters = 2,
        LearningRate = 1e-2, Device = "cpu", Dtype = "float32", Seed = 2, WriteMetrics = false,
    };

    private static LlamaGenerationTransformer TrainBase()
    {
        var ml = new MLContext(seed: 1);
        var tokens = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new TokenRow { Text = s, Tokens = Tokenizer.Encode(s.Trim()).ToArray() }));
        return ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { TokenizerModel = Tokenizer.ToBytes(), Training = Tiny(InteropTestModels.TempDir("base"), 40) }).Fit(tokens);
    }

    private static IDataView Text(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new StoryPrompt { Text = t }));

    private static readonly LanguageModelEvaluationOptions OnEngine = new() { Backend = GenerationBackend.Engine };

    [TestMethod]
    public void FineTuningOnASecondCorpusLowersItsHeldOutLossClearlyAndTheModelStaysLoadableEverywhere()
    {
        var ml = new MLContext(seed: 1);
        var heldOut = Text(ml, SpaceHeldOut.Value);
        var before = ml.LanguageModel.Evaluate(Base.Value, heldOut, OnEngine);

        // Straight from text: the initial model's tokenizer encodes the stories.
        var tuned = ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { InitialModel = Base.Value, Training = FineTuning(InteropTestModels.TempDir("tuned"), 40) })
            .Fit(Text(ml, SpaceTrain.Value));
        var after = ml.LanguageModel.Evaluate(tuned, heldOut, OnEngine);
        Assert.IsTrue(after.CrossEntropy < before.CrossEntropy - 0.4, $"held-out loss on the space stories {before.CrossEntropy:F4} -> {after.CrossEntropy:F4}");
        Assert.IsTrue(after.BitsPerByte < 0.9 * before.BitsPerByte, $"bits per byte {before.BitsPerByte:F4} -> {after.BitsPerByte:F4}");
        CollectionAssert.AreEqual(Base.Value.TokenizerModel.ToArray(), tuned.TokenizerModel.ToArray(), "the tokenizer is the initial model's");
        Assert.AreEqual(Base.Value.Generator.Weights.Config, tuned.Generator.Weights.Config, "the shape is the initial model's");

        // Loadable everywhere: the ML.NET zip in a fresh context, llama2.c's v0 file and a Hugging Face folder.
        string dir = InteropTestModels.TempDir("tuned-exports");
        string zip = Path.Combine(dir, "tuned.zip");
        ml.Model.Save(tuned, heldOut.Schema, zip);
        var fresh = new MLContext(seed: 3);
        Assert.AreEqual(after.CrossEntropy, fresh.LanguageModel.Evaluate(fresh.Model.Load(zip, out _), heldOut, OnEngine).CrossEntropy, 1e-9, "zip");
        foreach (var (format, path) in new[] { (ModelExportFormat.Llama2c, Path.Combine(dir, "tuned.bin")), (ModelExportFormat.HuggingFace, Path.Combine(dir, "hf")) })
        {
            ModelExporter.Export(tuned.Generator.Weights, format, path, Tokenizer);
            var read = GenerationModelLoader.ReadWeights(path);
            Assert.AreEqual(after.CrossEntropy, ml.LanguageModel.Evaluate(read, Tokenizer, heldOut, OnEngine).CrossEntropy, 1e-6, format.ToString());
        }
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void TheCommandFineTunesLlama2cHuggingFaceAndQuantizedModelsOnShardsAndEvaluatesThem()
    {
        // The space stories pretokenized with the base model's tokenizer (held out = shard 0), the tokenizer beside them.
        string data = InteropTestModels.TempDir("ft-cli-data");
        Tokenizer.Save(Path.Combine(data, "tok400.model"));
        var stories = SpaceHeldOut.Value.Concat(SpaceTrain.Value).ToArray();
        new TokenShardWriter(Tokenizer.ToBytes()).Write(Enumerable.Range(0, 3).Select(s =>
            TokenShardInput.FromStories($"data{s:D2}", () => s == 0 ? SpaceHeldOut.Value : SpaceTrain.Value.Skip((s - 1) * 120).Take(120))), data);

        string models = InteropTestModels.TempDir("ft-cli-models");
        var weights = Base.Value.Generator.Weights;
        string v0 = Path.Combine(models, "base.bin"), hf = Path.Combine(models, "hf-untied"), q8 = Path.Combine(models, "base-q8.bin");
        ModelExporter.Export(weights, ModelExportFormat.Llama2c, v0);
        ModelExporter.Export(Untied(weights), ModelExportFormat.HuggingFace, hf, Tokenizer);
        ModelExporter.Export(weights, ModelExportFormat.Llama2cQ8, q8, groupSize: 16);
        string[] Flags(int iters) => ["--dataset-dir", data, "--max-iters", $"{iters}", "--eval-interval", $"{iters}", "--eval-iters", "2", "--batch-size", "8",
            "--gradient-accumulation-steps", "1", "--learning-rate", "0.01", "--warmup-iters", "2", "--device", "cpu", "--write-metrics", "false",
            "--always-save-checkpoint"];

        double baseLoss = EvalLoss(v0, data);
        string fromV0 = Path.Combine(models, "out-v0");
        var run = Cli.Capture(["train", "--init-from", v0, "--out-dir", fromV0, .. Flags(40)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        StringAssert.Contains(run.Error, "fine-tuning the initial model");
        var checkpoint = Checkpoint.Read(Path.Combine(fromV0, Checkpoint.FileName));
        Assert.AreEqual(weights.Config with { MultipleOf = 0 }, checkpoint.ModelArgs with { Dropout = 0, MultipleOf = 0 }, "a v0 file states hidden_dim, not multiple_of");
        Assert.AreEqual(TokenizerFingerprint.Of(Tokenizer), checkpoint.Tokenizer, "the checkpoint records the data's tokenizer");
        Assert.AreEqual(v0, checkpoint.Config!.InitFrom);
        double tunedLoss = EvalLoss(Path.Combine(fromV0, Checkpoint.FileName), data);
        Assert.IsTrue(tunedLoss < baseLoss - 0.3, $"validation loss {baseLoss:F4} -> {tunedLoss:F4}");
        Assert.AreEqual(checkpoint.BestValLoss, tunedLoss, 0.5, "the trainer's estimate (2 batches) and the whole validation shard");

        // Resuming the fine-tuning run needs no shape flags: the checkpoint has the shape.
        run = Cli.Capture(["train", "--init-from", "resume", "--out-dir", fromV0, .. Flags(44)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        Assert.AreEqual(44L, Checkpoint.Read(Path.Combine(fromV0, Checkpoint.FileName)).IterNum);

        // An untied Hugging Face model stays untied through training and export.
        string fromHf = Path.Combine(models, "out-hf");
        run = Cli.Capture(["train", "--init-from", hf, "--out-dir", fromHf, .. Flags(40)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        Assert.IsFalse(Checkpoint.Read(Path.Combine(fromHf, Checkpoint.FileName)).ModelArgs.SharedClassifier);
        var exported = GenerationModelLoader.ReadWeights(Path.Combine(fromHf, LlamaTrainer.ExportFileName));
        Assert.IsFalse(exported.Config.SharedClassifier);
        Assert.IsTrue(EvalLoss(Path.Combine(fromHf, LlamaTrainer.ExportFileName), data) < baseLoss - 0.3);

        // A GGUF file brings its vocabulary: the run records it as the tokenizer.
        string gguf = Path.Combine(models, "base.gguf");
        ModelExporter.Export(weights, ModelExportFormat.Gguf, gguf, Tokenizer);
        string fromGguf = Path.Combine(models, "out-gguf");
        run = Cli.Capture(["train", "--init-from", gguf, "--out-dir", fromGguf, .. Flags(2)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        Assert.AreEqual(TokenizerFingerprint.Of(Tokenizer), Checkpoint.Read(Path.Combine(fromGguf, Checkpoint.FileName)).Tokenizer);

        // A Q8_0 model is dequantized for training, and says so.
        run = Cli.Capture(["train", "--init-from", q8, "--out-dir", Path.Combine(models, "out-q8"), .. Flags(2)]);
        Assert.AreEqual(0, run.ExitCode, run.All);
        StringAssert.Contains(run.Error, "dequantized to fp32 for training");
    }

    /// <summary><c>tinyllm eval</c>'s cross-entropy of <paramref name="model"/> on the validation shard of <paramref name="data"/>.</summary>
    private static double EvalLoss(string model, string data)
    {
        var run = Cli.Capture("eval", "--model", model, "--dataset-dir", data);
        Assert.AreEqual(0, run.ExitCode, run.All);
        string[] lines = run.Out.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string bitsPerByte = lines.Single(l => l.StartsWith("bits/byte:")).Split(' ')[1];
        Assert.IsTrue(double.TryParse(bitsPerByte, System.Globalization.CultureInfo.InvariantCulture, out _), "bits per byte with the tokenizer found beside the shards: " + run.Out);
        StringAssert.Contains(run.Error, "tokens in");
        return double.Parse(lines.Single(l => l.StartsWith("cross-entropy:")).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The same model with its classifier as a matrix of its own (a copy of the embedding).</summary>
    private static TransformerWeights Untied(TransformerWeights tied)
    {
        var untied = new TransformerWeights(tied.Config with { SharedClassifier = false });
        foreach (var ((_, from), (_, to)) in tied.InFileOrder().Zip(untied.InFileOrder())) from.CopyTo(to, 0);
        tied.Classifier.CopyTo(untied.Classifier, 0);
        return untied;
    }

    [TestMethod]
    public void AnUntiedModelKeepsTwoTablesThroughMovesAndCarriesItsClassifierBothWays()
    {
        var weights = InteropTestModels.Random(96, shared: false, seqLen: 16);
        using var model = weights.ToLlamaModel();
        Assert.AreEqual(weights.Config.ParameterCount, model.ParameterCount, "embedding and classifier counted apart");
        model.to(torch.ScalarType.Float64);
        model.to(torch.ScalarType.Float32);
        Assert.AreEqual(weights.Config.ParameterCount, model.ParameterCount);
        var sd = model.state_dict();
        Assert.AreNotEqual(sd["tok_embeddings.weight"].Handle, sd["output.weight"].Handle);
        InteropTestModels.AssertBitEqual(weights, model.ToTransformerWeights());
    }

    [TestMethod]
    public void AQuantizedInitialModelIsDequantizedWithANoteInTheLog()
    {
        string dir = InteropTestModels.TempDir("ft-q8");
        string q8 = Path.Combine(dir, "q8.bin");
        ModelExporter.Export(Base.Value.Generator.Weights, ModelExportFormat.Llama2cQ8, q8, groupSize: 16);
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var options = FineTuning(Path.Combine(dir, "out"), 1);
        options.InitFrom = q8;
        var trainer = new LlamaTrainer(options, ml);
        Assert.AreEqual(WeightFormat.Q8_0, trainer.InitialModel!.Weights.Format);
        Assert.AreEqual(32, trainer.Options.Dim, "the shape comes from the model");
        using var shards = SpaceShards(Path.Combine(dir, "data"), Tokenizer);
        using var result = trainer.Fit(shards).Model;
        lock (log) Assert.IsTrue(log.Any(l => l.Contains("stores its weights as Q8_0") && l.Contains("dequantized to fp32")), string.Join("\n", log));
    }

    [TestMethod]
    public void BadStartingPointsAndMismatchedDataAreRefusedByName()
    {
        string dir = InteropTestModels.TempDir("ft-bad");
        var baseWeights = Base.Value.Generator.Weights;
        string v0 = Path.Combine(dir, "base.bin"), zip = Path.Combine(dir, "base.zip");
        ModelExporter.Export(baseWeights, ModelExportFormat.Llama2c, v0);
        var ml = new MLContext(seed: 1);
        ml.Model.Save(Base.Value, Text(ml, ["x"]).Schema, zip);
        TrainingOptions From(string initFrom, Action<TrainingOptions>? change = null)
        {
            var o = FineTuning(Path.Combine(dir, "out"), 2);
            o.InitFrom = initFrom;
            change?.Invoke(o);
            return o;
        }

        // An unreadable model: one message naming the file and the formats.
        string garbage = Path.Combine(dir, "notes.bin");
        File.WriteAllText(garbage, "these are my notes, not a model");
        var unreadable = Assert.ThrowsExactly<InvalidDataException>(() => new LlamaTrainer(From(garbage)));
        StringAssert.Contains(unreadable.Message, garbage);
        StringAssert.Contains(unreadable.Message, "an ML.NET model zip saved by TinyLlm, a TinyLlm training checkpoint (ckpt.bin), a llama2.c model file");
        var missing = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From(Path.Combine(dir, "missing.bin"))));
        StringAssert.Contains(missing.Message, "no such file or folder");

        // A shape option against the model's, and the checkpoint of out_dir itself.
        var shape = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From(v0, o => o.Dim = 48)));
        StringAssert.Contains(shape.Message, "has Dim 32 but the option Dim is 48");
        string outDir = Path.Combine(dir, "own");
        Directory.CreateDirectory(outDir);
        File.Copy(v0, Path.Combine(outDir, Checkpoint.FileName));
        var own = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From(Path.Combine(outDir, Checkpoint.FileName), o => o.OutDir = outDir)));
        StringAssert.Contains(own.Message, "InitFrom = resume");

        // An initial model together with resume.
        var both = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From("resume"), InitialModel.From(Base.Value)));
        StringAssert.Contains(both.Message, "Give one or the other");
        var estimatorBoth = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { InitialModel = Base.Value, Training = From(v0) }).Fit(Text(ml, ["Zib ran."])));
        StringAssert.Contains(estimatorBoth.Message, "give the model to fine-tune one way");

        // Data made with another tokenizer: the same size but other pieces, then another size.
        var space = Text(ml, SpaceTrain.Value);
        var other = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 }).Fit(space);
        var pieces = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { InitialModel = Base.Value, Training = FineTuning(dir, 2) }).Fit(other.Transform(space)));
        StringAssert.Contains(pieces.Message, "not the same pieces");
        pieces = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From(zip)).Fit(SpaceShards(Path.Combine(dir, "other-pieces"), other.Model)));
        StringAssert.Contains(pieces.Message, "not the same pieces");
        var smaller = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 360 }).Fit(space);
        var size = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(From(v0)).Fit(SpaceShards(Path.Combine(dir, "smaller"), smaller.Model)));
        StringAssert.Contains(size.Message, "has a vocabulary of 400 tokens but the data in");
        StringAssert.Contains(size.Message, "vocabulary of 360");

        // The command: a default-valued shape flag given on the command line, and mismatched shards.
        var cli = Cli.Capture("train", "--init-from", v0, "--dim", "288", "--dataset-dir", Path.Combine(dir, "smaller"), "--out-dir", Path.Combine(dir, "cli"));
        Assert.AreEqual(1, cli.ExitCode);
        StringAssert.Contains(cli.All, "has --dim 32 but the option --dim is 288");
        cli = Cli.Capture("train", "--init-from", zip, "--dataset-dir", Path.Combine(dir, "other-pieces"), "--out-dir", Path.Combine(dir, "cli"), "--device", "cpu");
        Assert.AreEqual(1, cli.ExitCode);
        StringAssert.Contains(cli.All, "not the same pieces");
        cli = Cli.Capture("eval", "--model", zip, "--dataset-dir", Path.Combine(dir, "smaller"));
        Assert.AreEqual(1, cli.ExitCode);
        StringAssert.Contains(cli.All, "vocabulary of 360");
    }

    [TestMethod]
    public void TheSpaceStoriesAreDeterministicAndUseOtherNamesAndWords()
    {
        CollectionAssert.AreEqual(SyntheticStories.Generate(20, 7, SyntheticTheme.Space).ToArray(), SyntheticStories.Generate(20, 7, SyntheticTheme.Space).ToArray());
        CollectionAssert.AreNotEqual(SyntheticStories.Generate(5, 7, SyntheticTheme.Space).ToArray(), SyntheticStories.Generate(5, 8, SyntheticTheme.Space).ToArray());
        static HashSet<string> Words(IEnumerable<string> stories) =>
            stories.SelectMany(s => s.Split([' ', '\n', '.', ',', '!', '?', '"', '\''], StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length > 3).ToHashSet();
        var classic = Words(SyntheticStories.Generate(2000, 1));
        var space = Words(SyntheticStories.Generate(2000, 1, SyntheticTheme.Space));
        double shared = space.Count(classic.Contains) / (double)space.Count;
        Assert.IsTrue(shared < 0.5, $"{shared:P0} of the space stories' words also occur in the classic ones");
        foreach (string name in new[] { "Nimbo", "Vell", "antenna" }) Assert.IsTrue(space.Contains(name) && !classic.Contains(name), name);
    }

    /// <summary>The space stories as shards encoded by <paramref name="tokenizer"/> in <paramref name="dir"/> (3 shards), opened for training.</summary>
    private static TokenShardBatchSource SpaceShards(string dir, SentencePieceModel tokenizer)
    {
        new TokenShardWriter(tokenizer.ToBytes()).Write(Enumerable.Range(0, 3).Select(s =>
            TokenShardInput.FromStories($"data{s:D2}", () => SpaceTrain.Value.Skip(s * 80).Take(80))), dir);
        return TokenShardBatchSource.Open(dir, new TokenWindowOptions { SequenceLength = 64 });
    }

    private sealed class TokenRow
    {
        public string Text { get; set; } = "";

        [VectorType]
        public int[] Tokens { get; set; } = [];
    }
}
