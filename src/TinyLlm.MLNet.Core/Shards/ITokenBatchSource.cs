namespace TinyLlm.MLNet.Shards;

/// <summary>Which part of a token data set a batch is drawn from.</summary>
public enum DataSplit
{
    /// <summary>The training windows (by default every shard but the first).</summary>
    Train,

    /// <summary>The validation windows (by default the first shard, as in llama2.c).</summary>
    Validation,
}

/// <summary>
/// Training batches of token windows: <c>seqLen + 1</c> consecutive tokens, inputs the first <c>seqLen</c>,
/// targets the last <c>seqLen</c>. A batch is a pure function of (seed, split, batch index), so a resumed run
/// sees exactly the data order of an uninterrupted one.
/// </summary>
public interface ITokenBatchSource
{
    /// <summary>Tokens per input row (the model's context length).</summary>
    int SequenceLength { get; }

    /// <summary>The largest token id in the data, checked against the model's vocabulary size.</summary>
    int MaxTokenId { get; }

    /// <summary>Number of distinct windows in <paramref name="split"/>.</summary>
    long WindowCount(DataSplit split);

    /// <summary>
    /// Fills row-major <c>[batchSize, SequenceLength]</c> <paramref name="inputs"/> and <paramref name="targets"/>
    /// with batch number <paramref name="batchIndex"/> of <paramref name="split"/>.
    /// </summary>
    void FillBatch(DataSplit split, long batchIndex, int batchSize, Span<long> inputs, Span<long> targets);
}
