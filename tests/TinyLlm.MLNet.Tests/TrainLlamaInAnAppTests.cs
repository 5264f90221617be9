using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// TrainLlama as an app uses it through ML.NET: every option checked before training, progress and the result
/// reachable from Fit, no file written unless asked, the prompt read from the tokenizer's column, and sampling
/// changed on a fitted or loaded model in one call.
/// </summary>
[TestClass]
public sealed class TrainLlamaInAnAppTests
{
    private static TrainingOptions Tiny() => new()
    {
        Dim = 32, NLayers = 1, NHeads = 4, NKvHeads = 2, MultipleOf = 16, MaxSeqLen = 32, BatchSize = 4, GradientAccumulationSteps = 1,
        MaxIters = 4, WarmupIters = 1, EvalInterval = 2, EvalIters = 1, LearningRate = 1e-2, Device = "cpu", Dtype = "float32",
    };

    private sealed class StoryRow
    {
        public string Story { get; set; } = "";
    }

    [TestMethod]
    public void EveryOptionIsCheckedBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var bad = new LlamaEstimatorOptions { Training = Tiny(), Generation = new() { Sampling = new() { MaxNewTokens = 0 } } };
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.Text.TrainLlama(bad));
        StringAssert.Contains(e.Message, "MaxNewTokens must be at least 1");
        Assert.Throws<ArgumentException>(() => ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { Training = new() { NHeads = 5 } }));

        // Options changed after the estimator was made are checked when Fit starts, before the model trains.
        var options = new LlamaEstimatorOptions { Training = Tiny(), Progress = new Reports(out var reports) };
        var pipeline = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 })
            .Append(ml.Transforms.Text.TrainLlama(options));
        options.Generation.Sampling.TopP = 0;
        var stories = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new StoryPrompt { Text = s }));
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => pipeline.Fit(stories)).Message, "TopP must be in (0, 1]");
        Assert.IsEmpty(reports, "nothing trained");
    }

    [TestMethod]
    public void ProgressAndTheResultReachTheAppAndNothingIsWrittenUnlessAsked()
    {
        var ml = new MLContext(seed: 1);
        string cwd = Environment.CurrentDirectory;
        bool outBefore = Directory.Exists(Path.Combine(cwd, "out"));
        var options = new LlamaEstimatorOptions { Training = Tiny(), Progress = new Reports(out var reports), Generation = new() { Sampling = new() { Temperature = 0, MaxNewTokens = 10 } } };
        Assert.IsNull(options.Training.OutDir, "the library's default writes nowhere");

        // The tokenizer read the "Story" column: the fitted model reads its prompts there too.
        var stories = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new StoryRow { Story = s }));
        var model = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Story", new SentencePieceBpeOptions { VocabSize = 400 })
            .Append(ml.Transforms.Text.TrainLlama(options)).Fit(stories);

        Assert.IsTrue(reports.Any(r => r.Event == TrainingEvent.Step) && reports.Any(r => r.Event == TrainingEvent.Eval));
        Assert.IsFalse(reports.Any(r => r.Event == TrainingEvent.Checkpoint), "no OutDir, no checkpoint");
        var training = model.LastTransformer.Training!;
        Assert.AreEqual(5L, training.Iterations);
        Assert.HasCount(5, training.Losses);
        Assert.AreEqual(5L * 4 * 32, training.Tokens);
        Assert.IsGreaterThan(0.0, training.TokensPerSecond);
        Assert.IsTrue(double.IsFinite(training.BestValLoss));
        Assert.IsNull(training.CheckpointPath);
        Assert.AreEqual(outBefore, Directory.Exists(Path.Combine(cwd, "out")), "no out/ in the working directory");

        Assert.AreEqual("Story", model.LastTransformer.Options.PromptColumnName);
        var engine = ml.Model.CreatePredictionEngine<StoryRow, StoryCompletion>(model);
        Assert.IsFalse(string.IsNullOrEmpty(engine.Predict(new StoryRow { Story = "One day, Lily met a" }).Completion));
    }

    [TestMethod]
    public void SamplingChangesOnAFittedOrLoadedModelInOneCall()
    {
        var ml = new MLContext(seed: 1);
        var stories = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new StoryPrompt { Text = s }));
        var model = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 })
            .Append(ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { Training = Tiny() })).Fit(stories);
        Assert.AreEqual(1.0f, model.LastTransformer.Options.Sampling.Temperature);

        TransformerChain<LlamaGenerationTransformer> greedy = model.WithGenerationOptions(o => { o.Sampling.Temperature = 0; o.Sampling.MaxNewTokens = 12; });
        Assert.AreEqual(0f, greedy.LastTransformer.Options.Sampling.Temperature);
        Assert.AreEqual(12, greedy.LastTransformer.Options.Sampling.MaxNewTokens);
        Assert.AreEqual(1.0f, model.LastTransformer.Options.Sampling.Temperature, "the original is unchanged");
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(greedy);
        string story = engine.Predict(new StoryPrompt { Text = "One day" }).Completion;
        Assert.AreEqual(story, engine.Predict(new StoryPrompt { Text = "One day" }).Completion, "greedy: the same story twice");

        string zip = Path.Combine(Directory.CreateTempSubdirectory("tinyllm-with-options-").FullName, "model.zip");
        ml.Model.Save(model, stories.Schema, zip);
        ITransformer loaded = new MLContext().Model.Load(zip, out _);
        var changed = loaded.WithGenerationOptions(o => o.Sampling.TopK = 5);
        Assert.AreEqual(5, ((IEnumerable<ITransformer>)changed).OfType<LlamaGenerationTransformer>().Single().Options.Sampling.TopK);

        var e = Assert.Throws<ArgumentException>(() => model.Take(1).Single().WithGenerationOptions(o => o.Sampling.TopK = 5));
        StringAssert.Contains(e.Message, "has no TinyLlm generation stage");
        Assert.Throws<ArgumentException>(() => model.WithGenerationOptions(o => o.Sampling.TopK = 0));
    }

    [TestMethod]
    public void TooFewTokensIsSaidInTrainLlamasWords()
    {
        var ml = new MLContext(seed: 1);
        var stories = ml.Data.LoadFromEnumerable(GenerationTestModels.Stories.Select(s => new StoryPrompt { Text = s }));
        var training = Tiny();
        training.MaxSeqLen = 8192; // a tenth of 300 short stories is far fewer than two windows of it
        var pipeline = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 })
            .Append(ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { Training = training }));
        var e = Assert.Throws<ArgumentException>(() => pipeline.Fit(stories));
        StringAssert.Contains(e.Message, "Segments = 10");
        StringAssert.Contains(e.Message, "Training.MaxSeqLen = 8192");
        Assert.IsFalse(e.Message.Contains("in-memory") || e.Message.Contains("SequenceLength") || e.Message.Contains("shard"), e.Message);
    }

    private sealed class Reports : IProgress<TrainingProgress>
    {
        private readonly List<TrainingProgress> _reports = [];

        public Reports(out List<TrainingProgress> reports) => reports = _reports;

        public void Report(TrainingProgress value) => _reports.Add(value);
    }
}
