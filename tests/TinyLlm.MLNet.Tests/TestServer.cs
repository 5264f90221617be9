using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TinyLlm.Cli.Serving;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Serving;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// <c>tinyllm serve</c>'s server in this process, on 127.0.0.1 and a free port, over a small random model; stopped
/// (and its scheduler with it) when disposed. Its log lines are kept in <see cref="Log"/>.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public const string ModelId = "stories";

    /// <summary>The model every server test uses: peaked random weights (seed 3), context 64, the 400-piece tokenizer.</summary>
    public static readonly Lazy<TextGenerator> Generator = new(() => new TextGenerator(RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f), Tokenizer));

    private TestServer(GenerationScheduler scheduler, OpenAiServer server, StringWriter log)
    {
        Scheduler = scheduler;
        Server = server;
        Log = log;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public GenerationScheduler Scheduler { get; }

    public OpenAiServer Server { get; }

    public StringWriter Log { get; }

    public HttpClient Http { get; }

    public Uri Address => Server.Address;

    public static async Task<TestServer> StartAsync(int maxBatch = 16, int maxWaiting = 64, int maxTokens = 256, long maxRequestBytes = 1 << 20, bool contextShift = false)
    {
        var scheduler = new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = maxBatch, MaxWaiting = maxWaiting });
        var log = new StringWriter();
        var server = await OpenAiServer.StartAsync(scheduler, new OpenAiServerOptions
        {
            Port = 0, ModelId = ModelId, MaxTokens = maxTokens, MaxRequestBytes = maxRequestBytes, Log = TextWriter.Synchronized(log),
            Defaults = new SamplingOptions { SlideContextWindow = contextShift },
        });
        return new TestServer(scheduler, server, log);
    }

    /// <summary>What the library gives alone for a prompt and the server's defaults (top-k 300) with these settings.</summary>
    public static GenerationResult Alone(string prompt, ulong seed, int maxTokens, float temperature = 1f, float topP = 1f) =>
        Generator.Value.Generate(prompt, new SamplingOptions { Seed = seed, MaxNewTokens = maxTokens, Temperature = temperature, TopP = topP });

    /// <summary>POSTs a JSON body (a string as it is, anything else serialized).</summary>
    public Task<HttpResponseMessage> PostAsync(string path, object body) =>
        Http.PostAsync(path, body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : JsonContent.Create(body));

    /// <summary>The lines of the server's log so far.</summary>
    public string[] LogLines => Log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Scheduler.Dispose();
    }

    /// <summary>Reads server-sent events until <c>[DONE]</c>: the JSON of each <c>data:</c> line.</summary>
    public static async IAsyncEnumerable<JsonElement> ReadEvents(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            string data = line["data: ".Length..];
            if (data == "[DONE]") yield break;
            yield return JsonDocument.Parse(data).RootElement.Clone();
        }
        throw new InvalidDataException("The stream ended without data: [DONE].");
    }
}
