using System.Diagnostics;
using System.Security.Cryptography;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// What a training folder holds is always one consistent state: one run at a time (train.lock), metrics on disk
/// before the checkpoint they lead to, model.bin and ckpt.bin of one generation (or detected and repaired), and no
/// temporary file left behind by a killed run.
/// </summary>
[TestClass]
public sealed class TrainingFolderSafetyTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("tinyllm-folder-safety-").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static TrainingOptions Tiny(string outDir, int maxIters = 4) => new()
    {
        OutDir = outDir, Dim = 32, NLayers = 1, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = 64, MaxSeqLen = 16,
        BatchSize = 4, GradientAccumulationSteps = 1, EvalIters = 1, EvalInterval = 2, LearningRate = 1e-2, WarmupIters = 1,
        MaxIters = maxIters, AlwaysSaveCheckpoint = true, Device = "cpu", Dtype = "float32", Seed = 1,
    };

    private static InMemoryTokenSource Data() =>
        new(InMemoryTokenSource.SyntheticStories(4_000, 64, 1), InMemoryTokenSource.SyntheticStories(1_000, 64, 2), 16);

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [TestMethod]
    public void ASecondRunIntoTheSameOutDirIsRefusedWithTheHoldersProcessId()
    {
        string outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        using (TrainingLock.Acquire(outDir))
        {
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => new LlamaTrainer(Tiny(outDir)).Fit(Data()));
            StringAssert.Contains(e.Message, $"process {Environment.ProcessId} on {Environment.MachineName}");
            StringAssert.Contains(e.Message, $"is writing into '{outDir}'");

            var data = Path.Combine(_dir, "data");
            Directory.CreateDirectory(data);
            TokenShardTestData.WriteBin(Path.Combine(data, "data00.bin"), InMemoryTokenSource.SyntheticStories(1_000, 64, 2));
            TokenShardTestData.WriteBin(Path.Combine(data, "data01.bin"), InMemoryTokenSource.SyntheticStories(4_000, 64, 1));
            var run = Cli.Capture("train", "--data-dir", data, "--out-dir", outDir, "--vocab-size", "64", "--dim", "32", "--n-layers", "1",
                "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "16", "--batch-size", "4", "--max-iters", "2", "--device", "cpu");
            Assert.AreEqual(1, run.ExitCode, run.All);
            StringAssert.Contains(run.Error, $"process {Environment.ProcessId}");
            StringAssert.Contains(run.Error, "choose another --out-dir");
            Assert.IsFalse(File.Exists(Path.Combine(outDir, Checkpoint.FileName)), "the refused run wrote nothing");
        }
        Assert.IsFalse(File.Exists(Path.Combine(outDir, TrainingLock.FileName)), "released");

        // A lock left by a process that is gone (killed) is stale: the next run takes it over, and releases it at the end.
        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            gone.WaitForExit();
            File.WriteAllText(Path.Combine(outDir, TrainingLock.FileName), $"{gone.Id} {DateTime.UtcNow.Ticks} {Environment.MachineName}\n");
        }
        new LlamaTrainer(Tiny(outDir)).Fit(Data()).Model.Dispose();
        Assert.IsTrue(File.Exists(Path.Combine(outDir, Checkpoint.FileName)));
        Assert.IsFalse(File.Exists(Path.Combine(outDir, TrainingLock.FileName)));
    }

    [TestMethod]
    public void MetricsRowsAreOnDiskBeforeTheirCheckpoint()
    {
        string outDir = Path.Combine(_dir, "out");
        var seenAtCheckpoint = new List<(long Iter, string[] Rows)>();
        new LlamaTrainer(Tiny(outDir, maxIters: 6)).Fit(Data(), new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Event == TrainingEvent.Checkpoint)
                seenAtCheckpoint.Add((p.Iter, File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Skip(1).ToArray()));
        })).Model.Dispose();
        Assert.HasCount(3, seenAtCheckpoint); // iterations 2, 4 and 6
        foreach (var (iter, rows) in seenAtCheckpoint)
        {
            // A kill right after this checkpoint's rename loses no row: every step before it and its evaluation are there.
            var steps = rows.Where(r => r.StartsWith("step,")).Select(r => long.Parse(r.Split(',')[1])).ToArray();
            CollectionAssert.AreEqual(Enumerable.Range(0, (int)iter).Select(i => (long)i).ToArray(), steps, $"checkpoint {iter}");
            Assert.IsTrue(rows.Any(r => r.StartsWith($"eval,{iter},")), $"checkpoint {iter}");
        }
    }

    [TestMethod]
    public void AModelBinOneGenerationApartIsDetectedAndRewrittenOnResume()
    {
        string outDir = Path.Combine(_dir, "out");
        new LlamaTrainer(Tiny(outDir)).Fit(Data()).Model.Dispose();
        string ckpt = Path.Combine(outDir, Checkpoint.FileName), export = Path.Combine(outDir, LlamaTrainer.ExportFileName);
        string recorded = Checkpoint.Read(ckpt).ExportSha256!;
        Assert.AreEqual(Sha256(export), recorded, "the checkpoint names the export written with it");

        // A run killed between the two renames: model.bin of a later iteration beside the older checkpoint.
        byte[] later = File.ReadAllBytes(export);
        later[^10] ^= 0x40;
        File.WriteAllBytes(export, later);
        var resume = Tiny(outDir);
        resume.InitFrom = "resume";
        resume.EvalOnly = true;
        resume.AlwaysSaveCheckpoint = false; // writes no checkpoint: only the repair can put model.bin back
        new LlamaTrainer(resume).Fit(Data()).Model.Dispose();
        Assert.AreEqual(recorded, Sha256(export));
    }

    [TestMethod]
    public void TemporaryFilesOfAKilledRunAreRemovedByTheNextOne()
    {
        string outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        foreach (string name in new[] { "ckpt.bin.tmp", "metrics.csv.tmp", "notes.tmp" })
            File.WriteAllBytes(Path.Combine(outDir, name), new byte[90]);
        string held = Path.Combine(outDir, "model.bin.tmp");
        using (new FileStream(held, FileMode.Create, FileAccess.Write, FileShare.None)) // being written by someone right now
        {
            new LlamaTrainer(Tiny(outDir, maxIters: 0)).Fit(Data()).Model.Dispose(); // no checkpoint at iteration 0: model.bin is not written
            Assert.IsTrue(File.Exists(held), "a temporary file in use is left alone");
        }
        CollectionAssert.AreEquivalent(new[] { "model.bin.tmp", "notes.tmp" },
            Directory.GetFiles(outDir, "*.tmp").Select(Path.GetFileName).ToArray(), "ours removed; another program's kept");

        // The shard writer cleans its folder the same way.
        string shards = Path.Combine(_dir, "shards");
        Directory.CreateDirectory(shards);
        File.WriteAllBytes(Path.Combine(shards, "data07.bin.tmp"), new byte[90]);
        new TokenShardWriter(TokenShardTestData.SpmModel(512)).Write([TokenShardInput.FromStories("data00", () => TokenShardTestData.Stories(50, 1))], shards);
        Assert.IsEmpty(Directory.GetFiles(shards, "*.tmp"));
    }

    [TestMethod]
    public void ATokenizersModelIsWrittenAfterItsVocabAndAMismatchIsDetectable()
    {
        var model = SentencePieceModel.Load(TokenShardTestData.SpmModel(512));
        string path = Path.Combine(_dir, "tok.model");
        model.Save(path);
        Assert.IsTrue(model.VocabMatches(path));
        Assert.IsTrue(File.GetLastWriteTimeUtc(path) >= File.GetLastWriteTimeUtc(Path.ChangeExtension(path, ".vocab")), "the .model is renamed last");

        // Killed between the two renames of a second tokenizer: its .vocab beside the first .model.
        File.WriteAllText(Path.ChangeExtension(path, ".vocab"), File.ReadAllText(Path.ChangeExtension(TokenShardTestData.SpmModel(400), ".vocab")));
        Assert.IsFalse(model.VocabMatches(path));
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
