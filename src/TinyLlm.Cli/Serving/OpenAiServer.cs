using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TinyLlm.MLNet.Serving;

namespace TinyLlm.Cli.Serving;

/// <summary>
/// An OpenAI-compatible HTTP server over a <see cref="GenerationScheduler"/> (ASP.NET Core, Kestrel):
/// <c>POST /v1/completions</c> and <c>POST /v1/chat/completions</c> (whole responses, or server-sent events with
/// <c>"stream": true</c>, ending with <c>data: [DONE]</c>), <c>GET /v1/models</c>, <c>GET /health</c>, and a page to
/// try the model at <c>/</c>. Concurrent requests are batched by the scheduler (continuous batching); a client that
/// disconnects gives its slot back before the next decoding step. Every refusal is OpenAI's JSON error object with
/// the field at fault. One log line per request.
/// </summary>
internal sealed class OpenAiServer : IAsyncDisposable
{
    // Relaxed escaping: the text stays readable (UTF-8, quotes as \"); these responses are never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly WebApplication _app;
    private readonly GenerationScheduler _scheduler;
    private readonly OpenAiServerOptions _options;
    private readonly byte[] _page;

    private OpenAiServer(WebApplication app, GenerationScheduler scheduler, OpenAiServerOptions options, byte[] page)
    {
        _app = app;
        _scheduler = scheduler;
        _options = options;
        _page = page;
    }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:8080/</c> (the real port when 0 was asked for).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Starts a server over <paramref name="scheduler"/> (which it does not own).</summary>
    /// <exception cref="ArgumentException">An option is out of range or the host is not an IP address.</exception>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<OpenAiServer> StartAsync(GenerationScheduler scheduler, OpenAiServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        options.Validate();
        var address = options.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var ip) ? ip
            : throw new ArgumentException($"--host must be an IP address (127.0.0.1 for this machine only, 0.0.0.0 for every interface) or localhost; it is '{options.Host}'.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "tinyllm", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders(); // the server writes its own line per request
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            kestrel.Listen(address, options.Port);
        });
        var app = builder.Build();
        var server = new OpenAiServer(app, scheduler, options, ReadPage());
        server.Map();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IOException($"Cannot listen on {address}:{options.Port}: {e.Message} Choose another --port.", e);
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(bound.EndsWith('/') ? bound : bound + "/");
        return server;
    }

    /// <summary>Stops listening; requests in flight are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
    }

    private void Map()
    {
        var app = _app;
        app.Use((context, next) => RequestLog.Write(context, next, _options.Log));
        // Routing's own refusals (an unknown path, a wrong method) get a JSON body too.
        app.UseStatusCodePages(context => NoRoute(context.HttpContext));
        app.MapGet("/", context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.Body.WriteAsync(_page).AsTask();
        });
        app.MapGet("/health", context => WriteJson(context, 200, new
        {
            status = "ok", model = _options.ModelId, active = _scheduler.Active, waiting = _scheduler.Waiting,
            max_batch = _scheduler.MaxBatch, max_waiting = _scheduler.MaxWaiting, context_length = _scheduler.ContextLength,
            generated_tokens = _scheduler.GeneratedTokens,
        }));
        app.MapGet("/v1/models", context => WriteJson(context, 200, new
        {
            @object = "list",
            data = new[] { new { id = _options.ModelId, @object = "model", created = 0, owned_by = "tinyllm" } },
        }));
        app.MapPost("/v1/completions", context => Complete(context, chat: false));
        app.MapPost("/v1/chat/completions", context => Complete(context, chat: true));
    }

    private async Task Complete(HttpContext context, bool chat)
    {
        // A request ends when its client goes away or the server stops, whichever comes first.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _app.Lifetime.ApplicationStopping);
        CompletionRequest parsed;
        GenerationRequest request;
        try
        {
            using var body = await ReadBody(context);
            parsed = CompletionRequest.Parse(body.RootElement, chat, _options);
            request = _scheduler.Submit(parsed.Prompt, parsed.Sampling, parsed.Stop, ended.Token);
        }
        catch (PromptTooLongException e)
        {
            await Refuse(context, new OpenAiError(400, e.Message, chat ? "messages" : "prompt", "context_length_exceeded"));
            return;
        }
        catch (SchedulerFullException e)
        {
            context.Response.Headers.RetryAfter = "1";
            await Refuse(context, new OpenAiError(429, e.Message, null, "too_many_waiting_requests", "server_busy"));
            return;
        }
        catch (OpenAiError e)
        {
            await Refuse(context, e);
            return;
        }

        var response = OpenAiResponses.For(_options.ModelId, chat);
        string seed = $"seed={request.Sampling.Seed.ToString(CultureInfo.InvariantCulture)}";
        try
        {
            var outcome = parsed.Stream ? await Stream(context, request, parsed, response, ended.Token) : await request.Completion;
            if (!parsed.Stream) await WriteJson(context, 200, response.Complete(outcome));
            RequestLog.Note(context, string.Create(CultureInfo.InvariantCulture,
                $"{(parsed.Stream ? "stream " : "")}prompt={outcome.PromptTokens} completion={outcome.CompletionTokens} finish={OpenAiResponses.FinishReason(outcome)} {seed} queue={outcome.QueueTime.TotalSeconds:F3}s ttft={outcome.TimeToFirstToken.TotalSeconds:F3}s {outcome.CompletionTokens / Math.Max(outcome.Duration.TotalSeconds, 1e-9):F1} tok/s"));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away (or the server is stopping): the request's slot is freed before the next step.
            request.Cancel();
            RequestLog.Note(context, $"{(parsed.Stream ? "stream " : "")}prompt={request.PromptTokens} {seed} {(context.RequestAborted.IsCancellationRequested ? "client disconnected" : "server stopping")}");
        }
        catch (Exception e)
        {
            // The decoder failed (the scheduler goes on with the other requests).
            if (!context.Response.HasStarted) await Refuse(context, new OpenAiError(500, $"Generation failed: {e.Message}", null, null, "server_error"));
            else RequestLog.Note(context, $"failed mid-stream: {e.Message}");
        }
    }

    // Server-sent events: a chunk per piece of text as it is decoded, the finish reason, the usage if asked, [DONE].
    private static async Task<GenerationOutcome> Stream(HttpContext context, GenerationRequest request, CompletionRequest parsed, OpenAiResponses response,
        CancellationToken cancellationToken)
    {
        var http = context.Response;
        http.StatusCode = 200;
        http.ContentType = "text/event-stream; charset=utf-8";
        http.Headers.CacheControl = "no-cache";
        http.Headers["X-Accel-Buffering"] = "no";
        if (response.Chat) await Send(http, response.Chunk("", role: "assistant"), cancellationToken);
        await foreach (string piece in request.ReadPiecesAsync(cancellationToken))
            await Send(http, response.Chunk(piece), cancellationToken);
        var outcome = await request.Completion;
        await Send(http, response.Chunk(response.Chat ? null : "", OpenAiResponses.FinishReason(outcome)), cancellationToken);
        if (parsed.IncludeUsage) await Send(http, response.UsageChunk(outcome), cancellationToken);
        await http.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await http.Body.FlushAsync(cancellationToken);
        return outcome;
    }

    private static async Task Send(HttpResponse http, object chunk, CancellationToken cancellationToken)
    {
        await http.WriteAsync("data: " + JsonSerializer.Serialize(chunk, Json) + "\n\n", cancellationToken);
        await http.Body.FlushAsync(cancellationToken);
    }

    private async Task<JsonDocument> ReadBody(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new OpenAiError(413, $"The request body is larger than this server's limit of {_options.MaxRequestBytes} bytes (--max-request-bytes).", null, "request_too_large");
        }
        catch (JsonException e)
        {
            throw new OpenAiError(400, $"The request body is not valid JSON: {e.Message}", null, "invalid_json");
        }
    }

    private static Task Refuse(HttpContext context, OpenAiError error)
    {
        RequestLog.Note(context, error.Param is null ? error.Message : $"{error.Param}: {error.Message}");
        return WriteJson(context, error.Status, error.Body);
    }

    private static Task NoRoute(HttpContext context)
    {
        var request = context.Request;
        bool known = request.Path.Value is "/" or "/health" or "/v1/models" or "/v1/completions" or "/v1/chat/completions";
        string message = known
            ? $"{request.Method} is not allowed on {request.Path}."
            : $"There is nothing at {request.Method} {request.Path}.";
        return WriteJson(context, context.Response.StatusCode, new OpenAiError(context.Response.StatusCode,
            message + " This server has GET / (a page to try the model), GET /health, GET /v1/models, POST /v1/completions and POST /v1/chat/completions.").Body);
    }

    private static Task WriteJson(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json), context.RequestAborted);
    }

    private static byte[] ReadPage()
    {
        using var stream = typeof(OpenAiServer).Assembly.GetManifestResourceStream("TinyLlm.Cli.Serving.index.html")
            ?? throw new InvalidOperationException("The page (Serving/index.html) is not embedded in tinyllm.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>The server is started and stopped by its owner (the serve command, a test), never by console signals.</summary>
    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
