namespace TinyLlm.MLNet.Generation;

/// <summary>Options of <see cref="LlamaGenerationTransformer"/>: which columns, how to sample, and where the model runs.</summary>
public sealed class LlamaGenerationOptions
{
    /// <summary>The input text column holding the prompt.</summary>
    public string PromptColumnName = "Text";

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

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Sampling.Validate();
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be at least 1; got {BatchSize}.");
    }

    /// <summary>A deep copy.</summary>
    public LlamaGenerationOptions Clone()
    {
        var copy = (LlamaGenerationOptions)MemberwiseClone();
        copy.Sampling = Sampling.Clone();
        return copy;
    }
}
