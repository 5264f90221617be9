using System.Text.Json;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Which libtorch a build references (Directory.Build.targets), read from MSBuild's evaluation: one system's, from the
/// RuntimeIdentifier or this machine; the CUDA package of the system with -p:TinyLlmTorchBackend=cuda; clear errors
/// for macOS CUDA, an unknown backend and a system TorchSharp has no libtorch for. No package is restored.
/// </summary>
[TestClass]
public sealed class LibTorchSelectionTests
{
    private static readonly string Root = FindRoot();
    private static readonly string Cli = Path.Combine(Root, "src", "TinyLlm.Cli", "TinyLlm.Cli.csproj");
    private static readonly string[] TorchPackages =
        ["libtorch-cpu-win-x64", "libtorch-cpu-linux-x64", "libtorch-cpu-osx-arm64", "TorchSharp-cuda-windows", "TorchSharp-cuda-linux"];

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found");
        return root.FullName;
    }

    /// <summary>The libtorch packages <paramref name="project"/> references with these MSBuild properties.</summary>
    private static string[] TorchReferences(string project, string properties)
    {
        int exit = ReferenceTools.Run("dotnet", $"msbuild \"{project}\" -getItem:PackageReference -nologo {properties}", out string json, Root);
        Assert.AreEqual(0, exit, json);
        return JsonDocument.Parse(json).RootElement.GetProperty("Items").GetProperty("PackageReference").EnumerateArray()
            .Select(i => i.GetProperty("Identity").GetString()!).Where(TorchPackages.Contains).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Runs the target that checks the backend (it runs before NuGet collects package references).</summary>
    private static int CheckBackend(string properties, out string output) =>
        ReferenceTools.Run("dotnet", $"msbuild \"{Cli}\" -t:CollectPackageReferences -nologo -v:m {properties}", out output, Root);

    [TestMethod]
    [DataRow("win-x64", "libtorch-cpu-win-x64")]
    [DataRow("linux-x64", "libtorch-cpu-linux-x64")]
    [DataRow("osx-arm64", "libtorch-cpu-osx-arm64")]
    public void ABuildForOneSystemReferencesThatSystemsLibtorchOnly(string rid, string expected)
    {
        CollectionAssert.AreEqual(new[] { expected }, TorchReferences(Cli, "-p:RuntimeIdentifier=" + rid));
        Assert.AreEqual(0, CheckBackend("-p:RuntimeIdentifier=" + rid, out string output), output);
    }

    [TestMethod]
    public void ABuildWithoutARuntimeIdentifierTakesThisMachinesLibtorch()
    {
        string expected = OperatingSystem.IsWindows() ? "libtorch-cpu-win-x64" : OperatingSystem.IsMacOS() ? "libtorch-cpu-osx-arm64" : "libtorch-cpu-linux-x64";
        foreach (string project in new[] { Cli, Path.Combine(Root, "tests", "TinyLlm.MLNet.Tests", "TinyLlm.MLNet.Tests.csproj"),
                                           Path.Combine(Root, "examples", "WholePipeline", "WholePipeline.csproj") })
            CollectionAssert.AreEqual(new[] { expected }, TorchReferences(project, ""), project);
    }

    [TestMethod]
    public void TheLibraryAndTheServingPackageReferenceNoLibtorch()
    {
        Assert.IsEmpty(TorchReferences(Path.Combine(Root, "src", "TinyLlm.MLNet", "TinyLlm.MLNet.csproj"), ""));
        Assert.IsEmpty(TorchReferences(Path.Combine(Root, "src", "TinyLlm.MLNet.Core", "TinyLlm.MLNet.Core.csproj"), ""));
        Assert.IsEmpty(TorchReferences(Path.Combine(Root, "examples", "ScoreFromZip", "ScoreFromZip.csproj"), ""));
    }

    [TestMethod]
    public void PackingTheToolReferencesEverySystemsLibtorchForItsRidSpecificPackages()
    {
        CollectionAssert.AreEqual(new[] { "libtorch-cpu-linux-x64", "libtorch-cpu-osx-arm64", "libtorch-cpu-win-x64" }, TorchReferences(Cli, "-p:_IsPacking=true"));
        int exit = ReferenceTools.Run("dotnet", $"msbuild \"{Cli}\" -getProperty:RuntimeIdentifiers -p:_IsPacking=true -nologo", out string rids, Root);
        Assert.AreEqual(0, exit, rids);
        Assert.AreEqual("linux-x64;win-x64;osx-arm64", rids.Trim());
    }

    [TestMethod]
    [DataRow("win-x64", "TorchSharp-cuda-windows")]
    [DataRow("linux-x64", "TorchSharp-cuda-linux")]
    public void TheCudaBackendTakesTheCudaPackageOfTheSystemAndSaysWhereItComesFrom(string rid, string package)
    {
        string properties = $"-p:RuntimeIdentifier={rid} -p:TinyLlmTorchBackend=cuda";
        CollectionAssert.AreEqual(new[] { package }, TorchReferences(Cli, properties));
        // Not served to this machine, so not in its package folder: the build says what it fetches and from where
        // before NuGet's NU1101 (a warning, the restore may still succeed elsewhere).
        Assert.AreEqual(0, CheckBackend(properties, out string output), output);
        StringAssert.Contains(output, $"warning : -p:TinyLlmTorchBackend=cuda restores {package} 0.107.0");
        StringAssert.Contains(output, $"https://www.nuget.org/packages/{package}");
    }

    [TestMethod]
    [DataRow("-p:RuntimeIdentifier=osx-arm64 -p:TinyLlmTorchBackend=cuda", "-p:TinyLlmTorchBackend=cuda cannot build for macOS ('osx-arm64')")]
    [DataRow("-p:TinyLlmTorchBackend=gpu", "TinyLlmTorchBackend must be cpu or cuda; got 'gpu'.")]
    [DataRow("-p:RuntimeIdentifier=linux-arm64", "TinyLlm trains with libtorch, which TorchSharp ships for win-x64, linux-x64 and osx-arm64 only; 'linux-arm64' has none.")]
    public void ABackendOrSystemWithoutLibtorchStopsTheBuildWithAClearError(string properties, string error)
    {
        Assert.AreNotEqual(0, CheckBackend(properties, out string output));
        StringAssert.Contains(output, "error : " + error);
    }
}
