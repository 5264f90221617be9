namespace TinyLlm.MLNet.Tests;

/// <summary>Inputs and the comparison the kernel tests share: uniform values in [-1, 1) and a tolerance relative to the largest output.</summary>
internal static class KernelTestValues
{
    /// <summary><paramref name="n"/> values drawn uniformly from [-1, 1) with <paramref name="seed"/>.</summary>
    public static float[] RandomValues(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Fails naming the first row that differs by more than <paramref name="tolerance"/> times the largest expected magnitude.</summary>
    public static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        double scale = expected.Max(MathF.Abs);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(expected[i] - actual[i]) > tolerance * scale)
                Assert.Fail($"{what}: row {i} expected {expected[i]}, got {actual[i]} (tolerance {tolerance} x {scale})");
    }
}
