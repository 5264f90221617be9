using Spectre.Console;

namespace TinyLlm.Cli;

/// <summary>
/// The two streams of <c>tinyllm</c>: results (stories, ids, the summary table, the closing "wrote ..." line) go to
/// standard output through Spectre's <see cref="AnsiConsole.Console"/> or <see cref="Console.Out"/>; progress,
/// evaluations, notes, warnings and errors go to standard error through <see cref="Messages"/>. So
/// <c>tinyllm tokenize ... &gt; ids.txt</c> stores ids, never an error or a progress bar.
/// </summary>
internal static class Terminal
{
    private static IAnsiConsole? _messages;
    private static TextWriter? _messagesWriter;

    /// <summary>Progress, notes, warnings and errors: a Spectre console on standard error.</summary>
    public static IAnsiConsole Messages
    {
        get
        {
            // Made again whenever standard error is redirected (a test capturing it, or an app hosting the tool).
            var writer = Console.Error;
            if (_messages is null || !ReferenceEquals(writer, _messagesWriter))
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
                // A redirected standard error has no width of its own: wrap as the results do, not at 80 columns.
                if (!console.Profile.Out.IsTerminal) console.Profile.Width = AnsiConsole.Console.Profile.Width;
                (_messages, _messagesWriter) = (console, writer);
            }
            return _messages;
        }
    }
}
