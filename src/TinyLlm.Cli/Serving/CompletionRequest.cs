using System.Text.Json;
using Microsoft.Extensions.AI;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Serving;

namespace TinyLlm.Cli.Serving;

/// <summary>
/// What an OpenAI completion (<c>/v1/completions</c>) or chat completion (<c>/v1/chat/completions</c>) request asks
/// for, read from its JSON body and checked field by field: a bad field is an <see cref="OpenAiError"/> naming it.
/// Fields this server has no use for (<c>user</c>, <c>metadata</c>, <c>store</c> ...) are ignored; fields that would
/// change the answer in a way it cannot honour (<c>n</c> above 1, penalties, tools, log probabilities) are refused
/// unless they have their neutral value.
/// </summary>
internal sealed record CompletionRequest(string Prompt, SamplingOptions Sampling, string[] Stop, bool Stream, bool IncludeUsage)
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>Reads a request body; <paramref name="chat"/> for the chat completion endpoint.</summary>
    /// <exception cref="OpenAiError">A field is missing, of the wrong type or out of range (400), or names another model (404).</exception>
    public static CompletionRequest Parse(JsonElement body, bool chat, OpenAiServerOptions server)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new OpenAiError(400, $"The request body must be a JSON object; it is {Describe(body)}.");
        if (Field(body, "model") is { } model)
        {
            string name = Text(model, "model");
            if (name != server.ModelId)
                throw new OpenAiError(404, $"The model '{name}' does not exist; this server serves '{server.ModelId}' (GET /v1/models).", "model", "model_not_found");
        }
        RefuseUnsupported(body, chat);
        string prompt = chat ? PromptOfMessages(body) : PromptOf(body);
        var sampling = SamplingOf(body, chat, server);
        string[] stop = StopOf(body);
        bool stream = Field(body, "stream") is { } s && Flag(s, "stream");
        bool usage = Field(body, "stream_options") is { } options && IncludeUsageOf(options);
        return new CompletionRequest(prompt, sampling, stop, stream, usage);
    }

    private static string PromptOf(JsonElement body)
    {
        var prompt = Field(body, "prompt") ?? throw OpenAiError.BadField("prompt", "prompt is required: the text to continue.");
        if (prompt.ValueKind == JsonValueKind.String) return prompt.GetString()!;
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            return prompt[0].GetString()!;
        throw OpenAiError.BadField("prompt", $"prompt must be a string (or an array of one string); it is {Describe(prompt)}. Token arrays and several prompts per request are not supported.");
    }

    private static string PromptOfMessages(JsonElement body)
    {
        var messages = Field(body, "messages") ?? throw OpenAiError.BadField("messages", "messages is required: an array of {role, content} objects.");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw OpenAiError.BadField("messages", $"messages must be a non-empty array of {{role, content}} objects; it is {Describe(messages)}.");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object) throw OpenAiError.BadField(at, $"{at} must be an object with role and content; it is {Describe(message)}.");
            string role = Text(Field(message, "role") ?? throw OpenAiError.BadField($"{at}.role", $"{at}.role is required."), $"{at}.role");
            if (!Roles.Contains(role))
                throw OpenAiError.BadField($"{at}.role", $"{at}.role must be one of {string.Join(", ", Roles)}; it is '{role}'.");
            list.Add(new ChatMessage(new ChatRole(role), ContentText(Field(message, "content"), $"{at}.content")));
        }
        return ChatPrompt.FromMessages(list);
    }

    // A message's content: a string, or an array of text parts ({"type": "text", "text": ...}); null is no text.
    private static string ContentText(JsonElement? content, string at)
    {
        if (content is not { } c) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw OpenAiError.BadField(at, $"{at} must be a string or an array of text parts; it is {Describe(c)}.");
        var text = new System.Text.StringBuilder();
        int i = 0;
        foreach (var part in c.EnumerateArray())
        {
            string partAt = $"{at}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object || Field(part, "type") is not { ValueKind: JsonValueKind.String } type || type.GetString() != "text")
                throw OpenAiError.BadField(partAt, $"{partAt} must be a text part ({{\"type\": \"text\", \"text\": ...}}); TinyLlm models read text only.");
            text.Append(Text(Field(part, "text") ?? throw OpenAiError.BadField($"{partAt}.text", $"{partAt}.text is required."), $"{partAt}.text"));
        }
        return text.ToString();
    }

    private static SamplingOptions SamplingOf(JsonElement body, bool chat, OpenAiServerOptions server)
    {
        var sampling = server.Defaults.Clone();
        sampling.MaxNewTokens = server.MaxTokens;
        sampling.Seed = (ulong)Random.Shared.NextInt64(long.MaxValue);
        try
        {
            // Chat clients now send max_completion_tokens (max_tokens is its deprecated name there).
            foreach (string name in chat ? new[] { "max_tokens", "max_completion_tokens" } : ["max_tokens"])
                if (Field(body, name) is { } max) sampling.MaxNewTokens = SamplingChecks.MaxTokens(Integer(max, name), name, server.MaxTokens);
            if (Field(body, "temperature") is { } temperature) sampling.Temperature = SamplingChecks.Temperature(Number(temperature, "temperature"), "temperature");
            if (Field(body, "top_p") is { } topP) sampling.TopP = SamplingChecks.TopP(Number(topP, "top_p"), "top_p");
            if (Field(body, "top_k") is { } topK) sampling.TopK = SamplingChecks.TopK(Integer(topK, "top_k"), "top_k");
            if (Field(body, "seed") is { } seed) sampling.Seed = SamplingChecks.Seed(Integer(seed, "seed"), "seed");
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw OpenAiError.BadField(e.ParamName!, e.Message.Split(" (Parameter '")[0]);
        }
        return sampling;
    }

    private static string[] StopOf(JsonElement body)
    {
        if (Field(body, "stop") is not { } stop) return [];
        string[] stops = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array => stop.EnumerateArray().Select((s, i) => Text(s, $"stop[{i}]")).ToArray(),
            _ => throw OpenAiError.BadField("stop", $"stop must be a string or an array of strings; it is {Describe(stop)}."),
        };
        if (stops.Length > 4) throw OpenAiError.BadField("stop", $"stop takes at most 4 sequences; it has {stops.Length}.");
        if (stops.Any(s => s.Length == 0)) throw OpenAiError.BadField("stop", "stop sequences must not be empty.");
        return stops;
    }

    private static bool IncludeUsageOf(JsonElement options)
    {
        if (options.ValueKind != JsonValueKind.Object)
            throw OpenAiError.BadField("stream_options", $"stream_options must be an object; it is {Describe(options)}.");
        return Field(options, "include_usage") is { } include && Flag(include, "stream_options.include_usage");
    }

    // Fields that change the answer in ways this server cannot honour: accepted only with their neutral value.
    private static void RefuseUnsupported(JsonElement body, bool chat)
    {
        Neutral(body, "n", e => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n) && n == 1, "one choice per request (n = 1).");
        Neutral(body, "presence_penalty", IsZero, "the sampler has no penalties (0 only).");
        Neutral(body, "frequency_penalty", IsZero, "the sampler has no penalties (0 only).");
        Neutral(body, "logit_bias", e => e.ValueKind == JsonValueKind.Object && !e.EnumerateObject().Any(), "no logit biases.");
        Neutral(body, "logprobs", e => e.ValueKind == JsonValueKind.False || IsZero(e), "no log probabilities.");
        Neutral(body, "top_logprobs", IsZero, "no log probabilities.");
        if (chat)
        {
            Neutral(body, "tools", IsEmptyArray, "TinyLlm models do not call tools.");
            Neutral(body, "functions", IsEmptyArray, "TinyLlm models do not call tools.");
            Neutral(body, "response_format", e => e.ValueKind == JsonValueKind.Object && Field(e, "type") is { ValueKind: JsonValueKind.String } t && t.GetString() == "text",
                "TinyLlm models write plain text only ({\"type\": \"text\"}).");
        }
        else
        {
            Neutral(body, "best_of", e => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n) && n == 1, "one candidate per request (best_of = 1).");
            Neutral(body, "echo", e => e.ValueKind == JsonValueKind.False, "the prompt is not echoed (false only).");
            Neutral(body, "suffix", e => e.ValueKind == JsonValueKind.String && e.GetString() == "", "no insertion (suffix).");
        }
    }

    private static void Neutral(JsonElement body, string name, Func<JsonElement, bool> isNeutral, string why)
    {
        if (Field(body, name) is { } value && !isNeutral(value)) throw OpenAiError.Unsupported(name, why);
    }

    private static bool IsZero(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.GetDouble() == 0;

    private static bool IsEmptyArray(JsonElement e) => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 0;

    /// <summary>The field's value; null when absent or JSON null (OpenAI clients send null for "unset").</summary>
    private static JsonElement? Field(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw OpenAiError.BadField(name, $"{name} must be a string; it is {Describe(e)}.");

    private static double Number(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw OpenAiError.BadField(name, $"{name} must be a number; it is {Describe(e)}.");

    private static long Integer(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long value) ? value
        : throw OpenAiError.BadField(name, $"{name} must be an integer; it is {Describe(e)}.");

    private static bool Flag(JsonElement e, string name) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw OpenAiError.BadField(name, $"{name} must be true or false; it is {Describe(e)}."),
    };

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Shorten(e.GetString()!)}\"",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
        _ => "null",
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
