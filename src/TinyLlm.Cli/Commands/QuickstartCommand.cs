using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using Spectre.Console;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm quickstart</c>: the whole tutorial in one command on a fresh machine: stories (synthetic unless
/// --dataset-dir), tokenizer, shards, a small model trained for a few minutes, the ML.NET zip, and three stories
/// scored through a PredictionEngine from the reloaded zip. Finished stages are reused unless --force.
/// </summary>
internal static class QuickstartCommand
{
    private const string Prompt = "One day, Lily met a";

    public static Command Create()
    {
        var workDir = new Option<DirectoryInfo>("--work-dir") { Description = "Where every artifact goes.", DefaultValueFactory = _ => new DirectoryInfo("quickstart") };
        var datasetDir = new Option<DirectoryInfo?>("--dataset-dir") { Description = "Real TinyStories shards (data00.json ...) instead of synthetic stories." };
        var stories = new Option<int>("--stories") { Description = "Synthetic stories to write when no --dataset-dir is given.", DefaultValueFactory = _ => 40_000 };
        var minutes = new Option<double>("--minutes") { Description = "Training time budget in minutes.", DefaultValueFactory = _ => 5.0 };
        var vocab = new Option<int>("--vocab-size") { Description = "Tokenizer vocabulary size.", DefaultValueFactory = _ => 512 };
        var dim = new Option<int>("--dim") { Description = "Model width.", DefaultValueFactory = _ => 128 };
        var layers = new Option<int>("--n-layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--n-heads") { Description = "Query heads.", DefaultValueFactory = _ => 4 };
        var kvHeads = new Option<int>("--n-kv-heads") { Description = "Key/value heads.", DefaultValueFactory = _ => 2 };
        var seqLen = new Option<int>("--max-seq-len") { Description = "Context length.", DefaultValueFactory = _ => LlamaConfig.Seed.MaxSeqLen };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 16 };
        var dtype = new Option<string>("--dtype") { Description = "auto (the faster of float32 and bfloat16, measured), float32 or bfloat16.", DefaultValueFactory = _ => "auto" };
        var seed = new Option<int>("--seed") { Description = "Seed of stories, initialization, data order and sampling.", DefaultValueFactory = _ => 1337 };
        var force = new Option<bool>("--force") { Description = "Redo every stage instead of reusing finished ones." };

        var command = new Command("quickstart", "Run the whole flow: stories, tokenizer, shards, a few minutes of training, an ML.NET zip, and three stories from it.");
        foreach (var o in new Option[] { workDir, datasetDir, stories, minutes, vocab, dim, layers, heads, kvHeads, seqLen, batch, dtype, seed, force })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            var s = new Settings(
                parse.GetValue(workDir)!.FullName, parse.GetValue(datasetDir)?.FullName, parse.GetValue(stories), parse.GetValue(minutes),
                parse.GetValue(vocab), parse.GetValue(dim), parse.GetValue(layers), parse.GetValue(heads), parse.GetValue(kvHeads),
                parse.GetValue(seqLen), parse.GetValue(batch), parse.GetValue(dtype)!, parse.GetValue(seed), parse.GetValue(force));
            s.Validate();
            return Run(s);
        });
        return command;
    }

    private sealed record Settings(string WorkDir, string? DatasetDir, int Stories, double Minutes, int VocabSize, int Dim, int NLayers,
        int NHeads, int NKvHeads, int SeqLen, int BatchSize, string Dtype, int Seed, bool Force)
    {
        public string DataDir => DatasetDir ?? Path.Combine(WorkDir, "data");
        public string TokenizerPath => Path.Combine(WorkDir, $"tok{VocabSize}.model");
        public string ShardDir => Path.Combine(WorkDir, $"tok{VocabSize}");
        public string OutDir => Path.Combine(WorkDir, "out");
        public string ZipPath => Path.Combine(WorkDir, "tinyllm.zip");

        public void Validate()
        {
            if (Stories < 100) throw new ArgumentException($"--stories must be at least 100; it was {Stories}.");
            if (!(Minutes > 0 && Minutes <= 24 * 60)) throw new ArgumentException($"--minutes must be in (0, 1440]; it was {Minutes}.");
            if (Dtype is not ("auto" or "float32" or "bfloat16")) throw new ArgumentException($"--dtype must be auto, float32 or bfloat16; it was '{Dtype}'.");
            if (DatasetDir is not null) InputPaths.RequireFolder(DatasetDir, "--dataset-dir", "a folder of TinyStories shards (data00.json ...)");
            Training(MaxIters: 1, "float32").Validate(); // model shape errors before any work
        }

        public TrainingOptions Training(int MaxIters, string dtype) => new()
        {
            OutDir = OutDir, VocabSize = VocabSize, Dim = Dim, NLayers = NLayers, NHeads = NHeads, NKvHeads = NKvHeads,
            MultipleOf = LlamaConfig.Seed.MultipleOf, MaxSeqLen = SeqLen, BatchSize = BatchSize, GradientAccumulationSteps = 1,
            // A small model trained briefly: a higher peak rate than the tutorial's 5e-4 for its 100k steps.
            LearningRate = 2e-3, MaxIters = MaxIters, WarmupIters = Math.Max(1, MaxIters / 20), MinLr = 2e-4,
            EvalInterval = Math.Max(1, MaxIters / 5), EvalIters = 10, AlwaysSaveCheckpoint = true, Device = "auto",
            Dtype = dtype, Seed = Seed,
        };
    }

    // What quickstart.json records about a finished training stage. TokensPerSecond is the run's own average: the tokens
    // it trained over the wall time of its training loop (evaluations and checkpoints included), not one step's rate.
    // Compute is the last step's achieved FLOP/s and MFU for the summary (empty in records of older versions).
    private sealed record TrainedModel(string Dtype, long Iters, double TrainLoss, double ValLoss, long Tokens, double TokensPerSecond, double Seconds,
        string Compute = "");

    // What quickstart.json records about a finished tokenizer: the .model it wrote, by SHA-256.
    private sealed record TrainedTokenizer(string ModelSha256);

    // Tokens after which the default model's stories read cleanly on the synthetic stories: 1,231 steps of 16 x 256
    // (5.0M tokens) reached val loss 0.35 and clean English; 346 steps (1.4M tokens) reached 0.82 and broken words
    // ("she played dresed and looked hat in the fores").
    private const double CleanStoryTokens = 4e6;

    private static int Run(Settings s)
    {
        Directory.CreateDirectory(s.WorkDir);
        var total = Stopwatch.StartNew();
        var rows = new List<(string Stage, string What, string Time)>();
        Terminal.Messages.Write(new Rule("[bold]TinyLlm quickstart[/]").LeftJustified());
        // Each stage is done only when its record says so; the record is written after the stage's files.
        var stages = QuickstartStages.Open(s.WorkDir);
        if (stages.WasUnreadable)
            Terminal.Messages.MarkupLineInterpolated($"[yellow]{Path.Combine(s.WorkDir, QuickstartStages.FileName)} could not be read (a run stopped while writing it?): redoing every stage.[/]");

        // 1. Stories
        var clock = Stopwatch.StartNew();
        string storiesNote;
        // At least 10 shards: shard 0 is the validation split, the rest train.
        int perShard = Math.Min(SyntheticStories.DefaultStoriesPerShard, Math.Max(1, s.Stories / 10));
        string storiesSignature = s.DatasetDir is not null ? $"dataset {s.DatasetDir}" : $"synthetic {s.Stories} stories, seed {s.Seed}, {perShard} per shard";
        if (s.DatasetDir is not null)
            storiesNote = $"TinyStories in {s.DatasetDir}";
        else if (!s.Force && stages.IsDone("stories", storiesSignature))
            storiesNote = "synthetic stories (reused)";
        else
        {
            // A partial set (a run killed while writing it) or another one: none of its shards may be mixed in.
            if (Directory.Exists(s.DataDir))
                foreach (string old in Directory.GetFiles(s.DataDir, "*.json")) File.Delete(old);
            Bar("Writing synthetic stories", s.Stories, task => SyntheticStories.WriteShards(s.DataDir, s.Stories, s.Seed, perShard,
                progress: new InlineProgress<SyntheticStoriesProgress>(p => task.Value = p.StoriesWritten)));
            stages.Complete("stories", storiesSignature, new { s.Stories });
            storiesNote = $"{s.Stories:N0} synthetic stories";
        }
        rows.Add(("stories", $"{storiesNote}: {s.DataDir}", Seconds(clock)));

        // 2. Tokenizer (the tutorial trains it on the first 10 shards)
        clock.Restart();
        string tokenizerSignature = $"{storiesSignature}; vocabulary {s.VocabSize}";
        var tokenizerRecord = s.Force ? null : stages.Find<TrainedTokenizer>("tokenizer", tokenizerSignature);
        bool newTokenizer = tokenizerRecord is null || !File.Exists(s.TokenizerPath) || QuickstartStages.Hash(s.TokenizerPath) != tokenizerRecord.ModelSha256
            || !SentencePieceModel.Load(s.TokenizerPath).VocabMatches(s.TokenizerPath);
        if (newTokenizer)
        {
            SentencePieceModel spm = null!;
            Bar("Training the tokenizer", 1, task =>
            {
                int shards = Directory.EnumerateFiles(s.DataDir, "*.json").Count();
                var corpus = TokenizerCorpus.FromDataset(s.DataDir, Math.Clamp(shards, 1, 10));
                spm = SentencePieceBpeTrainer.Train(corpus, new SentencePieceBpeOptions { VocabSize = s.VocabSize },
                    new InlineProgress<SentencePieceTrainingProgress>(p =>
                    {
                        if (p.Stage != "reading" && p.Total > 0) { task.MaxValue = p.Total; task.Value = p.Done; }
                    }));
            });
            spm.Save(s.TokenizerPath);
            stages.Complete("tokenizer", tokenizerSignature, new TrainedTokenizer(QuickstartStages.Hash(s.TokenizerPath)));
        }
        rows.Add(("tokenizer", $"{s.VocabSize} pieces{(newTokenizer ? "" : " (reused)")}: {s.TokenizerPath}", Seconds(clock)));

        // 3. Shards (the writer's manifest skips finished shards)
        clock.Restart();
        var inputs = TokenShardInput.FromTinyStoriesFolder(s.DataDir);
        TokenShardManifest manifest = null!;
        Bar("Pretokenizing", inputs.Count, task =>
        {
            var options = new TokenShardWriterOptions { Overwrite = s.Force || newTokenizer, Progress = new InlineProgress<TokenShardProgress>(p => task.Value = p.ShardsDone) };
            manifest = new TokenShardWriter(s.TokenizerPath, options).Write(inputs, s.ShardDir);
        });
        long tokens = manifest.Shards.Sum(x => x.Tokens);
        rows.Add(("shards", $"{manifest.Shards.Count} shards, {tokens:N0} tokens: {s.ShardDir}", Seconds(clock)));

        // 4. Training
        clock.Restart();
        var trained = TrainOrReuse(s, stages, $"{tokenizerSignature}; tokenizer {QuickstartStages.Hash(s.TokenizerPath)}");
        string compute = trained.Compute.Length > 0 ? $" ({trained.Compute})" : "";
        rows.Add(("training", $"{trained.Iters} steps ({trained.Dtype}), {trained.Tokens / 1e6:F2}M tokens in {trained.Seconds:F0} s: {trained.TokensPerSecond:N0} tokens/s on average (evaluations included){compute}, " +
            $"train loss {trained.TrainLoss:F3}, val loss {trained.ValLoss:F3}: {Path.Combine(s.OutDir, Checkpoint.FileName)}", Seconds(clock)));

        // 5. The ML.NET pipeline, saved as one zip: tokenizer, then the model with its generation options.
        clock.Restart();
        var ml = new MLContext(seed: s.Seed);
        var tokenizer = ml.Transforms.Text.LoadSentencePiece(s.TokenizerPath);
        var generation = ml.Transforms.Text.LoadLlama(Path.Combine(s.OutDir, Checkpoint.FileName), s.TokenizerPath, new LlamaGenerationOptions
        {
            IncludePromptInCompletion = true,
            Sampling = new SamplingOptions { Temperature = 0.8f, TopK = 300, MaxNewTokens = s.SeqLen - 16, Seed = (ulong)s.Seed },
        });
        var pipeline = tokenizer.Append(generation);
        var promptSchema = ml.Data.LoadFromEnumerable(Array.Empty<StoryPrompt>()).Schema;
        ml.Model.Save(pipeline, promptSchema, s.ZipPath);
        rows.Add(("ML.NET zip", $"{new FileInfo(s.ZipPath).Length / 1e6:F1} MB: {s.ZipPath}", Seconds(clock)));

        // 6. A fresh MLContext loads the zip and scores the prompt three times through a PredictionEngine.
        clock.Restart();
        var fresh = new MLContext();
        fresh.ComponentCatalog.RegisterTinyLlm();
        var loaded = fresh.Model.Load(s.ZipPath, out _);
        var engine = fresh.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(loaded);
        AnsiConsole.Write(new Rule($"[bold]Three stories for \"{Markup.Escape(Prompt)}\"[/]").LeftJustified());
        for (int i = 0; i < 3; i++)
        {
            string story = engine.Predict(new StoryPrompt { Text = Prompt }).Completion;
            AnsiConsole.WriteLine(story.Trim());
            AnsiConsole.WriteLine();
        }
        rows.Add(("stories", "3 stories via PredictionEngine from the reloaded zip", Seconds(clock)));

        var table = new Table().AddColumns("stage", "result", "time");
        foreach (var (stage, what, time) in rows) table.AddRow(Markup.Escape(stage), Markup.Escape(what), time);
        AnsiConsole.Write(table);
        string png = Path.Combine(s.OutDir, LossCurvePlot.FileName);
        if (File.Exists(png)) AnsiConsole.MarkupLineInterpolated($"Loss curve: [green]{png}[/]; metrics: {Path.Combine(s.OutDir, "metrics.csv")}");
        AnsiConsole.MarkupLineInterpolated($"Done in {total.Elapsed.TotalMinutes:F1} min. Try: tinyllm generate --model {s.ZipPath} --prompt \"Once upon a time\"");
        return 0;
    }

    private static TrainedModel TrainOrReuse(Settings s, QuickstartStages stages, string dataSignature)
    {
        string signature = $"{dataSignature}; {s.Dim}/{s.NLayers}/{s.NHeads}/{s.NKvHeads}, context {s.SeqLen}, batch {s.BatchSize}, {s.Minutes} min, seed {s.Seed}, {s.Dtype}";
        if (!s.Force && File.Exists(Path.Combine(s.OutDir, Checkpoint.FileName)) && stages.Find<TrainedModel>("training", signature) is { } previous)
        {
            Terminal.Messages.MarkupLine("[grey]Reusing the model trained by an earlier run with the same settings (--force retrains).[/]");
            return previous;
        }
        Directory.CreateDirectory(s.OutDir);
        using var data = TokenShardBatchSource.Open(s.ShardDir, new TokenWindowOptions { SequenceLength = s.SeqLen, Seed = s.Seed });

        // How long is a step? Measure a few (both precisions when auto) and size the run to the time budget.
        var budget = Stopwatch.StartNew();
        string dtype = s.Dtype;
        double stepSeconds;
        if (dtype == "auto")
        {
            double fp32 = MeasureStep(s, data, "float32"), bf16 = MeasureStep(s, data, "bfloat16");
            dtype = bf16 < fp32 ? "bfloat16" : "float32";
            stepSeconds = Math.Min(fp32, bf16);
            Terminal.Messages.MarkupLineInterpolated($"[grey]step time: float32 {fp32 * 1000:F0} ms, bfloat16 {bf16 * 1000:F0} ms: training in {dtype}[/]");
        }
        else
        {
            stepSeconds = MeasureStep(s, data, dtype);
        }
        double left = s.Minutes * 60 - budget.Elapsed.TotalSeconds;
        // Evaluations (5 of 2 x 10 batches, forward only) cost about 10% on top of the steps.
        // A multiple of 5 so that the last of the 5 evaluations (and its checkpoint) falls on the last step.
        int iters = Math.Max(20, (int)(left / (stepSeconds * 1.1))) / 5 * 5;
        Terminal.Messages.MarkupLineInterpolated($"[grey]planning {iters} steps of {s.BatchSize} x {s.SeqLen} tokens for the {left / 60:F1} minutes left[/]");
        ExpectedQuality(s, (double)iters * s.BatchSize * s.SeqLen);
        var options = s.Training(iters, dtype);

        // The plan uses the fastest measured step (a busy machine only slows the others down); a deadline a little
        // past the budget stops a run that falls behind, keeping the checkpoint of its last evaluation.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(60, left * 1.15)));
        TrainingResult? result = null;
        double trainLoss = double.NaN, valLoss = double.NaN, flops = double.NaN, mfu = -1;
        long lastIter = 0, steps = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            Terminal.Messages.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("Training", maxValue: iters + 1);
                    result = new LlamaTrainer(options).Fit(data, new InlineProgress<TrainingProgress>(p =>
                    {
                        if (p.Event == TrainingEvent.Step)
                        {
                            task.Value = p.Iter + 1;
                            lastIter = p.Iter;
                            steps++;
                            (flops, mfu) = (p.FlopsPerSecond, p.Mfu);
                            task.Description = $"Training: step {p.Iter}/{iters}, loss {p.Loss:F3}, {p.TokensPerSecond:N0} tok/s";
                        }
                        else if (p.Event == TrainingEvent.Setting)
                        {
                            Terminal.Messages.MarkupLineInterpolated($"[grey]{p.Message}[/]");
                        }
                        else if (p.Event == TrainingEvent.Eval)
                        {
                            (trainLoss, valLoss) = (p.TrainLoss, p.ValLoss);
                            LossCurvePlot.Update(Path.Combine(s.OutDir, MetricsLog.CsvName));
                            Terminal.Messages.MarkupLineInterpolated($"step {p.Iter}: train loss [green]{p.TrainLoss:F4}[/], val loss [green]{p.ValLoss:F4}[/]");
                        }
                    }), deadline.Token);
                    task.Value = task.MaxValue;
                });
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Terminal.Messages.MarkupLineInterpolated($"[yellow]The time budget ran out at step {lastIter} of {iters}; using the checkpoint of the last evaluation.[/]");
        }
        result?.Model.Dispose();
        // The run's own average; when the deadline stopped it, its steps over the time it ran.
        long tokens = result?.Tokens ?? steps * options.GradientAccumulationSteps * options.BatchSize * options.MaxSeqLen;
        double seconds = result?.Duration.TotalSeconds ?? clock.Elapsed.TotalSeconds;
        var peak = result?.Peak; // null when the deadline stopped the run: MFU without its yardstick then
        string compute = double.IsNaN(flops) ? "" : "steps at " + PeakFlops.Format(flops) + (mfu < 0 ? "" : $", MFU {mfu * 100:F0}%") + (mfu < 0 || peak is null ? "" : $" of {peak}");
        var trained = new TrainedModel(dtype, result?.IterNum ?? lastIter, trainLoss, valLoss, tokens, tokens / Math.Max(seconds, 1e-9), seconds, compute);
        stages.Complete("training", signature, trained);
        return trained;
    }

    // What the planned tokens buy: on a slower machine the budget may stop short of clean stories; say so, and how
    // many minutes would reach them (the threshold was measured with the default model size).
    private static void ExpectedQuality(Settings s, double plannedTokens)
    {
        if (plannedTokens >= CleanStoryTokens) return;
        double minutes = Math.Ceiling(s.Minutes * CleanStoryTokens / plannedTokens);
        Terminal.Messages.MarkupLineInterpolated($"[yellow]This machine trains about {plannedTokens / 1e6:F1}M tokens in {s.Minutes:0.#} minutes; with the default model the stories read cleanly after about {CleanStoryTokens / 1e6:F0}M (validation loss about 0.4 or lower). Expect misspelt words; --minutes {minutes:F0} trains enough.[/]");
    }

    // Seconds per optimizer step in dtype: the fastest of 4 steps after two warm-up steps, in a scratch folder.
    private static double MeasureStep(Settings s, ITokenBatchSource data, string dtype)
    {
        string scratch = Directory.CreateTempSubdirectory("tinyllm-calibrate-").FullName;
        try
        {
            var options = s.Training(6, dtype);
            options.OutDir = scratch;
            options.EvalInterval = 1000;
            options.EvalIters = 1;
            options.WriteMetrics = false;
            options.AlwaysSaveCheckpoint = false;
            var times = new List<double>();
            var result = new LlamaTrainer(options).Fit(data, new InlineProgress<TrainingProgress>(p =>
            {
                if (p.Event == TrainingEvent.Step && p.Iter > 1) times.Add(p.StepMilliseconds / 1000);
            }));
            result.Model.Dispose();
            return times.Count == 0 ? 1.0 : times.Min();
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static void Bar(string description, double max, Action<ProgressTask> work) =>
        Terminal.Messages.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: Math.Max(1, max));
                work(task);
                task.Value = task.MaxValue;
            });

    private static string Seconds(Stopwatch clock) => $"{clock.Elapsed.TotalSeconds:F1} s";

    /// <summary>The prompt row scored by the PredictionEngine.</summary>
    public sealed class StoryPrompt
    {
        /// <summary>The start of the story.</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>The scored row.</summary>
    public sealed class StoryCompletion
    {
        /// <summary>The prompt followed by the generated story.</summary>
        public string Completion { get; set; } = "";
    }
}
