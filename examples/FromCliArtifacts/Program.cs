// Use what the `tinyllm` command trained (tinyllm train-tokenizer / pretokenize / train) from ML.NET code:
// the checkpoint and the tokenizer become one generation transformer, scored by a PredictionEngine and saved as a
// zip that ScoreFromZip (or `tinyllm generate --model`) can load.
//
//   dotnet run --project examples/FromCliArtifacts -- out/ckpt.bin data/tok4096.model [story.zip] [prompt]
using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Generation;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: FromCliArtifacts <ckpt.bin|model.bin> <tok.model> [out.zip] [prompt]");
    return 1;
}
string checkpoint = args[0], tokenizer = args[1];
string zip = args.Length > 2 ? args[2] : "story.zip";
string prompt = args.Length > 3 ? args[3] : "One day, Lily met a";

// LoadLlama reads a training checkpoint (out/ckpt.bin) or a llama2.c model file (out/model.bin) and the tokenizer's
// .model; there is nothing left to fit, so it returns the transformer directly.
var mlContext = new MLContext(seed: 0);
var generator = mlContext.Transforms.Text.LoadLlama(checkpoint, tokenizer, new LlamaGenerationOptions
{
    Sampling = new SamplingOptions { Temperature = 0.8f, TopK = 300, MaxNewTokens = 200, Seed = 42 },
});

var engine = mlContext.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(generator);
Console.WriteLine(prompt + engine.Predict(new StoryPrompt { Text = prompt }).Completion);

// The same transformer saved as an ML.NET model: weights, tokenizer and sampling settings in one file. Its input
// schema is the prompt column, described by an empty data view of StoryPrompt rows.
var schema = mlContext.Data.LoadFromEnumerable(Array.Empty<StoryPrompt>()).Schema;
mlContext.Model.Save(generator, schema, zip);
Console.WriteLine($"saved {Path.GetFullPath(zip)}");
return 0;

/// <summary>The input row: the prompt ("Text", LlamaGenerationOptions.PromptColumnName).</summary>
public sealed class StoryPrompt
{
    public string Text { get; set; } = "";
}

/// <summary>The output row: the generated continuation ("Completion").</summary>
public sealed class StoryCompletion
{
    public string Completion { get; set; } = "";
}
