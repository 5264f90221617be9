using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// <c>y = W x</c> for a row-major <c>W</c>, the operation batch-1 decoding spends its time in. Rows are split
/// across cores in contiguous blocks (each core streams its own slice of the weights). <c>W</c> is fp32, bf16
/// (widened to fp32 in registers) or Q8_0 (the input is quantized to int8 groups once per call and each group's
/// integer dot product is scaled by both scales, as llama2.c's runq.c does); the kernels live in
/// <see cref="MatVecKernels"/>.
/// </summary>
internal sealed class MatVec
{
    // Below this many multiply-adds in one call, waking the other cores costs more than it saves.
    internal const long ParallelThreshold = 1 << 15;
    private const int MaxSegments = 3;

    // The products of one call: y_i[yOffset_i,b ..] = W_i[offset_i ..] x_b for every product i < _count and every
    // input b < _batch, split by rows across cores as one job, so q/k/v (and w1/w3) cost one synchronisation, and
    // each slice of weights, once read, serves every input of the batch from the cache.
    private readonly float[][] _y = new float[MaxSegments][];
    private readonly WeightMatrix[] _w = new WeightMatrix[MaxSegments];
    private readonly long[] _offset = new long[MaxSegments];
    private readonly int[] _rows = new int[MaxSegments];
    private readonly int[][] _yOffsets;
    private readonly int[] _xOffsets;
    private float[] _x = [];
    private int _cols, _count, _totalRows, _totalBlocks, _batch;
    private readonly Action<int, int> _part;
    // The inputs quantized for Q8_0 products: input b's int8 values (widened to int16, the kernels' operand) at
    // b * _maxCols, its per-group scales at b * _maxCols.
    private readonly int _maxCols;
    private readonly short[] _xq;
    private readonly float[] _xs;
    private int _quantizedGroupSize;

    /// <summary>Creates a product over batches of up to <paramref name="maxBatch"/> inputs of up to <paramref name="maxCols"/> values.</summary>
    public MatVec(int maxBatch = 1, int maxCols = 0)
    {
        _maxCols = maxCols;
        _xq = new short[maxBatch * maxCols];
        _xs = new float[maxBatch * maxCols];
        _xOffsets = new int[maxBatch];
        _yOffsets = new int[MaxSegments][];
        for (int i = 0; i < MaxSegments; i++) _yOffsets[i] = new int[maxBatch];
        _part = RunPart;
    }

    /// <summary>y[yOffset ..) = W[offset .. offset + rows*cols) x, for one input.</summary>
    public void Multiply(float[] y, WeightMatrix w, long offset, float[] x, int rows, int cols, int yOffset = 0)
    {
        Begin(x, cols, [0]);
        Add(y, w, offset, rows, [yOffset]);
        Run();
    }

    /// <summary>Starts a fused call over the inputs <c>x[xOffsets[b] ..]</c>, each of length <paramref name="cols"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called several times per layer and token
    public void Begin(float[] x, int cols, ReadOnlySpan<int> xOffsets)
    {
        _x = x;
        _cols = cols;
        _batch = xOffsets.Length;
        xOffsets.CopyTo(_xOffsets);
        _count = 0;
        _totalRows = 0;
        _totalBlocks = 0;
        _quantizedGroupSize = 0;
    }

    /// <summary>Adds one product to the call: input b's result goes to <c>y[yOffsets[b] ..]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called several times per layer and token
    public void Add(float[] y, WeightMatrix w, long offset, int rows, ReadOnlySpan<int> yOffsets)
    {
        if (w.Format == WeightFormat.Q8_0)
        {
            if (_cols > _maxCols) throw new InvalidOperationException($"A Q8_0 product over {_cols} columns needs a MatVec made for at least that many (it has {_maxCols}).");
            if (_quantizedGroupSize != 0 && _quantizedGroupSize != w.GroupSize)
                throw new InvalidOperationException("The Q8_0 products of one call must share one group size.");
            _quantizedGroupSize = w.GroupSize;
        }
        _y[_count] = y;
        _w[_count] = w;
        _offset[_count] = offset;
        _rows[_count] = rows;
        yOffsets[.._batch].CopyTo(_yOffsets[_count]);
        _count++;
        _totalRows += rows;
        _totalBlocks += (rows + 3) / 4;
    }

    /// <summary>Computes every added product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called several times per layer and token
    public void Run()
    {
        if (_quantizedGroupSize != 0)
            for (int b = 0; b < _batch; b++)
                MatVecKernels.QuantizeInput(new ReadOnlySpan<float>(_x, _xOffsets[b], _cols), _quantizedGroupSize,
                    new Span<short>(_xq, b * _maxCols, _cols), new Span<float>(_xs, b * _maxCols, _cols / _quantizedGroupSize));
        if ((long)_totalRows * _cols * _batch < ParallelThreshold) RunPart(0, 1);
        else
        {
            // fp32 products stream the most bytes: one contiguous slice per core keeps each core's reads one long
            // run (measured 10 to 20% faster than 4 slices per core); the compute-heavier bf16 and Q8_0 kernels
            // gain more from the finer split evening out the cores' load.
            var workers = RowWorkers.Shared;
            workers.Run(_part, _w[0].Format == WeightFormat.Float32 ? workers.Threads : workers.SuggestedChunks);
        }
    }

    // Part p of n takes a contiguous run of the products' 4-row blocks (the kernels' block; each product's rows are
    // cut into blocks from its own first row), for every input of the batch. Cutting only at those boundaries keeps
    // every row in the same kernel path (a block of four, or the product's last rows) however the rows are split,
    // and the split changes with the batch size (one part below ParallelThreshold): so a row's sum, and a sequence's
    // logits, are the same bits whatever else is in the batch.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunPart(int part, int parts)
    {
        int startBlock = (int)((long)part * _totalBlocks / parts), endBlock = (int)((long)(part + 1) * _totalBlocks / parts);
        int firstBlock = 0;
        for (int i = 0; i < _count && firstBlock < endBlock; i++)
        {
            int rows = _rows[i], blocks = (rows + 3) / 4;
            int from = Math.Max(startBlock, firstBlock) - firstBlock, to = Math.Min(endBlock, firstBlock + blocks) - firstBlock;
            if (from < to)
            {
                int fromRow = from * 4, toRow = Math.Min(rows, to * 4);
                var w = _w[i];
                // With several inputs the rows go in tiles that stay in the core's cache while every input reads them
                // (a whole slice read once per input would come from L3 or memory each time). Tiles start at multiples
                // of 4 rows, so each row keeps its kernel path.
                int tile = _batch == 1 ? toRow - fromRow : TileRows(w.Format, _cols);
                for (int start = fromRow; start < toRow; start += tile)
                {
                    int end = Math.Min(toRow, start + tile);
                    for (int b = 0; b < _batch; b++)
                    {
                        switch (w.Format)
                        {
                            case WeightFormat.Float32:
                                Rows(_y[i], w.F32!, _offset[i], _x, _cols, _yOffsets[i][b], _xOffsets[b], start, end);
                                break;
                            case WeightFormat.BFloat16:
                                MatVecKernels.RowsBf16(_y[i], w.Bf16!, _offset[i], _x, _cols, _yOffsets[i][b], _xOffsets[b], start, end);
                                break;
                            default:
                                MatVecKernels.RowsQ8(_y[i], w.Q!, w.Scales!, w.GroupSize, _offset[i], _xq, _xs, _cols, _yOffsets[i][b], b * _maxCols, start, end);
                                break;
                        }
                    }
                }
            }
            firstBlock += blocks;
        }
    }

    // About half a core's L1 data cache: measured on the seed model at batch 16 (best of 64-step runs, interleaved, on a
    // busy 2-core EPYC), 16 KB tiles gave 3.7 ms a step, 32 KB 6.7 ms, untiled 9.2 ms; at batch 4, 1.8 / 2.3 / 2.8 ms.
    private const int TileBytes = 16 * 1024;

    // Rows of a tile: about TileBytes of weights, a multiple of 4 rows.
    private static int TileRows(WeightFormat format, int cols)
    {
        int rowBytes = cols * (format == WeightFormat.Float32 ? 4 : format == WeightFormat.BFloat16 ? 2 : 1);
        return Math.Max(4, TileBytes / rowBytes / 4 * 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see MatVecKernels
    private static void Rows(float[] y, float[] w, long offset, float[] x, int cols, int yOffset, int xOffset, int start, int end)
    {
        var xs = new ReadOnlySpan<float>(x, xOffset, cols);
        ref float x0 = ref MemoryMarshal.GetReference(xs);
        int r = start;
        var path = KernelPaths.Current;
        if (path == KernelPath.Avx512 && cols % Vector512<float>.Count == 0)
        {
            // Four rows at a time: each load of x feeds four fused multiply-adds.
            for (; r + 4 <= end; r += 4)
            {
                ref float w0 = ref MemoryMarshal.GetReference(Rows(w, offset, r, cols, 4));
                ref float w1 = ref Unsafe.Add(ref w0, cols);
                ref float w2 = ref Unsafe.Add(ref w1, cols);
                ref float w3 = ref Unsafe.Add(ref w2, cols);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                nuint i = 0, n = (nuint)cols, step = (nuint)Vector512<float>.Count;
                // Two accumulators per row: eight independent FMA chains hide the FMA latency.
                for (; i + 2 * step <= n; i += 2 * step)
                {
                    var xv = Vector512.LoadUnsafe(ref x0, i);
                    var xw = Vector512.LoadUnsafe(ref x0, i + step);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, i), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, i), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, i), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, i), xv, a3);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, i + step), xw, b0);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, i + step), xw, b1);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, i + step), xw, b2);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, i + step), xw, b3);
                }
                for (; i < n; i += step)
                {
                    var xv = Vector512.LoadUnsafe(ref x0, i);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, i), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, i), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, i), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, i), xv, a3);
                }
                y[yOffset + r] = Vector512.Sum(a0 + b0);
                y[yOffset + r + 1] = Vector512.Sum(a1 + b1);
                y[yOffset + r + 2] = Vector512.Sum(a2 + b2);
                y[yOffset + r + 3] = Vector512.Sum(a3 + b3);
            }
        }
        else if (path >= KernelPath.Avx2 && cols % Vector256<float>.Count == 0)
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
        else if (path >= KernelPath.Vector128 && cols % (2 * Vector128<float>.Count) == 0)
        {
            // ARM64's NEON (and SSE): 32 registers there, so two accumulators per row as for AVX-512.
            for (; r + 4 <= end; r += 4)
            {
                ref float w0 = ref MemoryMarshal.GetReference(Rows(w, offset, r, cols, 4));
                ref float w1 = ref Unsafe.Add(ref w0, cols);
                ref float w2 = ref Unsafe.Add(ref w1, cols);
                ref float w3 = ref Unsafe.Add(ref w2, cols);
                Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default;
                for (nuint i = 0, step = (nuint)Vector128<float>.Count; i < (nuint)cols; i += 2 * step)
                {
                    var xv = Vector128.LoadUnsafe(ref x0, i);
                    var xw = Vector128.LoadUnsafe(ref x0, i + step);
                    a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, i), xv, a0);
                    a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, i), xv, a1);
                    a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, i), xv, a2);
                    a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, i), xv, a3);
                    b0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, i + step), xw, b0);
                    b1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, i + step), xw, b1);
                    b2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, i + step), xw, b2);
                    b3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, i + step), xw, b3);
                }
                y[yOffset + r] = Vector128.Sum(a0 + b0);
                y[yOffset + r + 1] = Vector128.Sum(a1 + b1);
                y[yOffset + r + 2] = Vector128.Sum(a2 + b2);
                y[yOffset + r + 3] = Vector128.Sum(a3 + b3);
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
