using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>Options of <see cref="LlamaGenerationTransformer"/>: which columns, how to sample, and where the model runs.</summary>
public sealed class LlamaGenerationOptions
{
    /// <summary>
    /// The input text column holding the prompt. Null (the default) means the column the tokenizer was fitted on when
    /// <c>TrainLlama</c> follows <c>TrainSentencePieceBpe</c> or <c>LoadSentencePiece</c> (its token column says which),
    /// and <see cref="DefaultPromptColumnName"/> otherwise.
    /// </summary>
    public string? PromptColumnName;

    /// <summary>The prompt column when nothing names another: <c>Text</c>.</summary>
    public const string DefaultPromptColumnName = "Text";

    /// <summary>The output text column with the generated continuation.</summary>
    public string CompletionColumnName = "Completion";

    /// <summary>If set, an output column (variable-length vector of Int32) with the generated token ids.</summary>
    public string? TokenIdsColumnName;

    /// <summary>Whether <see cref="CompletionColumnName"/> starts with the prompt (the whole story) or holds only the continuation.</summary>
    public bool IncludePromptInCompletion;

    /// <summary>
    /// Temperature, top-k, top-p, seed and token budget. The n-th row a cursor (or a <c>PredictionEngine</c>)
    /// generates is sampled with <c>Seed + n</c>, so runs are reproducible and repeated prompts differ.
    /// </summary>
    public SamplingOptions Sampling = new();

    /// <summary>
    /// Which implementation runs the model: <see cref="GenerationBackend.Auto"/> (default: TorchSharp on CUDA when the
    /// TinyLlm.MLNet package is present and a GPU is visible, else the .NET engine), <see cref="GenerationBackend.Engine"/>
    /// or <see cref="GenerationBackend.TorchSharp"/>. Saved with the model.
    /// </summary>
    public GenerationBackend Backend = GenerationBackend.Auto;

    /// <summary>Where the model runs: <c>auto</c> (default: <c>cuda</c> when visible, else <c>cpu</c>), <c>cpu</c> or <c>cuda</c>. Saved with the model.</summary>
    public string Device = "auto";

    /// <summary>
    /// How many rows a cursor over <c>Transform</c>'s output completes together, as one batch (each decoding step
    /// reads the weights once for all of them; the KV cache grows with it). 1 generates row by row. Results do not
    /// depend on it: row n is sampled with <c>Seed + n</c> either way. A <c>PredictionEngine</c> always scores
    /// one row at a time.
    /// </summary>
    public int BatchSize = 4;

    /// <summary>
    /// How the inference engine stores the weight matrices: <see cref="Engine.WeightFormat.Float32"/>,
    /// <see cref="Engine.WeightFormat.BFloat16"/> (half the memory, weights rounded) or
    /// <see cref="Engine.WeightFormat.Q8_0"/> (about a quarter, int8 groups; usually the fastest). Null keeps the
    /// weights as they were given or loaded (fp32, or Q8_0 for a llama2.c v2 file). Applied when the transformer is
    /// built; weights already in the requested format are kept as they are (a v2 file keeps its own group size). The
    /// model zip records the storage the engine ran with, and a reloaded model runs on the same.
    /// </summary>
    public WeightFormat? WeightFormat;

    /// <summary>
    /// For <see cref="Engine.WeightFormat.Q8_0"/>: the largest group size (weights per scale) to use; it is halved
    /// until it divides dim and hidden_dim, as llama2.c's export.py does (64 gives 32 for dim 288).
    /// </summary>
    public int QuantizationGroupSize = 64;

    /// <summary><paramref name="weights"/> stored as <see cref="WeightFormat"/> asks (the same object if they already are).</summary>
    internal TransformerWeights ApplyWeightFormat(TransformerWeights weights)
    {
        if (WeightFormat is not { } format || format == weights.Format) return weights;
        if (QuantizationGroupSize < 1)
            throw new ArgumentOutOfRangeException(nameof(QuantizationGroupSize), $"QuantizationGroupSize must be at least 1; it was {QuantizationGroupSize}.");
        int groupSize = format == Engine.WeightFormat.Q8_0 ? Interop.Llama2cQ8Checkpoint.FitGroupSize(weights.Config, QuantizationGroupSize) : 0;
        return weights.Convert(format, groupSize);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Sampling.Validate();
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"BatchSize must be at least 1; it is {BatchSize}.");
        if (QuantizationGroupSize < 1)
            throw new ArgumentOutOfRangeException(nameof(QuantizationGroupSize), $"QuantizationGroupSize must be at least 1; it is {QuantizationGroupSize}.");
    }

    /// <summary>A deep copy.</summary>
    public LlamaGenerationOptions Clone()
    {
        var copy = (LlamaGenerationOptions)MemberwiseClone();
        copy.Sampling = Sampling.Clone();
        return copy;
    }
}
