// Talk to a TinyLlm model through Microsoft.Extensions.AI's IChatClient, the interface .NET AI libraries (Semantic
// Kernel and others) accept. References TinyLlm.MLNet.Core only: no TorchSharp, no libtorch, no server.
//
//   dotnet run --project examples/ChatClient -- whole-pipeline/tinyllm.zip "One day, Lily met a"
using Microsoft.Extensions.AI;
using TinyLlm.MLNet.Serving;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ChatClient <model.zip> <prompt>   (or: ChatClient <model.bin> <tokenizer.model> <prompt>)");
    return 1;
}
string prompt = args[^1];

// A zip saved by the pipeline, or a model file and its tokenizer. Thread-safe: concurrent requests share one batch.
using IChatClient client = TinyLlmChatClient.Load(args[0], args.Length > 2 ? args[1] : null);

// Stream a story: one update per decoded piece, then one with the finish reason and the token counts. The models are
// not chat-tuned: one user message is the start of a story, and the response is its continuation.
var options = new ChatOptions { Temperature = 0.8f, TopP = 0.95f, MaxOutputTokens = 60, Seed = 42 };
string streamed = "";
UsageDetails? usage = null;
ChatFinishReason? finish = null;
Console.Write(prompt);
await foreach (var update in client.GetStreamingResponseAsync(prompt, options))
{
    Console.Write(update.Text.ReplaceLineEndings(" "));
    streamed += update.Text;
    usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
    finish = update.FinishReason ?? finish;
}
Console.WriteLine();
Console.WriteLine($"finish: {finish}, tokens: {usage?.InputTokenCount} in, {usage?.OutputTokenCount} out");

// The same seed gives the same story, streamed or not.
ChatResponse again = await client.GetResponseAsync(prompt, options);
Console.WriteLine($"same story without streaming: {again.Text == streamed}");

// Several requests at once are generated together, each as it would be alone.
var stories = await Task.WhenAll(Enumerable.Range(1, 3).Select(seed =>
    client.GetResponseAsync(prompt, new ChatOptions { Seed = seed, MaxOutputTokens = 30 })));
for (int i = 0; i < stories.Length; i++)
    Console.WriteLine($"seed {i + 1}: {prompt}{stories[i].Text.ReplaceLineEndings(" ")}");
return 0;
