using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet.Serving;

/// <summary>Options of <see cref="TinyLlmChatClient"/>.</summary>
public sealed class TinyLlmChatClientOptions
{
    /// <summary>The model's name in responses and in <c>ChatClientMetadata.DefaultModelId</c>. Default "tinyllm".</summary>
    public string ModelId = "tinyllm";

    /// <summary>
    /// What a request's <c>ChatOptions</c> leave unset: temperature, top-k, top-p and the token budget
    /// (<see cref="SamplingOptions.MaxNewTokens"/>); the seed too when <see cref="RandomSeed"/> is false. The client
    /// built over a generation transformer starts from its options.
    /// </summary>
    public SamplingOptions Sampling = new();

    /// <summary>
    /// For a request without <c>ChatOptions.Seed</c>: true (default) draws a random seed, as OpenAI's API does (the
    /// response's <c>AdditionalProperties["seed"]</c> says which, to reproduce it); false uses <see cref="Sampling"/>'s
    /// seed, so the same request always gives the same text.
    /// </summary>
    public bool RandomSeed = true;

    /// <summary>How many requests generate together and how many may wait.</summary>
    public GenerationSchedulerOptions Scheduler = new();

    /// <summary>A deep copy.</summary>
    public TinyLlmChatClientOptions Clone()
    {
        var copy = (TinyLlmChatClientOptions)MemberwiseClone();
        copy.Sampling = Sampling.Clone();
        copy.Scheduler = Scheduler.Clone();
        return copy;
    }
}
