namespace TinyLlm.MLNet.Shards;

/// <summary>Options of <see cref="TokenShardEstimator"/>: where the tokens go and how the next stage sees them.</summary>
public sealed class TokenShardEstimatorOptions
{
    /// <summary>
    /// Folder the shards are written to (and memory-mapped from); null keeps the tokens in memory, cut into
    /// <see cref="InMemorySegments"/> segments that play the part of shards.
    /// </summary>
    public string? OutputDirectory;

    /// <summary>What is written: by default the <c>Tokens</c> column of the tokenizer transformer, 100,000 stories per shard.</summary>
    public TokenShardWriterOptions Writer = new() { TokensColumnName = "Tokens" };

    /// <summary>How the written tokens are cut into windows and which split the output rows come from.</summary>
    public TokenShardLoaderOptions Windows = new();

    /// <summary>Segments of an in-memory run (segment 0 is the validation split by default).</summary>
    public int InMemorySegments = 10;
}
