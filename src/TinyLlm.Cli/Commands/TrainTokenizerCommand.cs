using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.Cli.Commands;

/// <summary><c>tinyllm train-tokenizer</c>: trains a SentencePiece BPE tokenizer (llama2.c's <c>train_vocab</c>).</summary>
internal static class TrainTokenizerCommand
{
    public static Command Create()
    {
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size (special pieces + 256 byte pieces + merges + characters).", DefaultValueFactory = _ => 4096 };
        var datasetDir = new Option<DirectoryInfo?>("--dataset-dir") { Description = "TinyStories directory (the JSON shards); the model goes to DIR/tok{N}.model unless --out is given." };
        var numShards = new Option<int?>("--num-shards") { Description = "Train on the first N shards only (the tutorial uses 10)." };
        numShards.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is int value && value < 1)
                result.AddError($"--num-shards must be at least 1 (or left out for every shard); it was {value}.");
        });
        var input = new Option<FileInfo[]>("--input") { Description = "Plain-text corpus file(s), one sentence per line, instead of --dataset-dir.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "Model path (default tok{N}.model); the .vocab is written beside it." };
        var coverage = new Option<double>("--character-coverage") { Description = "Fraction of characters covered by the vocabulary (0.98 to 1.0).", DefaultValueFactory = _ => 1.0 };
        var sentences = new Option<long>("--input-sentence-size") { Description = "Sample this many lines from the corpus (0 = all).", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--num-threads") { Description = "Threads (0 = all cores).", DefaultValueFactory = _ => 0 };

        var command = new Command("train-tokenizer", "Train a SentencePiece BPE tokenizer (spm_train compatible .model and .vocab).");
        foreach (var o in new Option[] { vocabSize, datasetDir, numShards, input, output, coverage, sentences, threads })
            command.Options.Add(o);

        command.SetAction(parse =>
        {
            int n = parse.GetValue(vocabSize);
            var dir = parse.GetValue(datasetDir);
            var files = parse.GetValue(input) ?? [];
            if (dir is null && files.Length == 0)
                throw new ArgumentException("Give the corpus with --dataset-dir DIR (TinyStories shards) or --input FILE (plain text).");
            if (dir is not null && files.Length > 0)
                throw new ArgumentException("Give either --dataset-dir or --input, not both.");
            foreach (var f in files)
                InputPaths.RequireFile(f.FullName, "--input", "plain-text corpus files (for a folder of TinyStories shards use --dataset-dir)");
            if (dir is not null)
                InputPaths.RequireFolder(dir.FullName, "--dataset-dir", "the folder of TinyStories shards data00.json, data01.json, ...");

            string outPath = parse.GetValue(output)
                ?? (dir is not null ? Path.Combine(dir.FullName, $"tok{n}.model") : $"tok{n}.model");
            var options = new SentencePieceBpeOptions
            {
                VocabSize = n,
                CharacterCoverage = parse.GetValue(coverage),
                InputSentenceSize = parse.GetValue(sentences),
                NumThreads = parse.GetValue(threads),
            };
            IEnumerable<string> corpus = dir is not null
                ? TokenizerCorpus.FromDataset(dir.FullName, parse.GetValue(numShards))
                : files.SelectMany(f => SentencePieceBpeTrainer.ReadCorpusFile(f.FullName));

            var clock = Stopwatch.StartNew();
            SentencePieceModel model = null!;
            Terminal.Messages.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var reading = ctx.AddTask("reading corpus", maxValue: 1);
                    reading.IsIndeterminate = true;
                    var merging = ctx.AddTask("learning merges", autoStart: false, maxValue: 1);
                    var progress = new InlineProgress<SentencePieceTrainingProgress>(p =>
                    {
                        if (p.Stage == "reading")
                        {
                            reading.Description = $"reading corpus ({p.Done:N0} lines)";
                            if (p.Total > 0) { reading.IsIndeterminate = false; reading.Value = reading.MaxValue; }
                        }
                        else
                        {
                            if (!merging.IsStarted) merging.StartTask();
                            merging.MaxValue = Math.Max(1, p.Total);
                            merging.Value = p.Done;
                        }
                    });
                    try
                    {
                        model = SentencePieceBpeTrainer.Train(corpus, options, progress);
                    }
                    catch (InvalidDataException e) when (e.Message.StartsWith("The training corpus", StringComparison.Ordinal))
                    {
                        // The library cannot know where the lines came from; the command does.
                        string from = dir is not null ? $"--dataset-dir '{dir.FullName}'" : string.Join(", ", files.Select(f => $"--input '{f.FullName}'"));
                        throw new InvalidDataException($"The training corpus ({from}){e.Message["The training corpus".Length..]}", e);
                    }
                    reading.Value = reading.MaxValue;
                    merging.Value = merging.MaxValue;
                });
            foreach (var w in model.Warnings) Terminal.Messages.MarkupLineInterpolated($"[yellow]warning:[/] {w}");
            model.Save(outPath);
            Console.WriteLine($"Trained {model.VocabSize} pieces in {clock.Elapsed.TotalSeconds:F1} s: {outPath} and {Path.ChangeExtension(outPath, ".vocab")}");
            return 0;
        });
        return command;
    }
}
