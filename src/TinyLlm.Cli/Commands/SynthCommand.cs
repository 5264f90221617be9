using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TinyLlm.MLNet.Stories.Synthetic;

namespace TinyLlm.Cli.Commands;

/// <summary><c>tinyllm synth</c>: writes synthetic TinyStories-format shards, a data set that needs no download.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out", "-o")
        {
            Description = "Folder for the shards data00.json, data01.json, ... (created if missing).",
            Required = true,
        };
        var stories = new Option<int>("--stories", "-n")
        {
            Description = "How many stories to write (about 1 KB each).",
            DefaultValueFactory = _ => 20_000,
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the story grammar; the same seed writes the same bytes.",
            DefaultValueFactory = _ => 1337,
        };
        var perShard = new Option<int>("--stories-per-shard")
        {
            Description = "Stories per shard file.",
            DefaultValueFactory = _ => SyntheticStories.DefaultStoriesPerShard,
        };
        var theme = new Option<SyntheticTheme>("--theme")
        {
            Description = "classic (children's stories) or space (robots on far planets: other names and words, a second corpus to fine-tune on).",
            DefaultValueFactory = _ => SyntheticTheme.Classic,
        };
        stories.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 1) result.AddError($"--stories must be between 1 and {int.MaxValue}; it was {value}.");
        });
        perShard.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 1) result.AddError($"--stories-per-shard must be between 1 and {int.MaxValue}; it was {value}.");
        });

        var command = new Command("synth", "Write synthetic TinyStories-format shards from the built-in story grammar (no download needed).");
        command.Options.Add(outDir);
        command.Options.Add(stories);
        command.Options.Add(seed);
        command.Options.Add(perShard);
        command.Options.Add(theme);
        command.SetAction(parseResult =>
        {
            string dir = parseResult.GetValue(outDir)!;
            int count = parseResult.GetValue(stories);
            var clock = Stopwatch.StartNew();
            IReadOnlyList<string> shards = [];
            long bytes = 0;
            Terminal.Messages.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                         new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var task = context.AddTask("Writing stories", maxValue: count);
                    var progress = new InlineProgress<SyntheticStoriesProgress>(p =>
                    {
                        task.Value = p.StoriesWritten;
                        task.Description = $"Writing stories ({p.ShardsWritten} shards, {p.BytesWritten / 1e6:F1} MB)";
                        bytes = p.BytesWritten;
                    });
                    shards = SyntheticStories.WriteShards(dir, count, parseResult.GetValue(seed), parseResult.GetValue(perShard), progress, theme: parseResult.GetValue(theme));
                });
            double seconds = clock.Elapsed.TotalSeconds;
            AnsiConsole.MarkupLineInterpolated(
                $"Wrote {count:N0} stories ({bytes / 1e6:F1} MB) in {shards.Count} shard(s) to [green]{dir}[/] in {seconds:F1} s ({bytes / 1e6 / Math.Max(seconds, 1e-9):F0} MB/s).");
            return 0;
        });
        return command;
    }
}
