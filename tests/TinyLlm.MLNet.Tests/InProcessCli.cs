using System.Reflection;
using Spectre.Console;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Runs the <c>tinyllm</c> CLI's entry point in this process, capturing what it writes to both streams and to
/// Spectre's console (where CliRunner prints errors; Spectre binds its console once per process, so it is swapped
/// too, wide enough that one message stays one line).
/// </summary>
internal static class InProcessCli
{
    /// <summary>The exit code; <paramref name="output"/> is standard output and error together, one message per line.</summary>
    public static int Run(out string output, params string[] args)
    {
        MethodInfo main = Assembly.Load("tinyllm").EntryPoint!;
        var writer = new StringWriter();
        var (originalOut, originalError, originalAnsi) = (Console.Out, Console.Error, AnsiConsole.Console);
        Console.SetOut(writer);
        Console.SetError(writer);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        AnsiConsole.Console.Profile.Width = 10_000;
        try
        {
            return (int)main.Invoke(null, [args])!;
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
            AnsiConsole.Console = originalAnsi;
            output = writer.ToString();
        }
    }

    /// <summary>Runs and asserts exit code 0.</summary>
    public static string Succeed(params string[] args)
    {
        Assert.AreEqual(0, Run(out string output, args), $"tinyllm {string.Join(' ', args)}:\n{output}");
        return output;
    }
}
