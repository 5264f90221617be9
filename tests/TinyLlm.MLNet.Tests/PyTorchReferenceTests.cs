using System.Text.Json;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Training;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Our model and training step against an independent PyTorch implementation (bench/reference/llama_reference.py,
/// Debian's python3-torch 1.13), both starting from the same weights exchanged as a llama2.c v0 file.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class PyTorchReferenceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string Script = Path.Combine(RepoRoot(), "bench", "reference", "llama_reference.py");

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TinyLlm.MLNet.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Could not find the repository root above the test output.");
    }

    [TestMethod]
    public void LogitsAndTwentyAdamWStepsMatchPyTorch()
    {
        ReferenceTools.RequirePythonModule("torch", "apt-get install python3-torch");
        string dir = Path.Combine(Path.GetTempPath(), "tinyllm-pytorch-ref-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);

        const int steps = 20, accum = 2, batch = 4;
        var options = new TrainingOptions
        {
            OutDir = dir, Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 16, VocabSize = 96, MaxSeqLen = 32,
            BatchSize = batch, GradientAccumulationSteps = accum, LearningRate = 3e-3, WarmupIters = 4, MaxIters = steps - 1,
            LrDecayIters = steps, MinLr = 3e-4, WeightDecay = 0.1, GradClip = 1.0, EvalIters = 1, EvalInterval = 1000,
            Device = "cpu", Dtype = "float32", InitFrom = "resume", WriteMetrics = false,
        };
        var data = new InMemoryTokenSource(InMemoryTokenSource.SyntheticStories(30_000, 96, 3), InMemoryTokenSource.SyntheticStories(3_000, 96, 4), 32);

        // the shared initial weights: a checkpoint at iteration 0 for us, a llama2.c v0 file for PyTorch
        torch.manual_seed(21);
        using var initial = new LlamaModel(options.ToModelConfig());
        Checkpoint.Capture(initial, null, 0, 1e9, options).Write(Path.Combine(dir, Checkpoint.FileName));
        Llama2cCheckpoint.Write(initial.ToTransformerWeights(), Path.Combine(dir, "model.bin"));

        // the batches of every micro-step, in the trainer's order
        int t = options.MaxSeqLen;
        var inputs = new long[batch * t];
        var targets = new long[batch * t];
        using (var bw = new BinaryWriter(File.Create(Path.Combine(dir, "batches.bin"))))
        {
            for (int i = 0; i < steps * accum; i++)
            {
                data.FillBatch(DataSplit.Train, i, batch, inputs, targets);
                foreach (long v in inputs) bw.Write((int)v);
                foreach (long v in targets) bw.Write((int)v);
            }
        }

        string args = $"\"{Script}\" check --weights \"{dir}/model.bin\" --batches \"{dir}/batches.bin\" --logits-out \"{dir}/logits.bin\" " +
                      $"--steps {steps} --accum {accum} --batch-size {batch} --learning-rate {options.LearningRate} --warmup-iters {options.WarmupIters} " +
                      $"--lr-decay-iters {options.LrDecayIters} --min-lr {options.MinLr} --weight-decay {options.WeightDecay} --grad-clip {options.GradClip} --threads 2";
        int rc = ReferenceTools.Run(ReferenceTools.SystemPython, args, out string stdout);
        Assert.AreEqual(0, rc, stdout);
        var reference = JsonDocument.Parse(stdout).RootElement;
        double[] refLosses = reference.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        // logits of the first batch, fp32, relative error < 1e-4
        data.FillBatch(DataSplit.Train, 0, batch, inputs, targets);
        float[] theirs = new float[batch * t * options.VocabSize];
        Buffer.BlockCopy(File.ReadAllBytes(Path.Combine(dir, "logits.bin")), 0, theirs, 0, theirs.Length * 4);
        using (torch.no_grad())
        {
            initial.eval();
            var ours = initial.forward(torch.tensor(inputs, [batch, t]));
            var expected = torch.tensor(theirs, [batch, t, options.VocabSize]);
            double relative = ((ours - expected).abs().max() / expected.abs().max()).item<float>();
            TestContext.WriteLine($"logits: max relative error {relative:E2}");
            Assert.IsTrue(relative < 1e-4, $"logits differ from PyTorch's by {relative:E2} (relative)");
        }

        // the first 20 AdamW steps (warmup, cosine, clipping, decay groups, accumulation), relative error < 1e-3
        var result = new LlamaTrainer(options).Fit(data);
        using var trained = result.Model;
        Assert.AreEqual(steps, result.Losses.Count);
        for (int i = 0; i < steps; i++)
        {
            double rel = Math.Abs(result.Losses[i] - refLosses[i]) / refLosses[i];
            TestContext.WriteLine($"step {i}: ours {result.Losses[i]:F6} pytorch {refLosses[i]:F6} relative {rel:E2}");
            Assert.IsTrue(rel < 1e-3, $"step {i}: loss {result.Losses[i]} vs PyTorch {refLosses[i]}");
        }
        Assert.IsTrue(refLosses[^1] < refLosses[0] - 0.5, "the reference run did not learn: the comparison would be weak");
    }
}
