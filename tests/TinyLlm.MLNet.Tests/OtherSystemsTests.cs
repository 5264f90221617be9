using System.Diagnostics;
using System.Globalization;
using System.Reflection.PortableExecutable;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Windows and macOS as far as a Linux machine can check them: <c>dotnet publish</c> of the CLI for win-x64 and
/// osx-arm64 holds that system's native libraries only, and the self-contained win-x64 CLI runs the whole flow under
/// Wine (TorchSharp on libtorch for Windows, the engine on AVX2 since Wine hides AVX-512) with the same tokenizer,
/// shards, losses and stories as the same flow on Linux. Wine is Debian's <c>wine64</c>: required under CI
/// (<c>.ci/run</c> installs it), skipped elsewhere. Everything, the Wine prefix included, lives in one temporary
/// folder per run.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class OtherSystemsTests
{
    private const string Wine = "/usr/lib/wine/wine64";
    private const string WineServer = "/usr/lib/wine/wineserver64";

    /// <summary>How far a loss of the Windows run may be from the Linux one: libtorch for Windows sums in another
    /// order (AVX2 kernels, another compiler), so the last digits differ (measured: at most 5e-7 after 10 steps).</summary>
    private const double LossTolerance = 1e-4;

    private static string _dir = "";
    private static readonly Dictionary<string, (int Exit, string Output, TimeSpan Took)> Publishes = [];

    [ClassInitialize]
    public static void Publish(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("tinyllm-other-systems-").FullName;
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found");
        string cli = Path.Combine(root.FullName, "src", "TinyLlm.Cli", "TinyLlm.Cli.csproj");
        // A private artifacts folder: the repository's own obj/ and bin/ (this test's build) stay as they are.
        foreach (var (rid, selfContained) in new[] { ("win-x64", true), ("osx-arm64", false) })
        {
            var clock = Stopwatch.StartNew();
            int exit = ReferenceTools.Run("dotnet", $"publish \"{cli}\" -c Release -r {rid} --self-contained {selfContained.ToString().ToLowerInvariant()} " +
                $"--artifacts-path \"{Path.Combine(_dir, "artifacts")}\" -o \"{Path.Combine(_dir, rid)}\" -nologo", out string output, root.FullName);
            Publishes[rid] = (exit, output, clock.Elapsed);
        }
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        string prefix = Path.Combine(_dir, "wine-prefix");
        if (Directory.Exists(prefix))
        {
            // Stop this prefix's wineserver (it lingers a few seconds after the last program) before deleting it.
            var psi = new ProcessStartInfo(WineServer, "-k");
            psi.Environment["WINEPREFIX"] = prefix;
            using var server = Process.Start(psi)!;
            server.WaitForExit(TimeSpan.FromSeconds(30));
        }
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static string[] PublishedFiles(string rid)
    {
        var (exit, output, took) = Publishes[rid];
        Assert.AreEqual(0, exit, $"dotnet publish -r {rid} ({took.TotalSeconds:F0} s):\n{output}");
        string dir = Path.Combine(_dir, rid);
        return Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).ToArray();
    }

    private static bool IsLinuxLibrary(string file) => file.EndsWith(".so", StringComparison.Ordinal) || file.Contains(".so.", StringComparison.Ordinal);

    /// <summary>A .dll that is not a .NET assembly: a Windows native library.</summary>
    private static bool IsWindowsNative(string path)
    {
        if (!path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return false;
        using var pe = new PEReader(File.OpenRead(path));
        return !pe.HasMetadata;
    }

    [TestMethod]
    public void TheWindowsPublishHoldsWindowsNativeLibrariesOnly()
    {
        string[] files = PublishedFiles("win-x64");
        foreach (string expected in new[] { "tinyllm.exe", "tinyllm.dll", "torch_cpu.dll", "c10.dll", "LibTorchSharp.dll", "libSkiaSharp.dll", "coreclr.dll" })
            CollectionAssert.Contains(files, expected, "self-contained win-x64 publish");
        Assert.IsEmpty(files.Where(IsLinuxLibrary).ToArray(), "Linux libraries in the Windows publish");
        Assert.IsEmpty(files.Where(f => f.EndsWith(".dylib", StringComparison.Ordinal)).ToArray(), "macOS libraries in the Windows publish");
        Assert.IsEmpty(files.Where(f => f.StartsWith("runtimes/", StringComparison.Ordinal)).ToArray(), "other systems' runtimes/ folders");
    }

    [TestMethod]
    public void TheMacPublishHoldsMacNativeLibrariesOnly()
    {
        string[] files = PublishedFiles("osx-arm64");
        foreach (string expected in new[] { "tinyllm", "tinyllm.dll", "libtorch_cpu.dylib", "libc10.dylib", "libLibTorchSharp.dylib", "libSkiaSharp.dylib" })
            CollectionAssert.Contains(files, expected, "osx-arm64 publish");
        Assert.IsEmpty(files.Where(IsLinuxLibrary).ToArray(), "Linux libraries in the macOS publish");
        Assert.IsEmpty(files.Where(f => IsWindowsNative(Path.Combine(_dir, "osx-arm64", f))).ToArray(), "Windows native libraries in the macOS publish");
        Assert.IsEmpty(files.Where(f => f.StartsWith("runtimes/", StringComparison.Ordinal) || f.Contains("libtorch_python", StringComparison.Ordinal)).ToArray());
    }

    [TestMethod]
    public void TheWindowsBuildRunsTheWholeFlowUnderWineAsOnLinux()
    {
        string[] files = PublishedFiles("win-x64");
        Assert.IsTrue(OperatingSystem.IsLinux(), "this test runs the Windows build under Wine on Linux");
        ReferenceTools.Require(Wine, "apt-get install wine64");
        var clock = Stopwatch.StartNew();
        string prefix = Path.Combine(_dir, "wine-prefix");
        // Created by the first command (~10 s, 0.7 GB). An unhandled exception would open Wine's debugger and end
        // with exit code 0: no debugger, so a crash is a failure.
        RunWine(_dir, ["reg", "add", @"HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug", "/v", "Debugger", "/t", "REG_SZ", "/d", "", "/f"], prefix, "The operation completed successfully");
        TimeSpan prefixTook = clock.Elapsed;

        // The same commands on both systems, in folders with spaces and non-ASCII names.
        string windows = Directory.CreateDirectory(Path.Combine(_dir, "wine run ü 故事")).FullName;
        string linux = Directory.CreateDirectory(Path.Combine(_dir, "linux run ü 故事")).FullName;
        var flow = new (string[] Args, string SuccessLine)[]
        {
            (["synth", "--out", "data set", "--stories", "240", "--stories-per-shard", "80"], "Wrote 240 stories"),
            (["train-tokenizer", "--dataset-dir", "data set", "--vocab-size", "400"], "Trained 400 pieces"),
            (["pretokenize", "--dataset-dir", "data set", "--vocab-size", "400"], "Wrote 3 shard(s)"),
            (["train", "--dataset-dir", "data set", "--out-dir", "out é", "--vocab-size", "400", "--dim", "32", "--n-layers", "2",
              "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "32", "--batch-size", "4",
              "--gradient-accumulation-steps", "1", "--max-iters", "10", "--eval-interval", "10", "--eval-iters", "1",
              "--warmup-iters", "1", "--learning-rate", "0.01", "--device", "cpu", "--dtype", "float32"], "done: 11 iterations"),
            (["export", "--checkpoint", Path.Combine("out é", Checkpoint.FileName), "--format", "llama2c", "--out", Path.Combine("out é", "model.bin"),
              "--tokenizer-model-path", Path.Combine("data set", "tok400.model"), "--tokenizer-bin", Path.Combine("out é", "tokenizer.bin")], "(llama2c: dim 32, 2 layers, vocab 400)"),
            (["generate", "--checkpoint", Path.Combine("out é", "model.bin"), "--tokenizer-model-path", Path.Combine("data set", "tok400.model"),
              "--prompt", "One day, Lily met a", "--max-new-tokens", "20", "--temperature", "0.8", "--seed", "42"], "[20 tokens"),
        };
        string windowsStory = "", linuxStory = "";
        foreach (var (args, success) in flow)
        {
            string output = RunWine(windows, [Path.Combine(_dir, "win-x64", "tinyllm.exe"), .. args.Select(a => a.Replace('/', '\\'))], prefix, success);
            string native = WithCurrentDirectory(linux, () => Cli.Succeed(args));
            StringAssert.Contains(native, success, $"on Linux: tinyllm {args[0]}");
            if (args[0] == "generate") (windowsStory, linuxStory) = (StoryLine(output), StoryLine(native));
        }
        TimeSpan flowTook = clock.Elapsed - prefixTook;

        // Identical bytes where no floating point is involved; losses within LossTolerance; the same story.
        foreach (string file in new[] { "tok400.model", "tok400.vocab", "tok400/data00.bin", "tok400/data01.bin", "tok400/data02.bin" })
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(linux, "data set", file)), File.ReadAllBytes(Path.Combine(windows, "data set", file)), file);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(linux, "out é", "tokenizer.bin")), File.ReadAllBytes(Path.Combine(windows, "out é", "tokenizer.bin")));
        var (windowsLosses, linuxLosses) = (Losses(windows), Losses(linux));
        Assert.HasCount(linuxLosses.Count, windowsLosses);
        Assert.HasCount(13, linuxLosses, "11 steps and 2 evaluations");
        foreach (var (key, value) in linuxLosses)
            Assert.AreEqual(value, windowsLosses[key], LossTolerance, $"{key}: Windows {windowsLosses[key]:R}, Linux {value:R}");
        Assert.AreEqual(linuxStory, windowsStory, "the story generated from each system's own model, same seed");
        StringAssert.StartsWith(windowsStory, "One day, Lily met a");
        Console.WriteLine($"Wine prefix {prefixTook.TotalSeconds:F0} s; the flow on both systems {flowTook.TotalSeconds:F0} s; " +
            $"publish win-x64 {Publishes["win-x64"].Took.TotalSeconds:F0} s, osx-arm64 {Publishes["osx-arm64"].Took.TotalSeconds:F0} s; " +
            $"largest loss difference {linuxLosses.Max(l => Math.Abs(l.Value - windowsLosses[l.Key])):E1}");
    }

    /// <summary>The line of generate's output that holds the story (CR stripped: Windows output ends lines in CRLF).</summary>
    private static string StoryLine(string output) =>
        output.Replace("\r", "").Split('\n').Single(l => l.StartsWith("One day, Lily met a", StringComparison.Ordinal));

    /// <summary>Every step's loss and every evaluation's validation loss from metrics.csv, by kind and iteration.</summary>
    private static Dictionary<string, double> Losses(string runDir) =>
        File.ReadLines(Path.Combine(runDir, "out é", "metrics.csv")).Skip(1).Select(l => l.Split(','))
            .ToDictionary(c => c[0] + " " + c[1], c => double.Parse(c[0] == "eval" ? c[6] : c[4], CultureInfo.InvariantCulture));

    private static T WithCurrentDirectory<T>(string dir, Func<T> action)
    {
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir;
        try { return action(); }
        finally { Environment.CurrentDirectory = previous; }
    }

    /// <summary>
    /// Runs a Windows program under Wine and returns its output (standard output and error, CR stripped). Checks the
    /// exit code and, since a crash can still end with 0 under Wine, that <paramref name="successLine"/> was printed.
    /// </summary>
    private static string RunWine(string workingDirectory, string[] args, string prefix, string successLine)
    {
        var psi = new ProcessStartInfo(Wine)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["WINEPREFIX"] = prefix;
        psi.Environment["WINEDEBUG"] = "-all";
        // Without it ML.NET's dynamic code crashes the runtime at random under Wine (W^X double mapping).
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        psi.Environment["LANG"] = "C.UTF-8"; // Wine turns the UTF-8 arguments (ü 故事) into UTF-16 by the locale
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"wine {string.Join(' ', args)} ran past 5 minutes");
        }
        output = (output + error.Result).Replace("\r", "");
        Assert.AreEqual(0, process.ExitCode, $"wine {string.Join(' ', args)}:\n{output}");
        StringAssert.Contains(output, successLine, $"wine {string.Join(' ', args)} printed no success line:\n{output}");
        return output;
    }
}
