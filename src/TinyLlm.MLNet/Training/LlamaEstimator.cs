using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// Trains a LLaMA-2 model on a token-id column and returns a <see cref="LlamaGenerationTransformer"/> that maps a
/// prompt to a completion. Appended to <c>TrainSentencePieceBpe</c>, one <c>Fit</c> trains the tokenizer,
/// tokenizes the stories, trains the model and yields the whole prompt-to-story chain.
/// </summary>
public sealed class LlamaEstimator : IEstimator<LlamaGenerationTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly LlamaEstimatorOptions _options;

    /// <summary>Creates the estimator; <c>mlContext.Transforms.Text.TrainLlama</c> is the way in.</summary>
    internal LlamaEstimator(IHostEnvironment env, LlamaEstimatorOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (_options.Segments < 2)
            throw new ArgumentOutOfRangeException(nameof(options), _options.Segments, "Segments must be at least 2 (one for validation, the rest for training).");
    }

    /// <summary>Trains on <paramref name="input"/>'s token-id column.</summary>
    public LlamaGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var tokens = SchemaErrors.Require(input.Schema, _options.TokensColumnName, ColumnRule.TokenIds);
        byte[] tokenizer = _options.TokenizerModel ?? TokenizerAnnotations.TryGetModelBytes(tokens)
            ?? throw new ArgumentException($"Column '{_options.TokensColumnName}' carries no tokenizer model; produce it with TrainSentencePieceBpe or LoadSentencePiece, or set LlamaEstimatorOptions.TokenizerModel.");
        var spm = SentencePieceModel.FromBytes(tokenizer, "the tokenizer model");

        var training = _options.Training.Clone();
        training.VocabSize = spm.VocabSize;
        training.Validate();
        var source = InMemoryTokenBatchSource.FromTokenColumn(input, _options.TokensColumnName, _options.Segments,
            new TokenWindowOptions { SequenceLength = training.MaxSeqLen, Seed = training.Seed });
        var result = new LlamaTrainer(training, _env).Fit(source);
        using var model = result.Model;
        return new LlamaGenerationTransformer(_env, model.ToTransformerWeights(), tokenizer, _options.Generation);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaErrors.Require(inputSchema, _options.TokensColumnName, ColumnRule.TokenIds);
        SchemaErrors.Require(inputSchema, _options.Generation.PromptColumnName, ColumnRule.Text);
        var added = new List<SchemaShapes.NewColumn>
        {
            new(_options.Generation.CompletionColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance),
        };
        if (_options.Generation.TokenIdsColumnName is { } ids)
            added.Add(new(ids, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Int32));
        return SchemaShapes.Extend(inputSchema, added.ToArray());
    }
}
