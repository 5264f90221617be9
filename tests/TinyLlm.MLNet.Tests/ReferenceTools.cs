using System.Diagnostics;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Outside reference tools (Debian's sentencepiece, python3-sentencepiece, python3-torch). A test that needs one
/// calls <see cref="Require"/>: on a user's machine without it the test is skipped (Inconclusive); under CI
/// (CI=true) a missing tool is a failure, never a silent skip.
/// </summary>
internal static class ReferenceTools
{
    /// <summary>Debian's system Python, which is where the apt packages python3-sentencepiece/torch install.</summary>
    public const string SystemPython = "/usr/bin/python3";

    public static bool UnderCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Requires an executable on PATH or at an absolute path.</summary>
    public static string Require(string executable, string installHint)
    {
        string? path = Find(executable);
        if (path is null) Missing($"'{executable}' is not installed ({installHint})");
        return path!;
    }

    /// <summary>Requires a Python module importable by <see cref="SystemPython"/>.</summary>
    public static void RequirePythonModule(string module, string installHint)
    {
        if (!File.Exists(SystemPython) || Run(SystemPython, $"-c \"import {module}\"", out _) != 0)
            Missing($"Python module '{module}' is not importable by {SystemPython} ({installHint})");
    }

    /// <summary>Runs a process to completion, returning its exit code and its standard output.</summary>
    public static int Run(string fileName, string arguments, out string stdout, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stderrTask = p.StandardError.ReadToEndAsync();
        stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string stderr = stderrTask.Result;
        if (p.ExitCode != 0) stdout += stderr;
        return p.ExitCode;
    }

    private static string? Find(string executable)
    {
        if (Path.IsPathRooted(executable)) return File.Exists(executable) ? executable : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, executable);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static void Missing(string what)
    {
        if (UnderCi) Assert.Fail($"{what}; CI requires it (.ci/run installs it).");
        Assert.Inconclusive($"{what}; skipped on this machine.");
    }
}
