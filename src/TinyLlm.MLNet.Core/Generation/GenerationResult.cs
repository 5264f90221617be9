namespace TinyLlm.MLNet.Generation;

/// <summary>One generated continuation.</summary>
/// <param name="Text">The generated text, without the prompt.</param>
/// <param name="TokenIds">The generated token ids, without the prompt.</param>
/// <param name="PromptTokens">How many prompt tokens (BOS included) the model saw after cropping to its context.</param>
/// <param name="StoppedAtEndOfText">True when the model ended the story (EOS or BOS) before the token budget ran out.</param>
/// <param name="TokensPerSecond">Generated tokens per second of wall time, the prompt's processing included.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<int> TokenIds, int PromptTokens, bool StoppedAtEndOfText, double TokensPerSecond)
{
    /// <summary>
    /// True when generation stopped because the context was full (prompt and generated tokens filled the model's
    /// MaxSeqLen positions) before the token budget ran out, as llama2.c's run.c stops; see
    /// <see cref="SamplingOptions.SlideContextWindow"/> to go on instead.
    /// </summary>
    public bool StoppedAtContextLength { get; init; }
}
