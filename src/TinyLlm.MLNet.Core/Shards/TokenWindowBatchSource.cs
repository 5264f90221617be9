using System.Numerics;
using Microsoft.ML;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// The windowing shared by every token source: cuts uint16 token segments (shards) into windows of
/// <c>SequenceLength + 1</c> tokens, assigns segments to the training or validation split, and serves batches
/// whose content is a pure function of (seed, split, batch index).
/// </summary>
/// <remarks>
/// Window <c>ix</c> of a segment starts at <c>ix * SequenceLength</c>; a segment of <c>n</c> tokens has
/// <c>n / SequenceLength - 1</c> windows, as llama2.c drops the last partial one. Row <c>i</c> of batch <c>b</c>
/// is position <c>p = b * batchSize + i</c> of an endless sequence of epochs: epoch <c>p / W</c>, slot
/// <c>p % W</c> of that epoch's permutation (seeded by seed, split and epoch), where <c>W</c> is the split's
/// window count. Without shuffling the slot is the window itself (segment order, then file order).
/// </remarks>
public abstract class TokenWindowBatchSource : ITokenBatchSource
{
    private readonly ReadOnlyMemory<ushort>[] _segments;
    private readonly SplitWindows _train;
    private readonly SplitWindows _validation;
    private readonly TokenWindowOptions _options;
    private readonly object _permutationLock = new();
    private (DataSplit Split, long Epoch, int[] Permutation)[] _recentPermutations = [];
    private int _maxTokenId = -1;

    /// <summary>Builds the window index over <paramref name="segments"/> named by <paramref name="segmentNames"/> (for error messages).</summary>
    private protected TokenWindowBatchSource(IReadOnlyList<ReadOnlyMemory<ushort>> segments, IReadOnlyList<string> segmentNames, TokenWindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(segments);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _segments = segments.ToArray();
        int seqLen = options.SequenceLength;

        foreach (int v in options.ValidationShards)
        {
            if (v < 0 || v >= _segments.Length)
                throw new ArgumentOutOfRangeException(nameof(options), v,
                    $"{nameof(TokenWindowOptions.ValidationShards)} names shard {v}, but there are {_segments.Length} shards (0 to {_segments.Length - 1}).");
        }

        var train = new List<int>();
        var validation = new List<int>();
        for (int s = 0; s < _segments.Length; s++)
        {
            long windows = WindowsIn(_segments[s].Length, seqLen);
            if (windows <= 0)
                throw TooFewTokens.Create(
                    $"Shard '{segmentNames[s]}' holds {_segments[s].Length:N0} tokens, too few for a window of SequenceLength {seqLen} " +
                    $"(a shard needs at least {2L * seqLen:N0} tokens, as the last partial window is dropped); use a smaller SequenceLength or larger shards.",
                    s, _segments[s].Length, seqLen);
            (Array.IndexOf(options.ValidationShards, s) >= 0 ? validation : train).Add(s);
        }
        _train = new SplitWindows(train.ToArray(), _segments, seqLen);
        _validation = new SplitWindows(validation.ToArray(), _segments, seqLen);
    }

    /// <summary>
    /// The batch source behind training data handed to a trainer: a shard view (from <c>LoadFromTokenShards</c> or
    /// <c>PretokenizeToShards</c>) is used as it is; any other view must hold token ids in
    /// <paramref name="tokensColumnName"/> (e.g. the tokenizer transformer's output), which are read into memory and
    /// cut into <paramref name="inMemorySegments"/> segments (segment 0 = validation, as shard 0 is).
    /// </summary>
    /// <exception cref="ArgumentException">A shard view cut for another sequence length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No token-id column (ML.NET's schema error wording).</exception>
    public static ITokenBatchSource FromDataView(IDataView data, TokenWindowOptions options, string tokensColumnName = "Tokens", int inMemorySegments = 10)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (data is ITokenBatchSource ready)
        {
            if (ready.SequenceLength != options.SequenceLength)
                throw new ArgumentException(
                    $"The token windows hold SequenceLength {ready.SequenceLength}, but {options.SequenceLength} was asked for; load the shards with SequenceLength {options.SequenceLength}.", nameof(data));
            return ready;
        }
        return InMemoryTokenBatchSource.FromTokenColumn(data, tokensColumnName, inMemorySegments, options);
    }

    /// <inheritdoc/>
    public int SequenceLength => _options.SequenceLength;

    /// <summary>
    /// The tokenizer the ids were made with (its vocabulary size and pieces), when known: from the shard manifest, or
    /// from the token column's tokenizer annotation. The trainer refuses data whose tokenizer differs from the model's.
    /// </summary>
    public TokenizerFingerprint? Tokenizer { get; internal set; }

    /// <summary>Number of token segments (shards).</summary>
    public int SegmentCount => _segments.Length;

    /// <summary>Total tokens over all segments.</summary>
    public long TokenCount => _segments.Sum(s => (long)s.Length);

    /// <inheritdoc/>
    public int MaxTokenId
    {
        get
        {
            if (_maxTokenId < 0) _maxTokenId = ComputeMaxTokenId();
            return _maxTokenId;
        }
    }

    /// <inheritdoc/>
    public long WindowCount(DataSplit split) => Windows(split).Count;

    /// <summary>
    /// Which window (in split order: segments in file order, windows in stream order) row <paramref name="position"/>
    /// of the endless batch stream of <paramref name="split"/> reads.
    /// </summary>
    public long WindowAt(DataSplit split, long position)
    {
        var w = Windows(split);
        if (w.Count == 0)
            throw new InvalidOperationException($"The {split} split holds no windows (no shard is assigned to it); check {nameof(TokenWindowOptions.ValidationShards)}.");
        long epoch = position / w.Count;
        int slot = (int)(position % w.Count);
        return _options.Shuffle ? Permutation(split, epoch)[slot] : slot;
    }

    /// <summary>The tokens of window <paramref name="window"/> of <paramref name="split"/> (<c>SequenceLength + 1</c> uint16 ids, not copied).</summary>
    public ReadOnlySpan<ushort> Window(DataSplit split, long window)
    {
        var w = Windows(split);
        if ((ulong)window >= (ulong)w.Count)
            throw new ArgumentOutOfRangeException(nameof(window), window, $"The {split} split has {w.Count} windows.");
        (int segment, long start) = w.Locate(window);
        return _segments[segment].Span.Slice((int)start, SequenceLength + 1);
    }

    /// <inheritdoc/>
    public void FillBatch(DataSplit split, long batchIndex, int batchSize, Span<long> inputs, Span<long> targets)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int t = SequenceLength;
        long need = (long)batchSize * t;
        if (inputs.Length < need || targets.Length < need)
            throw new ArgumentException($"inputs and targets must each hold batchSize * SequenceLength = {need} values; got {inputs.Length} and {targets.Length}.");

        long first = batchIndex * batchSize;
        if (need < 1 << 16)
        {
            for (int i = 0; i < batchSize; i++)
                CopyRow(split, first + i, inputs.Slice(i * t, t), targets.Slice(i * t, t));
            return;
        }
        // Large batches: rows are independent, so widen them on all cores (spans can't cross into lambdas).
        unsafe
        {
            fixed (long* pIn = inputs, pTg = targets)
            {
                nint inPtr = (nint)pIn, tgPtr = (nint)pTg;
                Parallel.For(0, batchSize, i =>
                    CopyRow(split, first + i, new Span<long>((long*)inPtr + (long)i * t, t), new Span<long>((long*)tgPtr + (long)i * t, t)));
            }
        }
    }

    /// <summary>Fills one row: input = window[0..T], target = window[1..T+1], widened to long.</summary>
    private void CopyRow(DataSplit split, long position, Span<long> input, Span<long> target)
    {
        ReadOnlySpan<ushort> w = Window(split, WindowAt(split, position));
        for (int j = 0; j < input.Length; j++) input[j] = w[j];
        for (int j = 0; j < target.Length; j++) target[j] = w[j + 1];
    }

    private SplitWindows Windows(DataSplit split) => split switch
    {
        DataSplit.Train => _train,
        DataSplit.Validation => _validation,
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown split."),
    };

    private int[] Permutation(DataSplit split, long epoch)
    {
        var recent = Volatile.Read(ref _recentPermutations);
        foreach (var p in recent)
            if (p.Split == split && p.Epoch == epoch) return p.Permutation;
        int[] perm = WindowPermutation.Create((int)Windows(split).Count, _options.Seed, (long)split, epoch);
        lock (_permutationLock)
        {
            // Keep a few: a batch may straddle an epoch boundary, and train and validation interleave.
            var next = _recentPermutations.Prepend((split, epoch, perm)).Take(4).ToArray();
            Volatile.Write(ref _recentPermutations, next);
        }
        return perm;
    }

    private int ComputeMaxTokenId()
    {
        int max = 0;
        object gate = new();
        Parallel.ForEach(_segments, segment =>
        {
            int m = MaxOf(segment.Span);
            lock (gate) max = Math.Max(max, m);
        });
        return max;
    }

    private static int MaxOf(ReadOnlySpan<ushort> span)
    {
        int i = 0;
        ushort max = 0;
        if (Vector.IsHardwareAccelerated && span.Length >= Vector<ushort>.Count)
        {
            var acc = Vector<ushort>.Zero;
            for (; i <= span.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
                acc = Vector.Max(acc, new Vector<ushort>(span.Slice(i)));
            for (int k = 0; k < Vector<ushort>.Count; k++) max = Math.Max(max, acc[k]);
        }
        for (; i < span.Length; i++) max = Math.Max(max, span[i]);
        return max;
    }

    /// <summary>Windows of one split: the split's segments with prefix sums of their window counts.</summary>
    private sealed class SplitWindows
    {
        private readonly int[] _segments;
        private readonly long[] _firstWindow; // _firstWindow[k] = windows in segments before the k-th of this split
        private readonly int _seqLen;

        public SplitWindows(int[] segments, ReadOnlyMemory<ushort>[] all, int seqLen)
        {
            _segments = segments;
            _seqLen = seqLen;
            _firstWindow = new long[segments.Length + 1];
            for (int k = 0; k < segments.Length; k++)
                _firstWindow[k + 1] = _firstWindow[k] + WindowsIn(all[segments[k]].Length, seqLen);
            if (Count > int.MaxValue)
                throw new InvalidDataException($"A split holds {Count:N0} windows, more than {int.MaxValue:N0}; use a larger SequenceLength.");
        }

        public long Count => _firstWindow[^1];

        public (int Segment, long Start) Locate(long window)
        {
            int k = Array.BinarySearch(_firstWindow, window);
            if (k < 0) k = ~k - 1;
            // Several equal prefix sums cannot occur: every segment has at least one window.
            return (_segments[k], (window - _firstWindow[k]) * _seqLen);
        }
    }

    private static long WindowsIn(int tokens, int seqLen) => tokens / seqLen - 1;
}
