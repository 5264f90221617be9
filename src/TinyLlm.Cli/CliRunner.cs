using System.CommandLine;
using Spectre.Console;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Training;

namespace TinyLlm.Cli;

/// <summary>
/// Parses the command line and turns the library's errors into one clear message on standard error (in the flags'
/// words, see <see cref="FlagNames"/>) and exit code 1.
/// </summary>
internal static class CliRunner
{
    /// <summary>Runs <paramref name="root"/> on <paramref name="args"/> after rewriting the tutorial's underscore spellings.</summary>
    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(TutorialSpellings.Rewrite(args));
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine would print the help text on standard output after the errors: a result where none is.
            foreach (var error in parse.Errors) Terminal.Messages.MarkupLineInterpolated($"[red]error:[/] {error.Message}");
            Terminal.Messages.MarkupLineInterpolated($"See '{CommandPath(parse.CommandResult)} --help'.");
            return 1;
        }
        try
        {
            // Without this System.CommandLine catches the action's exceptions itself and prints a stack trace.
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the library left its partial files (.part, .tmp) in a state the next run resumes from.
            Terminal.Messages.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
        catch (TypeInitializationException e) when (e.TypeName?.StartsWith("TorchSharp.", StringComparison.Ordinal) == true)
        {
            // A command touched TorchSharp before choosing a device, and libtorch did not load: one line saying why
            // instead of TorchSharp's page of probing trace.
            Terminal.Messages.MarkupLineInterpolated($"[red]error:[/] {LibTorchRuntime.Diagnose()}");
            return 1;
        }
        catch (Exception thrown) when (IsUserError(LoaderErrors.Unwrap(thrown)))
        {
            var e = LoaderErrors.Unwrap(thrown);
            // ArgumentException appends "(Parameter 'x')" (and "Actual value was v.") to its message; the text
            // before it already names the option and the allowed range.
            string message = e is ArgumentException { ParamName: not null } a ? a.Message.Split(" (Parameter '")[0] : e.Message;
            message = FlagNames.Translate(parse.CommandResult.Command, message);
            Terminal.Messages.MarkupLineInterpolated($"[red]error:[/] {message}");
            return 1;
        }
    }

    private static string CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Parent is null ? "tinyllm" : r.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>Errors caused by bad input: shown as a message, not a stack trace.</summary>
    public static bool IsUserError(Exception e) =>
        e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
          or FormatException or InvalidOperationException or IOException or NotSupportedException
          or InsufficientMemoryException or UnauthorizedAccessException;
}
