namespace TinyLlm.Cli.Serving;

/// <summary>
/// A request the server refuses, as the HTTP status and OpenAI's error object
/// (<c>{"error": {"message", "type", "param", "code"}}</c>): <c>param</c> names the offending request field.
/// </summary>
internal sealed class OpenAiError(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    /// <summary>The HTTP status code.</summary>
    public int Status { get; } = status;

    /// <summary>The request field at fault, if one is.</summary>
    public string? Param { get; } = param;

    /// <summary>The response body.</summary>
    public object Body => new { error = new { message = Message, type, param = Param, code } };

    /// <summary>400: a field of the request is missing, of the wrong type or out of range.</summary>
    public static OpenAiError BadField(string field, string message) => new(400, message, field);

    /// <summary>400 for a field that only has its neutral value here.</summary>
    public static OpenAiError Unsupported(string field, string why) => new(400, $"{field} is not supported by this server: {why}", field, "unsupported_parameter");
}
