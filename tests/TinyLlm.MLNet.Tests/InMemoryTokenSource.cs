using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// A test <see cref="ITokenBatchSource"/> over in-memory token arrays: each row of batch <c>i</c> is a window chosen
/// by a hash of (seed, split, i, row), so a batch is a pure function of its index, as the contract asks.
/// </summary>
internal sealed class InMemoryTokenSource : ITokenBatchSource
{
    private readonly int[] _train, _val;
    private readonly ulong _seed;

    public InMemoryTokenSource(int[] train, int[] val, int sequenceLength, ulong seed = 42)
    {
        _train = train;
        _val = val;
        SequenceLength = sequenceLength;
        _seed = seed;
        MaxTokenId = train.Concat(val).DefaultIfEmpty(0).Max();
    }

    public int SequenceLength { get; }

    public int MaxTokenId { get; }

    public long WindowCount(DataSplit split) => Math.Max(0, ((split == DataSplit.Train ? _train : _val).Length - 1) / SequenceLength);

    public void FillBatch(DataSplit split, long batchIndex, int batchSize, Span<long> inputs, Span<long> targets)
    {
        var tokens = split == DataSplit.Train ? _train : _val;
        long windows = WindowCount(split);
        int t = SequenceLength;
        for (int r = 0; r < batchSize; r++)
        {
            ulong h = Mix(_seed ^ Mix((ulong)split + 1) ^ Mix((ulong)batchIndex * 7919UL + (ulong)r + 17));
            long start = (long)(h % (ulong)windows) * t;
            for (int j = 0; j < t; j++)
            {
                inputs[r * t + j] = tokens[start + j];
                targets[r * t + j] = tokens[start + j + 1];
            }
        }
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Synthetic "stories": sentences from a tiny grammar over a vocabulary of <paramref name="vocab"/> ids, each
    /// story starting with BOS (1). Learnable structure, so the loss must fall well below ln(vocab).
    /// </summary>
    public static int[] SyntheticStories(int tokenCount, int vocab, int seed)
    {
        var rng = new Random(seed);
        var tokens = new List<int>(tokenCount + 64);
        int subjects = Math.Max(2, vocab / 8), verbs = Math.Max(2, vocab / 8);
        while (tokens.Count < tokenCount)
        {
            tokens.Add(1); // BOS
            int sentences = 1 + rng.Next(3);
            for (int s = 0; s < sentences; s++)
            {
                int subject = 3 + rng.Next(subjects);
                tokens.Add(subject);
                tokens.Add(3 + subjects + (subject * 3 + rng.Next(2)) % verbs);     // verb depends on the subject
                tokens.Add(3 + subjects + verbs + (subject % (vocab - 4 - subjects - verbs))); // object too
                tokens.Add(2); // full stop
            }
        }
        return tokens.Take(tokenCount).ToArray();
    }
}
