using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Tokenization;
using static TinyLlm.MLNet.Tests.InteropTestModels;
using static TinyLlm.MLNet.Tests.KernelTestValues;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The engine's kernel paths (AVX-512, AVX2, the portable Vector128 that ARM64 runs, scalar), each forced in turn on
/// this machine, against the scalar path: matrix-vector products of every weight format and shape, and whole
/// forward passes.
/// </summary>
[TestClass]
public sealed class KernelPathTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestCleanup]
    public void UseTheBestPathAgain() => KernelPaths.Force(null);

    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    [TestMethod]
    public void ThisMachineRunsEveryNarrowerPathAndNotAWiderOne()
    {
        TestContext.WriteLine($"paths: {string.Join(", ", KernelPaths.Supported)}");
        CollectionAssert.AreEqual(Enum.GetValues<KernelPath>().Where(p => p <= KernelPaths.Best).OrderDescending().ToArray(), KernelPaths.Supported.ToArray());
        Assert.AreEqual(KernelPaths.Best, KernelPaths.Current);
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
            CollectionAssert.Contains(KernelPaths.Supported.ToArray(), KernelPath.Vector128, "every x64 and ARM64 machine runs Vector128");
        if (KernelPaths.Best < KernelPath.Avx512)
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => KernelPaths.Force(KernelPath.Avx512));
        KernelPaths.Force(KernelPath.Scalar);
        Assert.AreEqual(KernelPath.Scalar, KernelPaths.Current);
    }

    [TestMethod]
    [DataRow(64, DisplayName = "64 columns (every path)")]
    [DataRow(176, DisplayName = "176 columns (AVX-512 fp32 with a tail; bf16 falls to AVX2)")]
    [DataRow(40, DisplayName = "40 columns (no 256-bit block: bf16 on Vector128)")]
    [DataRow(36, DisplayName = "36 columns (scalar rows for bf16)")]
    public void EveryPathOfEveryWeightFormatMatchesTheScalarPath(int cols)
    {
        const int rows = 23; // not a multiple of the 4-row block
        float[] w = RandomValues(2 * rows * cols, 1), x = RandomValues(2 * cols, 2);
        int groupSize = cols % 32 == 0 ? 32 : cols % 16 == 0 ? 16 : 4;
        foreach (var format in new[] { WeightFormat.Float32, WeightFormat.BFloat16, WeightFormat.Q8_0 })
        {
            var matrix = WeightMatrix.Float32(w).Convert(format, format == WeightFormat.Q8_0 ? groupSize : 0);
            KernelPaths.Force(KernelPath.Scalar);
            float[] reference = Multiply(matrix, x, rows, cols);
            foreach (var path in KernelPaths.Supported)
            {
                KernelPaths.Force(path);
                AssertClose(reference, Multiply(matrix, x, rows, cols), 2e-6, $"{format} on {path}, {cols} columns");
            }
        }
    }

    /// <summary>The second matrix of a stack of two, for two inputs in one call, as the engine multiplies.</summary>
    private static float[] Multiply(WeightMatrix w, float[] x, int rows, int cols)
    {
        var y = new float[2 * rows];
        var matVec = new MatVec(maxBatch: 2, maxCols: cols);
        matVec.Begin(x, cols, [0, cols]);
        matVec.Add(y, w, (long)rows * cols, rows, [0, rows]);
        matVec.Run();
        return y;
    }

    [TestMethod]
    [DataRow(64)]
    [DataRow(40)]
    public void Vector128KernelsAloneMatchTheScalarKernels(int cols)
    {
        const int rows = 23;
        float[] w = RandomValues(rows * cols, 3), x = RandomValues(cols, 4);
        var bf16 = WeightMatrix.Float32(w).Convert(WeightFormat.BFloat16, 0);
        float[] expected = new float[rows], actual = new float[rows];
        MatVecKernels.Bf16Scalar(expected, bf16.Bf16!, 0, x, cols, 0, 0, 0, rows);
        Assert.AreEqual(20, MatVecKernels.Bf16Vector128(actual, bf16.Bf16!, 0, x, cols, 0, 0, 0, rows), "rows in blocks of four");
        AssertClose(expected[..20], actual[..20], 2e-6, "bf16");

        if (cols % 16 != 0) return;
        var q8 = WeightMatrix.Float32(w).Convert(WeightFormat.Q8_0, 16);
        var xq = new short[cols];
        var xs = new float[cols];
        MatVecKernels.QuantizeInput(x, 16, xq, xs.AsSpan(0, cols / 16));
        MatVecKernels.Q8Scalar(expected, q8.Q!, q8.Scales!, 16, 0, xq, xs, cols, 0, 0, 0, rows);
        Assert.AreEqual(20, MatVecKernels.Q8Vector128(actual, q8.Q!, q8.Scales!, 16, 0, xq, xs, cols, 0, 0, 0, rows));
        AssertClose(expected[..20], actual[..20], 2e-6, "q8_0");
    }

    [TestMethod]
    public void Q8Vector128IsExactForTheExtremeWeightsAndInputs()
    {
        // -128 weights against +-127 inputs: the largest products, which the int16 multiply must hold exactly.
        const int rows = 4, cols = 32;
        var w = WeightMatrix.Float32(new float[rows * cols]).Convert(WeightFormat.Q8_0, 32);
        Array.Fill(w.Q!, (sbyte)-128);
        Array.Fill(w.Scales!, 1f);
        var xq = Enumerable.Range(0, cols).Select(i => (short)(i % 2 == 0 ? 127 : -127)).ToArray();
        xq[0] = 127; xq[1] = 127;
        var xs = new float[cols];
        xs[0] = 1f;
        var y = new float[rows];
        Assert.AreEqual(rows, MatVecKernels.Q8Vector128(y, w.Q!, w.Scales!, 32, 0, xq, xs, cols, 0, 0, 0, rows));
        float expected = -128f * xq.Sum(v => (float)v);
        CollectionAssert.AreEqual(Enumerable.Repeat(expected, rows).ToArray(), y);
    }

    [TestMethod]
    [DataRow(WeightFormat.Float32)]
    [DataRow(WeightFormat.BFloat16)]
    [DataRow(WeightFormat.Q8_0)]
    public void TheEngineOnEveryPathGivesTheScalarPathsLogitsAndTokens(WeightFormat format)
    {
        var weights = Random(96, shared: true).Convert(format, 16);
        int[] prompt = Enumerable.Range(0, 20).Select(i => (i * 37 + 5) % 96).ToArray();
        KernelPaths.Force(KernelPath.Scalar);
        var (reference, referenceTokens) = Run(weights, prompt);
        foreach (var path in KernelPaths.Supported)
        {
            KernelPaths.Force(path);
            var (logits, tokens) = Run(weights, prompt);
            double scale = reference.Max(p => p.Max(MathF.Abs)), diff = 0;
            for (int p = 0; p < reference.Length; p++)
                for (int i = 0; i < reference[p].Length; i++) diff = Math.Max(diff, Math.Abs(reference[p][i] - logits[p][i]));
            Assert.IsTrue(diff / scale < 1e-5, $"{format} on {path}: logits differ from the scalar path by {diff / scale:E2} (relative)");
            CollectionAssert.AreEqual(referenceTokens, tokens, $"{format} on {path}: greedy tokens");
        }
    }

    /// <summary>Logits of every prompt position, then 12 greedy tokens after the prompt.</summary>
    private static (float[][] Logits, int[] Tokens) Run(TransformerWeights weights, int[] prompt)
    {
        var engine = new InferenceEngine(weights);
        var logits = prompt.Select((t, pos) => engine.Forward(t, pos).ToArray()).ToArray();
        var tokens = new List<int>();
        int next = ArgMax(logits[^1]);
        for (int pos = prompt.Length; pos < prompt.Length + 12; pos++)
        {
            tokens.Add(next);
            next = ArgMax(engine.Forward(next, pos));
        }
        return (logits, tokens.ToArray());
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
