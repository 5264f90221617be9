namespace TinyLlm.MLNet.Generation;

/// <summary>Options of <see cref="LlamaGenerationTransformer"/>: which columns, and how to sample.</summary>
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

    /// <summary>A deep copy.</summary>
    public LlamaGenerationOptions Clone()
    {
        var copy = (LlamaGenerationOptions)MemberwiseClone();
        copy.Sampling = Sampling.Clone();
        return copy;
    }
}
