using LLama;
using LLama.Common;
using LLama.Native;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// A GGUF model loaded by the real llama.cpp, through LLamaSharp 0.30.0 and its CPU backend (the native library ships
/// in the NuGet package): the reference the GGUF tests compare our export and engine against.
/// </summary>
internal sealed class LlamaCpp : IDisposable
{
    private static readonly Lock Gate = new();
    private static bool _configured;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();

    public LlamaCpp(string ggufPath, int contextSize, int threads = 2)
    {
        lock (Gate)
        {
            // Once per process, before the native library loads: keep llama.cpp's load log out of the test output
            // (its warnings and errors still show).
            if (!_configured)
            {
                NativeLibraryConfig.All.WithLogCallback((level, message) =>
                {
                    if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error && !message.Contains("n_ctx_seq", StringComparison.Ordinal)) Console.Error.Write(message);
                });
                _configured = true;
            }
        }
        // The key/value cache in fp32 and no flash attention (llama.cpp's defaults are an fp16 cache and, on this
        // CPU, flash attention, which rounds to fp16 too: logits ~2e-3 apart on a model of logits ~5), as our engine
        // computes: the comparison is then of the same arithmetic up to summation order.
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize, GpuLayerCount = 0, Threads = threads, BatchThreads = threads,
            BatchSize = (uint)contextSize, UBatchSize = (uint)contextSize, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
    }

    /// <summary>llama.cpp's tokenization of <paramref name="text"/>, BOS first (special tokens not parsed in the text).</summary>
    public int[] Tokenize(string text) => _context.Tokenize(text, addBos: true, special: false).Select(t => (int)t).ToArray();

    /// <summary>The logits after each of <paramref name="ids"/> (positions 0, 1, ...), the sequence run as one batch from an empty cache.</summary>
    public float[][] LogitsAlong(IReadOnlyList<int> ids)
    {
        _context.NativeHandle.MemoryClear(true);
        _batch.Clear();
        for (int i = 0; i < ids.Count; i++) _batch.Add(ids[i], i, LLamaSeqId.Zero, logits: true);
        Check(_context.Decode(_batch));
        return Enumerable.Range(0, ids.Count).Select(i => _context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>Greedy decoding: <paramref name="prompt"/> as one batch, then <paramref name="count"/> tokens one at a time (argmax, lowest id on ties).</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count)
    {
        _context.NativeHandle.MemoryClear(true);
        _batch.Clear();
        for (int i = 0; i < prompt.Count; i++) _batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        Check(_context.Decode(_batch));
        var generated = new int[count];
        for (int n = 0; n < count; n++)
        {
            int next = ArgMax(_context.NativeHandle.GetLogitsIth(_batch.TokenCount - 1));
            generated[n] = next;
            if (n == count - 1) break;
            _batch.Clear();
            _batch.Add(next, prompt.Count + n, LLamaSeqId.Zero, logits: true);
            Check(_context.Decode(_batch));
        }
        return generated;
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) Assert.Fail($"llama.cpp's decode returned {result}.");
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
