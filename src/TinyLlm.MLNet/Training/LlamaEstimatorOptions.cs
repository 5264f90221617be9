using Microsoft.ML;
using TinyLlm.MLNet.Generation;

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
    /// from the tokenizer and <see cref="TrainingOptions.MaxSeqLen"/> sets the window length.
    /// </summary>
    public TrainingOptions Training = new();

    /// <summary>
    /// The tokenized stories are cut into this many segments at story boundaries; segment 0 is the validation
    /// split, as shard 0 is in llama2.c.
    /// </summary>
    public int Segments = 10;

    /// <summary>Columns and sampling of the fitted generation transformer.</summary>
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
}
