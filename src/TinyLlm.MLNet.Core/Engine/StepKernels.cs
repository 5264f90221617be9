using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The element-wise arithmetic of a decoding step (norms, residuals, gates, softmax, the sampler's argmax), written
/// out with <see cref="MethodImplOptions.AggressiveOptimization"/> so that the first tokens of a process already run
/// at full speed. <c>TensorPrimitives</c> computes the same things, but its generic code starts at .NET's unoptimized
/// tier 0 in every new process (its precompiled code is not used on CPUs with AVX2 or AVX-512, for which it was not
/// compiled), and is promoted only after a delay measured in tens of tokens: a one-off <c>tinyllm generate</c> ran
/// most of its story on that slow code.
/// </summary>
internal static class StepKernels
{
    /// <summary>The sum of x[i]^2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SumOfSquares(ReadOnlySpan<float> x)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var acc = Vector512<float>.Zero;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                acc = Vector512.FusedMultiplyAdd(v, v, acc);
            }
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                acc = Vector256.FusedMultiplyAdd(v, v, acc);
            }
            sum = Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var v = Vector128.LoadUnsafe(ref xr, (nuint)i);
                acc = Vector128.FusedMultiplyAdd(v, v, acc);
            }
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref xr, i) * Unsafe.Add(ref xr, i);
        return sum;
    }

    /// <summary>output[i] = (x[i] * scale) * weight[i]: RMSNorm's scaling, rounded as two products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleMultiply(ReadOnlySpan<float> x, float scale, ReadOnlySpan<float> weight, Span<float> output)
    {
        int n = CheckLengths(x.Length, weight.Length, output.Length);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float wr = ref MemoryMarshal.GetReference(weight);
        ref float or = ref MemoryMarshal.GetReference(output);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                (Vector512.LoadUnsafe(ref xr, (nuint)i) * scale * Vector512.LoadUnsafe(ref wr, (nuint)i)).StoreUnsafe(ref or, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref xr, (nuint)i) * scale * Vector256.LoadUnsafe(ref wr, (nuint)i)).StoreUnsafe(ref or, (nuint)i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                (Vector128.LoadUnsafe(ref xr, (nuint)i) * scale * Vector128.LoadUnsafe(ref wr, (nuint)i)).StoreUnsafe(ref or, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref or, i) = Unsafe.Add(ref xr, i) * scale * Unsafe.Add(ref wr, i);
    }

    /// <summary>x[i] += y[i] (a residual connection).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddInPlace(Span<float> x, ReadOnlySpan<float> y)
    {
        int n = CheckLengths(x.Length, y.Length, x.Length);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                (Vector512.LoadUnsafe(ref xr, (nuint)i) + Vector512.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref xr, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref xr, (nuint)i) + Vector256.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref xr, (nuint)i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                (Vector128.LoadUnsafe(ref xr, (nuint)i) + Vector128.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref xr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref xr, i) += Unsafe.Add(ref yr, i);
    }

    /// <summary>x[i] = silu(x[i]) * y[i] with silu(v) = v / (1 + e^-v): SwiGLU's gate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMultiplyInPlace(Span<float> x, ReadOnlySpan<float> y)
    {
        int n = CheckLengths(x.Length, y.Length, x.Length);
        for (int i = 0; i < n; i++)
        {
            float v = x[i];
            x[i] = v / (1f + MathF.Exp(-v)) * y[i];
        }
    }

    /// <summary>x = softmax(x) in place: e^(x[i] - max) / sum, as llama2.c's softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftMaxInPlace(Span<float> x)
    {
        int n = x.Length;
        if (n == 0) return;
        float max = x[0];
        for (int i = 1; i < n; i++) max = MathF.Max(max, x[i]);
        int j = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var shift = new Vector<float>(max);
            var acc = Vector<float>.Zero;
            for (; j <= n - Vector<float>.Count; j += Vector<float>.Count)
            {
                var e = ExpOfNonPositive(new Vector<float>(x[j..]) - shift);
                e.CopyTo(x[j..]);
                acc += e;
            }
            sum = Vector.Sum(acc);
        }
        for (; j < n; j++) sum += x[j] = MathF.Exp(x[j] - max);
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) x[i] *= inv;
    }

    // e^x for x <= 0 (softmax's shifted scores) to about one ulp, inlined into the caller: .NET's own vector exp is a
    // separate generic method that, like TensorPrimitives, starts at tier 0. x = k ln2 + r with |r| <= ln2/2; e^r by
    // its Taylor series to r^6 (remainder < 1.3e-7 relative); 2^k written into the exponent bits. Below -87, e^x is
    // under float's smallest normal number and is returned as about 1.6e-38 instead.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpOfNonPositive(Vector<float> x)
    {
        x = Vector.Max(x, new Vector<float>(-87f));
        var k = Vector.Floor(x * 1.44269504f + new Vector<float>(0.5f));
        var r = x - k * 0.693359375f + k * 2.12194440e-4f; // ln2 split in two so that k * ln2_hi is exact
        var p = new Vector<float>(1f / 720f);
        p = p * r + new Vector<float>(1f / 120f);
        p = p * r + new Vector<float>(1f / 24f);
        p = p * r + new Vector<float>(1f / 6f);
        p = p * r + new Vector<float>(0.5f);
        p = p * r + Vector<float>.One;
        p = p * r + Vector<float>.One;
        var twoToK = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(k) + new Vector<int>(127), 23));
        return p * twoToK;
    }

    /// <summary>max |x[i]| (0 for an empty span): the scale of a Q8_0 group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float MaxAbs(ReadOnlySpan<float> x)
    {
        float max = 0;
        foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
        return max;
    }

    /// <summary>The index of the largest value (the first one on ties); -1 for an empty span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int IndexOfMax(ReadOnlySpan<float> x)
    {
        if (x.Length == 0) return -1;
        int best = 0;
        float max = x[0];
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i] > max)
            {
                max = x[i];
                best = i;
            }
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CheckLengths(int a, int b, int c)
    {
        if (b != a || c != a) ThrowLengths(a, b, c);
        return a;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengths(int a, int b, int c) =>
        throw new ArgumentException($"The spans of an element-wise step differ in length: {a}, {b} and {c}.");
}
