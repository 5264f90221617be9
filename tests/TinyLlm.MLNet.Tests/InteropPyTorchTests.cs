using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// A llama2.c v0 file written by the PyTorch reference (bench/reference/llama_reference.py export-v0, Debian's
/// python3-torch) loads here and gives that script's logits, tied and untied.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class InteropPyTorchTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    public TestContext TestContext { get; set; } = null!;

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TinyLlm.MLNet.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Could not find the repository root above the test output.");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void V0FileFromThePyTorchReferenceGivesItsLogits(bool unshared)
    {
        ReferenceTools.RequirePythonModule("torch", "apt-get install python3-torch");
        string dir = TempDir("pytorch-v0");
        string script = Path.Combine(RepoRoot(), "bench", "reference", "llama_reference.py");
        const int seqLen = 16, vocab = 128;
        string args = $"\"{script}\" export-v0 --out \"{dir}/model.bin\" --tokens-out \"{dir}/tokens.bin\" --logits-out \"{dir}/logits.bin\" " +
                      $"--dim 64 --n-layers 2 --n-heads 4 --n-kv-heads 2 --vocab-size {vocab} --seq-len {seqLen} --seed 7{(unshared ? " --unshared" : "")}";
        int rc = ReferenceTools.Run(ReferenceTools.SystemPython, args, out string stdout);
        Assert.AreEqual(0, rc, stdout);

        var weights = GenerationModelLoader.ReadWeights(Path.Combine(dir, "model.bin"));
        Assert.AreEqual(!unshared, weights.Config.SharedClassifier);
        Assert.AreEqual(vocab, weights.Config.VocabSize);
        byte[] tokenBytes = File.ReadAllBytes(Path.Combine(dir, "tokens.bin"));
        int[] tokens = Enumerable.Range(0, seqLen).Select(i => BitConverter.ToInt32(tokenBytes, 4 * i)).ToArray();
        byte[] logitBytes = File.ReadAllBytes(Path.Combine(dir, "logits.bin"));
        Assert.AreEqual(seqLen * vocab * 4, logitBytes.Length);

        var engine = new InferenceEngine(weights);
        double maxError = 0, maxAbs = 0;
        for (int pos = 0; pos < seqLen; pos++)
        {
            var ours = engine.Forward(tokens[pos], pos);
            for (int v = 0; v < vocab; v++)
            {
                float theirs = BitConverter.ToSingle(logitBytes, 4 * (pos * vocab + v));
                maxError = Math.Max(maxError, Math.Abs(ours[v] - theirs));
                maxAbs = Math.Max(maxAbs, Math.Abs(theirs));
            }
        }
        TestContext.WriteLine($"max |logit difference| {maxError:E2}, max |logit| {maxAbs:F3}");
        Assert.IsTrue(maxAbs > 1, "the logits are too flat for a meaningful comparison");
        Assert.IsTrue(maxError / maxAbs < 1e-4, $"logits differ from PyTorch's by {maxError:E2} (max |logit| {maxAbs:F3})");
    }
}

/// <summary>
/// Our Hugging Face export, run by a PyTorch re-statement of transformers' Llama forward (half-split RoPE,
/// bench/reference/llama_reference.py hf-logits), gives our engine's logits: the wq/wk permutation goes the right way.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class InteropHuggingFacePyTorchTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ExportedFolderGivesOurLogitsUnderTransformersRope(bool shared)
    {
        ReferenceTools.RequirePythonModule("torch", "apt-get install python3-torch");
        var weights = Random(96, shared, seed: 11);
        string dir = TempDir("pytorch-hf");
        string folder = Path.Combine(dir, "hf");
        Interop.HuggingFaceLlama.Export(weights, folder);
        var rng = new Random(5);
        int[] tokens = Enumerable.Range(0, 12).Select(_ => rng.Next(96)).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "tokens.bin"), tokens.SelectMany(BitConverter.GetBytes).ToArray());
        string script = Path.Combine(InteropPyTorchTests.RepoRoot(), "bench", "reference", "llama_reference.py");
        int rc = ReferenceTools.Run(ReferenceTools.SystemPython, $"\"{script}\" hf-logits --folder \"{folder}\" --tokens \"{dir}/tokens.bin\" --logits-out \"{dir}/logits.bin\"", out string stdout);
        Assert.AreEqual(0, rc, stdout);
        byte[] logits = File.ReadAllBytes(Path.Combine(dir, "logits.bin"));

        var engine = new InferenceEngine(weights);
        double maxError = 0, maxAbs = 0;
        for (int pos = 0; pos < tokens.Length; pos++)
        {
            var ours = engine.Forward(tokens[pos], pos);
            for (int v = 0; v < 96; v++)
            {
                float theirs = BitConverter.ToSingle(logits, 4 * (pos * 96 + v));
                maxError = Math.Max(maxError, Math.Abs(ours[v] - theirs));
                maxAbs = Math.Max(maxAbs, Math.Abs(theirs));
            }
        }
        TestContext.WriteLine($"max |logit difference| {maxError:E2}, max |logit| {maxAbs:F3}");
        Assert.IsTrue(maxAbs > 1, "the logits are too flat for a meaningful comparison");
        Assert.IsTrue(maxError / maxAbs < 1e-4, $"logits differ from the transformers-style forward by {maxError:E2} (max |logit| {maxAbs:F3})");
    }
}
