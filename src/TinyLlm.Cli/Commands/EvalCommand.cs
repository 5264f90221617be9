using System.CommandLine;
using Microsoft.ML;
using Spectre.Console;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Evaluation;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm eval</c>: measures a model on held-out data (<c>mlContext.LanguageModel.Evaluate</c>): cross-entropy,
/// perplexity and bits per byte on the validation shard, or on stories as text. Runs on the .NET engine unless
/// <c>--backend torch</c>; libtorch is loaded only for that or for a training checkpoint.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "--checkpoint")
        {
            Description = "The model: an ML.NET zip (holds its tokenizer), a training checkpoint (out/ckpt.bin), a llama2.c model file or a Hugging Face folder.",
            Required = true,
        };
        var dataset = new Option<DirectoryInfo>("--dataset-dir", "--data-dir")
        {
            Description = "Pretokenized shards (the folder, or one holding tok<vocab>/): the --split windows of the model's context are evaluated; or stories (.json shards or .txt, one story per line), evaluated as text.",
            Required = true,
        };
        var split = new Option<string>("--split") { Description = "Shards: val (shard 0, as training validates) or train (the rest).", DefaultValueFactory = _ => "val" };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "Stop after the window (or story) in which this many tokens have been predicted; default: all." };
        var batch = new Option<int>("--batch-size") { Description = "Windows evaluated together.", DefaultValueFactory = _ => 8 };
        var tokenizer = new Option<FileInfo?>("--tokenizer-model-path", "--tokenizer")
        {
            Description = "The model's tokenizer .model (for stories, and for bits per byte); default: the zip's, the Hugging Face folder's, or tok<vocab>.model beside the shards.",
        };
        var backend = new Option<string>("--backend") { Description = "engine (TinyLlm's .NET engine, no libtorch) or torch (TorchSharp, one forward per batch).", DefaultValueFactory = _ => "engine" };
        var device = new Option<string>("--device") { Description = "cpu or cuda (cuda runs on torch).", DefaultValueFactory = _ => "cpu" };
        var command = new Command("eval", "Evaluate a model on held-out data: cross-entropy (the validation loss), perplexity and bits per byte.");
        foreach (var o in new Option[] { model, dataset, split, maxTokens, batch, tokenizer, backend, device }) command.Options.Add(o);

        command.SetAction(parse =>
        {
            var options = new LanguageModelEvaluationOptions
            {
                MaxTokens = parse.GetValue(maxTokens),
                BatchSize = parse.GetValue(batch),
                Device = parse.GetValue(device),
                Backend = parse.GetValue(backend)!.Trim().ToLowerInvariant() switch
                {
                    "engine" => GenerationBackend.Engine,
                    "torch" or "torchsharp" => GenerationBackend.TorchSharp,
                    var other => throw new ArgumentException($"--backend must be engine or torch; it was '{other}'."),
                },
            };
            if (options.Device?.Trim().ToLowerInvariant() == "cuda") options.Backend = GenerationBackend.TorchSharp;
            var which = parse.GetValue(split)!.Trim().ToLowerInvariant() switch
            {
                "val" or "validation" => DataSplit.Validation,
                "train" => DataSplit.Train,
                var other => throw new ArgumentException($"--split must be val or train; it was '{other}'."),
            };
            var dir = parse.GetValue(dataset)!;
            if (!dir.Exists) throw new DirectoryNotFoundException($"The data folder '{dir.FullName}' does not exist (--dataset-dir).");

            var ml = new MLContext(seed: 0);
            var (weights, spm) = LoadModel(ml, parse.GetValue(model)!, parse.GetValue(tokenizer), dir);
            string? shards = TrainCommand.FindShardFolder(dir, weights.Config.VocabSize);
            LanguageModelMetrics metrics;
            if (shards is not null)
            {
                spm ??= FindTokenizer(shards, weights.Config.VocabSize);
                using var source = TokenShardBatchSource.Open(shards, new TokenWindowOptions { SequenceLength = weights.Config.MaxSeqLen, Shuffle = false });
                CheckTokenizer(source, weights, spm);
                using var windows = new TokenWindowDataView(source, which, TokenWindowColumns.Window);
                options.TokensColumnName = TokenWindowDataView.WindowColumnName;
                long total = source.WindowCount(which) * weights.Config.MaxSeqLen;
                metrics = WithProgress(options, options.MaxTokens is long m ? Math.Min(m, total) : total, $"{which.ToString().ToLowerInvariant()} windows of {Path.GetFileName(shards)}",
                    () => ml.LanguageModel.Evaluate(weights, spm, windows, options));
            }
            else
            {
                if (spm is null)
                    throw new ArgumentException($"'{dir.FullName}' holds no shards, so its stories are evaluated as text, which needs the model's tokenizer: give --tokenizer-model-path (or a model zip, which holds it).");
                var stories = ml.Data.LoadTinyStories(dir.FullName);
                metrics = WithProgress(options, options.MaxTokens, $"stories of {dir.Name}", () => ml.LanguageModel.Evaluate(weights, spm, stories, options));
            }
            Console.WriteLine($"cross-entropy: {metrics.CrossEntropy:F5} nats/token");
            Console.WriteLine($"perplexity: {metrics.Perplexity:F4}");
            Console.WriteLine(metrics.ByteCount > 0 ? $"bits/byte: {metrics.BitsPerByte:F5}" : "bits/byte: n/a (no tokenizer: give --tokenizer-model-path)");
            Console.WriteLine($"tokens: {metrics.TokenCount}");
            Console.WriteLine($"bytes: {metrics.ByteCount}");
            return 0;
        });
        return command;
    }

    /// <summary>The weights and, when known, the tokenizer: a zip holds both; other files go through <see cref="GenerationModelLoader.ReadWeights"/>.</summary>
    private static (TransformerWeights Weights, SentencePieceModel? Tokenizer) LoadModel(MLContext ml, string path, FileInfo? tokenizer, DirectoryInfo dataset)
    {
        if (File.Exists(path) && IsZip(path))
        {
            var loaded = ml.Model.Load(path, out _);
            var generation = GenerationStage.Find(loaded)
                ?? throw new InvalidDataException($"Model zip '{path}' holds no TinyLlm generation stage (TrainLlama or LoadLlama).");
            var fromZip = generation.Generator.Tokenizer;
            return (generation.Generator.Weights, tokenizer is null ? fromZip : SentencePieceModel.Load(tokenizer.FullName));
        }
        var weights = GenerationModelLoader.ReadWeights(path); // a checkpoint loads TorchSharp (it is a TorchSharp state dictionary)
        if (tokenizer is not null) return (weights, SentencePieceModel.Load(tokenizer.FullName));
        string beside = Path.Combine(path, "tokenizer.model"); // a Hugging Face folder carries its tokenizer
        if (Directory.Exists(path) && File.Exists(beside)) return (weights, SentencePieceModel.Load(beside));
        return (weights, FindTokenizer(dataset.FullName, weights.Config.VocabSize));
    }

    /// <summary><c>tok{vocab}.model</c> in the folder or its parent, where train-tokenizer and pretokenize put it.</summary>
    private static SentencePieceModel? FindTokenizer(string folder, int vocabSize)
    {
        foreach (string dir in new[] { folder, Path.GetDirectoryName(Path.GetFullPath(folder)) ?? folder })
        {
            string candidate = Path.Combine(dir, $"tok{vocabSize}.model");
            if (File.Exists(candidate)) return SentencePieceModel.Load(candidate);
        }
        return null;
    }

    private static void CheckTokenizer(TokenShardBatchSource source, TransformerWeights weights, SentencePieceModel? tokenizer)
    {
        var model = tokenizer is null ? new TokenizerFingerprint(weights.Config.VocabSize, null) : TokenizerFingerprint.Of(tokenizer);
        if (source.Tokenizer is { } data && model.Mismatch(data, "The model", $"the shards in '{source.Directory}'") is { } why)
            throw new InvalidDataException($"{why} Pretokenize the data with the model's tokenizer.");
    }

    private static bool IsZip(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\u0003\u0004"u8);
    }

    /// <summary>Runs the evaluation under a progress bar on standard error (results go to standard output).</summary>
    private static LanguageModelMetrics WithProgress(LanguageModelEvaluationOptions options, long? total, string what, Func<LanguageModelMetrics> evaluate)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        LanguageModelMetrics? metrics = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"evaluating {what}", maxValue: Math.Max(1, total ?? 1));
                if (total is null) task.IsIndeterminate = true;
                options.Progress = new InlineProgress<LanguageModelEvaluationProgress>(p =>
                {
                    task.Value = Math.Min(p.Tokens, task.MaxValue);
                    task.Description = $"evaluating {what}: {p.Tokens:N0} tokens, {p.TokensPerSecond:F0} tok/s, loss {p.CrossEntropy:F4}";
                });
                metrics = evaluate();
                task.Value = task.MaxValue;
            });
        Console.Error.WriteLine($"[{metrics!.TokenCount:N0} tokens in {metrics.WindowCount:N0} windows on {(options.Backend == GenerationBackend.TorchSharp ? "torch" : "engine")}, {options.Device}]");
        return metrics;
    }
}
