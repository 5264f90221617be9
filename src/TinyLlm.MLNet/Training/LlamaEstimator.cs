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
/// tokenizes the stories, trains the model and yields the whole prompt-to-story chain. Every option is checked when
/// the estimator is made and again when <c>Fit</c> starts, before any training; progress goes to
/// <see cref="LlamaEstimatorOptions.Progress"/> and the run's result to <see cref="LlamaGenerationTransformer.Training"/>.
/// </summary>
public sealed class LlamaEstimator : IEstimator<LlamaGenerationTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly LlamaEstimatorOptions _options;

    /// <summary>Creates the estimator; <c>mlContext.Transforms.Text.TrainLlama</c> is the way in.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    internal LlamaEstimator(IHostEnvironment env, LlamaEstimatorOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
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
        _options.Validate(); // the options are fields: they may have changed since the estimator was made
        var training = _options.Training.Clone();
        training.Validate();
        var initial = InitialModelOf(training);
        // Fine-tuning a model that carries its tokenizer reads the text when there are no token ids.
        bool fromText = initial?.TokenizerModel is not null && input.Schema.GetColumnOrNull(_options.TokensColumnName) is null;
        var tokens = fromText ? (DataViewSchema.Column?)null : SchemaErrors.Require(input.Schema, _options.TokensColumnName, ColumnRule.TokenIds);
        byte[] tokenizer = fromText ? initial!.TokenizerModel! : _options.TokenizerModel ?? TokenizerAnnotations.TryGetModelBytes(tokens!.Value) ?? initial?.TokenizerModel
            ?? throw new ArgumentException($"Column '{_options.TokensColumnName}' carries no tokenizer model; produce it with TrainSentencePieceBpe or LoadSentencePiece, or set LlamaEstimatorOptions.TokenizerModel.");
        // Every column is checked before training: nothing is found wrong after the model has trained.
        var generation = _options.Generation.Clone();
        generation.PromptColumnName ??= (fromText ? _options.TextColumnName : TokenizerAnnotations.TryGetSourceColumn(tokens!.Value)) ?? LlamaGenerationOptions.DefaultPromptColumnName;
        SchemaErrors.RequireText(input.Schema, generation.PromptColumnName);

        string column = fromText ? _options.TextColumnName : _options.TokensColumnName;
        InMemoryTokenBatchSource source;
        try
        {
            if (fromText)
            {
                var writer = new TokenShardWriter(tokenizer);
                var stories = TextColumn.Read(input, _options.TextColumnName);
                source = InMemoryTokenBatchSource.FromStories(stories.Select(writer.EncodeStory), $"column '{_options.TextColumnName}'", _options.Segments, Windows(training, initial));
                source.Tokenizer = initial!.Tokenizer;
            }
            else
            {
                var fingerprint = TokenizerFingerprint.Of(SentencePieceModel.FromBytes(tokenizer, "the tokenizer model"));
                if (initial?.Tokenizer.Mismatch(fingerprint, initial.Description, $"column '{_options.TokensColumnName}'") is { } why)
                    throw new ArgumentException($"{why} Tokenize the data with the initial model's tokenizer (or give the text and leave the tokens out).");
                if (initial is null) training.VocabSize = fingerprint.VocabSize;
                source = InMemoryTokenBatchSource.FromTokenColumn(input, _options.TokensColumnName, _options.Segments, Windows(training, initial));
                source.Tokenizer = fingerprint;
            }
        }
        catch (InvalidDataException e) when (TooFewTokens.TryRead(e, out int segment, out long count, out int seqLen))
        {
            throw new ArgumentException(
                $"Too few tokens to train on: the '{column}' column is cut into Segments = {_options.Segments} parts at story boundaries " +
                $"(part 0 is the validation split), and part {segment} holds {count:N0} tokens, fewer than the {2L * seqLen:N0} that windows of " +
                $"Training.MaxSeqLen = {seqLen} need. Give more stories, a smaller Training.MaxSeqLen, or fewer Segments.", e);
        }
        var trainer = initial is null ? new LlamaTrainer(training, _env) : new LlamaTrainer(training, initial, _env);
        var result = trainer.Fit(source, _options.Progress);
        using var model = result.Model;
        return new LlamaGenerationTransformer(_env, model.ToTransformerWeights(), tokenizer, generation) { Training = result.ToSummary() };
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
        // Without a prompt column named, Fit takes the one the tokenizer read (it checked that column itself).
        if (_options.Generation.PromptColumnName is { } prompt)
            SchemaErrors.Require(inputSchema, prompt, ColumnRule.Text);
        var added = new List<SchemaShapes.NewColumn>
        {
            new(_options.Generation.CompletionColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance),
        };
        if (_options.Generation.TokenIdsColumnName is { } ids)
            added.Add(new(ids, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Int32));
        return SchemaShapes.Extend(inputSchema, added.ToArray());
    }
}
