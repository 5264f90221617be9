using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm pretokenize</c>: llama2.c's <c>python tinystories.py pretokenize --vocab_size=4096</c>. Each
/// <c>dataNN.json</c> of the data set becomes <c>tok{N}/dataNN.bin</c> (raw uint16, every story BOS-first); a re-run
/// skips the shards already finished from an unchanged source, encodes again those whose source changed and removes
/// those whose source is gone, and says so.
/// </summary>
internal static class PretokenizeCommand
{
    public static Command Create()
    {
        var vocabSize = new Option<int>("--vocab-size")
        {
            Description = "Vocabulary size of the tokenizer (names the output folder tok{N}); must match the .model.",
            DefaultValueFactory = _ => 4096,
        };
        var datasetDir = new Option<string>("--dataset-dir")
        {
            Description = "Folder of the TinyStories shards data00.json, data01.json, ...",
            DefaultValueFactory = _ => Path.Combine("data", "TinyStories_all_data"),
        };
        var modelPath = new Option<string?>("--tokenizer-model-path")
        {
            Description = "The SentencePiece .model to encode with (default: <dataset-dir>/tok{N}.model, where train-tokenizer writes it).",
        };
        var outputDir = new Option<string?>("--output-dir")
        {
            Description = "Folder of the .bin shards (default: <dataset-dir>/tok{N}).",
        };
        var threads = new Option<int>("--threads")
        {
            Description = "Threads encoding stories; -1 for all cores.",
            DefaultValueFactory = _ => -1,
        };
        var force = new Option<bool>("--force")
        {
            Description = "Re-encode every shard, even finished ones, and replace shards made with another tokenizer.",
        };
        vocabSize.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 1 || value > TokenShardFormat.MaxVocabSize)
                result.AddError($"--vocab-size must be between 1 and {TokenShardFormat.MaxVocabSize:N0} (uint16 shards hold ids 0 to 65,535); it was {value:N0}.");
        });
        threads.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value == 0 || value < -1) result.AddError($"--threads must be -1 (all cores) or at least 1; it was {value}.");
        });

        var command = new Command("pretokenize", "Encode TinyStories JSON shards into uint16 .bin shards (BOS first, no EOS), in parallel, resumable.");
        command.Options.Add(vocabSize);
        command.Options.Add(datasetDir);
        command.Options.Add(modelPath);
        command.Options.Add(outputDir);
        command.Options.Add(threads);
        command.Options.Add(force);
        command.SetAction(parseResult =>
        {
            int vocab = parseResult.GetValue(vocabSize);
            string dataset = parseResult.GetValue(datasetDir)!;
            string model = parseResult.GetValue(modelPath) ?? Path.Combine(dataset, $"tok{vocab}.model");
            string output = parseResult.GetValue(outputDir) ?? Path.Combine(dataset, TokenShardFormat.ShardFolderName(vocab));

            var inputs = TokenShardInput.FromTinyStoriesFolder(dataset);
            long jsonBytes = inputs.Sum(i => i.SourceBytes);
            var options = new TokenShardWriterOptions { MaxDegreeOfParallelism = parseResult.GetValue(threads), Overwrite = parseResult.GetValue(force) };
            var writer = new TokenShardWriter(model, options);
            if (writer.VocabSize != vocab)
                throw new ArgumentException($"--vocab-size is {vocab:N0}, but tokenizer '{model}' has a vocabulary of {writer.VocabSize:N0}; pass --vocab-size {writer.VocabSize}.");

            var clock = Stopwatch.StartNew();
            TokenShardProgress last = default;
            TokenShardManifest manifest = null!;
            Terminal.Messages.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask($"Pretokenizing {inputs.Count} shard(s)", maxValue: inputs.Count);
                    options.Progress = new InlineProgress<TokenShardProgress>(p =>
                    {
                        lock (task)
                        {
                            last = p;
                            double s = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                            task.Value = p.ShardsDone;
                            task.Description = $"{p.ShardsDone}/{inputs.Count} shards, {p.TextBytes / 1e6 / s:F1} MB/s, {p.Tokens / s / 1e6:F2}M tokens/s";
                        }
                    });
                    manifest = writer.Write(inputs, output);
                    task.Value = inputs.Count;
                });
            double seconds = clock.Elapsed.TotalSeconds;
            long tokens = manifest.Shards.Sum(s => s.Tokens);
            double rate = Math.Max(seconds, 1e-9);
            string changes = (last.ShardsReencoded > 0 ? $"; {last.ShardsReencoded} encoded again because their source changed" : "")
                + (last.ShardsRemoved > 0 ? $"; {last.ShardsRemoved} removed because their source is gone" : "");
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote {manifest.Shards.Count} shard(s), {tokens:N0} tokens, to [green]{output}[/] in {seconds:F1} s ({last.ShardsSkipped} already done{changes}; {last.TextBytes / 1e6 / rate:F1} MB/s of stories, {last.Tokens / rate / 1e6:F2}M tokens/s).");
            return 0;
        });
        return command;
    }
}
