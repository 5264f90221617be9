namespace TinyLlm.MLNet.Serving;

/// <summary>What one request generated.</summary>
/// <param name="Text">The generated text, without the prompt (cut before a stop sequence when one was reached).</param>
/// <param name="TokenIds">The generated token ids (without the EOS or BOS that ended the story).</param>
/// <param name="FinishReason">Why generation stopped.</param>
/// <param name="PromptTokens">The prompt's length in tokens, BOS included.</param>
/// <param name="QueueTime">From submission to a free slot.</param>
/// <param name="TimeToFirstToken">From submission to the first generated token (the queue and the prompt's prefill included).</param>
/// <param name="Duration">From submission to the end.</param>
public sealed record GenerationOutcome(string Text, IReadOnlyList<int> TokenIds, GenerationFinishReason FinishReason, int PromptTokens,
    TimeSpan QueueTime, TimeSpan TimeToFirstToken, TimeSpan Duration)
{
    /// <summary>How many tokens were generated.</summary>
    public int CompletionTokens => TokenIds.Count;
}
