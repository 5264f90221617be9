// Batch-1 greedy decoding tokens/s of a GGUF model in llama.cpp (through LLamaSharp 0.30.0 and its CPU backend),
// measured exactly as `tinyllm bench generate --mode cached` measures our engine: BOS at position 0, then the argmax
// token fed back, position by position, one synchronous llama_decode per token (LLamaSharp's DecodeAsync adds a
// thread-pool hop per token), the cache cleared between runs. Prints one JSON line.
//   dotnet llamacpp-bench.dll --model m.gguf [--tokens 256] [--threads N] [--repeats 10]
using System.Diagnostics;
using System.Text.Json;
using LLama;
using LLama.Common;
using LLama.Native;

var options = Options.Parse(args);
NativeLibraryConfig.All.WithLogCallback((level, message) =>
{
    if (level is LLamaLogLevel.Error) Console.Error.Write(message);
});

var clock = Stopwatch.StartNew();
var parameters = new ModelParams(options.Model)
{
    ContextSize = (uint)options.Tokens, GpuLayerCount = 0, Threads = options.Threads, BatchThreads = options.Threads,
    BatchSize = (uint)options.Tokens, UBatchSize = (uint)options.Tokens,
};
using var weights = LLamaWeights.LoadFromFile(parameters);
using var context = weights.CreateContext(parameters);
double loadSeconds = clock.Elapsed.TotalSeconds;
string weightTypes = weights.Metadata.TryGetValue("general.file_type", out var fileType) ? fileType : "?";

var batch = new LLamaBatch();
double best = double.MaxValue, first = 0;
int[] generated = [];
for (int r = 0; r < options.Repeats; r++)
{
    clock.Restart();
    generated = Decode(context, batch, options.Tokens);
    double seconds = clock.Elapsed.TotalSeconds;
    best = Math.Min(best, seconds);
    if (r == 0) first = seconds;
}

var self = Process.GetCurrentProcess();
Console.WriteLine(JsonSerializer.Serialize(new
{
    impl = "llama.cpp (LLamaSharp 0.30.0)",
    file_type = weightTypes,
    model_mb = new FileInfo(options.Model).Length / (1024.0 * 1024.0),
    tokens = options.Tokens,
    tokens_per_s = options.Tokens / best,
    first_run_tokens_per_s = options.Tokens / first,
    runs = options.Repeats,
    threads = options.Threads,
    load_s = loadSeconds,
    peak_rss_mb = self.PeakWorkingSet64 / (1024.0 * 1024.0),
    rss_mb = self.WorkingSet64 / (1024.0 * 1024.0),
    last_tokens = generated.TakeLast(8),
}));
return 0;

// run.c's loop: forward position by position from BOS with the cache, greedy.
static int[] Decode(LLamaContext context, LLamaBatch batch, int n)
{
    context.NativeHandle.MemoryClear(true);
    var ids = new int[n];
    int token = 1;
    for (int pos = 0; pos < n; pos++)
    {
        batch.Clear();
        batch.Add(token, pos, LLamaSeqId.Zero, true);
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result} at position {pos}.");
        var logits = context.NativeHandle.GetLogitsIth(0);
        int next = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[next]) next = i;
        token = ids[pos] = next;
    }
    return ids;
}

sealed record Options(string Model, int Tokens, int Threads, int Repeats)
{
    public static Options Parse(string[] args)
    {
        string? model = null;
        int tokens = 256, threads = Environment.ProcessorCount, repeats = 10;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i++])
            {
                case "--model": model = value; break;
                case "--tokens": tokens = int.Parse(value); break;
                case "--threads": threads = int.Parse(value); break;
                case "--repeats": repeats = int.Parse(value); break;
                default: throw new ArgumentException($"Unknown option {args[i - 1]}; use --model, --tokens, --threads, --repeats.");
            }
        }
        if (model is null || !File.Exists(model)) throw new ArgumentException($"--model must name a GGUF file; got '{model}'.");
        if (tokens < 1 || threads < 1 || repeats < 1) throw new ArgumentException("--tokens, --threads and --repeats must be at least 1.");
        return new Options(model, tokens, threads, repeats);
    }
}
