// Fine-tune a saved TinyLlm model on your own stories, and measure it on held-out stories before and after.
//
//   dotnet run --project examples/FineTune -- MODEL.zip STORIES.txt                 # one story per line
//   dotnet run --project examples/FineTune -- MODEL.zip STORIES.txt --steps 500 --learning-rate 3e-4 --out DIR
//
// MODEL.zip is a pipeline saved with mlContext.Model.Save (e.g. by examples/WholePipeline); STORIES may also be a
// folder of .txt files or of TinyStories .json shards. The fine-tuned model is saved as DIR/fine-tuned.zip.
using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Training;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: FineTune MODEL.zip STORIES.txt [--steps N] [--learning-rate LR] [--out DIR]");
    return 1;
}
string Option(string name, string fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
int steps = int.Parse(Option("--steps", "200"));
double learningRate = double.Parse(Option("--learning-rate", "3e-4"), System.Globalization.CultureInfo.InvariantCulture);
string outDir = Path.GetFullPath(Option("--out", "fine-tune"));

// 1. The pretrained model (weights and tokenizer, in one zip) and your stories, 10% of them held out.
var mlContext = new MLContext(seed: 0);
ITransformer pretrained = mlContext.Model.Load(args[0], out _);
IDataView stories = mlContext.Data.LoadTinyStories(args[1]);          // one "Text" column, one row per story
var split = mlContext.Data.TrainTestSplit(stories, testFraction: 0.1, seed: 0);

// 2. How well does it know your stories? Cross-entropy is the validation loss; bits per byte compares any tokenizers.
var before = mlContext.LanguageModel.Evaluate(pretrained, split.TestSet);
Console.WriteLine($"before: loss {before.CrossEntropy:F4}, perplexity {before.Perplexity:F2}, {before.BitsPerByte:F4} bits/byte ({before.TokenCount:N0} held-out tokens)");

// 3. Fine-tune: the model's shape and tokenizer are kept (the text is encoded with its tokenizer), the optimizer and
//    learning-rate schedule start afresh. A small learning rate keeps what the model knew.
var fineTune = mlContext.Transforms.Text.TrainLlama(new LlamaEstimatorOptions
{
    InitialModel = pretrained,
    Training = new TrainingOptions
    {
        MaxIters = steps, LearningRate = learningRate, WarmupIters = Math.Max(1, steps / 10), BatchSize = 16,
        GradientAccumulationSteps = 1, EvalInterval = steps, EvalIters = 4, OutDir = Path.Combine(outDir, "out"),
    },
});
ITransformer tuned = fineTune.Fit(split.TrainSet);

// 4. The same held-out stories again, and the fine-tuned model saved like any ML.NET model.
var after = mlContext.LanguageModel.Evaluate(tuned, split.TestSet);
Console.WriteLine($"after: loss {after.CrossEntropy:F4}, perplexity {after.Perplexity:F2}, {after.BitsPerByte:F4} bits/byte ({after.TokenCount:N0} held-out tokens)");
string zip = Path.Combine(outDir, "fine-tuned.zip");
mlContext.Model.Save(tuned, stories.Schema, zip);
Console.WriteLine($"saved {zip}");
return 0;
