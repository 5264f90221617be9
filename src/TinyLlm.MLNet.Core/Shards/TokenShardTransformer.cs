using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// The fitted <see cref="TokenShardEstimator"/>: holds the written (memory-mapped) or in-memory tokens and returns
/// their training windows as a <see cref="TokenWindowDataView"/> from <see cref="Transform"/>.
/// </summary>
/// <remarks>Not saved into model zips: what a model zip keeps is the tokenizer and the model, not the data.</remarks>
public sealed class TokenShardTransformer : ITransformer, IDisposable
{
    internal TokenShardTransformer(TokenWindowBatchSource source, DataSplit split, TokenWindowColumns columns)
    {
        Source = source;
        Split = split;
        Columns = columns;
    }

    /// <summary>The tokens (both splits) the windows are cut from.</summary>
    public TokenWindowBatchSource Source { get; }

    /// <summary>The split whose windows are the output rows.</summary>
    public DataSplit Split { get; }

    /// <summary>The output columns.</summary>
    public TokenWindowColumns Columns { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => false;

    /// <summary>The windows of the fitted tokens; <paramref name="input"/> only has to be the data the estimator was fitted on.</summary>
    public IDataView Transform(IDataView input) => new TokenWindowDataView(Source, Split, Columns);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new TokenWindowDataView(Source, Split, Columns).Schema;

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("TokenShardTransformer turns a whole data set into training windows; it does not map rows one by one.");

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("TokenShardTransformer holds training data, not a model, and is not saved; keep it out of the pipeline you save (save the tokenizer and the trained model).");

    /// <summary>Unmaps the shards.</summary>
    public void Dispose()
    {
        if (Source is IDisposable d) d.Dispose();
    }
}
