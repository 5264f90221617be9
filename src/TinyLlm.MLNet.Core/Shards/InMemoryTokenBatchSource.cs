using Microsoft.ML;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Training batches from token ids held in memory (e.g. tokenized text straight from a pipeline), with the same
/// windowing, split and shuffling as <see cref="TokenShardBatchSource"/>: each segment plays the part of a shard.
/// </summary>
public sealed class InMemoryTokenBatchSource : TokenWindowBatchSource
{
    /// <summary>Batches over <paramref name="segments"/> (segment <c>k</c> is shard <c>k</c> for the split).</summary>
    public InMemoryTokenBatchSource(IReadOnlyList<ushort[]> segments, TokenWindowOptions? options = null)
        : base(segments.Select(s => (ReadOnlyMemory<ushort>)s).ToArray(), segments.Select((_, i) => $"in-memory segment {i}").ToArray(), options ?? new TokenWindowOptions())
    {
    }

    /// <summary>
    /// Reads every row of the token-id column <paramref name="tokensColumnName"/> of <paramref name="data"/> (each row a
    /// story, BOS included), concatenates them and cuts them at story boundaries into <paramref name="segmentCount"/>
    /// segments of about equal size: segment 0 is then the validation split, as shard 0 is.
    /// </summary>
    public static InMemoryTokenBatchSource FromTokenColumn(IDataView data, string tokensColumnName, int segmentCount = 10, TokenWindowOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentCount, 1);
        var column = Bridge.SchemaErrors.Require(data.Schema, tokensColumnName, Bridge.ColumnRule.TokenIds);
        var source = FromStories(TokenColumnReader.ReadAll(data, tokensColumnName), $"column '{tokensColumnName}'", segmentCount, options);
        if (TokenizerAnnotations.TryGetModelBytes(column) is { } model)
            source.Tokenizer = TokenizerFingerprint.Of(SentencePieceModel.FromBytes(model, $"the tokenizer annotated on column '{tokensColumnName}'"));
        return source;
    }

    /// <summary>
    /// Concatenates <paramref name="stories"/> (each a story's ids, BOS first) and cuts them at story boundaries into
    /// <paramref name="segmentCount"/> segments of about equal size; <paramref name="what"/> names them in errors.
    /// </summary>
    internal static InMemoryTokenBatchSource FromStories(IEnumerable<int[]> stories, string what, int segmentCount, TokenWindowOptions? options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentCount, 1);
        var rows = stories.ToList();
        long total = rows.Sum(s => (long)s.Length);
        var segments = new List<ushort[]>();
        var current = new List<ushort>();
        long target = (total + segmentCount - 1) / segmentCount;
        for (int r = 0; r < rows.Count; r++)
        {
            foreach (int id in rows[r])
            {
                if ((uint)id >= TokenShardFormat.MaxVocabSize)
                    throw new InvalidDataException($"Row {r} of {what} holds token id {id}, outside the uint16 range 0 to {TokenShardFormat.MaxVocabSize - 1}.");
                current.Add((ushort)id);
            }
            if (current.Count >= target && segments.Count < segmentCount - 1)
            {
                segments.Add(current.ToArray());
                current.Clear();
            }
        }
        if (current.Count > 0 || segments.Count == 0) segments.Add(current.ToArray());
        return new InMemoryTokenBatchSource(segments, options);
    }
}
