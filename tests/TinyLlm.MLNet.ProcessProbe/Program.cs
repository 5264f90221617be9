using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.ProcessProbe;

// Usage: probe <mode> <model.zip> <input text>
//   blob:              register TinyLlm + this probe's test transformer, load, score "Text" -> "Echo"
//   blob-unregistered: load without registering (expected to fail)
//   story:             register TinyLlm, load a whole TinyLlm pipeline, score a prompt "Text" -> "Completion"
//   story-unregistered: the same with no registration call (ML.NET finds the woven [LoadableClass] attributes)
//   weights:           read a model file with GenerationModelLoader.ReadWeights (this app has no TinyLlm.MLNet)
if (args.Length == 2 && args[0] == "weights")
{
    try
    {
        var weights = TinyLlm.MLNet.Generation.GenerationModelLoader.ReadWeights(args[1]);
        Console.WriteLine($"dim {weights.Config.Dim}");
        return 0;
    }
    catch (Exception e)
    {
        Console.WriteLine($"{e.GetType().Name}: {e.Message}");
        return 1;
    }
}
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: probe blob|blob-unregistered|story|story-unregistered <model.zip> <text> | probe weights <model file>");
    return 2;
}
var mlContext = new MLContext(seed: 1);
if (args[0] is "blob" or "story")
    mlContext.ComponentCatalog.RegisterTinyLlm();
if (args[0] == "blob")
    ModelPersistence.Register(mlContext.ComponentCatalog, typeof(BlobTransformer).Assembly);
try
{
    var model = mlContext.Model.Load(args[1], out _);
    if (args[0] is "story" or "story-unregistered")
    {
        var stories = mlContext.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(model);
        Console.Write(stories.Predict(new StoryPrompt { Text = args[2] }).Completion);
        return 0;
    }
    var engine = mlContext.Model.CreatePredictionEngine<ProbeInput, ProbeOutput>(model);
    Console.WriteLine(engine.Predict(new ProbeInput { Text = args[2] }).Echo);
    return 0;
}
catch (Exception e)
{
    Console.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 1;
}

public sealed class ProbeInput
{
    public string Text { get; set; } = "";
}

public sealed class ProbeOutput
{
    public string Echo { get; set; } = "";
}

public sealed class StoryPrompt
{
    public string Text { get; set; } = "";
}

public sealed class StoryCompletion
{
    public string Completion { get; set; } = "";
}
