// The whole TinyLlm flow as one ML.NET pipeline: stories -> tokenizer -> LLaMA model -> saved zip -> stories.
//
//   dotnet run --project examples/WholePipeline                 # a small model, ~5 minutes on a laptop CPU
//   dotnet run --project examples/WholePipeline -- --tiny       # seconds: a smoke test, the story is babble
//   dotnet run --project examples/WholePipeline -- --out DIR    # where the data, checkpoints and zip go
using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

bool tiny = args.Contains("--tiny");
int outAt = Array.IndexOf(args, "--out");
string outDir = Path.GetFullPath(outAt >= 0 ? args[outAt + 1] : "whole-pipeline");

// 1. Data: TinyStories-like stories from the library's built-in grammar, written as the real data set's JSON
//    shards (swap in `tinyllm download` and point LoadTinyStories at that folder for the real thing).
var mlContext = new MLContext(seed: 0);
string dataDir = Path.Combine(outDir, "data");
if (!Directory.Exists(dataDir)) SyntheticStories.WriteShards(dataDir, stories: tiny ? 300 : 20_000, seed: 0);
IDataView stories = mlContext.Data.LoadTinyStories(dataDir);   // one "Text" column, one row per story

// 2. The pipeline: a SentencePiece BPE tokenizer fitted on the stories ("Text" -> "Tokens"), then a LLaMA-2 model
//    trained on those tokens. The fitted model maps a prompt "Text" to a generated "Completion".
var training = tiny
    ? new TrainingOptions { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, MaxSeqLen = 32, BatchSize = 8,
                            GradientAccumulationSteps = 1, MaxIters = 20, WarmupIters = 2, EvalInterval = 10, EvalIters = 2, LearningRate = 1e-2 }
    : new TrainingOptions { Dim = 64, NLayers = 5, NHeads = 8, NKvHeads = 4, MaxSeqLen = 256, BatchSize = 16,
                            GradientAccumulationSteps = 1, MaxIters = 500, WarmupIters = 50, EvalInterval = 100, EvalIters = 10, LearningRate = 5e-3 };
training.OutDir = Path.Combine(outDir, "out");   // checkpoints and metrics.csv land here while it trains
var pipeline = mlContext.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = tiny ? 400 : 512 })
    .Append(mlContext.Transforms.Text.TrainLlama(new LlamaEstimatorOptions
    {
        Training = training,
        Generation = new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0.8f, MaxNewTokens = tiny ? 30 : 200 } },
    }));

// 3. Fit (trains the tokenizer, then the model) and save everything, weights and tokenizer, in one zip.
ITransformer model = pipeline.Fit(stories);
string zip = Path.Combine(outDir, "tinyllm.zip");
mlContext.Model.Save(model, stories.Schema, zip);
Console.WriteLine($"saved {zip}");

// 4. Later, elsewhere (an app that references only TinyLlm.MLNet.Core will do): load the zip and tell a story.
var scoring = new MLContext(seed: 0);
ITransformer loaded = scoring.Model.Load(zip, out _);
var engine = scoring.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(loaded);
const string prompt = "One day, Lily met a";
Console.WriteLine(prompt + engine.Predict(new StoryPrompt { Text = prompt }).Completion);

/// <summary>The input row: the prompt, in the column the tokenizer was fitted on.</summary>
public sealed class StoryPrompt
{
    public string Text { get; set; } = "";
}

/// <summary>The output row: the generated continuation of the prompt.</summary>
public sealed class StoryCompletion
{
    public string Completion { get; set; } = "";
}
