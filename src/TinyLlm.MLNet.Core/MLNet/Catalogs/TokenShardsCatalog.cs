using Microsoft.ML;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet;

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
        return DataViewShards.Write(data, outputDirectory, options);
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
    /// // WindowRow: public int[] Input { get; set; } and public int[] Target { get; set; }
    /// var firstRows = mlContext.Data.CreateEnumerable&lt;WindowRow&gt;(windows, reuseRowObject: false).Take(2);
    /// </code></example>
    public static TokenWindowDataView LoadFromTokenShards(this DataOperationsCatalog catalog, string directory, TokenShardLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        options ??= new TokenShardLoaderOptions();
        var source = TokenShardBatchSource.Open(directory, options, options.TokenizerModelPath, options.AllowIncompleteShards);
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

    /// <summary>
    /// Pretokenizing as a pipeline stage: fitting writes the input's token ids (by default the tokenizer's
    /// <c>Tokens</c> column) as shards in <paramref name="outputDirectory"/> (or keeps them in memory when null) and the
    /// fitted transformer outputs their training windows, which the trainer reads as an <see cref="ITokenBatchSource"/>.
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="outputDirectory">Shard folder, or null to keep the tokens in memory.</param>
    /// <param name="sequenceLength">Tokens per input row.</param>
    /// <param name="tokensColumnName">The token-id column.</param>
    /// <returns>The estimator.</returns>
    /// <example><code>
    /// var pipeline = mlContext.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text")
    ///     .Append(mlContext.Transforms.PretokenizeToShards("data/tok4096", sequenceLength: 256));
    /// var fitted = pipeline.Fit(stories);
    /// var windows = (ITokenBatchSource)fitted.Transform(stories); // what the trainer reads
    /// </code></example>
    public static TokenShardEstimator PretokenizeToShards(this TransformsCatalog catalog, string? outputDirectory, int sequenceLength = 256, string tokensColumnName = "Tokens") =>
        catalog.PretokenizeToShards(new TokenShardEstimatorOptions
        {
            OutputDirectory = outputDirectory,
            Writer = new TokenShardWriterOptions { TokensColumnName = tokensColumnName },
            Windows = new TokenShardLoaderOptions { SequenceLength = sequenceLength },
        });

    /// <summary>Pretokenizing as a pipeline stage, with every option.</summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">Where the tokens go, what is written and how the windows are cut.</param>
    /// <returns>The estimator.</returns>
    public static TokenShardEstimator PretokenizeToShards(this TransformsCatalog catalog, TokenShardEstimatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TokenShardEstimator(Bridge.CatalogEnvironment.Of(catalog), options);
    }
}
