using System.Runtime.InteropServices;
using TorchSharp;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// Loads libtorch through TorchSharp once and, when it cannot, says in one sentence what is missing and how to get
/// it. TorchSharp's own failure is a page of probing trace that blames a missing package even when the real cause is
/// a libtorch built for another system or a native library that will not load; and before failing it copies the
/// libtorch it finds in the NuGet cache (600 MB) next to the application. So a libtorch of another system on the
/// probing path is reported here before TorchSharp is touched.
/// </summary>
internal static class LibTorchRuntime
{
    /// <summary>One system's libtorch as TorchSharp ships it: the package and its file names.</summary>
    internal sealed record NativeSystem(string Name, string Rid, string CpuPackage, string? CudaPackage, string TorchCpu, string? TorchCuda, string Bridge);

    internal static readonly NativeSystem Windows = new("Windows", "win-x64", "libtorch-cpu-win-x64", "TorchSharp-cuda-windows", "torch_cpu.dll", "torch_cuda.dll", "LibTorchSharp.dll");
    internal static readonly NativeSystem Linux = new("Linux", "linux-x64", "libtorch-cpu-linux-x64", "TorchSharp-cuda-linux", "libtorch_cpu.so", "libtorch_cuda.so", "libLibTorchSharp.so");
    internal static readonly NativeSystem MacOS = new("macOS", "osx-arm64", "libtorch-cpu-osx-arm64", null, "libtorch_cpu.dylib", null, "libLibTorchSharp.dylib");
    private static readonly NativeSystem[] Systems = [Windows, Linux, MacOS];

    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>The system this process runs on, as TorchSharp's packages name it.</summary>
    internal static NativeSystem ThisSystem =>
        OperatingSystem.IsWindows() ? Windows : OperatingSystem.IsMacOS() ? MacOS : Linux;

    /// <summary>Loads libtorch (once per process).</summary>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded; the message names the cause and the package to add.</exception>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            OpenMpWaitPolicy.BeforeLibtorchLoads(); // OpenMP reads its wait policy once, when libtorch loads
            var dirs = ProbingDirectories();
            if (WrongSystem(ThisSystem, RuntimeInformation.RuntimeIdentifier, dirs) is { } wrong) throw new InvalidOperationException(wrong);
            try
            {
                // The first member touched runs TorchSharp's static constructor, which loads the native libraries.
                torch.cuda.is_available();
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
            {
                throw new InvalidOperationException(NotLoaded(ThisSystem, dirs), e);
            }
            _loaded = true;
        }
    }

    /// <summary>Why libtorch did not load in this process, as one sentence.</summary>
    public static string Diagnose()
    {
        var dirs = ProbingDirectories();
        return WrongSystem(ThisSystem, RuntimeInformation.RuntimeIdentifier, dirs) ?? NotLoaded(ThisSystem, dirs);
    }

    /// <summary>Why <c>cuda</c> cannot be used here (libtorch loaded and seeing no GPU): what is missing and how to get it.</summary>
    public static string CudaUnavailable(string asked)
    {
        var system = ThisSystem;
        if (system.CudaPackage is null)
            return $"Device '{asked}' was asked for, but CUDA does not exist on {system.Name}: use Device cpu (or auto).";
        string? cudaLib = FindFile(system.TorchCuda!, ProbingDirectories());
        return cudaLib is null
            ? $"Device '{asked}' was asked for, but this application has the CPU-only libtorch ({system.CpuPackage}): build it with -p:TinyLlmTorchBackend=cuda (this repository) or reference {system.CudaPackage} instead (your app), with an NVIDIA GPU and driver; or use Device cpu."
            : $"Device '{asked}' was asked for and the CUDA libtorch is present ({cudaLib}), but it sees no GPU: check that an NVIDIA GPU and a driver for CUDA 12.8 are installed (nvidia-smi lists the GPU); or use Device cpu.";
    }

    /// <summary>A sentence when <paramref name="dirs"/> hold another system's libtorch and none of this one's.</summary>
    internal static string? WrongSystem(NativeSystem system, string rid, IReadOnlyList<string> dirs)
    {
        if (FindFile(system.TorchCpu, dirs) is not null || FindFile(system.Bridge, dirs) is not null) return null;
        foreach (var other in Systems)
        {
            if (other == system || FindFile(other.TorchCpu, dirs) is not { } found) continue;
            return $"libtorch cannot load: this process runs on {system.Name} ({rid}), but the libtorch beside it is {other.Name}'s ({found}). " +
                   $"Use a build made for this system (dotnet build or publish here, or -r {system.Rid}), which references {system.CpuPackage}.";
        }
        return null;
    }

    /// <summary>A sentence saying why TorchSharp could not load libtorch from <paramref name="dirs"/>.</summary>
    internal static string NotLoaded(NativeSystem system, IReadOnlyList<string> dirs)
    {
        string? bridge = FindFile(system.Bridge, dirs);
        if (FindFile(system.TorchCpu, dirs) is null)
            return $"libtorch cannot load: no libtorch for {system.Name} ({system.TorchCpu}) is beside the application (searched {string.Join(", ", dirs)}). " +
                   $"Reference the package {system.CpuPackage}" + (system.CudaPackage is null ? "" : $" (or {system.CudaPackage} for an NVIDIA GPU)") + ".";
        if (RuntimeInformation.ProcessArchitecture != (system == MacOS ? Architecture.Arm64 : Architecture.X64))
            return $"libtorch cannot load: TorchSharp ships libtorch for {system.Rid} only, and this process is {RuntimeInformation.ProcessArchitecture}.";
        // The file is there: ask the loader itself why it refuses it (a missing dependency, an old libstdc++ ...).
        string reason = "";
        if (bridge is not null && !NativeLibrary.TryLoad(bridge, out _))
        {
            try { NativeLibrary.Load(bridge); }
            catch (DllNotFoundException e) { reason = ": " + e.Message.Trim(); }
        }
        string hint = reason.Contains("GLIBCXX", StringComparison.Ordinal)
            ? " TorchSharp's native library needs a newer libstdc++ than this system's; a build of this repository (or of an app referencing the TinyLlm.MLNet package) patches its copy, see TinyLlm.MLNet.targets."
            : "";
        return $"libtorch for {system.Name} is beside the application but cannot load{(bridge is null ? " (TorchSharp's " + system.Bridge + " is missing)" : reason)}.{hint}";
    }

    /// <summary>Where the runtime looks for native libraries: the app folder, the folders its deps.json names, and runtimes/*/native.</summary>
    internal static IReadOnlyList<string> ProbingDirectories()
    {
        var dirs = new List<string> { AppContext.BaseDirectory };
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string search)
            dirs.AddRange(search.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        string runtimes = Path.Combine(AppContext.BaseDirectory, "runtimes");
        if (Directory.Exists(runtimes))
            dirs.AddRange(Directory.EnumerateDirectories(runtimes).Select(d => Path.Combine(d, "native")).Where(Directory.Exists));
        return dirs.Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).Distinct().ToList();
    }

    private static string? FindFile(string name, IEnumerable<string> dirs) =>
        dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
