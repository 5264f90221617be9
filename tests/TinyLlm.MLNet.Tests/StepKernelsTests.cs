using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Tests;

/// <summary>The engine's element-wise kernels against the same arithmetic in double precision, at lengths that exercise every vector width and the scalar tail.</summary>
[TestClass]
public sealed class StepKernelsTests
{
    private static readonly int[] Lengths = [1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 100, 288, 4096];

    private static float[] Values(int n, int seed, float spread)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => spread * (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    [TestMethod]
    public void SoftMaxMatchesDoublePrecision()
    {
        foreach (int n in Lengths)
        {
            // scores of every size, including ones whose exponentials overflow without the max subtracted
            foreach (float spread in new[] { 0.5f, 10f, 200f })
            {
                var x = Values(n, n, spread);
                double max = x.Max();
                double sum = x.Sum(v => Math.Exp(v - max));
                var y = (float[])x.Clone();
                StepKernels.SoftMaxInPlace(y);
                for (int i = 0; i < n; i++)
                {
                    double expected = Math.Exp(x[i] - max) / sum;
                    Assert.AreEqual(expected, y[i], 2e-6 * expected + 1e-37, $"n {n}, spread {spread}, i {i}");
                }
            }
        }
    }

    [TestMethod]
    public void NormResidualGateAndArgmaxMatchTheirDefinitions()
    {
        foreach (int n in Lengths)
        {
            var x = Values(n, 1, 3f);
            var w = Values(n, 2, 1f);
            Assert.AreEqual(x.Sum(v => (double)v * v), StepKernels.SumOfSquares(x), 1e-5 * x.Sum(v => (double)v * v), $"sum of squares, n {n}");

            var scaled = new float[n];
            StepKernels.ScaleMultiply(x, 0.37f, w, scaled);
            for (int i = 0; i < n; i++) Assert.AreEqual(x[i] * 0.37f * w[i], scaled[i], $"scale, n {n}, i {i}");

            var sum = (float[])x.Clone();
            StepKernels.AddInPlace(sum, w);
            for (int i = 0; i < n; i++) Assert.AreEqual(x[i] + w[i], sum[i], $"add, n {n}, i {i}");

            var gate = (float[])x.Clone();
            StepKernels.SiluMultiplyInPlace(gate, w);
            for (int i = 0; i < n; i++) Assert.AreEqual(x[i] / (1 + Math.Exp(-x[i])) * w[i], gate[i], 1e-6, $"silu, n {n}, i {i}");

            int argmax = Array.IndexOf(x, x.Max());
            Assert.AreEqual(argmax, StepKernels.IndexOfMax(x), $"argmax, n {n}");
        }
        Assert.AreEqual(1, StepKernels.IndexOfMax([1f, 5f, 5f, 2f]), "the first of equal maxima");
        Assert.ThrowsExactly<ArgumentException>(() => StepKernels.AddInPlace(new float[3], new float[2]));
    }
}
