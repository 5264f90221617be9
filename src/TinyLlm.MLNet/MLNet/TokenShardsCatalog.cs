using Microsoft.ML;
using TinyLlm.MLNet.Data;

namespace TinyLlm.MLNet.MLNet;

/// <summary>Catalog methods that write pretokenized uint16 shards and read them back as training windows.</summary>
public static class TokenShardsCatalog
{
    /// <summary>
    /// Pretokenizes the stories of <paramref name="data"/> into llama2.c shards in <paramref name="outputDirectory"/>:
    /// every <see cref="TokenShardWriterOptions.StoriesPerShard"/> rows become <c>data00.bin</c>, <c>data01.bin</c>, ...
    /// Text rows (<see cref="TokenShardWriterOptions.TextColumnName"/>) are stripped and encoded BOS-first with
    /// <see cref="TokenShardWriterOptions.TokenizerModelPath"/>; rows of <see cref="TokenShardWriterOptions.TokensColumnName"/>
    /// are written as they are. Shards the folder's manifest lists as finished are skipped.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="data">Stories, one per row.</param>
    /// <param name="outputDirectory">Folder of the shards and their manifest (created if absent).</param>
    /// <param name="options">Tokenizer, columns, shard size and parallelism.</param>
    /// <returns>The folder's manifest after the run.</returns>
    /// <example><code>
    /// var stories = mlContext.Data.LoadTinyStories("data/TinyStories_all_data");
    /// mlContext.Data.SaveAsTokenShards(stories, "data/tok4096", new TokenShardWriterOptions { TokenizerModelPath = "data/tok4096.model" });
    /// </code></example>
    public static TokenShardManifest SaveAsTokenShards(this DataOperationsCatalog catalog, IDataView data, string outputDirectory, TokenShardWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.StoriesPerShard < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.StoriesPerShard, $"{nameof(TokenShardWriterOptions.StoriesPerShard)} must be at least 1.");

        TokenShardWriter writer;
        IEnumerable<TokenShardInput> inputs;
        if (options.TokensColumnName is { } tokensColumn)
        {
            TokenColumnReader.CheckTokensColumn(data.Schema, tokensColumn);
            // With a model the manifest names it (and a later reader can check it); without, the tokenizer is unknown.
            writer = options.TokenizerModelPath is null
                ? new TokenShardWriter(tokenizerSha256: "", vocabSize: 0, options)
                : new TokenShardWriter(options.TokenizerModelPath, options);
            inputs = Group(TokenColumnReader.ReadAll(data, tokensColumn), options.StoriesPerShard)
                .Select((rows, i) => TokenShardInput.FromTokens(ShardName(options, i), () => rows));
        }
        else
        {
            TokenColumnReader.CheckTextColumn(data.Schema, options.TextColumnName);
            if (options.TokenizerModelPath is null)
                throw new ArgumentException($"{nameof(TokenShardWriterOptions.TokenizerModelPath)} is required to encode text column '{options.TextColumnName}'.", nameof(options));
            writer = new TokenShardWriter(options.TokenizerModelPath, options);
            inputs = Group(TokenColumnReader.ReadText(data, options.TextColumnName), options.StoriesPerShard)
                .Select((stories, i) => TokenShardInput.FromStories(ShardName(options, i), () => stories));
        }
        return writer.Write(inputs, outputDirectory);
    }

    /// <summary>Pretokenizes the text column <paramref name="textColumnName"/> of <paramref name="data"/> with the <c>.model</c> at <paramref name="tokenizerModelPath"/>.</summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="data">Stories, one per row.</param>
    /// <param name="outputDirectory">Folder of the shards and their manifest (created if absent).</param>
    /// <param name="tokenizerModelPath">The SentencePiece <c>.model</c> to encode with.</param>
    /// <param name="textColumnName">The column of stories.</param>
    /// <returns>The folder's manifest after the run.</returns>
    public static TokenShardManifest SaveAsTokenShards(this DataOperationsCatalog catalog, IDataView data, string outputDirectory, string tokenizerModelPath, string textColumnName = "Text") =>
        catalog.SaveAsTokenShards(data, outputDirectory, new TokenShardWriterOptions { TokenizerModelPath = tokenizerModelPath, TextColumnName = textColumnName });

    /// <summary>
    /// Loads a folder of <c>.bin</c> shards as an <see cref="IDataView"/> of training windows over memory-mapped files.
    /// Rows are the windows of <see cref="TokenShardLoaderOptions.Split"/> (validation = shard 0 by default),
    /// <see cref="TokenWindowDataView.InputColumnName"/>/<see cref="TokenWindowDataView.TargetColumnName"/> or
    /// <see cref="TokenWindowDataView.WindowColumnName"/>; the view is also the trainer's <see cref="ITokenBatchSource"/>.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="directory">The shard folder (e.g. <c>data/TinyStories_all_data/tok4096</c>).</param>
    /// <param name="options">Sequence length, split, shuffling and columns.</param>
    /// <returns>The view; dispose it to unmap the shards.</returns>
    /// <example><code>
    /// var windows = mlContext.Data.LoadFromTokenShards("data/tok4096", new TokenShardLoaderOptions { SequenceLength = 256 });
    /// var firstRows = mlContext.Data.CreateEnumerable&lt;TokenWindowRow&gt;(windows, reuseRowObject: false).Take(2);
    /// </code></example>
    public static TokenWindowDataView LoadFromTokenShards(this DataOperationsCatalog catalog, string directory, TokenShardLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        options ??= new TokenShardLoaderOptions();
        var source = TokenShardBatchSource.Open(directory, options, options.TokenizerModelPath);
        return new TokenWindowDataView(source, options.Split, options.Columns, ownsSource: true);
    }

    /// <summary>Loads a folder of <c>.bin</c> shards as windows of <paramref name="sequenceLength"/> + 1 tokens of <paramref name="split"/>.</summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="directory">The shard folder.</param>
    /// <param name="sequenceLength">Tokens per input row.</param>
    /// <param name="split">Which split the rows come from.</param>
    /// <returns>The view; dispose it to unmap the shards.</returns>
    public static TokenWindowDataView LoadFromTokenShards(this DataOperationsCatalog catalog, string directory, int sequenceLength, DataSplit split = DataSplit.Train) =>
        catalog.LoadFromTokenShards(directory, new TokenShardLoaderOptions { SequenceLength = sequenceLength, Split = split });

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
