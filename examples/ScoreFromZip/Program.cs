// Tell stories from a model saved by the pipeline (examples/WholePipeline or your own): one line per prompt.
// References TinyLlm.MLNet.Core only: serving needs neither TorchSharp nor libtorch.
//
//   dotnet run --project examples/ScoreFromZip -- whole-pipeline/tinyllm.zip "One day, Lily met a" "Once upon a time"
using Microsoft.ML;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ScoreFromZip <model.zip> <prompt> [<prompt> ...]");
    return 1;
}

// No registration call: ML.NET finds TinyLlm's loaders through the attributes TinyLlm.MLNet.Core carries.
var mlContext = new MLContext(seed: 0);
ITransformer model = mlContext.Model.Load(args[0], out _);

// A PredictionEngine scores one row at a time; it is cheap to reuse and not thread-safe (one per thread).
var engine = mlContext.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(model);
foreach (string prompt in args.Skip(1))
{
    // Stories are multi-line; print each on one line so the output keeps one story per prompt.
    string story = prompt + engine.Predict(new StoryPrompt { Text = prompt }).Completion;
    Console.WriteLine(story.ReplaceLineEndings(" "));
}
return 0;

/// <summary>The input row: the prompt, in the column the model was fitted on ("Text" by default).</summary>
public sealed class StoryPrompt
{
    public string Text { get; set; } = "";
}

/// <summary>The output row: the generated continuation of the prompt.</summary>
public sealed class StoryCompletion
{
    public string Completion { get; set; } = "";
}
