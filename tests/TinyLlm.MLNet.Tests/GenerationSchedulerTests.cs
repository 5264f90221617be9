using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Serving;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>Continuous batching: requests come and go between decoding steps, and each gets exactly its text alone.</summary>
[TestClass]
public sealed class GenerationSchedulerTests
{
    private static readonly Lazy<TextGenerator> Generator = new(() => new TextGenerator(RandomWeights(Tokenizer.VocabSize, seqLen: 40, scale: 3f), Tokenizer));

    private static readonly string[] Prompts =
        ["Tom had a ball.", "Once upon a time, there was a little girl named Lily who", "One day", "The dog ran to the park and", ""];

    private static SamplingOptions Sampling(ulong seed, int maxNewTokens = 50) => new() { Seed = seed, MaxNewTokens = maxNewTokens, TopK = 60, Temperature = 0.9f };

    // A request that holds its slot until cancelled: greedy decoding of this model settles into a loop without EOS
    // (EndlessRequestsDoNotEnd checks), and the budget is far away.
    private static readonly SamplingOptions Endless = new() { Temperature = 0, MaxNewTokens = 1_000_000, SlideContextWindow = true };

    [TestMethod]
    public void EndlessRequestsDoNotEnd()
    {
        var result = Generator.Value.Generate(Prompts[1], new SamplingOptions { Temperature = 0, MaxNewTokens = 500 });
        Assert.IsFalse(result.StoppedAtEndOfText, "the other tests need a prompt whose greedy continuation never ends");
    }

    [TestMethod]
    public void RequestsArrivingWhileOthersRunEachGetTheirTextAlone()
    {
        // 12 requests into 4 slots, submitted at staggered moments from several threads, with budgets that outgrow the
        // 40-token context (so some refill their cache mid-way) and different prompts and seeds.
        var generator = Generator.Value;
        using var scheduler = new GenerationScheduler(generator, new GenerationSchedulerOptions { MaxBatch = 4, MaxWaiting = 16 });
        var jobs = Enumerable.Range(0, 12).Select(i => (Prompt: Prompts[i % Prompts.Length], Sampling: Sampling(100 + (ulong)i, 20 + 7 * i))).ToArray();
        var runs = jobs.Select((job, i) => Task.Run(async () =>
        {
            await Task.Delay(i * 3);
            var request = scheduler.Submit(job.Prompt, job.Sampling);
            var pieces = new List<string>();
            await foreach (string piece in request.ReadPiecesAsync()) pieces.Add(piece);
            return (Pieces: pieces, Outcome: await request.Completion);
        })).ToArray();
        Assert.IsTrue(Task.WaitAll(runs, TimeSpan.FromMinutes(2)), "the scheduler did not finish the requests");

        bool refilled = false;
        for (int i = 0; i < jobs.Length; i++)
        {
            var alone = generator.Generate(jobs[i].Prompt, jobs[i].Sampling);
            var (pieces, outcome) = runs[i].Result;
            CollectionAssert.AreEqual(alone.TokenIds.ToArray(), outcome.TokenIds.ToArray(), $"request {i}");
            Assert.AreEqual(alone.Text, outcome.Text, $"request {i}");
            Assert.AreEqual(outcome.Text, string.Concat(pieces), $"request {i}: the pieces add up to the text");
            Assert.AreEqual(alone.PromptTokens, outcome.PromptTokens);
            Assert.AreEqual(alone.StoppedAtEndOfText ? GenerationFinishReason.Stop : GenerationFinishReason.Length, outcome.FinishReason, $"request {i}");
            refilled |= outcome.PromptTokens + outcome.CompletionTokens > 40;
        }
        Assert.IsTrue(refilled, "some request should outgrow the context and refill its cache");
        Assert.AreEqual(0, scheduler.Active);
        Assert.AreEqual(runs.Sum(r => (long)r.Result.Outcome.CompletionTokens), scheduler.GeneratedTokens);
    }

    [TestMethod]
    public void AStopSequenceEndsTheTextBeforeItAndFreesTheSlot()
    {
        var generator = Generator.Value;
        var sampling = Sampling(7, 40);
        string alone = generator.Generate(Prompts[0], sampling).Text;
        Assert.IsGreaterThan(12, alone.Length, alone);
        string stop = alone.Substring(8, 3);
        using var scheduler = new GenerationScheduler(generator, new GenerationSchedulerOptions { MaxBatch = 2 });
        var request = scheduler.Submit(Prompts[0], sampling, ["\u0001never", stop]);
        var pieces = request.ReadPiecesAsync().ToBlockingEnumerable().ToList();
        var outcome = request.Completion.Result;
        Assert.AreEqual(alone[..alone.IndexOf(stop, StringComparison.Ordinal)], outcome.Text);
        Assert.AreEqual(outcome.Text, string.Concat(pieces));
        Assert.AreEqual(GenerationFinishReason.Stop, outcome.FinishReason);
        Assert.AreEqual(0, scheduler.Active);
    }

    [TestMethod]
    public void TheStopFilterHoldsBackOnlyWhatMayStartAStopSequence()
    {
        var filter = new StopSequenceFilter(["END", "xyz"]);
        Assert.AreEqual("abc", filter.Push("abc"));
        Assert.AreEqual("de", filter.Push("deE"), "'E' may start END");
        Assert.AreEqual("Ex", filter.Push("xx"), "'x' may start xyz");
        Assert.AreEqual("x", filter.Push("E"), "'E' again");
        Assert.AreEqual("", filter.Push("N"));
        Assert.AreEqual("", filter.Push("D and more"));
        Assert.IsTrue(filter.Stopped);
        Assert.AreEqual("", filter.Push("later"));
        Assert.AreEqual("", filter.Flush());

        var open = new StopSequenceFilter(["END"]);
        Assert.AreEqual("the ", open.Push("the EN"));
        Assert.AreEqual("EN", open.Flush(), "no stop sequence completed: the held text is released at the end");
    }

    [TestMethod]
    public async Task ACancelledRequestFreesItsSlotForTheNextOne()
    {
        using var scheduler = new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = 1, MaxWaiting = 1 });
        using var cancel = new CancellationTokenSource();
        var first = scheduler.Submit(Prompts[1], Endless, cancellationToken: cancel.Token);
        int pieces = 0;
        var reading = Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (string _ in first.ReadPiecesAsync())
                if (++pieces == 3) cancel.Cancel();
        });
        // The next request waits for the only slot, which the cancelled one gives back before its next step.
        var second = scheduler.Submit(Prompts[0], Sampling(4, 10));
        await reading;
        Assert.IsTrue(first.Completion.IsCanceled);
        var outcome = await second.Completion.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.AreEqual(Generator.Value.Generate(Prompts[0], Sampling(4, 10)).Text, outcome.Text);
        Assert.AreEqual(0, scheduler.Active);
    }

    [TestMethod]
    public async Task TooManyWaitingRequestsAreRefusedAndAWaitingOneCanLeave()
    {
        using var scheduler = new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = 1, MaxWaiting = 1 });
        var running = scheduler.Submit(Prompts[1], Endless);
        await running.ReadPiecesAsync().FirstAsync(); // running: holds the slot
        var waiting = scheduler.Submit(Prompts[0], Sampling(2));
        var full = Assert.ThrowsExactly<SchedulerFullException>(() => scheduler.Submit(Prompts[0], Sampling(3)));
        StringAssert.Contains(full.Message, "All 1 generation slots are busy and 1 requests are already waiting");
        Assert.AreEqual(1, scheduler.Waiting);

        waiting.Cancel();
        Assert.IsTrue(waiting.Completion.IsCanceled, "a waiting request leaves the queue at once");
        Assert.AreEqual(0, scheduler.Waiting);
        running.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => running.Completion);
    }

    [TestMethod]
    public void BadRequestsAreRefusedByName()
    {
        using var scheduler = new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = 1 });
        string longPrompt = string.Join(" ", GenerationTestModels.Stories.Take(3));
        var tooLong = Assert.ThrowsExactly<PromptTooLongException>(() => scheduler.Submit(longPrompt, Sampling(1)));
        Assert.AreEqual(40, tooLong.ContextLength);
        StringAssert.Contains(tooLong.Message, $"The prompt is {tooLong.PromptTokens} tokens (BOS included) but the model's context is 40: at most 39");
        var temperature = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => scheduler.Submit("x", new SamplingOptions { Temperature = -1 }));
        Assert.AreEqual("Temperature", temperature.ParamName);
        var stop = Assert.ThrowsExactly<ArgumentException>(() => scheduler.Submit("x", Sampling(1), [""]));
        StringAssert.Contains(stop.Message, "A stop sequence must not be empty");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = 0 }));
    }

    [TestMethod]
    public async Task DisposingFailsTheRequestsStillRunning()
    {
        var scheduler = new GenerationScheduler(Generator.Value, new GenerationSchedulerOptions { MaxBatch = 1 });
        var running = scheduler.Submit(Prompts[1], Endless);
        var waiting = scheduler.Submit(Prompts[0], Sampling(2));
        await running.ReadPiecesAsync().FirstAsync();
        scheduler.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => running.Completion);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.Completion);
        Assert.ThrowsExactly<ObjectDisposedException>(() => scheduler.Submit("x", Sampling(1)));
    }
}
