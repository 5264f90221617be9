namespace TinyLlm.MLNet.Serving;

/// <summary>Why a request stopped generating.</summary>
public enum GenerationFinishReason
{
    /// <summary>The model ended the story (EOS or BOS), or the text reached one of the request's stop sequences.</summary>
    Stop,

    /// <summary>The request's token budget was spent, or the model's context is full (OpenAI's "length").</summary>
    Length,
}
