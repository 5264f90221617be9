using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Debian's headless Chromium driven through its DevTools protocol (JSON messages over a WebSocket), with just what a
/// page test needs: open a page, run script, type, click, take a screenshot. It costs no package: Playwright for .NET
/// would bring 580 MB into the NuGet cache and 124 MB into each build output, to drive the same browser.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientWebSocket _socket;
    private readonly string _profile;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _replies = new();
    private readonly List<(string Method, TaskCompletionSource<JsonElement> Arrived)> _awaited = [];
    private readonly Task _receiving;
    private int _lastId;
    private string? _session;

    private HeadlessChromium(Process process, ClientWebSocket socket, string profile)
    {
        _process = process;
        _socket = socket;
        _profile = profile;
        _receiving = Task.Run(Receive);
    }

    /// <summary>Starts the browser with one blank page to drive.</summary>
    public static async Task<HeadlessChromium> LaunchAsync(string executable)
    {
        string profile = Directory.CreateTempSubdirectory("tinyllm-chromium-").FullName;
        // As root Chromium needs --no-sandbox; on a closed network the background-networking flags keep it from
        // trying (and failing) to reach Google's services at start-up.
        string[] flags =
        [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio", "--window-size=1000,900",
            "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank",
        ];
        var psi = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string flag in flags) psi.ArgumentList.Add(flag);
        var process = Process.Start(psi)!;
        _ = process.StandardOutput.ReadToEndAsync();
        var output = new StringBuilder();
        var endpoint = await Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                output.AppendLine(line);
                if (Regex.Match(line, @"DevTools listening on (ws://\S+)") is { Success: true } m) return new Uri(m.Groups[1].Value);
            }
            return null;
        }).WaitAsync(TimeSpan.FromMinutes(1));
        if (endpoint is null) throw new InvalidOperationException("Chromium exited without opening its DevTools endpoint:\n" + output);
        _ = process.StandardError.ReadToEndAsync(); // keep draining, or Chromium blocks on a full pipe

        var socket = new ClientWebSocket();
        await socket.ConnectAsync(endpoint, CancellationToken.None);
        var browser = new HeadlessChromium(process, socket, profile);
        var target = await browser.SendAsync("Target.createTarget", new { url = "about:blank" }, browserLevel: true);
        var attached = await browser.SendAsync("Target.attachToTarget", new { targetId = target.GetProperty("targetId").GetString(), flatten = true }, browserLevel: true);
        browser._session = attached.GetProperty("sessionId").GetString();
        await browser.SendAsync("Page.enable");
        await browser.SendAsync("Runtime.enable");
        return browser;
    }

    /// <summary>Sends a command to the page (or to the browser) and returns its result.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null, bool browserLevel = false)
    {
        int id = Interlocked.Increment(ref _lastId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _replies[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = JsonSerializer.SerializeToNode(parameters ?? new { }) };
        if (!browserLevel) message["sessionId"] = _session;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var result = await reply.Task.WaitAsync(TimeSpan.FromMinutes(1));
        if (result.TryGetProperty("error", out var error)) throw new InvalidOperationException($"{method} failed: {error}");
        return result.GetProperty("result");
    }

    /// <summary>Opens <paramref name="url"/> and waits for its load event.</summary>
    public async Task NavigateAsync(Uri url)
    {
        var loaded = Awaiting("Page.loadEventFired");
        await SendAsync("Page.navigate", new { url = url.ToString() });
        await loaded.WaitAsync(TimeSpan.FromMinutes(1));
    }

    /// <summary>The value of a script expression (promises awaited); a script error throws.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result.TryGetProperty("exceptionDetails", out var details)) throw new InvalidOperationException($"The page's script failed: {details}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value : default;
    }

    /// <summary>Replaces the text of an input or text area as a user does: focus it, select all, type.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); e.focus(); e.select(); }})()");
        await SendAsync("Input.insertText", new { text });
    }

    /// <summary>Clicks the middle of an element with the mouse.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($"(() => {{ const r = document.querySelector({JsonSerializer.Serialize(selector)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()");
        double x = box[0].GetDouble(), y = box[1].GetDouble();
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseMoved", x, y });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mousePressed", x, y, button = "left", clickCount = 1 });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseReleased", x, y, button = "left", clickCount = 1 });
    }

    /// <summary>A PNG of the page as it is shown.</summary>
    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await SendAsync("Page.captureScreenshot", new { format = "png" })).GetProperty("data").GetString()!);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync("Browser.close", browserLevel: true).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or WebSocketException)
        {
            // closed or hung: killed below
        }
        if (!_process.WaitForExit(10_000)) _process.Kill(entireProcessTree: true);
        _socket.Dispose();
        await _receiving.ContinueWith(_ => { });
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } // Chromium's helpers may still hold files
    }

    private Task<JsonElement> Awaiting(string method)
    {
        var arrived = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_awaited) _awaited.Add((method, arrived));
        return arrived.Task;
    }

    // Replies go to their command by id; events to whoever awaits them.
    private async Task Receive()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (part.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                Dispatch(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
            // the browser went away, or we closed the socket
        }
        foreach (var reply in _replies.Values) reply.TrySetException(new InvalidOperationException("Chromium closed the DevTools connection."));
    }

    private void Dispatch(JsonElement json)
    {
        if (json.TryGetProperty("id", out var id) && _replies.TryRemove(id.GetInt32(), out var reply))
        {
            reply.TrySetResult(json);
            return;
        }
        if (!json.TryGetProperty("method", out var method)) return;
        lock (_awaited)
            foreach (var waiter in _awaited.Where(w => w.Method == method.GetString()).ToList())
            {
                _awaited.Remove(waiter);
                waiter.Arrived.TrySetResult(json);
            }
    }
}
