using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The row kernels of <see cref="MatVec"/> for bf16 and Q8_0 weights: rows [start, end) of <c>y = W x</c>. Each has
/// an AVX-512, an AVX2 and a portable Vector128 version (four rows at a time, so each load of x serves four rows;
/// Vector128 is NEON on ARM64) and a scalar version for other machines and for the rows left over; the dispatchers
/// pick the widest that applies (<see cref="KernelPaths"/>). The kernels are
/// compiled fully optimized at once (no tiered warm-up: their tier-0 code is several times slower, and a short
/// generation would run much of it).
/// </summary>
internal static class MatVecKernels
{
    // ---------------------------------------------------------------------------------------------------------
    // bf16: a weight's bits are the upper half of an fp32's, so widening is a zero-extend and a shift by 16.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowsBf16(float[] y, ushort[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        int r = start;
        var path = KernelPaths.Current;
        if (path == KernelPath.Avx512 && cols % 32 == 0) r = Bf16Vector512(y, w, offset, x, cols, yOffset, xOffset, r, end);
        else if (path >= KernelPath.Avx2 && cols % 16 == 0) r = Bf16Vector256(y, w, offset, x, cols, yOffset, xOffset, r, end);
        else if (path >= KernelPath.Vector128 && cols % 8 == 0) r = Bf16Vector128(y, w, offset, x, cols, yOffset, xOffset, r, end);
        Bf16Scalar(y, w, offset, x, cols, yOffset, xOffset, r, end);
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Bf16Vector512(float[] y, ushort[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref float x0 = ref x[xOffset];
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            ref ushort w0 = ref w[checked((int)(offset + (long)r * cols))];
            ref ushort w1 = ref Unsafe.Add(ref w0, cols);
            ref ushort w2 = ref Unsafe.Add(ref w1, cols);
            ref ushort w3 = ref Unsafe.Add(ref w2, cols);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (nuint i = 0; i < (nuint)cols; i += 32)
            {
                var xv = Vector512.LoadUnsafe(ref x0, i);
                var xw = Vector512.LoadUnsafe(ref x0, i + 16);
                var p0 = Vector512.LoadUnsafe(ref w0, i);
                var p1 = Vector512.LoadUnsafe(ref w1, i);
                var p2 = Vector512.LoadUnsafe(ref w2, i);
                var p3 = Vector512.LoadUnsafe(ref w3, i);
                a0 = Vector512.FusedMultiplyAdd(Lower(p0), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Lower(p1), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Lower(p2), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Lower(p3), xv, a3);
                b0 = Vector512.FusedMultiplyAdd(Upper(p0), xw, b0);
                b1 = Vector512.FusedMultiplyAdd(Upper(p1), xw, b1);
                b2 = Vector512.FusedMultiplyAdd(Upper(p2), xw, b2);
                b3 = Vector512.FusedMultiplyAdd(Upper(p3), xw, b3);
            }
            y[yOffset + r] = Vector512.Sum(a0 + b0);
            y[yOffset + r + 1] = Vector512.Sum(a1 + b1);
            y[yOffset + r + 2] = Vector512.Sum(a2 + b2);
            y[yOffset + r + 3] = Vector512.Sum(a3 + b3);
        }
        return r;

        static Vector512<float> Lower(Vector512<ushort> v) => Vector512.ShiftLeft(Vector512.WidenLower(v), 16).AsSingle();
        static Vector512<float> Upper(Vector512<ushort> v) => Vector512.ShiftLeft(Vector512.WidenUpper(v), 16).AsSingle();
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Bf16Vector256(float[] y, ushort[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref float x0 = ref x[xOffset];
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            ref ushort w0 = ref w[checked((int)(offset + (long)r * cols))];
            ref ushort w1 = ref Unsafe.Add(ref w0, cols);
            ref ushort w2 = ref Unsafe.Add(ref w1, cols);
            ref ushort w3 = ref Unsafe.Add(ref w2, cols);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (nuint i = 0; i < (nuint)cols; i += 16)
            {
                var xv = Vector256.LoadUnsafe(ref x0, i);
                var xw = Vector256.LoadUnsafe(ref x0, i + 8);
                var p0 = Vector256.LoadUnsafe(ref w0, i);
                var p1 = Vector256.LoadUnsafe(ref w1, i);
                var p2 = Vector256.LoadUnsafe(ref w2, i);
                var p3 = Vector256.LoadUnsafe(ref w3, i);
                a0 = Vector256.FusedMultiplyAdd(Lower(p0), xv, a0);
                a1 = Vector256.FusedMultiplyAdd(Lower(p1), xv, a1);
                a2 = Vector256.FusedMultiplyAdd(Lower(p2), xv, a2);
                a3 = Vector256.FusedMultiplyAdd(Lower(p3), xv, a3);
                b0 = Vector256.FusedMultiplyAdd(Upper(p0), xw, b0);
                b1 = Vector256.FusedMultiplyAdd(Upper(p1), xw, b1);
                b2 = Vector256.FusedMultiplyAdd(Upper(p2), xw, b2);
                b3 = Vector256.FusedMultiplyAdd(Upper(p3), xw, b3);
            }
            y[yOffset + r] = Vector256.Sum(a0 + b0);
            y[yOffset + r + 1] = Vector256.Sum(a1 + b1);
            y[yOffset + r + 2] = Vector256.Sum(a2 + b2);
            y[yOffset + r + 3] = Vector256.Sum(a3 + b3);
        }
        return r;

        static Vector256<float> Lower(Vector256<ushort> v) => Vector256.ShiftLeft(Vector256.WidenLower(v), 16).AsSingle();
        static Vector256<float> Upper(Vector256<ushort> v) => Vector256.ShiftLeft(Vector256.WidenUpper(v), 16).AsSingle();
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Bf16Vector128(float[] y, ushort[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref float x0 = ref x[xOffset];
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            ref ushort w0 = ref w[checked((int)(offset + (long)r * cols))];
            ref ushort w1 = ref Unsafe.Add(ref w0, cols);
            ref ushort w2 = ref Unsafe.Add(ref w1, cols);
            ref ushort w3 = ref Unsafe.Add(ref w2, cols);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (nuint i = 0; i < (nuint)cols; i += 8)
            {
                var xv = Vector128.LoadUnsafe(ref x0, i);
                var xw = Vector128.LoadUnsafe(ref x0, i + 4);
                var p0 = Vector128.LoadUnsafe(ref w0, i);
                var p1 = Vector128.LoadUnsafe(ref w1, i);
                var p2 = Vector128.LoadUnsafe(ref w2, i);
                var p3 = Vector128.LoadUnsafe(ref w3, i);
                // MultiplyAddEstimate: one fused instruction where the machine has one (NEON, FMA), else multiply
                // and add, never the slow exact software fusion FusedMultiplyAdd falls back to.
                a0 = Vector128.MultiplyAddEstimate(Lower(p0), xv, a0);
                a1 = Vector128.MultiplyAddEstimate(Lower(p1), xv, a1);
                a2 = Vector128.MultiplyAddEstimate(Lower(p2), xv, a2);
                a3 = Vector128.MultiplyAddEstimate(Lower(p3), xv, a3);
                b0 = Vector128.MultiplyAddEstimate(Upper(p0), xw, b0);
                b1 = Vector128.MultiplyAddEstimate(Upper(p1), xw, b1);
                b2 = Vector128.MultiplyAddEstimate(Upper(p2), xw, b2);
                b3 = Vector128.MultiplyAddEstimate(Upper(p3), xw, b3);
            }
            y[yOffset + r] = Vector128.Sum(a0 + b0);
            y[yOffset + r + 1] = Vector128.Sum(a1 + b1);
            y[yOffset + r + 2] = Vector128.Sum(a2 + b2);
            y[yOffset + r + 3] = Vector128.Sum(a3 + b3);
        }
        return r;

        static Vector128<float> Lower(Vector128<ushort> v) => Vector128.ShiftLeft(Vector128.WidenLower(v), 16).AsSingle();
        static Vector128<float> Upper(Vector128<ushort> v) => Vector128.ShiftLeft(Vector128.WidenUpper(v), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Bf16Scalar(float[] y, ushort[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        for (int r = start; r < end; r++)
        {
            int row = checked((int)(offset + (long)r * cols));
            float sum = 0;
            for (int i = 0; i < cols; i++) sum += BitConverter.UInt32BitsToSingle((uint)w[row + i] << 16) * x[xOffset + i];
            y[yOffset + r] = sum;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Q8_0: y[r] = sum over groups g of (sum_j qw[r, j] qx[j]) * sw[r, g] * sx[g], the integer sum exact in int32.

    /// <summary>
    /// Quantizes <paramref name="x"/> into int8 groups like runq.c's <c>quantize</c>: per group <c>scale = max|x| /
    /// 127</c> and <c>q = round(x / scale)</c>, halves away from zero; an all-zero group has scale 0. The values are
    /// stored widened to int16, the operand of the integer multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeInput(ReadOnlySpan<float> x, int groupSize, Span<short> q, Span<float> scales)
    {
        for (int g = 0; g < scales.Length; g++)
        {
            var group = x.Slice(g * groupSize, groupSize);
            float scale = StepKernels.MaxAbs(group) / 127f;
            scales[g] = scale;
            var qg = q.Slice(g * groupSize, groupSize);
            if (scale == 0) qg.Clear();
            else
                for (int i = 0; i < groupSize; i++) qg[i] = (short)MathF.Round(group[i] / scale, MidpointRounding.AwayFromZero);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowsQ8(float[] y, sbyte[] w, float[] ws, int groupSize, long offset, short[] xq, float[] xs, int cols, int yOffset, int xOffset, int start, int end)
    {
        int r = start;
        var path = KernelPaths.Current;
        if (path == KernelPath.Avx512 && Avx512BW.IsSupported && groupSize % 32 == 0) r = Q8Avx512(y, w, ws, groupSize, offset, xq, xs, cols, yOffset, xOffset, r, end);
        else if (path >= KernelPath.Avx2 && Avx2.IsSupported && groupSize % 16 == 0) r = Q8Avx2(y, w, ws, groupSize, offset, xq, xs, cols, yOffset, xOffset, r, end);
        else if (path >= KernelPath.Vector128 && groupSize % 16 == 0) r = Q8Vector128(y, w, ws, groupSize, offset, xq, xs, cols, yOffset, xOffset, r, end);
        Q8Scalar(y, w, ws, groupSize, offset, xq, xs, cols, yOffset, xOffset, r, end);
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Q8Avx512(float[] y, sbyte[] w, float[] ws, int groupSize, long offset, short[] xq, float[] xs, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref short x0 = ref xq[xOffset];
        ref float sx = ref xs[xOffset];
        int groups = cols / groupSize, r = start;
        for (; r + 4 <= end; r += 4)
        {
            long row = offset + (long)r * cols;
            ref sbyte w0 = ref w[checked((int)row)];
            ref sbyte w1 = ref Unsafe.Add(ref w0, cols);
            ref sbyte w2 = ref Unsafe.Add(ref w1, cols);
            ref sbyte w3 = ref Unsafe.Add(ref w2, cols);
            ref float s0 = ref ws[checked((int)(row / groupSize))];
            ref float s1 = ref Unsafe.Add(ref s0, groups);
            ref float s2 = ref Unsafe.Add(ref s1, groups);
            ref float s3 = ref Unsafe.Add(ref s2, groups);
            Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int g = 0; g < groups; g++)
            {
                Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
                nuint from = (nuint)(g * groupSize), to = from + (nuint)groupSize;
                for (nuint j = from; j < to; j += 32)
                {
                    // 32 int8 weights sign-extended to int16, times 32 int16 inputs, adjacent pairs summed: 16 int32
                    var xv = Vector512.LoadUnsafe(ref x0, j);
                    i0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref w0, j)), xv);
                    i1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref w1, j)), xv);
                    i2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref w2, j)), xv);
                    i3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref w3, j)), xv);
                }
                float xScale = Unsafe.Add(ref sx, g);
                // the group's lanes scaled and kept in lanes; one horizontal sum per row at the end
                f0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i0), Vector512.Create(Unsafe.Add(ref s0, g) * xScale), f0);
                f1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i1), Vector512.Create(Unsafe.Add(ref s1, g) * xScale), f1);
                f2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i2), Vector512.Create(Unsafe.Add(ref s2, g) * xScale), f2);
                f3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i3), Vector512.Create(Unsafe.Add(ref s3, g) * xScale), f3);
            }
            y[yOffset + r] = Vector512.Sum(f0);
            y[yOffset + r + 1] = Vector512.Sum(f1);
            y[yOffset + r + 2] = Vector512.Sum(f2);
            y[yOffset + r + 3] = Vector512.Sum(f3);
        }
        return r;
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Q8Avx2(float[] y, sbyte[] w, float[] ws, int groupSize, long offset, short[] xq, float[] xs, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref short x0 = ref xq[xOffset];
        ref float sx = ref xs[xOffset];
        int groups = cols / groupSize, r = start;
        for (; r + 4 <= end; r += 4)
        {
            long row = offset + (long)r * cols;
            ref sbyte w0 = ref w[checked((int)row)];
            ref sbyte w1 = ref Unsafe.Add(ref w0, cols);
            ref sbyte w2 = ref Unsafe.Add(ref w1, cols);
            ref sbyte w3 = ref Unsafe.Add(ref w2, cols);
            ref float s0 = ref ws[checked((int)(row / groupSize))];
            ref float s1 = ref Unsafe.Add(ref s0, groups);
            ref float s2 = ref Unsafe.Add(ref s1, groups);
            ref float s3 = ref Unsafe.Add(ref s2, groups);
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int g = 0; g < groups; g++)
            {
                Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
                nuint from = (nuint)(g * groupSize), to = from + (nuint)groupSize;
                for (nuint j = from; j < to; j += 16)
                {
                    var xv = Vector256.LoadUnsafe(ref x0, j);
                    i0 = MultiplyAdd(i0, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w0, j)), xv);
                    i1 = MultiplyAdd(i1, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w1, j)), xv);
                    i2 = MultiplyAdd(i2, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w2, j)), xv);
                    i3 = MultiplyAdd(i3, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w3, j)), xv);
                }
                float xScale = Unsafe.Add(ref sx, g);
                f0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i0), Vector256.Create(Unsafe.Add(ref s0, g) * xScale), f0);
                f1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i1), Vector256.Create(Unsafe.Add(ref s1, g) * xScale), f1);
                f2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i2), Vector256.Create(Unsafe.Add(ref s2, g) * xScale), f2);
                f3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i3), Vector256.Create(Unsafe.Add(ref s3, g) * xScale), f3);
            }
            y[yOffset + r] = Vector256.Sum(f0);
            y[yOffset + r + 1] = Vector256.Sum(f1);
            y[yOffset + r + 2] = Vector256.Sum(f2);
            y[yOffset + r + 3] = Vector256.Sum(f3);
        }
        return r;

        // acc + (pairwise sums of a * b); one instruction with AVX-VNNI
        static Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<short> a, Vector256<short> b) =>
            AvxVnni.IsSupported ? AvxVnni.MultiplyWideningAndAdd(acc, a, b) : acc + Avx2.MultiplyAddAdjacent(a, b);
    }

    /// <summary>Rows from <paramref name="start"/> in blocks of four; returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Q8Vector128(float[] y, sbyte[] w, float[] ws, int groupSize, long offset, short[] xq, float[] xs, int cols, int yOffset, int xOffset, int start, int end)
    {
        ref short x0 = ref xq[xOffset];
        ref float sx = ref xs[xOffset];
        int groups = cols / groupSize, r = start;
        for (; r + 4 <= end; r += 4)
        {
            long row = offset + (long)r * cols;
            ref sbyte w0 = ref w[checked((int)row)];
            ref sbyte w1 = ref Unsafe.Add(ref w0, cols);
            ref sbyte w2 = ref Unsafe.Add(ref w1, cols);
            ref sbyte w3 = ref Unsafe.Add(ref w2, cols);
            ref float s0 = ref ws[checked((int)(row / groupSize))];
            ref float s1 = ref Unsafe.Add(ref s0, groups);
            ref float s2 = ref Unsafe.Add(ref s1, groups);
            ref float s3 = ref Unsafe.Add(ref s2, groups);
            Vector128<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int g = 0; g < groups; g++)
            {
                Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
                nuint from = (nuint)(g * groupSize), to = from + (nuint)groupSize;
                for (nuint j = from; j < to; j += 16)
                {
                    var xl = Vector128.LoadUnsafe(ref x0, j);
                    var xh = Vector128.LoadUnsafe(ref x0, j + 8);
                    i0 = DotAdd(i0, Vector128.LoadUnsafe(ref w0, j), xl, xh);
                    i1 = DotAdd(i1, Vector128.LoadUnsafe(ref w1, j), xl, xh);
                    i2 = DotAdd(i2, Vector128.LoadUnsafe(ref w2, j), xl, xh);
                    i3 = DotAdd(i3, Vector128.LoadUnsafe(ref w3, j), xl, xh);
                }
                float xScale = Unsafe.Add(ref sx, g);
                f0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(i0), Vector128.Create(Unsafe.Add(ref s0, g) * xScale), f0);
                f1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(i1), Vector128.Create(Unsafe.Add(ref s1, g) * xScale), f1);
                f2 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(i2), Vector128.Create(Unsafe.Add(ref s2, g) * xScale), f2);
                f3 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(i3), Vector128.Create(Unsafe.Add(ref s3, g) * xScale), f3);
            }
            y[yOffset + r] = Vector128.Sum(f0);
            y[yOffset + r + 1] = Vector128.Sum(f1);
            y[yOffset + r + 2] = Vector128.Sum(f2);
            y[yOffset + r + 3] = Vector128.Sum(f3);
        }
        return r;

        // acc + the products of 16 int8 weights with 16 inputs, summed pairwise into 4 int32 lanes. A product of an
        // int8 weight and an input in [-127, 127] is at most 128 * 127 in size, so it is exact in int16 and the
        // portable multiply is enough; the widening sums are exact in int32.
        static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> w, Vector128<short> xl, Vector128<short> xh)
        {
            var pl = Vector128.WidenLower(w) * xl;
            var ph = Vector128.WidenUpper(w) * xh;
            return acc + (Vector128.WidenLower(pl) + Vector128.WidenUpper(pl)) + (Vector128.WidenLower(ph) + Vector128.WidenUpper(ph));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Q8Scalar(float[] y, sbyte[] w, float[] ws, int groupSize, long offset, short[] xq, float[] xs, int cols, int yOffset, int xOffset, int start, int end)
    {
        int groups = cols / groupSize;
        for (int r = start; r < end; r++)
        {
            int row = checked((int)(offset + (long)r * cols));
            float sum = 0;
            for (int g = 0; g < groups; g++)
            {
                int dot = 0;
                for (int j = g * groupSize; j < (g + 1) * groupSize; j++) dot += w[row + j] * xq[xOffset + j];
                sum += dot * (ws[row / groupSize + g] * xs[xOffset + g]);
            }
            y[yOffset + r] = sum;
        }
    }
}
