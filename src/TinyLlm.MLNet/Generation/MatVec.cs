using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// <c>y = W x</c> for a row-major <c>W</c>, the operation batch-1 decoding spends its time in. Rows are split
/// across cores in contiguous blocks (each core streams its own slice of the weights).
/// </summary>
internal static class MatVec
{
    // Below this many multiply-adds a second thread costs more than it saves.
    private const long ParallelThreshold = 1 << 15;

    /// <summary>y[0..rows) = W[offset..offset + rows*cols) x.</summary>
    public static void Multiply(float[] y, float[] w, long offset, float[] x, int rows, int cols, int yOffset = 0, int xOffset = 0)
    {
        int workers = (long)rows * cols < ParallelThreshold ? 1 : Math.Min(Environment.ProcessorCount, rows);
        if (workers == 1)
        {
            Rows(y, w, offset, x, cols, yOffset, xOffset, 0, rows);
            return;
        }
        int block = (rows + workers - 1) / workers;
        Parallel.For(0, workers, p =>
        {
            int start = p * block, end = Math.Min(rows, start + block);
            if (start < end) Rows(y, w, offset, x, cols, yOffset, xOffset, start, end);
        });
    }

    private static void Rows(float[] y, float[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        var xs = new ReadOnlySpan<float>(x, xOffset, cols);
        ref float x0 = ref MemoryMarshal.GetReference(xs);
        int r = start;
        if (Vector512.IsHardwareAccelerated && cols % Vector512<float>.Count == 0)
        {
            // Four rows at a time: each load of x feeds four fused multiply-adds.
            for (; r + 4 <= end; r += 4)
            {
                ref float w0 = ref MemoryMarshal.GetReference(Rows(w, offset, r, cols, 4));
                ref float w1 = ref Unsafe.Add(ref w0, cols);
                ref float w2 = ref Unsafe.Add(ref w1, cols);
                ref float w3 = ref Unsafe.Add(ref w2, cols);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (nuint i = 0; i < (nuint)cols; i += (nuint)Vector512<float>.Count)
                {
                    var xv = Vector512.LoadUnsafe(ref x0, i);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, i), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, i), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, i), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, i), xv, a3);
                }
                y[yOffset + r] = Vector512.Sum(a0);
                y[yOffset + r + 1] = Vector512.Sum(a1);
                y[yOffset + r + 2] = Vector512.Sum(a2);
                y[yOffset + r + 3] = Vector512.Sum(a3);
            }
        }
        else if (Vector256.IsHardwareAccelerated && cols % Vector256<float>.Count == 0)
        {
            for (; r + 4 <= end; r += 4)
            {
                ref float w0 = ref MemoryMarshal.GetReference(Rows(w, offset, r, cols, 4));
                ref float w1 = ref Unsafe.Add(ref w0, cols);
                ref float w2 = ref Unsafe.Add(ref w1, cols);
                ref float w3 = ref Unsafe.Add(ref w2, cols);
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (nuint i = 0; i < (nuint)cols; i += (nuint)Vector256<float>.Count)
                {
                    var xv = Vector256.LoadUnsafe(ref x0, i);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, i), xv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w1, i), xv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w2, i), xv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w3, i), xv, a3);
                }
                y[yOffset + r] = Vector256.Sum(a0);
                y[yOffset + r + 1] = Vector256.Sum(a1);
                y[yOffset + r + 2] = Vector256.Sum(a2);
                y[yOffset + r + 3] = Vector256.Sum(a3);
            }
        }
        for (; r < end; r++)
            y[yOffset + r] = TensorPrimitives.Dot(Row(w, offset, r, cols), xs);
    }

    private static ReadOnlySpan<float> Row(float[] w, long offset, int r, int cols) =>
        new(w, checked((int)(offset + (long)r * cols)), cols);

    private static ReadOnlySpan<float> Rows(float[] w, long offset, int r, int cols, int count) =>
        new(w, checked((int)(offset + (long)r * cols)), count * cols);
}
