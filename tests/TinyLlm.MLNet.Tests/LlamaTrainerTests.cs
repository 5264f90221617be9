using Microsoft.ML;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class LlamaTrainerTests
{
    public TestContext TestContext { get; set; } = null!;

    private string NewOutDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "tinyllm-trainer-tests", TestContext.TestName + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A tiny run: 2 layers of width 32, sequences of 16, vocabulary 64.</summary>
    private TrainingOptions Tiny(string outDir) => new()
    {
        OutDir = outDir, Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = 64, MaxSeqLen = 16,
        BatchSize = 8, GradientAccumulationSteps = 2, EvalIters = 2, EvalInterval = 5, LearningRate = 1e-2, WarmupIters = 2,
        MaxIters = 10, Device = "cpu", Dtype = "float32", Seed = 1,
    };

    private static InMemoryTokenSource Data(int vocab = 64, int seqLen = 16) =>
        new(InMemoryTokenSource.SyntheticStories(20_000, vocab, 1), InMemoryTokenSource.SyntheticStories(2_000, vocab, 2), seqLen);

    [TestMethod]
    public void LearningRateWarmsUpLinearlyThenFollowsACosineToMinLr()
    {
        var trainer = new LlamaTrainer(new TrainingOptions { LearningRate = 1e-3, MinLr = 1e-4, WarmupIters = 10, MaxIters = 110, Device = "cpu" });
        Assert.AreEqual(0.0, trainer.GetLr(0));
        Assert.AreEqual(5e-4, trainer.GetLr(5), 1e-15);
        Assert.AreEqual(1e-3, trainer.GetLr(10), 1e-15);
        Assert.AreEqual(1e-4 + 0.5 * 0.9e-3, trainer.GetLr(60), 1e-12); // half way: cos = 0
        Assert.AreEqual(1e-4, trainer.GetLr(110), 1e-15);
        Assert.AreEqual(1e-4, trainer.GetLr(500), 1e-15);
        var constant = new LlamaTrainer(new TrainingOptions { LearningRate = 1e-3, DecayLr = false, Device = "cpu" });
        Assert.AreEqual(1e-3, constant.GetLr(0));
    }

    [TestMethod]
    public void LossFallsOnSyntheticStoriesAndTheRunLeavesCheckpointMetricsAndLog()
    {
        string dir = NewOutDir();
        var options = Tiny(dir);
        options.MaxIters = 30;
        options.EvalInterval = 10;
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var reports = new List<TrainingProgress>();
        var result = new LlamaTrainer(options, ml).Fit(Data(), new SynchronousProgress<TrainingProgress>(reports.Add));
        using var model = result.Model;

        var evals = reports.Where(r => r.Event == TrainingEvent.Eval).ToList();
        Assert.AreEqual(4, evals.Count); // iterations 0, 10, 20, 30
        Assert.AreEqual(Math.Log(64), evals[0].ValLoss, 0.1);
        Assert.IsTrue(evals[^1].ValLoss < evals[0].ValLoss - 1.5, $"val loss {evals[0].ValLoss} -> {evals[^1].ValLoss}");
        Assert.AreEqual(31, result.Losses.Count);
        Assert.AreEqual(31L, result.IterNum);
        Assert.AreEqual(31, reports.Count(r => r.Event == TrainingEvent.Step));
        Assert.IsTrue(reports.Where(r => r.Event == TrainingEvent.Step).All(r => r.TokensPerSecond > 0 && r.StepMilliseconds > 0));

        // FLOP/s on every step and MFU against a peak measured on this CPU (llama2.c's A100 yardstick printed 0.00%)
        var steps = reports.Where(r => r.Event == TrainingEvent.Step).ToList();
        Assert.IsTrue(steps.All(r => double.IsFinite(r.FlopsPerSecond) && r.FlopsPerSecond > 0));
        Assert.AreEqual(result.FlopsPerToken * steps[^1].TokensPerSecond, steps[^1].FlopsPerSecond, 1e-9 * steps[^1].FlopsPerSecond);
        Assert.IsNotNull(result.Peak);
        StringAssert.StartsWith(result.Peak.Source, "measured: ");
        Assert.IsTrue(steps[^1].Mfu > 0, $"mfu {steps[^1].Mfu}");
        // the choices the run made are reported once each: threads and wait policy, and the MFU yardstick
        var settings = reports.Where(r => r.Event == TrainingEvent.Setting).Select(r => r.Message!).ToList();
        Assert.AreEqual(1, settings.Count(m => m.StartsWith("CPU threads: ", StringComparison.Ordinal) && m.Contains("OpenMP workers wait")), string.Join("; ", settings));
        Assert.AreEqual(1, settings.Count(m => m.StartsWith("MFU against a peak of ", StringComparison.Ordinal)), string.Join("; ", settings));

        // the checkpoint holds the best model (iteration 30 here) and loads into the same logits
        string ckpt = Path.Combine(dir, Checkpoint.FileName);
        var saved = Checkpoint.Read(ckpt);
        Assert.AreEqual(30L, saved.IterNum);
        Assert.AreEqual(evals[^1].ValLoss, saved.BestValLoss, 1e-12);
        Assert.AreEqual(options.Dim, saved.Config!.Dim);
        Assert.IsFalse(File.Exists(ckpt + ".tmp"));
        using var loaded = Checkpoint.LoadModel(ckpt);
        Assert.AreEqual(model.Config, loaded.Config);
        var exported = TinyLlm.MLNet.Interop.Llama2cCheckpoint.Read(Path.Combine(dir, LlamaTrainer.ExportFileName));
        CollectionAssert.AreEqual(loaded.ToTransformerWeights().Wq, exported.Wq);

        string[] csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.AreEqual("kind,iter,tokens,lr,loss,train_loss,val_loss,step_ms,tokens_per_s,mfu", csv[0]);
        Assert.AreEqual(31, csv.Count(l => l.StartsWith("step,")));
        Assert.AreEqual(4, csv.Count(l => l.StartsWith("eval,")));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "loss.png")), "the library draws no plot (tinyllm train does)");

        lock (log)
        {
            Assert.IsTrue(log.Any(l => l.Contains("step 0: train loss")), "no eval line on the ML.NET log");
            Assert.IsTrue(log.Any(l => l.Contains("| loss ") && l.Contains("tok/s")), "no step line on the ML.NET log");
        }
    }

    [TestMethod]
    public void AnInterruptedAndResumedRunGivesTheSameLossesAsAnUninterruptedOne()
    {
        TrainingOptions Options(string dir)
        {
            var o = Tiny(dir);
            o.MaxIters = 12;
            o.EvalInterval = 4;
            o.AlwaysSaveCheckpoint = true;
            o.Dropout = 0.1; // dropout masks must repeat too
            return o;
        }
        var data = Data();

        string full = NewOutDir();
        var uninterrupted = new LlamaTrainer(Options(full)).Fit(data);
        uninterrupted.Model.Dispose();

        // stop after iteration 6; the last checkpoint is the one taken before iteration 4
        string dir = NewOutDir();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsExactly<OperationCanceledException>(() => new LlamaTrainer(Options(dir)).Fit(data,
            new SynchronousProgress<TrainingProgress>(p => { if (p.Event == TrainingEvent.Step && p.Iter == 6) cts.Cancel(); }), cts.Token));
        Assert.AreEqual(4L, Checkpoint.Read(Path.Combine(dir, Checkpoint.FileName)).IterNum);

        var resumedOptions = Options(dir);
        resumedOptions.InitFrom = "resume";
        var resumed = new LlamaTrainer(resumedOptions).Fit(data);
        using var model = resumed.Model;
        Assert.AreEqual(4L, resumed.FirstIter);
        Assert.AreEqual(9, resumed.Losses.Count);
        for (int i = 0; i < resumed.Losses.Count; i++)
            Assert.AreEqual(uninterrupted.Losses[i + 4], resumed.Losses[i], 1e-6, $"iteration {i + 4}");
        Assert.AreEqual(uninterrupted.BestValLoss, resumed.BestValLoss, 1e-6);

        // the metrics of the resumed run continue those of the interrupted one
        string[] csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        CollectionAssert.AreEqual(Enumerable.Range(0, 13).ToArray(), csv.Where(l => l.StartsWith("step,")).Select(l => int.Parse(l.Split(',')[1])).ToArray());
    }

    [TestMethod]
    public void ANaNLossStopsTrainingAndKeepsTheLastGoodCheckpoint()
    {
        string dir = NewOutDir();
        var o = Tiny(dir);
        o.LearningRate = 1e30; // iteration 0 has lr 0 (warmup), iteration 1 blows the weights up
        o.WarmupIters = 10;
        o.GradClip = 0;
        o.EvalInterval = 1;
        o.MaxIters = 20;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new LlamaTrainer(o).Fit(Data()));
        StringAssert.Contains(e.Message, "Training diverged at iteration");
        StringAssert.Contains(e.Message, "is kept");
        long divergedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"iteration (\d+)").Groups[1].Value);
        var ckpt = Checkpoint.Read(Path.Combine(dir, Checkpoint.FileName));
        Assert.IsTrue(ckpt.IterNum >= 1 && ckpt.IterNum <= divergedAt, $"checkpoint of iteration {ckpt.IterNum}, divergence at {divergedAt}");
        Assert.IsTrue(double.IsFinite(ckpt.BestValLoss));
        using var model = ckpt.CreateModel();
        Assert.IsTrue(model.parameters().All(p => torch.isfinite(p).all().item<bool>()));
        var trainer = new LlamaTrainer(Tiny(NewOutDir()));
        var (train, val) = trainer.EstimateLoss(model, Data());
        Assert.IsTrue(double.IsFinite(train) && double.IsFinite(val), "the kept checkpoint is not a good one");
    }

    [TestMethod]
    public void EvalOnlyEvaluatesOnceAndTrainsNothing()
    {
        string dir = NewOutDir();
        var o = Tiny(dir);
        o.EvalOnly = true;
        var reports = new List<TrainingProgress>();
        var result = new LlamaTrainer(o).Fit(Data(), new SynchronousProgress<TrainingProgress>(reports.Add));
        using var model = result.Model;
        Assert.AreEqual(0, result.Losses.Count);
        Assert.AreEqual(0L, result.IterNum);
        Assert.AreEqual(1, reports.Count(r => r.Event == TrainingEvent.Eval));
        Assert.AreEqual(0, reports.Count(r => r.Event == TrainingEvent.Step));
        Assert.IsFalse(File.Exists(Path.Combine(dir, Checkpoint.FileName)), "no checkpoint at iteration 0, as in train.py");
    }

    [TestMethod]
    public void DataThatDoesNotFitTheOptionsIsRefused()
    {
        var o = Tiny(NewOutDir());
        var wide = new InMemoryTokenSource([.. InMemoryTokenSource.SyntheticStories(2000, 64, 1), 99], InMemoryTokenSource.SyntheticStories(200, 64, 2), 16);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(o).Fit(wide));
        StringAssert.Contains(e.Message, "token id 99, which does not fit VocabSize 64");
        e = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(o).Fit(Data(seqLen: 8)));
        StringAssert.Contains(e.Message, "MaxSeqLen is 16");
        var shortData = new InMemoryTokenSource(InMemoryTokenSource.SyntheticStories(2000, 64, 1), InMemoryTokenSource.SyntheticStories(10, 64, 2), 16);
        e = Assert.ThrowsExactly<ArgumentException>(() => new LlamaTrainer(o).Fit(shortData));
        StringAssert.Contains(e.Message, "validation data has no window of MaxSeqLen + 1 = 17 tokens");
    }

    [TestMethod]
    public void BadOptionsAreRefusedByName()
    {
        void Refused(Action<TrainingOptions> change, string expected)
        {
            var o = Tiny(NewOutDir());
            change(o);
            var e = Assert.Throws<ArgumentException>(() => new LlamaTrainer(o));
            StringAssert.Contains(e.Message, expected);
        }
        Refused(o => o.Device = "tpu", "Device must be auto, cpu, cuda or cuda:N; it is 'tpu'");
        Refused(o => o.Dtype = "float64", "Dtype must be auto, float32 or bfloat16; it is 'float64'");
        Refused(o => o.Dtype = "float16", "float16 is not supported");
        Refused(o => o.InitFrom = "finetune", "InitFrom must be 'scratch', 'resume' or the path of a model to fine-tune; it is 'finetune'");
        Refused(o => o.NHeads = 3, "NHeads (3) must divide Dim (32)");
        Refused(o => o.NKvHeads = 3, "NKvHeads (3) must divide NHeads (4)");
        Refused(o => o.BatchSize = 0, "BatchSize must be at least 1");
        Refused(o => o.Beta2 = 1.0, "Beta2 must be in [0, 1)");
        Refused(o => { o.OutDir = null; o.InitFrom = "resume"; }, "InitFrom 'resume' continues from OutDir/ckpt.bin");
        Refused(o => o.Threads = -1, "Threads must be at least 0; it is -1");
        Refused(o => o.PeakFlops = 0, "PeakFlops must be a positive number of FLOP/s; it is 0");
    }

    [TestMethod]
    public void ResumeNeedsAnIntactCheckpointOfTheSameArchitecture()
    {
        string dir = NewOutDir();
        var o = Tiny(dir);
        o.InitFrom = "resume";
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => new LlamaTrainer(o).Fit(Data()));
        StringAssert.Contains(missing.Message, "InitFrom is 'resume' but there is no checkpoint");

        var first = Tiny(dir);
        first.MaxIters = 5;
        first.AlwaysSaveCheckpoint = true;
        new LlamaTrainer(first).Fit(Data()).Model.Dispose();
        string ckpt = Path.Combine(dir, Checkpoint.FileName);

        var other = Tiny(dir);
        other.InitFrom = "resume";
        other.Dim = 48;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new LlamaTrainer(other).Fit(Data()));
        StringAssert.Contains(e.Message, "was trained with Dim 32 but the options ask for Dim 48");

        byte[] bytes = File.ReadAllBytes(ckpt);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(ckpt, bytes);
        e = Assert.ThrowsExactly<InvalidDataException>(() => new LlamaTrainer(o).Fit(Data()));
        StringAssert.Contains(e.Message, "SHA-256 checksum does not match");

        File.WriteAllBytes(ckpt, bytes[..100]);
        e = Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.LoadModel(ckpt));
        StringAssert.Contains(e.Message, "damaged or truncated");

        File.WriteAllText(ckpt, "not a checkpoint");
        e = Assert.ThrowsExactly<InvalidDataException>(() => Checkpoint.LoadModel(ckpt));
        StringAssert.Contains(e.Message, "is not a TinyLlm checkpoint");
    }

    [TestMethod]
    public void BFloat16TrainingOnTheCpuLearnsLikeFloat32()
    {
        var o32 = Tiny(NewOutDir());
        o32.MaxIters = 15;
        o32.EvalInterval = 15;
        var r32 = new LlamaTrainer(o32).Fit(Data());
        r32.Model.Dispose();
        var o16 = Tiny(NewOutDir());
        o16.MaxIters = 15;
        o16.EvalInterval = 15;
        o16.Dtype = "bfloat16";
        var r16 = new LlamaTrainer(o16).Fit(Data());
        using var model = r16.Model;
        Assert.AreEqual(torch.ScalarType.Float32, model.TokenEmbeddingWeight.dtype, "master weights must stay fp32");
        Assert.AreEqual(r32.Losses[0], r16.Losses[0], 0.02);
        Assert.AreEqual(r32.Losses[^1], r16.Losses[^1], 0.1 * r32.Losses[^1]);
        Assert.IsTrue(r16.Losses[^1] < r16.Losses[0] - 1.0);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
