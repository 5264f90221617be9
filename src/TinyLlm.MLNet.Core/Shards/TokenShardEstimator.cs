using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
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
    private readonly IHostEnvironment _env;
    private readonly TokenShardEstimatorOptions _options;

    /// <summary>An estimator with <paramref name="options"/>; <c>mlContext.Transforms.PretokenizeToShards</c> is the way in.</summary>
    internal TokenShardEstimator(IHostEnvironment env, TokenShardEstimatorOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
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
        using (var ch = _env.Register(nameof(TokenShardEstimator)).Start("Pretokenize"))
            ch.Info(MessageSensitivity.None, "{0} tokens ready as training windows of {1}", source.TokenCount, _options.Windows.SequenceLength);
        return new TokenShardTransformer(source, _options.Windows.Split, _options.Windows.Columns);
    }

    /// <summary>Checks the input column and returns the window columns (the input columns are not passed on).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (_options.Writer.TokensColumnName is { } tokens)
            SchemaErrors.Require(inputSchema, tokens, ColumnRule.TokenIds);
        else
            SchemaErrors.Require(inputSchema, _options.Writer.TextColumnName, ColumnRule.Text);
        int t = _options.Windows.SequenceLength;
        var columns = _options.Windows.Columns == TokenWindowColumns.InputAndTarget
            ? new[] { (TokenWindowDataView.InputColumnName, t), (TokenWindowDataView.TargetColumnName, t) }
            : new[] { (TokenWindowDataView.WindowColumnName, t + 1) };
        return new SchemaShape(columns.Select(c => SchemaShapes.Column(new SchemaShapes.NewColumn(c.Item1, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Int32))));
    }
}
