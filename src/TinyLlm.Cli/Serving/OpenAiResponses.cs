using TinyLlm.MLNet.Serving;

namespace TinyLlm.Cli.Serving;

/// <summary>
/// The bodies of OpenAI's completion and chat completion responses, whole and as stream chunks (serialized as they
/// are; null fields are written as null, as OpenAI does).
/// </summary>
internal sealed record OpenAiResponses(string Id, long Created, string Model, bool Chat)
{
    /// <summary>A new response id and creation time for one request.</summary>
    public static OpenAiResponses For(string model, bool chat) =>
        new((chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, chat);

    /// <summary>The whole response.</summary>
    public object Complete(GenerationOutcome outcome) => Chat
        ? new
        {
            id = Id, @object = "chat.completion", created = Created, model = Model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = outcome.Text }, logprobs = (object?)null, finish_reason = FinishReason(outcome) } },
            usage = Usage(outcome),
        }
        : new
        {
            id = Id, @object = "text_completion", created = Created, model = Model,
            choices = new[] { new { index = 0, text = outcome.Text, logprobs = (object?)null, finish_reason = FinishReason(outcome) } },
            usage = Usage(outcome),
        };

    /// <summary>
    /// A stream chunk: a piece of text (<paramref name="finishReason"/> null), or the last one with the finish reason.
    /// A chat stream's first chunk carries the role (<paramref name="role"/>).
    /// </summary>
    public object Chunk(string? text, string? finishReason = null, string? role = null) => Chat
        ? new
        {
            id = Id, @object = "chat.completion.chunk", created = Created, model = Model,
            choices = new[] { new { index = 0, delta = Delta(text, role), logprobs = (object?)null, finish_reason = finishReason } },
        }
        : new
        {
            id = Id, @object = "text_completion", created = Created, model = Model,
            choices = new[] { new { index = 0, text = text ?? "", logprobs = (object?)null, finish_reason = finishReason } },
        };

    /// <summary>The usage chunk a stream ends with when <c>stream_options.include_usage</c> asks for it (no choices).</summary>
    public object UsageChunk(GenerationOutcome outcome) => new
    {
        id = Id, @object = Chat ? "chat.completion.chunk" : "text_completion", created = Created, model = Model,
        choices = Array.Empty<object>(), usage = Usage(outcome),
    };

    /// <summary>"stop" (end of story or a stop sequence) or "length" (the token budget).</summary>
    public static string FinishReason(GenerationOutcome outcome) => outcome.FinishReason == GenerationFinishReason.Length ? "length" : "stop";

    private static Dictionary<string, string> Delta(string? text, string? role)
    {
        var delta = new Dictionary<string, string>();
        if (role is not null) delta["role"] = role;
        if (text is not null) delta["content"] = text;
        return delta;
    }

    private static object Usage(GenerationOutcome outcome) => new
    {
        prompt_tokens = outcome.PromptTokens,
        completion_tokens = outcome.CompletionTokens,
        total_tokens = outcome.PromptTokens + outcome.CompletionTokens,
    };
}
