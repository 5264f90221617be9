namespace TinyLlm.MLNet.Shards;

/// <summary>Options of <see cref="TokenShardWriter"/> and <c>mlContext.Data.SaveAsTokenShards</c>.</summary>
public sealed class TokenShardWriterOptions
{
    /// <summary>
    /// The SentencePiece <c>.model</c> that encodes the text; its SHA-256 is recorded in the manifest. Required for
    /// text input; optional with <see cref="TokensColumnName"/>, where it only names the tokenizer in the manifest.
    /// </summary>
    public string? TokenizerModelPath;

    /// <summary>Column of stories (String) when writing from an <c>IDataView</c> of text.</summary>
    public string TextColumnName = "Text";

    /// <summary>
    /// Column of already-encoded token ids (a vector of Int32, UInt32, Int64 or UInt16, BOS included) when writing
    /// from an <c>IDataView</c> of tokenized text; null to encode <see cref="TextColumnName"/> instead.
    /// </summary>
    public string? TokensColumnName;

    /// <summary>Stories per shard when writing from an <c>IDataView</c> (TinyStories' JSON shards hold 100,000 each).</summary>
    public int StoriesPerShard = 100_000;

    /// <summary>File-name prefix of shards written from an <c>IDataView</c>: <c>data00.bin</c>, <c>data01.bin</c>, ...</summary>
    public string ShardNamePrefix = "data";

    /// <summary>Re-encode every shard, even those the manifest lists as finished, and replace a manifest of another tokenizer.</summary>
    public bool Overwrite;

    /// <summary>
    /// Memoize the encoding of each word (exact: used only when the model's pieces never span a word boundary, which
    /// the writer checks); off encodes every story whole.
    /// </summary>
    public bool MemoizeWords = true;

    /// <summary>Threads encoding stories within a shard; -1 for all cores.</summary>
    public int MaxDegreeOfParallelism = -1;

    /// <summary>Shards encoded at the same time (each also parallel within); bounds the memory held by stories in flight.</summary>
    public int ShardsInParallel = 2;

    /// <summary>Receives progress after each encoded chunk of stories; null for none.</summary>
    public IProgress<TokenShardProgress>? Progress;
}

/// <summary>Cumulative progress of a <see cref="TokenShardWriter"/> run.</summary>
/// <param name="TextBytes">UTF-8 bytes of story text encoded so far (skipped shards excluded).</param>
/// <param name="Tokens">Tokens written so far.</param>
/// <param name="Stories">Stories encoded so far.</param>
/// <param name="ShardsDone">Shards finished or skipped.</param>
/// <param name="ShardsSkipped">Shards skipped because the manifest lists them as finished from an unchanged source.</param>
/// <param name="ShardsTotal">Shards in the run, or -1 when not known in advance (IDataView input).</param>
public readonly record struct TokenShardProgress(long TextBytes, long Tokens, long Stories, int ShardsDone, int ShardsSkipped, int ShardsTotal)
{
    /// <summary>Finished shards encoded again because their source changed since (or predates source fingerprints).</summary>
    public int ShardsReencoded { get; init; }

    /// <summary>Shards deleted because their source is no longer among the inputs.</summary>
    public int ShardsRemoved { get; init; }
}
