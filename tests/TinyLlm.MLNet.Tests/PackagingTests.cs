using System.IO.Compression;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The README's <c>dotnet pack -c Release -o artifacts/packages</c>, run at the root of a fresh clone of this repository
/// (with the working tree's uncommitted changes laid over it, so the test checks what is being worked on), then what
/// a user does with the packages: install the tool from that folder and run it; build a project that references
/// the library package and check TorchSharp loads in its output (the package's buildTransitive targets patch it)
/// and that no plotting library came with it. The tool is a set of .NET 10 RID-specific packages, one per system, each
/// with that system's libtorch only. Slow: it builds the whole solution in Release, and the tool packages carry
/// libtorch (250-460 MB each before compression).
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class PackagingTests
{
    private static string _dir = "", _packages = "", _root = "", _packOutput = "";
    private static int _packExit;

    [ClassInitialize]
    public static void Pack(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("tinyllm-pack-").FullName;
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found");
        _root = Path.Combine(_dir, "clone");
        _packExit = CloneWithWorkingChanges(root.FullName, _root, out _packOutput);
        // The README's command, at the root of the clone: it packs every packable project of the solution.
        if (_packExit == 0)
            _packExit = Dotnet("pack -c Release -o artifacts/packages -nologo", out _packOutput, _root);
        _packages = Path.Combine(_root, "artifacts", "packages");
    }

    // git clone (no bin/ or obj/ of this checkout), then the uncommitted changes and the untracked files git does
    // not ignore, so that the clone is what is being worked on.
    private static int CloneWithWorkingChanges(string repository, string clone, out string output)
    {
        int rc = ReferenceTools.Run("git", $"clone -q \"{repository}\" \"{clone}\"", out output);
        if (rc != 0) return rc;
        rc = ReferenceTools.Run("git", $"-C \"{repository}\" diff HEAD --binary", out string diff);
        if (rc != 0) { output = diff; return rc; }
        if (diff.Length > 0)
        {
            string patch = Path.Combine(_dir, "working.patch");
            File.WriteAllText(patch, diff.EndsWith('\n') ? diff : diff + "\n");
            rc = ReferenceTools.Run("git", $"-C \"{clone}\" apply --whitespace=nowarn \"{patch}\"", out output);
            if (rc != 0) return rc;
        }
        rc = ReferenceTools.Run("git", $"-C \"{repository}\" ls-files --others --exclude-standard -z", out string untracked);
        foreach (string file in untracked.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            string target = Path.Combine(clone, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(repository, file), target, overwrite: true);
        }
        return rc;
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static int Dotnet(string arguments, out string output, string workingDirectory) =>
        ReferenceTools.Run("dotnet", arguments, out output, workingDirectory);

    [TestMethod]
    public void LibraryPackageHoldsTheAssemblyDocsReadmeAndBuildTargets()
    {
        Assert.AreEqual(0, _packExit, _packOutput);
        using var package = ZipFile.OpenRead(Path.Combine(_packages, "TinyLlm.MLNet.0.1.0.nupkg"));
        var names = package.Entries.Select(e => e.FullName).ToArray();
        foreach (string expected in new[] { "lib/net10.0/TinyLlm.MLNet.dll", "lib/net10.0/TinyLlm.MLNet.xml", "buildTransitive/TinyLlm.MLNet.targets", "README.md" })
            CollectionAssert.Contains(names, expected);
        using var nuspec = new StreamReader(package.GetEntry("TinyLlm.MLNet.nuspec")!.Open());
        string text = nuspec.ReadToEnd();
        StringAssert.Contains(text, "<license type=\"expression\">MIT</license>");
        StringAssert.Contains(text, "<dependency id=\"TorchSharp\"");
        // The app picks the libtorch of its system; the library forces none (see AProjectReferencingTheLibraryPackage...).
        StringAssert.DoesNotMatch(text, new System.Text.RegularExpressions.Regex("<dependency id=\"(libtorch|TorchSharp-c)"));
        StringAssert.Contains(text, "<dependency id=\"TinyLlm.MLNet.Core\"");
        StringAssert.DoesNotMatch(text, new System.Text.RegularExpressions.Regex("<dependency id=\"(ScottPlot|SkiaSharp)"), "the loss plot is the tool's");

        // The serving package: the pure .NET part, with no TorchSharp dependency.
        using var core = ZipFile.OpenRead(Path.Combine(_packages, "TinyLlm.MLNet.Core.0.1.0.nupkg"));
        CollectionAssert.Contains(core.Entries.Select(e => e.FullName).ToArray(), "lib/net10.0/TinyLlm.MLNet.Core.dll");
        using var coreSpec = new StreamReader(core.GetEntry("TinyLlm.MLNet.Core.nuspec")!.Open());
        StringAssert.DoesNotMatch(coreSpec.ReadToEnd(), new System.Text.RegularExpressions.Regex("<dependency id=\"(TorchSharp|libtorch)"));
    }

    [TestMethod]
    [DataRow("linux-x64", "libtorch_cpu.so", "libLibTorchSharp.so", "libSkiaSharp.so")]
    [DataRow("win-x64", "torch_cpu.dll", "LibTorchSharp.dll", "libSkiaSharp.dll")]
    [DataRow("osx-arm64", "libtorch_cpu.dylib", "libLibTorchSharp.dylib", "libSkiaSharp.dylib")]
    public void EachSystemsToolPackageHoldsThatSystemsNativeLibrariesOnly(string rid, string torch, string bridge, string skia)
    {
        Assert.AreEqual(0, _packExit, _packOutput);
        string path = Path.Combine(_packages, $"TinyLlm.Cli.{rid}.0.1.0.nupkg");
        using var package = ZipFile.OpenRead(path);
        string folder = $"tools/net10.0/{rid}/";
        string[] files = package.Entries.Where(e => e.FullName.StartsWith(folder, StringComparison.Ordinal)).Select(e => e.FullName[folder.Length..]).ToArray();
        foreach (string expected in new[] { "tinyllm.dll", "DotnetToolSettings.xml", torch, bridge, skia })
            CollectionAssert.Contains(files, expected, rid);
        string[] natives = ["torch_cpu.dll", "LibTorchSharp.dll", "c10.dll", "libSkiaSharp.dll", "libtorch_cpu.so", "libLibTorchSharp.so", "libtorch_cpu.dylib", "libLibTorchSharp.dylib", "libSkiaSharp.so", "libSkiaSharp.dylib"];
        string[] foreign = natives.Where(n => n != torch && n != bridge && n != skia && !(rid == "win-x64" && n == "c10.dll")).ToArray();
        Assert.IsEmpty(files.Intersect(foreign).ToArray(), $"other systems' libraries in the {rid} tool package");
        Assert.IsEmpty(files.Where(f => f.StartsWith("runtimes/", StringComparison.Ordinal) || f.Contains("libtorch_python", StringComparison.Ordinal)).ToArray());
        Console.WriteLine($"{Path.GetFileName(path)}: {new FileInfo(path).Length / 1e6:F0} MB");

        // The package `dotnet tool install TinyLlm.Cli` finds first points at the three, and carries no libtorch.
        using var pointer = ZipFile.OpenRead(Path.Combine(_packages, "TinyLlm.Cli.0.1.0.nupkg"));
        Assert.IsLessThan(100_000L, new FileInfo(Path.Combine(_packages, "TinyLlm.Cli.0.1.0.nupkg")).Length);
        using var settings = new StreamReader(pointer.Entries.Single(e => e.Name == "DotnetToolSettings.xml").Open());
        StringAssert.Contains(settings.ReadToEnd(), $"RuntimeIdentifier=\"{rid}\"");
    }

    [TestMethod]
    public void ALinuxToolWithWindowsLibtorchBesideItSaysSoInOneLine()
    {
        Assert.AreEqual(0, _packExit, _packOutput);
        // What a user gets whose Linux install ended up with Windows's libtorch beside it (copied over from a Windows
        // machine): the Linux tool's managed code (ReadyToRun for Linux: a Windows build's code would not even load
        // here), with every native library of the Windows package in place of its own.
        string dir = Path.Combine(_dir, "windows-tool");
        string[] linuxFiles = Extract("linux-x64", name => !name.EndsWith(".so", StringComparison.Ordinal) && !name.Contains(".so.", StringComparison.Ordinal));
        Extract("win-x64", name => name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !linuxFiles.Contains(name));
        Assert.IsTrue(File.Exists(Path.Combine(dir, "torch_cpu.dll")) && !Directory.EnumerateFiles(dir, "*.so*").Any());

        string[] Extract(string rid, Func<string, bool> keep)
        {
            string prefix = $"tools/net10.0/{rid}/";
            var names = new List<string>();
            using var package = ZipFile.OpenRead(Path.Combine(_packages, $"TinyLlm.Cli.{rid}.0.1.0.nupkg"));
            foreach (var entry in package.Entries.Where(e => e.FullName.StartsWith(prefix, StringComparison.Ordinal) && e.Name != ""))
            {
                string name = entry.FullName[prefix.Length..];
                names.Add(name);
                if (!keep(name)) continue;
                string target = Path.Combine(dir, name);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                entry.ExtractToFile(target, overwrite: true);
            }
            return names.ToArray();
        }

        string data = Path.Combine(_dir, "windows-tool-data");
        Directory.CreateDirectory(data);
        Assert.AreEqual(1, Dotnet($"\"{Path.Combine(dir, "tinyllm.dll")}\" train --dataset-dir \"{data}\" --device cpu", out string output, _dir), output);
        // Spectre.Console wraps a long message at 80 columns when the output is not a terminal: join it again.
        string error = System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(output, "\u001B\\[[0-9;]*m", ""), "\\s*\n\\s*", " ");
        StringAssert.Contains(error, "error: libtorch cannot load: this process runs on Linux (linux-x64), but the libtorch beside it is Windows's");
        StringAssert.Contains(error, "libtorch-cpu-linux-x64");
        Assert.IsFalse(output.Contains("   at ", StringComparison.Ordinal), "no stack trace:\n" + output);
        Assert.IsFalse(Directory.Exists(Path.Combine(dir, "cpu")), "TorchSharp's fallback copied libtorch from the NuGet cache");
    }

    [TestMethod]
    public void ToolInstallsFromTheLocalFolderAndRuns()
    {
        Assert.AreEqual(0, _packExit, _packOutput);
        string tools = Path.Combine(_dir, "tools");
        Assert.AreEqual(0, Dotnet($"tool install --tool-path \"{tools}\" --add-source \"{_packages}\" --ignore-failed-sources TinyLlm.Cli --version 0.1.0",
            out string output, _dir), output);
        string tinyllm = Path.Combine(tools, "tinyllm");

        Assert.AreEqual(0, ReferenceTools.Run(tinyllm, "--help", out output, _dir), output);
        foreach (string command in new[] { "quickstart", "synth", "download", "train-tokenizer", "tokenize", "pretokenize", "train", "generate" })
            StringAssert.Contains(output, "  " + command + " ", $"'{command}' missing from:\n{output}");

        // The installed copy really trains: TorchSharp's native library loads from the tool's own folder.
        string data = Path.Combine(_dir, "data");
        Assert.AreEqual(0, ReferenceTools.Run(tinyllm, $"synth --out \"{data}\" --stories 300 --stories-per-shard 100", out output, _dir), output);
        Assert.AreEqual(0, ReferenceTools.Run(tinyllm, $"train-tokenizer --dataset-dir \"{data}\" --vocab-size 400", out output, _dir), output);
        Assert.AreEqual(0, ReferenceTools.Run(tinyllm, $"pretokenize --dataset-dir \"{data}\" --vocab-size 400", out output, _dir), output);
        Assert.AreEqual(0, ReferenceTools.Run(tinyllm, $"train --dataset-dir \"{data}\" --out-dir \"{Path.Combine(_dir, "out")}\" --vocab-size 400 " +
            "--dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --multiple-of 16 --max-seq-len 32 --batch-size 8 --gradient-accumulation-steps 1 " +
            "--max-iters 2 --eval-interval 2 --eval-iters 1 --warmup-iters 1 --device cpu", out output, _dir), output);
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "out", "ckpt.bin")), output);
    }

    [TestMethod]
    public void AProjectReferencingTheLibraryPackageLoadsTorchSharp()
    {
        Assert.AreEqual(0, _packExit, _packOutput);
        string consumer = Path.Combine(_dir, "consumer");
        Directory.CreateDirectory(consumer);
        // Only TinyLlm.MLNet comes from the new folder; its dependencies come from this machine's package cache
        // (a fallback folder, read in place) or nuget.org. The new package is restored into a private folder, so
        // the machine's cache never holds a stale 0.1.0.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(_dir, "restored")}" /></config>
              <fallbackPackageFolders><add key="cache" value="{cache}" /></fallbackPackageFolders>
              <packageSources>
                <clear />
                <add key="local" value="{_packages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        string project = """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TinyLlm.MLNet" Version="0.1.0" />
              </ItemGroup>
            </Project>
            """;
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), project);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using TorchSharp;
            Console.WriteLine($"sum {torch.ones(3).sum().item<float>()}");
            Console.WriteLine(TinyLlm.MLNet.Stories.Synthetic.SyntheticStories.Generate(1, seed: 0).First());
            """);
        // Without a libtorch the build stops and names the package of this system.
        Assert.AreNotEqual(0, Dotnet("build -nologo -p:RestoreIgnoreFailedSources=true", out string output, consumer), output);
        StringAssert.Contains(output, "error : Consumer uses TinyLlm.MLNet (training on TorchSharp) but references no libtorch: add the package of the system it runs on, `dotnet add package libtorch-cpu-linux-x64 --version 2.10.0` (or TorchSharp-cuda-linux for an NVIDIA GPU).");
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), project.Replace(
            """<PackageReference Include="TinyLlm.MLNet" Version="0.1.0" />""",
            """<PackageReference Include="TinyLlm.MLNet" Version="0.1.0" /><PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />"""));
        Assert.AreEqual(0, Dotnet("build -nologo -p:RestoreIgnoreFailedSources=true", out output, consumer), output);
        Assert.AreEqual(0, Dotnet(Path.Combine("bin", "Debug", "net10.0", "Consumer.dll"), out output, consumer), output);
        string bin = Path.Combine(consumer, "bin", "Debug", "net10.0");
        // No plotting library: ScottPlot brought HarfBuzzSharp and SkiaSharp's Linux natives. (TorchSharp itself still
        // depends on SkiaSharp, with its Windows and macOS natives: that part is TorchSharp's, not ours.)
        string[] plotting = Directory.EnumerateFiles(bin, "*", SearchOption.AllDirectories).Select(Path.GetFileName)
            .Where(f => f!.Contains("ScottPlot", StringComparison.OrdinalIgnoreCase) || f.Contains("HarfBuzz", StringComparison.OrdinalIgnoreCase) || f == "libSkiaSharp.so").ToArray()!;
        Assert.IsEmpty(plotting, "a trainer app carries no plotting library: " + string.Join(", ", plotting));
        StringAssert.StartsWith(output, "sum 3\n");
        Assert.IsTrue(output.Length > 50, output);
    }
}
