using System.Numerics.Tensors;

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
        for (int r = start; r < end; r++)
            y[yOffset + r] = TensorPrimitives.Dot(new ReadOnlySpan<float>(w, checked((int)(offset + (long)r * cols)), cols), xs);
    }
}
