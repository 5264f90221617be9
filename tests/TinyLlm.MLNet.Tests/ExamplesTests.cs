namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Runs the programs under <c>examples/</c> from their own build output (the test project builds them first), with
/// tiny settings, the way a user would run them, and checks what they print and write.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class ExamplesTests
{
    private const string Prompt = "One day, Lily met a";
    private static string _dir = "";
    private static string _pipelineOutput = "";
    private static int _pipelineExit;

    /// <summary>WholePipeline once for the class: its zip is ScoreFromZip's input.</summary>
    [ClassInitialize]
    public static void RunWholePipeline(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("tinyllm-examples-").FullName;
        _pipelineExit = RunExample("WholePipeline", $"--tiny --out \"{Path.Combine(_dir, "pipeline")}\"", out _pipelineOutput);
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary><c>dotnet examples/NAME/bin/CONFIG/net10.0/NAME.dll ARGS</c>, CONFIG being the test assembly's.</summary>
    private static int RunExample(string name, string arguments, out string output)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));    // tests/TinyLlm.MLNet.Tests/bin/CONFIG/TFM
        string tfm = bin.Name, configuration = bin.Parent!.Name;
        var root = bin;
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found above " + bin.FullName);
        string dll = Path.Combine(root.FullName, "examples", name, "bin", configuration, tfm, name + ".dll");
        Assert.IsTrue(File.Exists(dll), $"{dll} is missing: the test project should have built it.");
        return ReferenceTools.Run("dotnet", $"\"{dll}\" {arguments}", out output, _dir);
    }

    /// <summary>The zip WholePipeline saved (the run must have succeeded).</summary>
    private static string PipelineZip()
    {
        Assert.AreEqual(0, _pipelineExit, _pipelineOutput);
        return Path.Combine(_dir, "pipeline", "tinyllm.zip");
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [TestMethod]
    public void WholePipelineTrainsSavesReloadsAndTellsAStory()
    {
        string zip = PipelineZip();
        Assert.IsTrue(File.Exists(zip), _pipelineOutput);
        string[] lines = Lines(_pipelineOutput);
        CollectionAssert.Contains(lines, "saved " + zip);
        string story = string.Join(" ", lines.SkipWhile(l => !l.StartsWith(Prompt, StringComparison.Ordinal)));
        Assert.IsTrue(story.Length > Prompt.Length + 5, "no story after the prompt:\n" + _pipelineOutput);
    }

    [TestMethod]
    public void ScoreFromZipTellsOneStoryPerPromptFromTheSavedZip()
    {
        string zip = PipelineZip();
        Assert.AreEqual(0, RunExample("ScoreFromZip", $"\"{zip}\" \"{Prompt}\" \"Once upon a time\"", out string output), output);
        string[] lines = Lines(output);
        Assert.HasCount(2, lines, output);
        StringAssert.StartsWith(lines[0], Prompt);
        StringAssert.StartsWith(lines[1], "Once upon a time");
        Assert.IsTrue(lines.All(l => l.Length > "Once upon a time".Length + 5), output);

        Assert.AreEqual(1, RunExample("ScoreFromZip", $"\"{zip}\"", out output));
        StringAssert.Contains(output, "usage: ScoreFromZip");
    }

    [TestMethod]
    public void ChatClientStreamsAStoryThenTellsThreeAtOnceThroughIChatClient()
    {
        string zip = PipelineZip();
        Assert.AreEqual(0, RunExample("ChatClient", $"\"{zip}\" \"{Prompt}\"", out string output), output);
        string[] lines = Lines(output);
        Assert.HasCount(6, lines, output);
        StringAssert.StartsWith(lines[0], Prompt);
        Assert.IsTrue(lines[0].Length > Prompt.Length + 5, output);
        StringAssert.Matches(lines[1], new System.Text.RegularExpressions.Regex(@"^finish: (stop|length), tokens: \d+ in, [1-9]\d* out$"), output);
        Assert.AreEqual("same story without streaming: True", lines[2]);
        for (int i = 0; i < 3; i++) StringAssert.StartsWith(lines[3 + i], $"seed {i + 1}: {Prompt}");

        Assert.AreEqual(1, RunExample("ChatClient", $"\"{zip}\"", out output));
        StringAssert.Contains(output, "usage: ChatClient");
    }

    [TestMethod]
    public void FromCliArtifactsScoresTheCheckpointAndSavesAZipThatScoreFromZipLoads()
    {
        // The CLI's own flow, tiny: synthetic stories, tokenizer, shards, a 20-step model.
        string data = Path.Combine(_dir, "cli-data"), outDir = Path.Combine(_dir, "cli-out");
        Assert.AreEqual(0, Cli.Run("synth", "--out", data, "--stories", "300", "--stories-per-shard", "100", "--seed", "4"));
        Assert.AreEqual(0, Cli.Run("train-tokenizer", "--dataset-dir", data, "--vocab-size", "400"));
        Assert.AreEqual(0, Cli.Run("pretokenize", "--dataset-dir", data, "--vocab-size", "400"));
        Assert.AreEqual(0, Cli.Run("train", "--dataset-dir", data, "--out-dir", outDir, "--vocab-size", "400", "--dim", "32",
            "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "32", "--batch-size", "8",
            "--gradient-accumulation-steps", "1", "--max-iters", "20", "--eval-interval", "10", "--eval-iters", "2",
            "--warmup-iters", "2", "--learning-rate", "0.01", "--device", "cpu"));
        string checkpoint = Path.Combine(outDir, "ckpt.bin"), tokenizer = Path.Combine(data, "tok400.model");
        Assert.IsTrue(File.Exists(checkpoint) && File.Exists(tokenizer), "the CLI did not write ckpt.bin and tok400.model");

        string zip = Path.Combine(_dir, "from-cli.zip");
        Assert.AreEqual(0, RunExample("FromCliArtifacts", $"\"{checkpoint}\" \"{tokenizer}\" \"{zip}\" \"{Prompt}\"", out string output), output);
        string[] lines = Lines(output);
        StringAssert.StartsWith(lines[0], Prompt);
        Assert.IsTrue(lines[0].Length > Prompt.Length + 5, output);
        Assert.AreEqual("saved " + zip, lines[^1]);

        // The saved generator scores through the other example too.
        Assert.AreEqual(0, RunExample("ScoreFromZip", $"\"{zip}\" \"{Prompt}\"", out output), output);
        StringAssert.StartsWith(Lines(output).Single(), Prompt);
    }

    [TestMethod]
    public void FineTuneLowersTheHeldOutLossOfTheSavedZipOnTheUsersOwnStories()
    {
        Assert.AreEqual(0, _pipelineExit, _pipelineOutput);
        // "Your own stories": a .txt of robot stories, words the pipeline's model never saw.
        string stories = Path.Combine(_dir, "my-stories.txt");
        File.WriteAllLines(stories, TinyLlm.MLNet.Stories.Synthetic.SyntheticStories.Generate(200, seed: 3, TinyLlm.MLNet.Stories.Synthetic.SyntheticTheme.Space)
            .Select(s => s.Replace('\n', ' ')));
        string zip = Path.Combine(_dir, "pipeline", "tinyllm.zip"), outDir = Path.Combine(_dir, "fine-tune");
        Assert.AreEqual(0, RunExample("FineTune", $"\"{zip}\" \"{stories}\" --steps 30 --learning-rate 0.01 --out \"{outDir}\"", out string output), output);
        double Loss(string when) => double.Parse(Lines(output).Single(l => l.StartsWith(when + ": loss ", StringComparison.Ordinal)).Split(' ')[2].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(Loss("after") < Loss("before") - 0.3, output);
        string tuned = Path.Combine(outDir, "fine-tuned.zip");
        CollectionAssert.Contains(Lines(output), "saved " + tuned);

        // The fine-tuned zip tells stories through the scoring example.
        Assert.AreEqual(0, RunExample("ScoreFromZip", $"\"{tuned}\" \"{Prompt}\"", out output), output);
        StringAssert.StartsWith(Lines(output).Single(), Prompt);

        Assert.AreEqual(1, RunExample("FineTune", $"\"{zip}\"", out output));
        StringAssert.Contains(output, "usage: FineTune");
    }

}
