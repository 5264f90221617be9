namespace TinyLlm.MLNet.Generation;

/// <summary>How tokens are drawn from the model's next-token distribution.</summary>
public sealed class SamplingOptions
{
    /// <summary>
    /// Divides the logits before the softmax; 0 picks the most likely token (greedy), and so does any temperature below
    /// <see cref="GreedyBelow"/> (a subnormal number, say), whose division would leave nothing but infinities. Default 1.0.
    /// </summary>
    public float Temperature = 1.0f;

    /// <summary>Temperatures below this (1e-5) sample greedily, exactly as 0 does.</summary>
    public const float GreedyBelow = 1e-5f;

    /// <summary>Keep only the k most likely tokens (at least 1; the vocabulary size or more keeps all). The tutorial's sample.py uses 300.</summary>
    public int TopK = 300;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches p; 1 = off. In (0, 1].</summary>
    public float TopP = 1.0f;

    /// <summary>Seed of the sampler's random numbers; the same seed gives the same tokens.</summary>
    public ulong Seed = 1337;

    /// <summary>
    /// Number of tokens to generate after the prompt (fewer if the model ends the story, or when the context is full).
    /// At least 1.
    /// </summary>
    public int MaxNewTokens = 256;

    /// <summary>
    /// What happens when prompt and story fill the model's context (MaxSeqLen positions) before
    /// <see cref="MaxNewTokens"/>: false (the default) stops there, as llama2.c's run.c does, and says so in
    /// <see cref="GenerationResult.StoppedAtContextLength"/>; true goes on conditioned on the most recent half of the
    /// context (a window that slides by half a context at a time), never on positions the model was not trained for.
    /// </summary>
    public bool SlideContextWindow;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"Temperature must be 0 (greedy) or a positive number; it is {Temperature}.");
        if (TopK < 1)
            throw new ArgumentOutOfRangeException(nameof(TopK), $"TopK must be at least 1 (a value at or above the vocabulary size keeps every token); it is {TopK}.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), $"TopP must be in (0, 1]; it is {TopP}.");
        if (MaxNewTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"MaxNewTokens must be at least 1; it is {MaxNewTokens}.");
    }

    /// <summary>A copy.</summary>
    public SamplingOptions Clone() => (SamplingOptions)MemberwiseClone();
}
