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

    /// <summary>
    /// Trains on <paramref name="input"/>'s token-id column, or, when fine-tuning a model that carries its tokenizer,
    /// on its text column tokenized with that tokenizer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No usable column (ML.NET's schema error wording).</exception>
    /// <exception cref="ArgumentException">No tokenizer, options out of range, or data tokenized with another tokenizer than the initial model's.</exception>
    public LlamaGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var training = _options.Training.Clone();
        training.Validate();
        var initial = InitialModelOf(training);
        bool fromText = initial?.TokenizerModel is not null && input.Schema.GetColumnOrNull(_options.TokensColumnName) is null;
        byte[] tokenizer;
        InMemoryTokenBatchSource source;
        if (fromText)
        {
            tokenizer = initial!.TokenizerModel!;
            var stories = TextColumn.Read(input, _options.TextColumnName);
            var writer = new TokenShardWriter(tokenizer);
            source = InMemoryTokenBatchSource.FromStories(stories.Select(writer.EncodeStory), $"column '{_options.TextColumnName}'", _options.Segments, Windows(training, initial));
            source.Tokenizer = initial.Tokenizer;
        }
        else
        {
            var tokens = SchemaErrors.Require(input.Schema, _options.TokensColumnName, ColumnRule.TokenIds);
            tokenizer = _options.TokenizerModel ?? TokenizerAnnotations.TryGetModelBytes(tokens) ?? initial?.TokenizerModel
                ?? throw new ArgumentException($"Column '{_options.TokensColumnName}' carries no tokenizer model; produce it with TrainSentencePieceBpe or LoadSentencePiece, or set LlamaEstimatorOptions.TokenizerModel.");
            var fingerprint = TokenizerFingerprint.Of(SentencePieceModel.FromBytes(tokenizer, "the tokenizer model"));
            if (initial?.Tokenizer.Mismatch(fingerprint, initial.Description, $"column '{_options.TokensColumnName}'") is { } why)
                throw new ArgumentException($"{why} Tokenize the data with the initial model's tokenizer (or give the text and leave the tokens out).");
            if (initial is null) training.VocabSize = fingerprint.VocabSize;
            source = InMemoryTokenBatchSource.FromTokenColumn(input, _options.TokensColumnName, _options.Segments, Windows(training, initial));
            source.Tokenizer = fingerprint;
        }
        var trainer = initial is null ? new LlamaTrainer(training, _env) : new LlamaTrainer(training, initial, _env);
        var result = trainer.Fit(source);
        using var model = result.Model;
        return new LlamaGenerationTransformer(_env, model.ToTransformerWeights(), tokenizer, _options.Generation);
    }

    /// <summary>The model to fine-tune: <see cref="LlamaEstimatorOptions.InitialModel"/>, or the one <c>init_from</c> names; null from scratch or on resume.</summary>
    private InitialModel? InitialModelOf(TrainingOptions training)
    {
        if (_options.InitialModel is { } given)
        {
            if (training.InitFrom != "scratch")
                throw new ArgumentException($"LlamaEstimatorOptions.InitialModel is set and Training.InitFrom is '{training.InitFrom}': give the model to fine-tune one way, and leave InitFrom at 'scratch'.");
            return InitialModel.From(given);
        }
        return training.InitFromModel ? InitialModel.Read(training.InitFrom) : null;
    }

    // The windows of the initial model's context unless the options name another length.
    private static TokenWindowOptions Windows(TrainingOptions training, InitialModel? initial) => new()
    {
        SequenceLength = initial is not null && training.MaxSeqLen == new TrainingOptions().MaxSeqLen ? initial.Weights.Config.MaxSeqLen : training.MaxSeqLen,
        Seed = training.Seed,
    };

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        // Fine-tuning reads the text when there are no token ids: the initial model tokenizes it.
        bool fineTuning = _options.InitialModel is not null || _options.Training.InitFromModel;
        if (!fineTuning || inputSchema.Any(c => c.Name == _options.TokensColumnName))
            SchemaErrors.Require(inputSchema, _options.TokensColumnName, ColumnRule.TokenIds);
        else
            SchemaErrors.Require(inputSchema, _options.TextColumnName, ColumnRule.Text);
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
