using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary><c>tinyllm serve</c> as a user runs it: a child process on a free port, stopped by SIGTERM.</summary>
[TestClass]
public sealed class ServeCommandTests
{
    private static string _dir = "";

    [ClassInitialize]
    public static void MakeFolder(TestContext _) => _dir = Directory.CreateTempSubdirectory("tinyllm-serve-").FullName;

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [TestMethod]
    public async Task ServeAnswersFromAZipWithItsSavedSamplingUntilSigterm()
    {
        // The zip's sampling options are the server's defaults for what a request leaves out.
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        var saved = new SamplingOptions { Temperature = 0.5f, TopK = 40 };
        var ml = new MLContext(seed: 1);
        var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), new LlamaGenerationOptions { Sampling = saved });
        string zip = Path.Combine(_dir, "served.zip");
        ml.Model.Save(transformer, ml.Data.LoadFromEnumerable(new[] { new StoryPrompt() }).Schema, zip);

        string dll = Path.Combine(AppContext.BaseDirectory, "tinyllm.dll");
        var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" serve --model \"{zip}\" --port 0 --max-batch 2 --max-tokens 50")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            stderr.Enqueue(e.Data);
            if (Regex.Match(e.Data, @"^listening on (http://\S+)") is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.BeginErrorReadLine();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromMinutes(2)));
            Assert.AreSame(listening.Task, first, "tinyllm serve did not start:\n" + string.Join("\n", stderr));
            using var http = new HttpClient { BaseAddress = await listening.Task };

            var health = await http.GetFromJsonAsync<JsonElement>("health");
            Assert.AreEqual("served", health.GetProperty("model").GetString(), "the model id defaults to the file's name");
            Assert.AreEqual(2, health.GetProperty("max_batch").GetInt32());

            using var response = await http.PostAsJsonAsync("v1/completions", new { prompt = "One day, Lily met a", seed = 5, max_tokens = 20 });
            string text = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString()!;
            var alone = new TextGenerator(weights, Tokenizer).Generate("One day, Lily met a", new SamplingOptions { Temperature = 0.5f, TopK = 40, Seed = 5, MaxNewTokens = 20 });
            Assert.AreEqual(alone.Text, text);

            Assert.AreEqual(0, ReferenceTools.Run("kill", $"-TERM {process.Id}", out string kill), kill);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.AreEqual(0, process.ExitCode, string.Join("\n", stderr));
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
        process.WaitForExit(); // the last stderr lines
        string[] lines = stderr.ToArray();
        StringAssert.StartsWith(lines[0], "tinyllm serve: 'served' (64/2/4/2, vocab 400, context 64, Float32) on engine on cpu; max batch 2");
        Assert.AreEqual(1, lines.Count(l => l.Contains(" GET /health 200 ", StringComparison.Ordinal)));
        Assert.AreEqual(1, lines.Count(l => l.Contains(" POST /v1/completions 200 ", StringComparison.Ordinal) && l.Contains("prompt=", StringComparison.Ordinal) && l.Contains("seed=5", StringComparison.Ordinal)));
        Assert.AreEqual("stopping", lines[^1]);
    }

    [TestMethod]
    public void ServeRefusesBadOptionsByName()
    {
        string model = Path.Combine(_dir, "model.bin");
        Llama2cCheckpoint.Write(RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f), model);
        (string[] Args, string Message)[] cases =
        [
            (["--model", Path.Combine(_dir, "missing.bin")], "does not exist"),
            (["--model", model], "--tokenizer-model-path is required with a model file"),
            (["--model", model, "--port", "70000"], "--port must be between 0 and 65535; it is 70000"),
            (["--model", model, "--max-batch", "0"], "error: --max-batch must be at least 1; it is 0"),
            (["--model", model, "--max-tokens", "0"], "--max-tokens must be at least 1; it is 0"),
        ];
        foreach (var (args, message) in cases)
        {
            var result = Cli.Capture(["serve", .. args]);
            Assert.AreEqual(1, result.ExitCode, result.All);
            StringAssert.Contains(result.All, message);
        }
    }
}
