using System.Diagnostics;

/// <summary>
/// Loaded into another .NET process (<c>DOTNET_STARTUP_HOOKS=path/to/TinyLlm.MLNet.ProcessProbe.dll</c>), it writes,
/// as that process exits, every managed assembly and native library the process loaded to the file named by
/// <c>TINYLLM_PROBE_LOADED</c>: one <c>assembly NAME</c> or <c>native PATH</c> per line. Tests use it to check that
/// a command ran without TorchSharp or libtorch. (The runtime finds the hook by this class name, in no namespace.)
/// </summary>
public static class StartupHook
{
    /// <summary>Called by the runtime before the process's Main.</summary>
    public static void Initialize()
    {
        string? report = Environment.GetEnvironmentVariable("TINYLLM_PROBE_LOADED");
        if (string.IsNullOrEmpty(report)) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.WriteAllLines(report, Loaded());
    }

    private static IEnumerable<string> Loaded()
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
            yield return "assembly " + assembly.GetName().Name;
        // /proc/self/maps also lists libraries loaded by other native libraries, which Process.Modules may miss.
        var natives = OperatingSystem.IsLinux()
            ? File.ReadLines("/proc/self/maps").Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 6).Select(f => f[5])
            : Process.GetCurrentProcess().Modules.Cast<ProcessModule>().Select(m => m.FileName);
        foreach (string path in natives.Where(p => p.StartsWith('/') || p.Contains('\\')).Distinct())
            yield return "native " + path;
    }
}
