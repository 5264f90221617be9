using Microsoft.Extensions.AI;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Serving;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>The Microsoft.Extensions.AI chat client: options, streaming, usage, concurrency and cancellation.</summary>
[TestClass]
public sealed class TinyLlmChatClientTests
{
    private const string Prompt = "Once upon a time, there was a little girl named Lily who";
    private static readonly Lazy<TextGenerator> Generator = new(() => new TextGenerator(RandomWeights(Tokenizer.VocabSize, seqLen: 48, scale: 3f), Tokenizer));

    private static ChatOptions Options(long seed, int maxTokens = 40) => new() { Seed = seed, MaxOutputTokens = maxTokens, Temperature = 0.8f, TopP = 0.95f, TopK = 50 };

    private static GenerationResult Alone(string prompt, long seed, int maxTokens = 40, List<string>? pieces = null) =>
        Generator.Value.Generate(prompt, new SamplingOptions { Seed = (ulong)seed, MaxNewTokens = maxTokens, Temperature = 0.8f, TopP = 0.95f, TopK = 50 }, pieces is null ? null : pieces.Add);

    [TestMethod]
    public async Task AResponseIsTheLibrarysTextForTheSameOptions()
    {
        using IChatClient client = new TinyLlmChatClient(Generator.Value, new TinyLlmChatClientOptions { ModelId = "stories" });
        var response = await client.GetResponseAsync(Prompt, Options(5));
        var alone = Alone(Prompt, 5);
        Assert.AreEqual(alone.Text, response.Text);
        Assert.AreEqual(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.AreEqual(alone.StoppedAtEndOfText ? ChatFinishReason.Stop : ChatFinishReason.Length, response.FinishReason);
        Assert.AreEqual(alone.PromptTokens, response.Usage!.InputTokenCount);
        Assert.AreEqual(alone.TokenIds.Count, response.Usage.OutputTokenCount);
        Assert.AreEqual(alone.PromptTokens + alone.TokenIds.Count, response.Usage.TotalTokenCount);
        Assert.AreEqual("stories", response.ModelId);
        Assert.AreEqual(5UL, response.AdditionalProperties!["seed"]);
    }

    [TestMethod]
    public async Task StreamingGivesOneUpdatePerPieceThenTheFinishReasonAndUsage()
    {
        using IChatClient client = new TinyLlmChatClient(Generator.Value);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Prompt, Options(6, 60))) updates.Add(update);
        var pieces = new List<string>();
        var alone = Alone(Prompt, 6, 60, pieces);

        CollectionAssert.AreEqual(pieces, updates.SkipLast(1).Select(u => u.Text).ToList(), "one update per decoded piece");
        var last = updates[^1];
        Assert.AreEqual(alone.StoppedAtEndOfText ? ChatFinishReason.Stop : ChatFinishReason.Length, last.FinishReason);
        var usage = last.Contents.OfType<UsageContent>().Single().Details;
        Assert.AreEqual(alone.TokenIds.Count, usage.OutputTokenCount);
        Assert.AreEqual(alone.PromptTokens, usage.InputTokenCount);
        Assert.IsTrue(updates.All(u => u.Role == ChatRole.Assistant && u.ResponseId == updates[0].ResponseId));
        // The M.E.AI helper that joins updates gives the same response.
        var joined = updates.ToChatResponse();
        Assert.AreEqual(alone.Text, joined.Text);
        Assert.AreEqual(alone.TokenIds.Count, joined.Usage!.OutputTokenCount);
    }

    [TestMethod]
    public async Task MessagesBecomeTheirTextsLineByLineAndARawPromptOverridesThem()
    {
        using IChatClient client = new TinyLlmChatClient(Generator.Value);
        ChatMessage[] messages = [new(ChatRole.System, "Tom had a ball."), new(ChatRole.User, "One day"), new(ChatRole.Assistant, "")];
        Assert.AreEqual("Tom had a ball.\nOne day", ChatPrompt.FromMessages(messages));
        Assert.AreEqual("Be kind.\nTom had a ball.\nOne day", ChatPrompt.FromMessages(messages, "Be kind."));

        var fromMessages = await client.GetResponseAsync(messages, Options(8));
        Assert.AreEqual(Alone("Tom had a ball.\nOne day", 8).Text, fromMessages.Text);

        var raw = Options(8);
        raw.AdditionalProperties = new() { [TinyLlmChatClient.RawPromptKey] = "The dog ran" };
        var fromRaw = await client.GetResponseAsync(messages, raw);
        Assert.AreEqual(Alone("The dog ran", 8).Text, fromRaw.Text);
    }

    [TestMethod]
    public async Task ConcurrentRequestsEachGetTheirTextAlone()
    {
        using var client = new TinyLlmChatClient(Generator.Value, new TinyLlmChatClientOptions { Scheduler = { MaxBatch = 3 } });
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => client.GetResponseAsync(Prompt, Options(20 + i)))));
        for (int i = 0; i < responses.Length; i++) Assert.AreEqual(Alone(Prompt, 20 + i).Text, responses[i].Text, $"request {i}");
        Assert.AreEqual(0, client.Scheduler.Active);
    }

    [TestMethod]
    public async Task CancellingStopsBetweenTokensAndFreesTheSlot()
    {
        using var client = new TinyLlmChatClient(Generator.Value, new TinyLlmChatClientOptions { Scheduler = { MaxBatch = 1 } });
        using var cancel = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 1_000_000 }, cancel.Token))
                if (++updates == 2) cancel.Cancel();
        });
        // A consumer that stops reading early frees the slot too.
        await foreach (var _ in client.GetStreamingResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 1_000_000 }))
            break;
        var next = await client.GetResponseAsync(Prompt, Options(9)).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.AreEqual(Alone(Prompt, 9).Text, next.Text);
        Assert.AreEqual(0, client.Scheduler.Active);
    }

    [TestMethod]
    public async Task ItDescribesItselfAndRefusesWhatItCannotDo()
    {
        using IChatClient client = new TinyLlmChatClient(Generator.Value, new TinyLlmChatClientOptions { ModelId = "stories", RandomSeed = false, Sampling = { Seed = 77, MaxNewTokens = 12 } });
        var metadata = client.GetService<ChatClientMetadata>()!;
        Assert.AreEqual("TinyLlm", metadata.ProviderName);
        Assert.AreEqual("stories", metadata.DefaultModelId);
        Assert.AreSame(Generator.Value, client.GetService<TextGenerator>());
        Assert.IsNotNull(client.GetService<GenerationScheduler>());
        Assert.IsNull(client.GetService<ChatClientMetadata>("some key"));

        // Unset options come from the client's defaults; without RandomSeed the seed too.
        var response = await client.GetResponseAsync(Prompt);
        Assert.AreEqual(Generator.Value.Generate(Prompt, new SamplingOptions { Seed = 77, MaxNewTokens = 12 }).Text, response.Text);

        var temperature = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Prompt, new ChatOptions { Temperature = -1 }));
        Assert.AreEqual("ChatOptions.Temperature", temperature.ParamName);
        StringAssert.Contains(temperature.Message, "ChatOptions.Temperature must be 0 (greedy) or a positive number; it is -1");
        Assert.AreEqual("ChatOptions.TopP", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Prompt, new ChatOptions { TopP = 0 }))).ParamName);
        Assert.AreEqual("ChatOptions.TopK", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Prompt, new ChatOptions { TopK = 0 }))).ParamName);
        Assert.AreEqual("ChatOptions.Seed", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Prompt, new ChatOptions { Seed = -2 }))).ParamName);
        Assert.AreEqual("ChatOptions.MaxOutputTokens", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Prompt, new ChatOptions { MaxOutputTokens = 0 }))).ParamName);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Prompt, new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] }));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Prompt, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Prompt, new ChatOptions { PresencePenalty = 0.5f }));
        var model = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Prompt, new ChatOptions { ModelId = "gpt-4o" }));
        StringAssert.Contains(model.Message, "ChatOptions.ModelId is 'gpt-4o' but this client serves 'stories'");
        await Assert.ThrowsAsync<PromptTooLongException>(() => client.GetResponseAsync(string.Join(" ", GenerationTestModels.Stories.Take(3))));
    }
}
