using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using TinyLlm.MLNet.Serving;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// <c>tinyllm serve</c>'s OpenAI-compatible server on the loopback, talked to by the official OpenAI client (through
/// Microsoft.Extensions.AI) and by plain HTTP: the same text as the library, concurrency, disconnects, refusals.
/// </summary>
[TestClass]
public sealed class ServeTests
{
    private const string Prompt = "Once upon a time, there was a little girl named Lily who";

    private static IChatClient OpenAiChat(TestServer server) =>
        new OpenAIClient(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "v1/") })
            .GetChatClient(TestServer.ModelId).AsIChatClient();

    [TestMethod]
    public async Task TheOpenAIClientGetsTheLibrarysTextStreamedAndNot()
    {
        await using var server = await TestServer.StartAsync();
        using var chat = OpenAiChat(server);
        var options = new ChatOptions { Seed = 11, Temperature = 0.8f, TopP = 0.9f, MaxOutputTokens = 40 };
        var alone = TestServer.Alone(Prompt, 11, 40, 0.8f, 0.9f);
        Assert.IsGreaterThan(5, alone.TokenIds.Count, "the check needs some text");

        var response = await chat.GetResponseAsync(Prompt, options);
        Assert.AreEqual(alone.Text, response.Text);
        Assert.AreEqual(alone.StoppedAtEndOfText ? ChatFinishReason.Stop : ChatFinishReason.Length, response.FinishReason);
        Assert.AreEqual(alone.PromptTokens, response.Usage!.InputTokenCount);
        Assert.AreEqual(alone.TokenIds.Count, response.Usage.OutputTokenCount);
        Assert.AreEqual(TestServer.ModelId, response.ModelId);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(Prompt, options)) updates.Add(update);
        Assert.IsGreaterThan(3, updates.Count(u => u.Text.Length > 0), "the text arrives in pieces");
        var streamed = updates.ToChatResponse();
        Assert.AreEqual(alone.Text, streamed.Text);
        Assert.AreEqual(response.FinishReason, streamed.FinishReason);
        Assert.AreEqual(alone.TokenIds.Count, streamed.Usage!.OutputTokenCount);

        // Our own IChatClient (the library, no HTTP) says the same; messages become the same prompt on both.
        using var local = new TinyLlmChatClient(server.Scheduler);
        ChatMessage[] messages = [new(ChatRole.System, "Tom had a ball."), new(ChatRole.User, "One day")];
        Assert.AreEqual((await local.GetResponseAsync(messages, options)).Text, (await chat.GetResponseAsync(messages, options)).Text);
        Assert.AreEqual(TestServer.Alone("Tom had a ball.\nOne day", 11, 40, 0.8f, 0.9f).Text, (await chat.GetResponseAsync(messages, options)).Text);
    }

    [TestMethod]
    public async Task TheCompletionsEndpointStreamsTheLibrarysTextAndItsUsage()
    {
        await using var server = await TestServer.StartAsync();
        var alone = TestServer.Alone(Prompt, 12, 30, 0.7f);
        var body = new { model = TestServer.ModelId, prompt = Prompt, max_tokens = 30, temperature = 0.7, seed = 12 };

        using var whole = await server.PostAsync("v1/completions", body);
        Assert.AreEqual(HttpStatusCode.OK, whole.StatusCode);
        var json = await whole.Content.ReadFromJsonAsync<JsonElement>();
        Assert.AreEqual("text_completion", json.GetProperty("object").GetString());
        Assert.AreEqual(alone.Text, json.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.AreEqual(alone.TokenIds.Count, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { prompt = Prompt, max_tokens = 30, temperature = 0.7, seed = 12, stream = true, stream_options = new { include_usage = true } }),
        };
        using var stream = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.AreEqual("text/event-stream", stream.Content.Headers.ContentType!.MediaType);
        var events = await TestServer.ReadEvents(stream).ToListAsync();
        string text = string.Concat(events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.AreEqual(alone.Text, text);
        var finish = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Last().GetProperty("choices")[0].GetProperty("finish_reason").GetString();
        Assert.AreEqual(alone.StoppedAtEndOfText ? "stop" : "length", finish);
        Assert.AreEqual(alone.TokenIds.Count, events[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // A stop sequence cuts the text before it.
        string stop = alone.Text.Substring(6, 3);
        using var stopped = await server.PostAsync("v1/completions", new { prompt = Prompt, max_tokens = 30, temperature = 0.7, seed = 12, stop });
        var cut = (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0];
        Assert.AreEqual(alone.Text[..alone.Text.IndexOf(stop, StringComparison.Ordinal)], cut.GetProperty("text").GetString());
        Assert.AreEqual("stop", cut.GetProperty("finish_reason").GetString());
    }

    [TestMethod]
    public async Task SixteenConcurrentStreamingClientsEachGetTheirTextAlone()
    {
        await using var server = await TestServer.StartAsync(maxBatch: 16);
        using var chat = OpenAiChat(server);
        int most = 0;
        using var watching = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                most = Math.Max(most, server.Scheduler.Active);
                await Task.Delay(1);
            }
        });
        var clients = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in chat.GetStreamingResponseAsync(Prompt, new ChatOptions { Seed = 1000 + i, Temperature = 1f, MaxOutputTokens = 48 }))
                updates.Add(update);
            return updates.ToChatResponse().Text;
        })).ToArray();
        string[] texts = await Task.WhenAll(clients);
        watching.Cancel();
        await watch;

        for (int i = 0; i < texts.Length; i++)
            Assert.AreEqual(TestServer.Alone(Prompt, 1000 + (ulong)i, 48).Text, texts[i], $"client {i}");
        Assert.AreEqual(16, texts.Distinct().Count(), "different seeds, different stories");
        Assert.IsGreaterThan(1, most, "the requests should have run together");
        Assert.AreEqual(16, server.LogLines.Count(l => l.Contains("POST /v1/chat/completions 200", StringComparison.Ordinal) && l.Contains(" stream ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public async Task ADisconnectedClientFreesItsSlotAtOnce()
    {
        // One slot and no queue: while a request runs, another is refused (429); once its client goes away, the slot
        // is free for the next.
        // (--slide-context-window: the request goes on past the model's context instead of stopping there.)
        Assert.IsFalse(TestServer.Alone(Prompt, 0, 1000, temperature: 0).StoppedAtEndOfText, "the test needs a request that does not end by itself");
        await using var server = await TestServer.StartAsync(maxBatch: 1, maxWaiting: 0, maxTokens: 1_000_000, contextShift: true);
        var endless = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { prompt = Prompt, max_tokens = 1_000_000, temperature = 0, stream = true }),
        };
        // A client that closes its connection when it stops reading (.NET's own would first drain the rest for up to 2 s).
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Address };
        var stream = await client.SendAsync(endless, HttpCompletionOption.ResponseHeadersRead);
        var body = await stream.Content.ReadAsStreamAsync();
        var reader = new StreamReader(body);
        for (int events = 0; events < 3;)
            if ((await reader.ReadLineAsync())!.StartsWith("data: {", StringComparison.Ordinal)) events++;
        Assert.AreEqual(1, server.Scheduler.Active);

        using var busy = await server.PostAsync("v1/completions", new { prompt = "One day", max_tokens = 5 });
        Assert.AreEqual(HttpStatusCode.TooManyRequests, busy.StatusCode);
        var error = (await busy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.AreEqual("too_many_waiting_requests", error.GetProperty("code").GetString());
        StringAssert.Contains(error.GetProperty("message").GetString(), "All 1 generation slots are busy");
        Assert.AreEqual("1", busy.Headers.RetryAfter!.ToString());

        reader.Dispose();
        stream.Dispose();
        endless.Dispose();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (server.Scheduler.Active > 0 && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(10);
        Assert.AreEqual(0, server.Scheduler.Active, "the disconnected request still holds its slot");
        Assert.IsLessThan(1_000_000, server.Scheduler.GeneratedTokens);

        using var next = await server.PostAsync("v1/completions", new { prompt = "One day", max_tokens = 5, seed = 3 });
        Assert.AreEqual(HttpStatusCode.OK, next.StatusCode);
        Assert.AreEqual(TestServer.Alone("One day", 3, 5).Text, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString());
        clock.Restart();
        while (!server.LogLines.Any(l => l.Contains("client disconnected", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
        Assert.IsTrue(server.LogLines.Any(l => l.Contains("stream prompt=", StringComparison.Ordinal) && l.EndsWith("client disconnected", StringComparison.Ordinal)), server.Log.ToString());
    }

    [TestMethod]
    public async Task BadRequestsGetJsonErrorsNamingTheField()
    {
        await using var server = await TestServer.StartAsync(maxTokens: 100, maxRequestBytes: 4096);
        string tooLong = string.Join(" ", GenerationTestModels.Stories.Take(3));
        object user = new { role = "user", content = "One day" };
        (string Path, object Body, HttpStatusCode Status, string? Param, string Message)[] cases =
        [
            ("v1/completions", new { }, HttpStatusCode.BadRequest, "prompt", "prompt is required"),
            ("v1/completions", new { prompt = 5 }, HttpStatusCode.BadRequest, "prompt", "prompt must be a string (or an array of one string); it is the number 5"),
            ("v1/completions", new { prompt = "x", temperature = "hot" }, HttpStatusCode.BadRequest, "temperature", "temperature must be a number; it is the string \"hot\""),
            ("v1/completions", new { prompt = "x", temperature = -1 }, HttpStatusCode.BadRequest, "temperature", "temperature must be 0 (greedy) or a positive number; it is -1"),
            ("v1/completions", new { prompt = "x", top_p = 0 }, HttpStatusCode.BadRequest, "top_p", "top_p must be in (0, 1]"),
            ("v1/completions", new { prompt = "x", top_k = 0 }, HttpStatusCode.BadRequest, "top_k", "top_k must be at least 1"),
            ("v1/completions", new { prompt = "x", max_tokens = 101 }, HttpStatusCode.BadRequest, "max_tokens", "max_tokens must be between 1 and 100; it is 101"),
            ("v1/completions", new { prompt = "x", max_tokens = 2.5 }, HttpStatusCode.BadRequest, "max_tokens", "max_tokens must be an integer"),
            ("v1/completions", new { prompt = "x", seed = -1 }, HttpStatusCode.BadRequest, "seed", "seed must be 0 or a positive integer"),
            ("v1/completions", new { prompt = "x", stop = new[] { "a", "b", "c", "d", "e" } }, HttpStatusCode.BadRequest, "stop", "stop takes at most 4 sequences"),
            ("v1/completions", new { prompt = "x", stream = "yes" }, HttpStatusCode.BadRequest, "stream", "stream must be true or false"),
            ("v1/completions", new { prompt = "x", n = 2 }, HttpStatusCode.BadRequest, "n", "n is not supported by this server: one choice per request"),
            ("v1/completions", new { prompt = "x", echo = true }, HttpStatusCode.BadRequest, "echo", "echo is not supported"),
            ("v1/completions", new { prompt = "x", model = "gpt-4o" }, HttpStatusCode.NotFound, "model", "The model 'gpt-4o' does not exist; this server serves 'stories'"),
            ("v1/completions", new { prompt = tooLong }, HttpStatusCode.BadRequest, "prompt", "but the model's context is 64: at most 63 prompt tokens"),
            ("v1/completions", "[1, 2]", HttpStatusCode.BadRequest, null, "The request body must be a JSON object; it is an array"),
            ("v1/completions", "{\"prompt\": ", HttpStatusCode.BadRequest, null, "The request body is not valid JSON"),
            ("v1/completions", new { prompt = new string('x', 5000) }, HttpStatusCode.RequestEntityTooLarge, null, "larger than this server's limit of 4096 bytes (--max-request-bytes)"),
            ("v1/chat/completions", new { messages = Array.Empty<object>() }, HttpStatusCode.BadRequest, "messages", "messages must be a non-empty array"),
            ("v1/chat/completions", new { messages = new[] { new { role = "wizard", content = "x" } } }, HttpStatusCode.BadRequest, "messages[0].role", "messages[0].role must be one of"),
            ("v1/chat/completions", new { messages = new[] { new { role = "user", content = (object)new[] { new { type = "image_url" } } } } }, HttpStatusCode.BadRequest, "messages[0].content[0]", "must be a text part"),
            ("v1/chat/completions", new { messages = new[] { user }, tools = new[] { new { type = "function" } } }, HttpStatusCode.BadRequest, "tools", "TinyLlm models do not call tools"),
            ("v1/chat/completions", new { messages = new[] { user }, max_completion_tokens = 0 }, HttpStatusCode.BadRequest, "max_completion_tokens", "max_completion_tokens must be between 1 and 100"),
            ("v1/chat/completions", new { messages = new[] { new { role = "user", content = tooLong } } }, HttpStatusCode.BadRequest, "messages", "at most 63 prompt tokens"),
        ];
        foreach (var (path, body, status, param, message) in cases)
        {
            using var response = await server.PostAsync(path, body);
            string what = $"{path} {(body as string ?? JsonSerializer.Serialize(body))[..Math.Min(80, (body as string ?? JsonSerializer.Serialize(body)).Length)]}";
            Assert.AreEqual(status, response.StatusCode, what);
            Assert.AreEqual("application/json", response.Content.Headers.ContentType!.MediaType, what);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.AreEqual(param, error.GetProperty("param").GetString(), what);
            StringAssert.Contains(error.GetProperty("message").GetString(), message, what);
        }
        Assert.AreEqual("context_length_exceeded", await Code(server.PostAsync("v1/completions", new { prompt = tooLong })));

        using var nothing = await server.Http.GetAsync("v1/nothing");
        Assert.AreEqual(HttpStatusCode.NotFound, nothing.StatusCode);
        StringAssert.Contains((await nothing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString(), "There is nothing at GET /v1/nothing");
        using var wrongMethod = await server.Http.GetAsync("v1/completions");
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        StringAssert.Contains(await wrongMethod.Content.ReadAsStringAsync(), "GET is not allowed on /v1/completions");

        // One log line per request, naming the field of each refusal.
        string[] lines = server.LogLines;
        Assert.HasCount(cases.Length + 3, lines, server.Log.ToString());
        StringAssert.Contains(lines[3], "POST /v1/completions 400 ");
        StringAssert.Contains(lines[3], "temperature: temperature must be 0 (greedy)");
        Assert.AreEqual(0, server.Scheduler.Active + server.Scheduler.Waiting);
    }

    [TestMethod]
    public async Task HealthModelsAndThePageAnswer()
    {
        await using var server = await TestServer.StartAsync(maxBatch: 4);
        var health = await server.Http.GetFromJsonAsync<JsonElement>("health");
        Assert.AreEqual("ok", health.GetProperty("status").GetString());
        Assert.AreEqual(4, health.GetProperty("max_batch").GetInt32());
        Assert.AreEqual(64, health.GetProperty("context_length").GetInt32());
        var models = await server.Http.GetFromJsonAsync<JsonElement>("v1/models");
        Assert.AreEqual(TestServer.ModelId, models.GetProperty("data")[0].GetProperty("id").GetString());
        using var page = await server.Http.GetAsync("");
        Assert.AreEqual("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        StringAssert.Contains(html, "id=\"generate\"");
        Assert.IsFalse(html.Contains("http://", StringComparison.Ordinal) || html.Contains("https://", StringComparison.Ordinal), "the page loads nothing from elsewhere");
    }

    private static async Task<string?> Code(Task<HttpResponseMessage> response)
    {
        using var r = await response;
        return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString();
    }
}
