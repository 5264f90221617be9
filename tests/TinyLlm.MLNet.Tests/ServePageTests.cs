using System.Text.Json;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The page <c>tinyllm serve</c> shows at <c>/</c>, in a real browser (Debian's headless Chromium, which
/// <c>.ci/run</c> installs): type a prompt, click Generate, watch the story stream in.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class ServePageTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task APersonTypesAPromptClicksGenerateAndWatchesTheStoryStreamIn()
    {
        string chromium = ReferenceTools.Require("/usr/bin/chromium", "apt-get install chromium");
        await using var server = await TestServer.StartAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(chromium);
        await browser.NavigateAsync(server.Address);
        Assert.AreEqual($"model: {TestServer.ModelId}", (await WaitFor(browser, "document.getElementById('model').textContent.startsWith('model:') && document.getElementById('model').textContent")).GetString());

        const string Prompt = "Tom had a ball.";
        await browser.TypeAsync("#prompt", Prompt);
        await browser.TypeAsync("#seed", "7");
        await browser.TypeAsync("#max-tokens", "80");
        // Record the story's length at every change, to see it grow piece by piece: each record's new text, since the
        // browser hands several records to one callback when events come quickly.
        await browser.EvaluateAsync("""
            window.lengths = [];
            new MutationObserver(records => {
                for (const r of records)
                    if (r.target.id === 'completion') for (const n of r.addedNodes) window.lengths.push(n.textContent.length);
            }).observe(document.getElementById('story'), { childList: true, subtree: true });
            """);
        await browser.ClickAsync("#generate");
        string stats = (await WaitFor(browser, "/tokens\\/s|error|stopped/.test(document.getElementById('stats').textContent) && document.getElementById('stats').textContent")).GetString()!;

        // The page's defaults (temperature 0.8, top-p 0.9) with the typed seed and budget, as the library gives them.
        var alone = TestServer.Alone(Prompt, 7, 80, temperature: 0.8f, topP: 0.9f);
        string story = (await browser.EvaluateAsync("document.getElementById('completion').textContent")).GetString()!;
        byte[] png = await browser.ScreenshotAsync();
        string shot = Path.Combine(TestContext.TestResultsDirectory ?? TestContext.TestRunResultsDirectory ?? Path.Combine(AppContext.BaseDirectory, "TestResults"), "serve-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await File.WriteAllBytesAsync(shot, png);
        TestContext.AddResultFile(shot);

        Assert.AreEqual(alone.Text, story, stats);
        StringAssert.Matches(stats, new System.Text.RegularExpressions.Regex($@"^{alone.TokenIds.Count} tokens in [0-9.]+ s: [0-9.]+ tokens/s"));
        Assert.AreEqual(Prompt, (await browser.EvaluateAsync("document.querySelector('#story .prompt').textContent")).GetString());
        // Streamed: part of the story was on the page before the rest arrived.
        int[] lengths = (await browser.EvaluateAsync("window.lengths")).EnumerateArray().Select(e => e.GetInt32()).Where(n => n > 0).Distinct().ToArray();
        Assert.IsGreaterThan(1, lengths.Length, $"the story should arrive in pieces; lengths seen: {string.Join(", ", lengths)}");
        Assert.IsLessThan(story.Length, lengths[0]);
        Assert.IsGreaterThan(1000, png.Length);
        StringAssert.Contains(server.LogLines.Single(l => l.Contains("POST /v1/completions", StringComparison.Ordinal)), $"stream prompt=");
    }

    // Polls a script expression until it is truthy (the streamed story takes a moment).
    private static async Task<JsonElement> WaitFor(HeadlessChromium browser, string expression)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var value = await browser.EvaluateAsync(expression);
            if (value.ValueKind is not (JsonValueKind.False or JsonValueKind.Undefined or JsonValueKind.Null)) return value;
            if (clock.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"The page never satisfied: {expression}");
            await Task.Delay(50);
        }
    }
}
