using TinyLlm.MLNet.Generation;

namespace TinyLlm.Cli.Serving;

/// <summary>How <see cref="OpenAiServer"/> listens, names its model and limits requests.</summary>
internal sealed class OpenAiServerOptions
{
    /// <summary>The address to listen on: an IP address, or <c>localhost</c> (127.0.0.1). Default 127.0.0.1 (this machine only).</summary>
    public string Host = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (see <see cref="OpenAiServer.Address"/>).</summary>
    public int Port = 8080;

    /// <summary>The model's id in <c>/v1/models</c>, responses and the requests' <c>model</c> field.</summary>
    public string ModelId = "tinyllm";

    /// <summary>A request's token budget when it gives none, and the most it may ask for (<c>max_tokens</c>).</summary>
    public int MaxTokens = 256;

    /// <summary>The largest request body accepted, in bytes (413 above).</summary>
    public long MaxRequestBytes = 1 << 20;

    /// <summary>Temperature, top-k and top-p when a request leaves them out (its seed is random unless given).</summary>
    public SamplingOptions Defaults = new();

    /// <summary>Where the one line per request goes (standard error by default).</summary>
    public TextWriter Log = Console.Error;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option (as its command-line flag).</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be between 0 and 65535; it is {Port}.");
        if (MaxTokens < 1) throw new ArgumentException($"--max-tokens must be at least 1; it is {MaxTokens}.");
        if (MaxRequestBytes < 1024) throw new ArgumentException($"--max-request-bytes must be at least 1024; it is {MaxRequestBytes}.");
        if (string.IsNullOrWhiteSpace(ModelId)) throw new ArgumentException("--model-id must not be empty.");
        Defaults.Validate();
    }
}
