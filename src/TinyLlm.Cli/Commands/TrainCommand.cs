using System.CommandLine;
using Spectre.Console;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Training;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm train</c>: llama2.c's train.py with every setting as a flag (kebab-case, or the tutorial's
/// <c>--batch_size=32</c> spellings), reading pretokenized shards from <c>--data-dir</c>.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var d = new TrainingOptions(); // the defaults shown in --help are the library's
        var binders = new List<Action<ParseResult, TrainingOptions>>();
        var command = new Command("train", "Train a LLaMA-2 model on pretokenized shards (llama2.c's train.py); checkpoints, metrics.csv and loss.png go to --out-dir.");

        Option<T> Add<T>(string name, T defaultValue, string description, Action<TrainingOptions, T> apply, params string[] aliases)
        {
            var option = new Option<T>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue };
            command.Options.Add(option);
            binders.Add((parse, o) => apply(o, parse.GetValue(option)!));
            return option;
        }

        var dataDir = new Option<DirectoryInfo>("--data-dir", "--dataset-dir")
        {
            Description = "Folder of pretokenized .bin shards (or a dataset folder holding tok<vocab_size>/). Shard 0 is validation.",
            Required = true,
        };
        command.Options.Add(dataDir);
        var allowIncomplete = new Option<bool>("--allow-incomplete-shards")
        {
            Description = "Train on a shard folder whose pretokenize run did not finish (refused otherwise).",
        };
        command.Options.Add(allowIncomplete);

        // I/O
        // The library writes no file unless told where; the command writes into out/ as train.py does.
        Add("--out-dir", "out", "Folder for ckpt.bin, model.bin, metrics.csv and loss.png (holds train.lock while training).", (o, v) => o.OutDir = v);
        Add("--eval-interval", d.EvalInterval, "Evaluate (and maybe checkpoint) every N iterations.", (o, v) => o.EvalInterval = v);
        Add("--log-interval", d.LogInterval, "Log the training loss every N iterations.", (o, v) => o.LogInterval = v);
        Add("--eval-iters", d.EvalIters, "Batches per split in each evaluation.", (o, v) => o.EvalIters = v);
        Add("--eval-only", d.EvalOnly, "Evaluate once and exit.", (o, v) => o.EvalOnly = v);
        Add("--always-save-checkpoint", d.AlwaysSaveCheckpoint, "Checkpoint at every evaluation, not only on a better val loss.", (o, v) => o.AlwaysSaveCheckpoint = v);
        Add("--init-from", d.InitFrom, "scratch, resume (from out-dir/ckpt.bin), or a model to fine-tune: an ML.NET zip, a ckpt.bin, a llama2.c model file, a Hugging Face folder or a GGUF file (its shape and tokenizer are kept).", (o, v) => o.InitFrom = v);
        // data
        Add("--batch-size", d.BatchSize, "Micro-batch size (sequences per forward/backward).", (o, v) => o.BatchSize = v);
        Add("--max-seq-len", d.MaxSeqLen, "Context length.", (o, v) => o.MaxSeqLen = v);
        Add("--vocab-size", d.VocabSize, "Vocabulary size (at least the tokenizer's).", (o, v) => o.VocabSize = v);
        // model
        Add("--dim", d.Dim, "Model width.", (o, v) => o.Dim = v);
        Add("--n-layers", d.NLayers, "Transformer blocks.", (o, v) => o.NLayers = v);
        Add("--n-heads", d.NHeads, "Query heads (must divide dim).", (o, v) => o.NHeads = v);
        Add("--n-kv-heads", d.NKvHeads, "Key/value heads (must divide n-heads).", (o, v) => o.NKvHeads = v);
        Add("--multiple-of", d.MultipleOf, "SwiGLU hidden size rounding.", (o, v) => o.MultipleOf = v);
        Add("--dropout", d.Dropout, "Dropout probability.", (o, v) => o.Dropout = v);
        // adamw optimizer
        Add("--gradient-accumulation-steps", d.GradientAccumulationSteps, "Micro-batches per optimizer step.", (o, v) => o.GradientAccumulationSteps = v);
        Add("--learning-rate", d.LearningRate, "Peak learning rate.", (o, v) => o.LearningRate = v);
        Add("--max-iters", d.MaxIters, "Total optimizer steps.", (o, v) => o.MaxIters = v);
        Add("--weight-decay", d.WeightDecay, "AdamW weight decay on matrices.", (o, v) => o.WeightDecay = v);
        Add("--beta1", d.Beta1, "AdamW beta1.", (o, v) => o.Beta1 = v);
        Add("--beta2", d.Beta2, "AdamW beta2.", (o, v) => o.Beta2 = v);
        Add("--grad-clip", d.GradClip, "Clip gradients to this global norm (0 disables).", (o, v) => o.GradClip = v);
        // learning rate decay
        Add("--decay-lr", d.DecayLr, "Warmup then cosine decay (false: constant learning rate).", (o, v) => o.DecayLr = v);
        Add("--warmup-iters", d.WarmupIters, "Linear warmup iterations.", (o, v) => o.WarmupIters = v);
        Add<int?>("--lr-decay-iters", null, "Iteration where the cosine reaches min-lr (default: max-iters).", (o, v) => o.LrDecayIters = v);
        Add("--min-lr", d.MinLr, "Final learning rate.", (o, v) => o.MinLr = v);
        // system
        Add("--device", d.Device, "auto (cuda if available, else cpu), cpu, cuda or cuda:N.", (o, v) => o.Device = v);
        Add("--dtype", d.Dtype, "auto (bfloat16 on cuda, float32 on cpu), float32 or bfloat16.", (o, v) => o.Dtype = v);
        Add("--seed", d.Seed, "Seed of the initialization, dropout and data order.", (o, v) => o.Seed = v);
        Add("--write-metrics", d.WriteMetrics, "Write metrics.csv and loss.png into out-dir.", (o, v) => o.WriteMetrics = v);
        Add("--threads", d.Threads, "libtorch threads on the CPU: 0 = libtorch's default (one per core). They wait passively at barriers unless OMP_WAIT_POLICY says otherwise.", (o, v) => o.Threads = v);
        Add<double?>("--peak-flops", d.PeakFlops, "The device's peak FLOP/s for MFU (default: a known GPU's data-sheet figure; on the CPU a matrix product measured at start-up).", (o, v) => o.PeakFlops = v);

        command.SetAction(parse =>
        {
            var options = new TrainingOptions();
            foreach (var bind in binders) bind(parse, options);
            var trainer = new LlamaTrainer(options); // validates every option before any data is read; reads a model to resume or fine-tune
            CheckShapeFlags(parse, command, trainer);
            var o = trainer.Options; // with the shape of the model resumed or fine-tuned
            if (trainer.InitialModel is { } initial)
            {
                var c = initial.Weights.Config;
                Terminal.Messages.MarkupLineInterpolated($"fine-tuning {initial.Description}: {c.Dim}/{c.NLayers}/{c.NHeads}/{c.NKvHeads}, vocabulary {c.VocabSize}, context {c.MaxSeqLen}, {(c.SharedClassifier ? "tied" : "untied")} classifier; a new optimizer, schedule and iteration count");
                if (initial.DequantizationNote() is { } note) Terminal.Messages.MarkupLineInterpolated($"[yellow]note:[/] {note}");
            }
            string shards = ShardFolder(parse.GetValue(dataDir)!, o.VocabSize);
            using var data = TokenShardBatchSource.Open(shards, new TokenWindowOptions { SequenceLength = o.MaxSeqLen, Seed = o.Seed },
                allowIncompleteShards: parse.GetValue(allowIncomplete));
            return Run(trainer, data);
        });
        return command;
    }

    /// <summary>
    /// Resuming or fine-tuning keeps the model's shape: a shape flag given on the command line must be the model's,
    /// even when it equals the default (the library can only tell a default from a choice by its value).
    /// </summary>
    private static void CheckShapeFlags(ParseResult parse, Command command, LlamaTrainer trainer)
    {
        if (trainer.InitialModel is null && trainer.Options.InitFrom != "resume") return;
        foreach (var (name, value, _, _) in TrainingShape.Fields)
        {
            var flag = command.Options.OfType<Option<int>>().Single(f => FlagNames.Pascal(f.Name) == name);
            if (parse.GetResult(flag) is not { Implicit: false }) continue;
            int given = parse.GetValue(flag), model = value(trainer.Options);
            if (given == model) continue;
            throw trainer.InitialModel is { } initial
                ? new ArgumentException(TrainingShape.FineTuneConflict(initial.Description, name, model, given))
                : new InvalidDataException(TrainingShape.ResumeConflict(trainer.CheckpointPath!, name, model, given));
        }
    }

    /// <summary>
    /// The folder itself when it holds shards, else its <c>tok{vocab}</c> subfolder (the tutorial's layout), else
    /// <c>TinyStories_all_data/tok{vocab}</c> (where <c>tinyllm pretokenize</c> writes by default).
    /// </summary>
    private static string ShardFolder(DirectoryInfo dir, int vocabSize) =>
        FindShardFolder(dir, vocabSize)
        ?? throw new DirectoryNotFoundException($"The data folder '{dir.FullName}' holds no .bin shards and no tok{vocabSize} folder; run `tinyllm pretokenize` first (--data-dir).");

    /// <summary>The shard folder of <see cref="ShardFolder"/>, or null when there is none.</summary>
    internal static string? FindShardFolder(DirectoryInfo dir, int vocabSize)
    {
        InputPaths.RequireFolder(dir.FullName, "--data-dir", $"the folder of .bin shards, or a dataset folder holding tok{vocabSize}/");
        if (dir.EnumerateFiles("*.bin").Any()) return dir.FullName;
        foreach (string nested in new[] { Path.Combine(dir.FullName, $"tok{vocabSize}"), Path.Combine(dir.FullName, "TinyStories_all_data", $"tok{vocabSize}") })
            if (Directory.Exists(nested)) return nested;
        return null;
    }

    private static int Run(LlamaTrainer trainer, ITokenBatchSource data)
    {
        var o = trainer.Options;
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // stop at the end of the current step, not mid-write
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        long lastIter = 0;
        try
        {
            TrainingResult? result = null;
            Terminal.Messages.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: o.MaxIters + 1);
                    var progress = new InlineProgress<TrainingProgress>(p =>
                    {
                        lastIter = p.Iter;
                        switch (p.Event)
                        {
                            case TrainingEvent.Step:
                                task.Value = p.Iter + 1;
                                string mfu = p.Mfu < 0 ? "" : $" | mfu {p.Mfu * 100:F1}%";
                                task.Description = $"iter {p.Iter} | loss {p.Loss:F4} | lr {p.LearningRate:0.00e+00} | {p.StepMilliseconds:F0} ms | {p.TokensPerSecond:F0} tok/s | {PeakFlops.Format(p.FlopsPerSecond)}{mfu}";
                                break;
                            case TrainingEvent.Eval:
                                Terminal.Messages.MarkupLineInterpolated($"step {p.Iter}: train loss [green]{p.TrainLoss:F4}[/], val loss [green]{p.ValLoss:F4}[/]");
                                // metrics.csv has this evaluation by now
                                if (o.WriteMetrics) LossCurvePlot.Update(Path.Combine(o.OutDir!, MetricsLog.CsvName));
                                break;
                            case TrainingEvent.Checkpoint:
                                Terminal.Messages.MarkupLineInterpolated($"[grey]saved checkpoint {p.CheckpointPath}[/]");
                                break;
                            case TrainingEvent.Setting:
                                Terminal.Messages.MarkupLineInterpolated($"[grey]{p.Message}[/]");
                                break;
                        }
                    });
                    result = trainer.Fit(data, progress, cts.Token);
                });
            using var model = result!.Model;
            AnsiConsole.MarkupLineInterpolated($"done: {result.IterNum} iterations, best val loss {result.BestValLoss:F4}; outputs in {Path.GetFullPath(o.OutDir!)}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Terminal.Messages.MarkupLineInterpolated($"[yellow]interrupted after iteration {lastIter}[/]; resume from the last checkpoint with --init-from resume.");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
