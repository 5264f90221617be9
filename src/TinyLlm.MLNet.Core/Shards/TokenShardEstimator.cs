using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Pretokenizing as a pipeline stage: <see cref="Fit"/> writes the input's token ids (or text) as uint16 shards, or
/// keeps them in memory, and returns a <see cref="TokenShardTransformer"/> whose output is the training windows
/// over those tokens, which is also an <see cref="ITokenBatchSource"/> for the trainer that follows.
/// </summary>
/// <remarks>A data-preparation stage: keep it out of scoring pipelines, its output does not depend on the rows scored.</remarks>
public sealed class TokenShardEstimator : IEstimator<TokenShardTransformer>
{
    private readonly TokenShardEstimatorOptions _options;

    /// <summary>An estimator with <paramref name="options"/>.</summary>
    public TokenShardEstimator(TokenShardEstimatorOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(options.Writer);
        ArgumentNullException.ThrowIfNull(options.Windows);
        options.Windows.Validate();
    }

    /// <summary>Writes (or gathers) the tokens of <paramref name="input"/> and opens them as windows.</summary>
    public TokenShardTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        TokenWindowBatchSource source;
        if (_options.OutputDirectory is { } dir)
        {
            DataViewShards.Write(input, dir, _options.Writer);
            source = TokenShardBatchSource.Open(dir, _options.Windows, _options.Writer.TokenizerModelPath);
        }
        else
        {
            string column = _options.Writer.TokensColumnName
                ?? throw new ArgumentException("Keeping tokens in memory needs a token-id column: set Writer.TokensColumnName (or set OutputDirectory to encode text into shards).", nameof(input));
            source = InMemoryTokenBatchSource.FromTokenColumn(input, column, _options.InMemorySegments, _options.Windows);
        }
        return new TokenShardTransformer(source, _options.Windows.Split, _options.Windows.Columns);
    }

    /// <summary>Checks the input column and returns the window columns (the input columns are not passed on).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        string name = _options.Writer.TokensColumnName ?? _options.Writer.TextColumnName;
        var found = inputSchema.Where(c => c.Name == name).ToList();
        if (found.Count == 0) throw SchemaErrors.ColumnNotFound(name);
        var col = found[^1];
        if (_options.Writer.TokensColumnName is not null)
        {
            var raw = col.ItemType.RawType;
            if (col.Kind == SchemaShape.Column.VectorKind.Scalar || !(raw == typeof(int) || raw == typeof(uint) || raw == typeof(long) || raw == typeof(ushort)))
                throw SchemaErrors.Mismatch(name, TokenColumnReader.ExpectedTokens, Describe(col));
        }
        else if (col.Kind != SchemaShape.Column.VectorKind.Scalar || col.ItemType is not TextDataViewType)
        {
            throw SchemaErrors.Mismatch(name, "String", Describe(col));
        }
        int t = _options.Windows.SequenceLength;
        var columns = _options.Windows.Columns == TokenWindowColumns.InputAndTarget
            ? new[] { (TokenWindowDataView.InputColumnName, t), (TokenWindowDataView.TargetColumnName, t) }
            : new[] { (TokenWindowDataView.WindowColumnName, t + 1) };
        return new SchemaShape(columns.Select(c => SchemaShapes.Column(new SchemaShapes.NewColumn(c.Item1, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Int32))));
    }

    private static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => c.ItemType.ToString()!,
        _ => $"Vector<{c.ItemType}>",
    };
}
