using System.Reflection;
using Spectre.Console;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The tests' one way to run <c>tinyllm</c>: in this process through its entry point (fast, and the library's
/// state is shared with the test), or as a child process exactly as a user runs it.
/// </summary>
internal static class Cli
{
    private static readonly Lock ConsoleGate = new();

    /// <summary>Runs <c>tinyllm</c> in this process; its output goes to the test's console.</summary>
    public static int Run(params string[] args)
    {
        MethodInfo main = Assembly.Load("tinyllm").EntryPoint!;
        return (int)main.Invoke(null, [args])!;
    }

    /// <summary>
    /// Runs <c>tinyllm</c> in this process with standard output (results, also through Spectre's console) and
    /// standard error (progress, notes, errors) captured apart, one message per line.
    /// </summary>
    public static CliResult Capture(params string[] args)
    {
        lock (ConsoleGate)
        {
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            var (originalOut, originalError, originalAnsi) = (Console.Out, Console.Error, AnsiConsole.Console);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stdout) });
            AnsiConsole.Console.Profile.Width = 10_000;
            try
            {
                int code = Run(args);
                return new CliResult(code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(originalOut);
                Console.SetError(originalError);
                AnsiConsole.Console = originalAnsi;
            }
        }
    }

    /// <summary>Runs <c>tinyllm</c> in this process like <see cref="Capture"/>, asserts exit code 0 and returns both streams.</summary>
    public static string Succeed(params string[] args)
    {
        var run = Capture(args);
        Assert.AreEqual(0, run.ExitCode, $"tinyllm {string.Join(' ', args)}:\n{run.All}");
        return run.All;
    }

    /// <summary>
    /// Runs <c>tinyllm</c> expecting it to fail: exit code 1 and nothing on standard output. Returns standard error
    /// with every run of white space made one space (so a wrapped message still matches).
    /// </summary>
    public static string Fails(params string[] args)
    {
        var run = Capture(args);
        Assert.AreEqual(1, run.ExitCode, run.All);
        Assert.AreEqual("", run.Out, run.All);
        return System.Text.RegularExpressions.Regex.Replace(run.Error, @"\s+", " ");
    }

    /// <summary>Runs the built <c>tinyllm</c> (copied into the test output by the project reference) as a child process.</summary>
    public static int RunProcess(string arguments, out string output, IReadOnlyDictionary<string, string>? environment = null)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "tinyllm.dll");
        return ReferenceTools.Run("dotnet", $"\"{dll}\" {arguments}", out output, environment: environment);
    }
}

/// <summary>What one in-process run of <c>tinyllm</c> printed.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>Both streams, standard output first.</summary>
    public string All => Out + Error;
}
