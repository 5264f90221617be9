using System.CommandLine;
using Spectre.Console;
using TinyLlm.MLNet.Training;

namespace TinyLlm.Cli;

/// <summary>Parses the command line and turns the library's errors into one clear message and exit code 1.</summary>
internal static class CliRunner
{
    /// <summary>Runs <paramref name="root"/> on <paramref name="args"/> after rewriting the tutorial's underscore spellings.</summary>
    public static int Run(RootCommand root, string[] args)
    {
        try
        {
            // Without this System.CommandLine catches the action's exceptions itself and prints a stack trace.
            return root.Parse(TutorialSpellings.Rewrite(args)).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the library left its partial files (.part, .tmp) in a state the next run resumes from.
            AnsiConsole.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
        catch (TypeInitializationException e) when (e.TypeName?.StartsWith("TorchSharp.", StringComparison.Ordinal) == true)
        {
            // A command touched TorchSharp before choosing a device, and libtorch did not load: one line saying why
            // instead of TorchSharp's page of probing trace.
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {LibTorchRuntime.Diagnose()}");
            return 1;
        }
        catch (Exception e) when (IsUserError(e))
        {
            // ArgumentException appends "(Parameter 'x')" (and "Actual value was v.") to its message; the text
            // before it already names the option and the allowed range.
            string message = e is ArgumentException { ParamName: not null } a ? a.Message.Split(" (Parameter '")[0] : e.Message;
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {message}");
            return 1;
        }
    }

    /// <summary>Errors caused by bad input: shown as a message, not a stack trace.</summary>
    public static bool IsUserError(Exception e) =>
        e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
          or FormatException or InvalidOperationException or IOException or NotSupportedException;
}
