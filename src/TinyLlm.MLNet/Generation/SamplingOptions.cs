namespace TinyLlm.MLNet.Generation;

/// <summary>How tokens are drawn from the model's next-token distribution.</summary>
public sealed class SamplingOptions
{
    /// <summary>Divides the logits before the softmax; 0 picks the most likely token (greedy). Default 1.0.</summary>
    public float Temperature = 1.0f;

    /// <summary>Keep only the k most likely tokens (at least 1; the vocabulary size or more keeps all). The tutorial's sample.py uses 300.</summary>
    public int TopK = 300;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches p; 1 = off. In (0, 1].</summary>
    public float TopP = 1.0f;

    /// <summary>Seed of the sampler's random numbers; the same seed gives the same tokens.</summary>
    public ulong Seed = 1337;

    /// <summary>Number of tokens to generate after the prompt (fewer if the model ends the story). At least 1.</summary>
    public int MaxNewTokens = 256;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"temperature (--temperature) must be 0 (greedy) or a positive number; it is {Temperature}.");
        if (TopK < 1)
            throw new ArgumentOutOfRangeException(nameof(TopK), $"top_k (--top-k) must be at least 1 (a value at or above the vocabulary size keeps every token); it is {TopK}.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), $"top_p (--top-p) must be in (0, 1]; it is {TopP}.");
        if (MaxNewTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"max_new_tokens (--max-new-tokens) must be at least 1; it is {MaxNewTokens}.");
    }

    /// <summary>A copy.</summary>
    public SamplingOptions Clone() => (SamplingOptions)MemberwiseClone();
}
