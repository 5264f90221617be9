using System.Diagnostics;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TinyLlm.MLNet.Tests.ScaleOutTests;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// scale-out/train.py refuses what it cannot train on with a message naming the problem, and a job that loses a rank
/// resumes from its last checkpoint as under torchrun's <c>--max-restarts</c>.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class ScaleOutBadInputTests
{
    public TestContext TestContext { get; set; } = null!;

    private static (int Code, string Stderr) Fails(int worldSize, params string[] args)
    {
        using var job = ScaleOutProcesses.Start(worldSize, args);
        int[] codes = job.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.IsTrue(codes.All(c => c == 1), $"expected exit code 1 from every rank, got {string.Join(", ", codes)}:\n{job.AllStderr()}");
        return (codes[0], job.Stderr(0));
    }

    [TestMethod]
    public void ShardsOfAnotherVocabularyThanTheModelsAreRefused()
    {
        ScaleOutProcesses.RequirePyTorch();
        string dir = TokenShardTestData.NewFolder("scale-out-vocab");
        string model = Path.Combine(dir, "model.bin");
        torch.manual_seed(1);
        using (var m = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = 96, MaxSeqLen = 32 }))
            Llama2cCheckpoint.Write(m.ToTransformerWeights(), model);

        // shards made with a 400-piece tokenizer, for a model of 96 tokens
        string shards = Path.Combine(dir, "shards");
        Directory.CreateDirectory(shards);
        for (int s = 0; s < 2; s++) TokenShardTestData.WriteBin(Path.Combine(shards, $"data{s:D2}.bin"), InMemoryTokenSource.SyntheticStories(2_000, 400, s));
        var (_, stderr) = Fails(1, "--data-dir", shards, "--init-from", model, "--out-dir", Path.Combine(dir, "out"), "--device", "cpu");
        StringAssert.Contains(stderr, "which does not fit the model's vocab_size 96");

        // small ids, but the manifest says which tokenizer made them
        string listed = Path.Combine(dir, "listed");
        Directory.CreateDirectory(listed);
        for (int s = 0; s < 2; s++) TokenShardTestData.WriteBin(Path.Combine(listed, $"data{s:D2}.bin"), InMemoryTokenSource.SyntheticStories(2_000, 96, s));
        File.WriteAllText(Path.Combine(listed, "manifest.json"), """{ "formatVersion": 1, "tokenizerSha256": "00", "vocabSize": 4096, "shards": [] }""");
        (_, stderr) = Fails(1, "--data-dir", listed, "--init-from", model, "--out-dir", Path.Combine(dir, "out"), "--device", "cpu");
        StringAssert.Contains(stderr, "tokenizer of 4096 pieces");
        StringAssert.Contains(stderr, "manifest.json");

        // a tutorial folder named for another vocabulary
        string named = Path.Combine(dir, "tok4096");
        Directory.Move(Path.Combine(dir, "shards"), named);
        (_, stderr) = Fails(1, "--data-dir", named, "--vocab-size", "96", "--out-dir", Path.Combine(dir, "out"), "--device", "cpu");
        StringAssert.Contains(stderr, "named for a vocabulary of 4096");
    }

    [TestMethod]
    public void AWorldSizeThatDoesNotDivideTheBatchIsRefusedByEveryRank()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        var (_, stderr) = Fails(3, ["--data-dir", data, "--out-dir", Path.Combine(data, "out"), .. TinyRun]);
        StringAssert.Contains(stderr, "batch_size 8");
        StringAssert.Contains(stderr, "world size 3");
    }

    [TestMethod]
    public void AMissingOrPartialCheckpointIsNamedOnResume()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        string outDir = Path.Combine(data, "out");
        var (_, stderr) = Fails(1, ["--data-dir", data, "--out-dir", outDir, "--init-from", "resume", .. TinyRun]);
        StringAssert.Contains(stderr, "no checkpoint at '" + Path.Combine(outDir, "ckpt.pt") + "'");

        ScaleOutProcesses.Run(1, ["--data-dir", data, "--out-dir", outDir, .. TinyRun]);
        string ckpt = Path.Combine(outDir, "ckpt.pt");
        byte[] whole = File.ReadAllBytes(ckpt);
        File.WriteAllBytes(ckpt, whole[..(whole.Length / 2)]);
        (_, stderr) = Fails(1, ["--data-dir", data, "--out-dir", outDir, "--init-from", "resume", .. TinyRun]);
        StringAssert.Contains(stderr, $"The checkpoint '{ckpt}' cannot be read");
        StringAssert.Contains(stderr, "partial");
    }

    /// <summary>
    /// torchrun <c>--max_restarts 1</c>: one rank is killed mid-run, the agent stops the other and starts the job again
    /// (TORCHELASTIC_RESTART_COUNT=1); it resumes from the last checkpoint and ends with the losses of a run that was
    /// never interrupted.
    /// </summary>
    [TestMethod]
    public void ARankKilledMidRunResumesFromTheLastCheckpointWithTheSameLosses()
    {
        ScaleOutProcesses.RequirePyTorch();
        string data = TinyDataset();
        string[] run = [.. WithoutFlags(TinyRun, ["--max-iters", "--eval-interval"]), "--max-iters", "80", "--eval-interval", "10", "--always-save-checkpoint"];
        string interrupted = Path.Combine(data, "interrupted"), reference = Path.Combine(data, "reference");

        using (var job = ScaleOutProcesses.Torchrun(2, ["--data-dir", data, "--out-dir", interrupted, .. run], maxRestarts: 1))
        {
            var waited = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(interrupted, "ckpt.pt")) && !job.HasExited(0) && waited.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(10);
            int? victim = job.TorchrunWorker(1);
            Assert.IsTrue(victim is not null && !job.HasExited(0), $"the job ended before a rank could be killed:\n{job.AllStderr()}");
            Process.GetProcessById(victim.Value).Kill(); // SIGKILL, as a lost machine or the OOM killer
            int[] codes = job.WaitForExit(TimeSpan.FromMinutes(3));
            string log = job.Stderr(0);
            Assert.AreEqual(0, codes[0], log);
            StringAssert.Contains(log, "restart 1: resuming from");
            var resumedAt = System.Text.RegularExpressions.Regex.Match(log, @"resuming from \S+ at iteration (\d+)");
            Assert.IsTrue(resumedAt.Success && int.Parse(resumedAt.Groups[1].Value) is > 0 and < 80, log);
            TestContext.WriteLine($"rank 1 killed; resumed at iteration {resumedAt.Groups[1].Value}");
        }

        ScaleOutProcesses.Run(2, ["--data-dir", data, "--out-dir", reference, .. run]);
        var (resumed, _) = ScaleOutProcesses.ReadMetrics(interrupted);
        var (uninterrupted, _) = ScaleOutProcesses.ReadMetrics(reference);
        CollectionAssert.AreEqual(uninterrupted.Keys.ToArray(), resumed.Keys.ToArray(), "every iteration logged once");
        foreach (var (iter, loss) in uninterrupted)
            Assert.AreEqual(loss, resumed[iter], 1e-6, $"step {iter}");
    }
}
