using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Training;

/// <summary>Options of <see cref="LlamaEstimator"/>: the training run, and how the fitted model generates.</summary>
public sealed class LlamaEstimatorOptions
{
    /// <summary>The token-id column (a variable-length Int32 vector per story, BOS first), e.g. from <c>TrainSentencePieceBpe</c>.</summary>
    public string TokensColumnName = "Tokens";

    /// <summary>
    /// The SentencePiece <c>.model</c> bytes of the tokenizer that made <see cref="TokensColumnName"/>. Null to take
    /// them from the column's annotation, which <c>TrainSentencePieceBpe</c>/<c>LoadSentencePiece</c> set.
    /// </summary>
    public byte[]? TokenizerModel;

    /// <summary>
    /// Every training hyperparameter (llama2.c's train.py names). <see cref="TrainingOptions.VocabSize"/> is set
    /// from the tokenizer and <see cref="TrainingOptions.MaxSeqLen"/> sets the window length. The defaults are the
    /// tutorial's GPU run (see <see cref="TrainingOptions"/>: about 75 days on a 2-core CPU); <c>Fit</c> writes no file
    /// unless <see cref="TrainingOptions.OutDir"/> is set.
    /// </summary>
    public TrainingOptions Training = new();

    /// <summary>
    /// The tokenized stories are cut into this many segments at story boundaries; segment 0 is the validation
    /// split, as shard 0 is in llama2.c.
    /// </summary>
    public int Segments = 10;

    /// <summary>
    /// Columns and sampling of the fitted generation transformer. Its prompt column defaults to the column the
    /// tokenizer was fitted on.
    /// </summary>
    public LlamaGenerationOptions Generation = new();

    /// <summary>
    /// A model to fine-tune instead of training from scratch: a fitted TinyLlm model, or a chain ending in one such as
    /// a zip loaded with <c>mlContext.Model.Load</c>. Training starts from its weights and shape with a new optimizer,
    /// schedule and iteration count, and its tokenizer is the one the data must be (or, from
    /// <see cref="TextColumnName"/>, is) tokenized with. <see cref="TrainingOptions.InitFrom"/> set to a model path
    /// does the same from a file.
    /// </summary>
    public ITransformer? InitialModel;

    /// <summary>
    /// When fine-tuning and the input has no <see cref="TokensColumnName"/> column: the text column (one story per
    /// row) to tokenize with the initial model's tokenizer, as pretokenize does (stripped, BOS first).
    /// </summary>
    public string TextColumnName = "Text";

    /// <summary>
    /// Receives the training's progress from <c>Fit</c>: each step's loss and speed, each evaluation, each checkpoint
    /// (as the tokenizer estimator's <c>Progress</c> does). ML.NET's log channel gets the same lines.
    /// </summary>
    public IProgress<TrainingProgress>? Progress;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first option out of range: the training and generation
    /// options included, so that nothing is found wrong after the model has trained.
    /// </summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(TokensColumnName))
            throw new ArgumentException("TokensColumnName must name the token-id column.", nameof(TokensColumnName));
        if (Segments < 2)
            throw new ArgumentOutOfRangeException(nameof(Segments), $"Segments must be at least 2 (one for validation, the rest for training); it is {Segments}.");
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        ArgumentNullException.ThrowIfNull(Generation, nameof(Generation));
        // VocabSize comes from the tokenizer at Fit; every other training option is checked as it is.
        var training = Training.Clone();
        training.VocabSize = Math.Max(1, training.VocabSize);
        training.Validate();
        Generation.Validate();
        if (TokenizerModel is not null) SentencePieceModel.FromBytes(TokenizerModel, nameof(TokenizerModel));
    }
}
