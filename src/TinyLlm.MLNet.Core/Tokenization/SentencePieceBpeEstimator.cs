using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Trains a SentencePiece BPE tokenizer on a text column when fitted (see <see cref="SentencePieceBpeTrainer"/>)
/// and returns a <see cref="SentencePieceTokenizerTransformer"/> that maps the column to token ids.
/// </summary>
public sealed class SentencePieceBpeEstimator : IEstimator<SentencePieceTokenizerTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _output;
    private readonly string _input;
    private readonly SentencePieceBpeOptions _options;

    internal SentencePieceBpeEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, SentencePieceBpeOptions? options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        _output = outputColumnName;
        _input = inputColumnName ?? outputColumnName;
        _options = (options ?? new SentencePieceBpeOptions()).Clone();
    }

    /// <summary>Receives training progress (optional).</summary>
    public IProgress<SentencePieceTrainingProgress>? Progress { get; set; }

    /// <summary>Trains the tokenizer on every row's text (each row may hold several lines).</summary>
    public SentencePieceTokenizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var model = SentencePieceBpeTrainer.Train(TextColumn.Read(input, _input), _options, Progress);
        using (var ch = _env.Register(nameof(SentencePieceBpeEstimator)).Start("Training"))
            foreach (var w in model.Warnings) ch.Warning(MessageSensitivity.None, "{0}", w);
        return new SentencePieceTokenizerTransformer(_env, model, _output, _input, _options.AddBeginningOfSentence, _options.AddEndOfSentence);
    }

    /// <summary>Checks that the input column is text and adds the output column, a variable-length vector of Int32.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaErrors.Require(inputSchema, _input, ColumnRule.Text);
        return SchemaShapes.Extend(inputSchema,
            new SchemaShapes.NewColumn(_output, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Int32));
    }
}
