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
}
