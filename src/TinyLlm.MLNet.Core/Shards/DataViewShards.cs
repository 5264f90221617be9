using Microsoft.ML;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Shards;

/// <summary>Writes the rows of an <see cref="IDataView"/> (text or token ids) as shards of <see cref="TokenShardWriterOptions.StoriesPerShard"/> stories.</summary>
internal static class DataViewShards
{
    /// <summary>Checks the column, groups rows into shards as the cursor reads them, and writes them.</summary>
    public static TokenShardManifest Write(IDataView data, string outputDirectory, TokenShardWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.StoriesPerShard < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.StoriesPerShard, $"{nameof(TokenShardWriterOptions.StoriesPerShard)} must be at least 1.");

        TokenShardWriter writer;
        IEnumerable<TokenShardInput> inputs;
        if (options.TokensColumnName is { } tokensColumn)
        {
            SchemaErrors.Require(data.Schema, tokensColumn, ColumnRule.TokenIds);
            // With a model the manifest names it (and a later reader can check it); without, the tokenizer is unknown.
            writer = options.TokenizerModelPath is null
                ? new TokenShardWriter(tokenizerSha256: "", vocabSize: 0, options)
                : new TokenShardWriter(options.TokenizerModelPath, options);
            inputs = Group(TokenColumnReader.ReadAll(data, tokensColumn), options.StoriesPerShard)
                .Select((rows, i) => TokenShardInput.FromTokenList(ShardName(options, i), rows));
        }
        else
        {
            SchemaErrors.RequireText(data.Schema, options.TextColumnName);
            if (options.TokenizerModelPath is null)
                throw new ArgumentException($"{nameof(TokenShardWriterOptions.TokenizerModelPath)} is required to encode text column '{options.TextColumnName}'.", nameof(options));
            writer = new TokenShardWriter(options.TokenizerModelPath, options);
            inputs = Group(TextColumn.Read(data, options.TextColumnName), options.StoriesPerShard)
                .Select((stories, i) => TokenShardInput.FromStoryList(ShardName(options, i), stories));
        }
        return writer.Write(inputs, outputDirectory);
    }

    private static string ShardName(TokenShardWriterOptions options, int index) => $"{options.ShardNamePrefix}{index:D2}";

    private static IEnumerable<List<T>> Group<T>(IEnumerable<T> rows, int size)
    {
        var group = new List<T>(Math.Min(size, 1 << 16));
        foreach (var row in rows)
        {
            group.Add(row);
            if (group.Count == size)
            {
                yield return group;
                group = new List<T>(Math.Min(size, 1 << 16));
            }
        }
        if (group.Count > 0) yield return group;
    }
}
