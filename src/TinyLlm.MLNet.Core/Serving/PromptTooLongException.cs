namespace TinyLlm.MLNet.Serving;

/// <summary>A prompt that does not leave room in the model's context for a single new token.</summary>
public sealed class PromptTooLongException : ArgumentException
{
    /// <summary>Creates the exception for a prompt of <paramref name="promptTokens"/> tokens and a context of <paramref name="contextLength"/>.</summary>
    public PromptTooLongException(int promptTokens, int contextLength, string? paramName = "prompt")
        : base($"The prompt is {promptTokens} tokens (BOS included) but the model's context is {contextLength}: at most {contextLength - 1} prompt tokens leave room for the first new one. Shorten the prompt.", paramName)
    {
        PromptTokens = promptTokens;
        ContextLength = contextLength;
    }

    /// <summary>The prompt's length in tokens, BOS included.</summary>
    public int PromptTokens { get; }

    /// <summary>The model's context length.</summary>
    public int ContextLength { get; }
}
