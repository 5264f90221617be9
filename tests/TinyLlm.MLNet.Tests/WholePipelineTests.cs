using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>The whole ML.NET pipeline, fitted, saved and scored in a fresh process that has no libtorch.</summary>
[TestClass]
public sealed class WholePipelineTests
{
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
