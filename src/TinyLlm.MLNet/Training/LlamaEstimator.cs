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

    /// <summary>Trains on <paramref name="input"/>'s token-id column.</summary>
    public LlamaGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate(); // the options are fields: they may have changed since the estimator was made
        var tokens = SchemaErrors.Require(input.Schema, _options.TokensColumnName, ColumnRule.TokenIds);
        byte[] tokenizer = _options.TokenizerModel ?? TokenizerAnnotations.TryGetModelBytes(tokens)
            ?? throw new ArgumentException($"Column '{_options.TokensColumnName}' carries no tokenizer model; produce it with TrainSentencePieceBpe or LoadSentencePiece, or set LlamaEstimatorOptions.TokenizerModel.");
        var spm = SentencePieceModel.FromBytes(tokenizer, "the tokenizer model");
        var generation = _options.Generation.Clone();
        generation.PromptColumnName ??= TokenizerAnnotations.TryGetSourceColumn(tokens) ?? LlamaGenerationOptions.DefaultPromptColumnName;
        SchemaErrors.RequireText(input.Schema, generation.PromptColumnName);

        var training = _options.Training.Clone();
        training.VocabSize = spm.VocabSize;
        training.Validate();
        InMemoryTokenBatchSource source;
        try
        {
            source = InMemoryTokenBatchSource.FromTokenColumn(input, _options.TokensColumnName, _options.Segments,
                new TokenWindowOptions { SequenceLength = training.MaxSeqLen, Seed = training.Seed });
        }
        catch (InvalidDataException e) when (TooFewTokens.TryRead(e, out int segment, out long count, out int seqLen))
        {
            throw new ArgumentException(
                $"Too few tokens to train on: the '{_options.TokensColumnName}' column is cut into Segments = {_options.Segments} parts at story boundaries " +
                $"(part 0 is the validation split), and part {segment} holds {count:N0} tokens, fewer than the {2L * seqLen:N0} that windows of " +
                $"Training.MaxSeqLen = {seqLen} need. Give more stories, a smaller Training.MaxSeqLen, or fewer Segments.", e);
        }
        var result = new LlamaTrainer(training, _env).Fit(source, _options.Progress);
        using var model = result.Model;
        return new LlamaGenerationTransformer(_env, model.ToTransformerWeights(), tokenizer, generation) { Training = result.ToSummary() };
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaErrors.Require(inputSchema, _options.TokensColumnName, ColumnRule.TokenIds);
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
