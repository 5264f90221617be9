using System.Collections.Concurrent;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Our GGUF export in the real llama.cpp (LLamaSharp 0.30.0 and its CPU backend), on a model trained by the tests:
/// the same prompt ids, the same logits as our engine, the same greedy text.
/// </summary>
[TestClass]
public sealed class GgufLlamaCppTests
{
    private const int NewTokens = 100;

    private static readonly string[] Prompts =
    [
        "Once upon a time, Lily met a",
        "One day, a little boy named Tom went to the park.",
        "The cat was sad because it lost its ball.",
        "She said, \"Let's play together!\"",
        "Mom and Dad were happy. They gave Ben a big hug.",
        "It was a sunny day",
        "Zoe's dog, Max, liked to run and jump.",
        "There were 3 birds in the tree.",
        "\"Why?\" asked Sue.",
        "The end",
    ];

    private static readonly ConcurrentDictionary<GgmlType, string> Files = new();

    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    public TestContext TestContext { get; set; } = null!;

    // The trained model exported once per weight type.
    private static string Exported(GgmlType type) => Files.GetOrAdd(type, t =>
    {
        string path = Path.Combine(InteropTestModels.TempDir("gguf-llamacpp"), $"stories-{t}.gguf");
        GgufLlama.Write(GgufTestModels.Trained, GgufTestModels.Tokenizer, path, t);
        return path;
    });

    private static int Context => GgufTestModels.Trained.Config.MaxSeqLen;

    [TestMethod]
    public void LlamaCppTokenizesPromptsToOurIds()
    {
        using var llama = new LlamaCpp(Exported(GgmlType.F32), Context);
        foreach (string prompt in Prompts)
            CollectionAssert.AreEqual(GgufTestModels.Tokenizer.Encode(prompt).ToArray(), llama.Tokenize(prompt), prompt);
    }

    [TestMethod]
    public void F32LogitsAgreeWithOurEngineAndGreedyDecodingGivesTheSame100Tokens()
    {
        string path = Exported(GgmlType.F32);
        using var llama = new LlamaCpp(path, Context);
        var weights = GenerationModelLoader.ReadWeights(path);
        float worst = 0, largest = 0;
        foreach (string prompt in Prompts.Take(3))
        {
            var ids = GgufTestModels.Tokenizer.Encode(prompt).ToArray();
            int[] ours = Greedy(weights, ids, NewTokens);
            int[] theirs = llama.Greedy(ids, NewTokens);
            TestContext.WriteLine($"{prompt} => {GgufTestModels.Tokenizer.Decode(ours)}");
            Assert.IsTrue(ours.Distinct().Count() >= 10, $"the greedy text is varied (a meaningful comparison): {GgufTestModels.Tokenizer.Decode(ours)}");
            CollectionAssert.AreEqual(ours, theirs, $"greedy continuation of \"{prompt}\"");
            // every position of prompt + continuation: the logits agree to float rounding (summation order differs),
            // within 1e-4 where they are of size ~10
            var (diff, scale) = MaxLogitDifference(weights, llama, [.. ids, .. ours[..^1]]);
            worst = Math.Max(worst, diff);
            largest = Math.Max(largest, scale);
            Assert.IsTrue(diff < 1e-4f, $"llama.cpp's logits differ from ours by up to {diff} (largest |logit| {scale}) on \"{prompt}\"");
        }
        TestContext.WriteLine($"F32: largest |logit difference| llama.cpp vs engine over 3 x ~110 positions {worst:E2}, largest |logit| {largest:F1}");
    }

    [TestMethod]
    [DataRow(GgmlType.Q8_0, 0.25f, 0.95, DisplayName = "Q8_0")]
    [DataRow(GgmlType.BF16, 0.25f, 0.95, DisplayName = "BF16")]
    [DataRow(GgmlType.F16, 0.02f, 0.99, DisplayName = "F16")]
    public void QuantizedExportsStayCloseInLlamaCpp(GgmlType type, float maxLogitDifference, double minAgreement)
    {
        // llama.cpp runs each product with its activations in the weights' companion type (Q8_0 blocks with fp16
        // scales, bf16, fp16), our engine with fp32 activations (int8 groups with fp32 scales for Q8_0): the same
        // weights, slightly different rounding, so the logits are close rather than equal.
        string path = Exported(type);
        using var llama = new LlamaCpp(path, Context);
        var weights = GenerationModelLoader.ReadWeights(path);
        var f32 = GgufTestModels.Trained;
        double agree = 0, agreeWithF32 = 0;
        float worst = 0, largest = 0;
        foreach (string prompt in Prompts.Take(3))
        {
            var ids = GgufTestModels.Tokenizer.Encode(prompt).ToArray();
            int[] ours = Greedy(weights, ids, NewTokens), theirs = llama.Greedy(ids, NewTokens), reference = Greedy(f32, ids, NewTokens);
            agree += ours.Zip(theirs).Count(p => p.First == p.Second) / (3.0 * NewTokens);
            agreeWithF32 += theirs.Zip(reference).Count(p => p.First == p.Second) / (3.0 * NewTokens);
            var (diff, scale) = MaxLogitDifference(weights, llama, [.. ids, .. ours[..^1]]);
            worst = Math.Max(worst, diff);
            largest = Math.Max(largest, scale);
        }
        TestContext.WriteLine($"{type}: largest |logit difference| llama.cpp vs engine on the same file {worst:E2} (largest |logit| {largest:F1}); greedy tokens equal at {agree:P1} of positions (engine on the file) and {agreeWithF32:P1} (fp32 model)");
        Assert.IsTrue(worst < maxLogitDifference, $"{type}: llama.cpp's logits differ from our engine's on the same file by up to {worst}");
        Assert.IsTrue(agree >= minAgreement, $"{type}: llama.cpp's and our greedy tokens agree at only {agree:P1} of positions");
    }

    private static int[] Greedy(TransformerWeights weights, int[] prompt, int count)
    {
        var engine = new InferenceEngine(weights);
        int pos = 0;
        ReadOnlySpan<float> logits = default;
        foreach (int id in prompt) logits = engine.Forward(id, pos++);
        var generated = new int[count];
        for (int n = 0; n < count; n++)
        {
            generated[n] = LlamaCpp.ArgMax(logits);
            if (n < count - 1) logits = engine.Forward(generated[n], pos++);
        }
        return generated;
    }

    // The largest |difference| between llama.cpp's and our engine's logits over every position of the sequence, and
    // the largest |logit| (the scale the difference is measured against).
    private static (float Difference, float Scale) MaxLogitDifference(TransformerWeights weights, LlamaCpp llama, int[] sequence)
    {
        var theirs = llama.LogitsAlong(sequence);
        var engine = new InferenceEngine(weights);
        float worst = 0, scale = 0;
        for (int pos = 0; pos < sequence.Length; pos++)
        {
            var ours = engine.Forward(sequence[pos], pos);
            for (int i = 0; i < ours.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(ours[i] - theirs[pos][i]));
                scale = Math.Max(scale, Math.Abs(ours[i]));
            }
        }
        return (worst, scale);
    }
}
