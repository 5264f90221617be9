using System.CommandLine;
using Spectre.Console;
using TinyLlm.MLNet.Stories.Download;

namespace TinyLlm.Cli.Commands;

/// <summary><c>tinyllm download</c>: fetches and unpacks the TinyStories data set, resuming an interrupted download.</summary>
internal static class DownloadCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir", "-d")
        {
            Description = "Folder for the archive and the extracted shards data00.json .. data49.json.",
            DefaultValueFactory = _ => "TinyStories",
        };
        var url = new Option<string>("--url")
        {
            Description = "Where to get the .tar.gz: an https:// or file:// URL or a local path.",
            DefaultValueFactory = _ => TinyStoriesDownloader.DefaultUrl,
        };

        var command = new Command("download", "Download and extract the TinyStories data set (resumes a partial download; skips work already done).");
        command.Options.Add(dir);
        command.Options.Add(url);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string folder = parseResult.GetValue(dir)!;
            string source = parseResult.GetValue(url)!;
            IReadOnlyList<string> shards = [];
            await Terminal.Messages.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                         new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var download = context.AddTask("Downloading", autoStart: false);
                    var extract = context.AddTask("Extracting", autoStart: false);
                    var progress = new InlineProgress<TinyStoriesDownloadProgress>(p =>
                    {
                        var task = p.Stage == TinyStoriesDownloadStage.Downloading ? download : extract;
                        if (!task.IsStarted) task.StartTask();
                        if (p.TotalBytes is { } total)
                        {
                            task.IsIndeterminate = false;
                            task.MaxValue = Math.Max(total, 1);
                        }
                        else
                        {
                            task.IsIndeterminate = true;
                        }
                        task.Value = p.Bytes;
                        if (p.Entry is { } entry) task.Description = $"Extracting {Markup.Escape(entry)}";
                    });
                    shards = await TinyStoriesDownloader.DownloadAsync(source, folder, progress, cancellationToken);
                    // Steps that were skipped show as done.
                    foreach (var task in new[] { download, extract })
                    {
                        if (!task.IsStarted) task.StartTask();
                        task.Value = task.MaxValue;
                        task.StopTask();
                    }
                    extract.Description = "Extracting";
                });
            AnsiConsole.MarkupLineInterpolated($"{shards.Count} shard(s) ready in [green]{folder}[/].");
            return 0;
        });
        return command;
    }
}
