namespace TinyLlm.MLNet.Shards;

/// <summary>
/// One input shard: the stories that become one <c>.bin</c> file. Stories are read when the shard is encoded
/// (not before), so a folder of shards streams through memory a few shards at a time.
/// </summary>
public sealed partial class TokenShardInput
{
    private TokenShardInput(string name, string? source, Func<IEnumerable<string>>? stories, Func<IEnumerable<int[]>>? tokens, long sourceBytes = 0,
        Func<SourceFingerprint>? fingerprint = null)
    {
        Fingerprint = fingerprint;
        SourceBytes = sourceBytes;
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"Shard name '{name}' is not a valid file name.", nameof(name));
        Name = name;
        Source = source;
        Stories = stories;
        Tokens = tokens;
    }

    /// <summary>Output file name without extension (<c>data00</c> gives <c>data00.bin</c>).</summary>
    public string Name { get; }

    /// <summary>Where the stories come from (recorded in the manifest), e.g. <c>data00.json</c>.</summary>
    public string? Source { get; }

    /// <summary>Size of the source file in bytes (0 when unknown), for progress estimates.</summary>
    public long SourceBytes { get; }

    internal Func<IEnumerable<string>>? Stories { get; }

    internal Func<IEnumerable<int[]>>? Tokens { get; }

    /// <summary>What the shard is made from, recorded in the manifest so that a re-run notices a changed source; null
    /// for inputs given as a function (<see cref="FromStories"/>, <see cref="FromTokens"/>), which are kept by name.</summary>
    internal Func<SourceFingerprint>? Fingerprint { get; }

    /// <summary>A shard of raw stories, encoded by the writer's tokenizer (each stripped, BOS first, no EOS).</summary>
    public static TokenShardInput FromStories(string name, Func<IEnumerable<string>> readStories, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(readStories);
        return new TokenShardInput(name, source, readStories, null);
    }

    /// <summary>A shard of already-encoded stories (each an id array, BOS included), written as they are.</summary>
    public static TokenShardInput FromTokens(string name, Func<IEnumerable<int[]>> readTokens, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(readTokens);
        return new TokenShardInput(name, source, null, readTokens);
    }

    /// <summary>A shard of stories already in memory (rows of an <c>IDataView</c>), fingerprinted by their text.</summary>
    internal static TokenShardInput FromStoryList(string name, IReadOnlyList<string> stories) =>
        new(name, null, () => stories, null, 0, () => SourceFingerprint.OfStories(stories));

    /// <summary>A shard of token rows already in memory, fingerprinted by their ids.</summary>
    internal static TokenShardInput FromTokenList(string name, IReadOnlyList<int[]> rows) =>
        new(name, null, null, () => rows, 0, () => SourceFingerprint.OfTokens(rows));
}
