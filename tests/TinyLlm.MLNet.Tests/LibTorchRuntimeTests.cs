using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Training;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The one-line diagnoses of <see cref="LibTorchRuntime"/>: CUDA asked for where the build has the CPU libtorch (this
/// machine has no GPU and no CUDA package), another system's libtorch on the probing path, none at all, and one that
/// is there but does not load.
/// </summary>
[TestClass]
public sealed class LibTorchRuntimeTests
{
    private static readonly List<string> TempDirs = [];

    [ClassCleanup]
    public static void DeleteTempDirs()
    {
        foreach (string dir in TempDirs) if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static string NewTempDir(string prefix)
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        TempDirs.Add(dir);
        return dir;
    }

    private static string[] FakeLibraries(params string[] names)
    {
        string dir = NewTempDir("tinyllm-libtorch-");
        foreach (string name in names) File.WriteAllBytes(Path.Combine(dir, name), [0x4D, 0x5A, 0, 0]); // not a loadable library
        return [dir];
    }

    [TestMethod]
    public void CudaOnACpuBuildNamesThePackageAndTheBuildSwitch()
    {
        if (torch.cuda.is_available()) Assert.Inconclusive("this machine has a GPU");
        string message = LibTorchRuntime.CudaUnavailable("cuda");
        StringAssert.Contains(message, "Device 'cuda' was asked for, but this application has the CPU-only libtorch (libtorch-cpu-linux-x64)");
        StringAssert.Contains(message, "-p:TinyLlmTorchBackend=cuda");
        StringAssert.Contains(message, "TorchSharp-cuda-linux");

        var e = Assert.ThrowsExactly<InvalidOperationException>(() => DeviceSelection.ResolveDevice("cuda:0"));
        Assert.AreEqual(LibTorchRuntime.CudaUnavailable("cuda:0"), e.Message);
    }

    [TestMethod]
    public void TrainWithDeviceCudaOnAMachineWithoutCudaPrintsOneLineAndExitsWithOne()
    {
        if (torch.cuda.is_available()) Assert.Inconclusive("this machine has a GPU");
        string dir = NewTempDir("tinyllm-cuda-");
        var run = Cli.Capture("train", "--dataset-dir", dir, "--device", "cuda");
        Assert.AreEqual(1, run.ExitCode, run.All);
        string output = run.All;
        string[] lines = System.Text.RegularExpressions.Regex.Replace(output, "\u001B\\[[0-9;]*m", "").Trim().Split('\n');
        Assert.HasCount(1, lines, output);
        StringAssert.StartsWith(lines[0], "error: --device 'cuda' was asked for, but this application has the CPU-only libtorch");
        StringAssert.EndsWith(lines[0], "or use --device cpu.");
    }

    [TestMethod]
    public void AnotherSystemsLibtorchOnTheProbingPathIsNamed()
    {
        var windowsOnly = FakeLibraries("torch_cpu.dll", "LibTorchSharp.dll");
        string? message = LibTorchRuntime.WrongSystem(LibTorchRuntime.Linux, "linux-x64", windowsOnly);
        Assert.IsNotNull(message);
        StringAssert.Contains(message, "this process runs on Linux (linux-x64), but the libtorch beside it is Windows's (" + Path.Combine(windowsOnly[0], "torch_cpu.dll") + ")");
        StringAssert.Contains(message, "libtorch-cpu-linux-x64");

        var macOnly = FakeLibraries("libtorch_cpu.dylib");
        StringAssert.Contains(LibTorchRuntime.WrongSystem(LibTorchRuntime.Windows, "win-x64", macOnly), "the libtorch beside it is macOS's");
        // This system's libtorch beside another's, or none at all: not a wrong-system case.
        Assert.IsNull(LibTorchRuntime.WrongSystem(LibTorchRuntime.Linux, "linux-x64", FakeLibraries("libtorch_cpu.so", "torch_cpu.dll")));
        Assert.IsNull(LibTorchRuntime.WrongSystem(LibTorchRuntime.Linux, "linux-x64", FakeLibraries()));
    }

    [TestMethod]
    public void NoLibtorchOrAnUnloadableOneIsExplained()
    {
        var none = FakeLibraries();
        string message = LibTorchRuntime.NotLoaded(LibTorchRuntime.Linux, none);
        StringAssert.Contains(message, "no libtorch for Linux (libtorch_cpu.so) is beside the application");
        StringAssert.Contains(message, "Reference the package libtorch-cpu-linux-x64 (or TorchSharp-cuda-linux for an NVIDIA GPU)");

        if (!OperatingSystem.IsLinux()) return; // the loader's own words below are Linux's
        var broken = FakeLibraries("libtorch_cpu.so", "libLibTorchSharp.so");
        message = LibTorchRuntime.NotLoaded(LibTorchRuntime.Linux, broken);
        StringAssert.StartsWith(message, "libtorch for Linux is beside the application but cannot load: ");
        StringAssert.Contains(message, Path.Combine(broken[0], "libLibTorchSharp.so"), "the loader's message names the file");
    }

    [TestMethod]
    public void TheProbingPathHoldsThisSystemsLibtorch()
    {
        LibTorchRuntime.EnsureLoaded();
        var dirs = LibTorchRuntime.ProbingDirectories();
        Assert.IsTrue(dirs.Any(d => File.Exists(Path.Combine(d, LibTorchRuntime.ThisSystem.TorchCpu))), string.Join(", ", dirs));
        Assert.IsNull(LibTorchRuntime.WrongSystem(LibTorchRuntime.ThisSystem, "here", dirs));
    }
}
