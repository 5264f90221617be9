using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.ProcessProbe;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// <c>tinyllm generate</c> and <c>export</c> load neither TorchSharp nor libtorch (460 MB, a third of a one-off story's
/// start-up) unless the model or an option needs it: each command runs as a child process with the probe's startup
/// hook, which lists what the process loaded.
/// </summary>
[TestClass]
public sealed class LazyLibtorchTests
{
    private static string _dir = "", _model = "", _tokenizer = "";

    [ClassInitialize]
    public static void MakeModel(TestContext _)
    {
        _dir = TempDir("lazy");
        _model = Path.Combine(_dir, "model.bin");
        _tokenizer = Path.Combine(_dir, "tok.model");
        Llama2cCheckpoint.Write(Random(Tokenizer.VocabSize, shared: true), _model);
        Tokenizer.Save(_tokenizer);
    }

    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    [TestMethod]
    public void GenerateFromALlama2cFileLoadsNoTorchSharp()
    {
        var loaded = RunTinyllm($"generate --checkpoint \"{_model}\" --tokenizer \"{_tokenizer}\" --max-new-tokens 3 --temperature 0");
        AssertNoTorch(loaded);
    }

    [TestMethod]
    public void GenerateFromAnMLNetZipLoadsNoTorchSharp()
    {
        var ml = new MLContext(seed: 1);
        string zip = Path.Combine(_dir, "model.zip");
        using var generation = ml.Transforms.Text.LoadLlama(_model, _tokenizer);
        ml.Model.Save(generation, ml.Data.LoadFromEnumerable(new[] { new StoryPrompt { Text = "Tom" } }).Schema, zip);
        AssertNoTorch(RunTinyllm($"generate --model \"{zip}\" --max-new-tokens 3 --temperature 0"));
    }

    [TestMethod]
    public void ExportLoadsNoTorchSharp()
    {
        AssertNoTorch(RunTinyllm($"export --checkpoint \"{_model}\" --format llama2c-q8 --out \"{Path.Combine(_dir, "q8.bin")}\""));
    }

    [TestMethod]
    public void TheProbeSeesLibtorchWhenTheTorchBackendIsAskedFor()
    {
        // The control: the same command on the TorchSharp backend must show both, or the checks above prove nothing.
        var loaded = RunTinyllm($"generate --checkpoint \"{_model}\" --tokenizer \"{_tokenizer}\" --max-new-tokens 3 --temperature 0 --backend torch");
        CollectionAssert.Contains(loaded, "assembly TorchSharp");
        if (OperatingSystem.IsLinux()) Assert.IsTrue(loaded.Any(IsLibtorch), "libtorch_cpu is not among the mapped libraries");
    }

    private static bool IsLibtorch(string line) => line.StartsWith("native ", StringComparison.Ordinal) && line.Contains("torch_cpu", StringComparison.Ordinal);

    private static void AssertNoTorch(string[] loaded)
    {
        CollectionAssert.Contains(loaded, "assembly TinyLlm.MLNet.Core", "the probe saw nothing: the hook did not run");
        CollectionAssert.DoesNotContain(loaded, "assembly TorchSharp");
        Assert.IsFalse(loaded.Any(IsLibtorch), "libtorch was loaded: " + string.Join(", ", loaded.Where(IsLibtorch)));
    }

    // Runs the built tinyllm as a child process with the probe's startup hook; returns what that process loaded.
    private static string[] RunTinyllm(string arguments)
    {
        string report = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".loaded");
        string hook = typeof(StoryPrompt).Assembly.Location;
        var environment = new Dictionary<string, string> { ["DOTNET_STARTUP_HOOKS"] = hook, ["TINYLLM_PROBE_LOADED"] = report };
        int code = Cli.RunProcess(arguments, out string output, environment);
        Assert.AreEqual(0, code, output);
        Assert.IsTrue(File.Exists(report), "the startup hook wrote no report: " + output);
        return File.ReadAllLines(report);
    }
}
