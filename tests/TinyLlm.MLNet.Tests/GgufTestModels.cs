using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>What the GGUF test classes share: a small model trained by the tests, GGUF rewriting for bad files, and ggml's Q8_0 rule.</summary>
internal static class GgufTestModels
{
    private static readonly Lazy<TransformerWeights> LazyTrained = new(Train);

    /// <summary>What <see cref="Trained"/> learns by heart, over and over.</summary>
    public const string Story = "Once upon a time, Lily met a big red dog. They ran to the park and played with a ball. Then they went home, ate a cake and slept. ";

    /// <summary>
    /// A model trained by the tests (dim 64, hidden 192, 2 layers, 4 heads, 2 kv heads, context 128) on
    /// <see cref="Story"/> repeated, tokenized by the 400-piece tokenizer of <see cref="GenerationTestModels"/>: 60
    /// AdamW steps of 4 x 128 tokens take the loss from ln(400) to about 0.05, a few seconds on the CPU. It recites the
    /// story from any part of it and wanders elsewhere, with peaked logits: greedy decoding is a meaningful,
    /// tie-free comparison between implementations.
    /// </summary>
    public static TransformerWeights Trained => LazyTrained.Value;

    public static SentencePieceModel Tokenizer => GenerationTestModels.Tokenizer;

    private static TransformerWeights Train()
    {
        var tokens = Tokenizer.Encode(string.Concat(Enumerable.Repeat(Story, 60))).ToArray();
        var options = new TrainingOptions
        {
            OutDir = InteropTestModels.TempDir("gguf-train"), Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, MultipleOf = 32,
            VocabSize = Tokenizer.VocabSize, MaxSeqLen = 128, BatchSize = 4, GradientAccumulationSteps = 1, LearningRate = 1e-2,
            WarmupIters = 5, MaxIters = 60, EvalInterval = 1000, EvalIters = 1, Device = "cpu", Dtype = "float32", Seed = 1,
            WriteMetrics = false,
        };
        var result = new LlamaTrainer(options).Fit(new InMemoryTokenSource(tokens, tokens, options.MaxSeqLen));
        Assert.IsTrue(result.Losses[^1] < 0.5, $"the test model did not learn its story: loss {result.Losses[^1]}");
        using var model = result.Model;
        return model.ToTransformerWeights();
    }

    /// <summary>
    /// ggml's Q8_0 rule, written here independently of the exporter: per block of 32, <c>d = max|x| / 127</c> rounded to
    /// fp16, <c>q = round(x / d)</c> (as <c>x * (1/d)</c>, halves away from zero); the value read back is <c>q * d</c>.
    /// </summary>
    public static (sbyte[] Q, float[] Scales) GgmlQ8(ReadOnlySpan<float> values)
    {
        var q = new sbyte[values.Length];
        var scales = new float[values.Length / 32];
        for (int b = 0; b < scales.Length; b++)
        {
            var block = values.Slice(32 * b, 32);
            float amax = 0;
            foreach (float v in block) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127, id = d == 0 ? 0 : 1 / d;
            scales[b] = (float)(Half)d;
            for (int i = 0; i < 32; i++) q[32 * b + i] = (sbyte)MathF.Round(block[i] * id, MidpointRounding.AwayFromZero);
        }
        return (q, scales);
    }

    /// <summary>
    /// Writes <paramref name="destination"/>: the GGUF at <paramref name="source"/> with metadata values replaced
    /// (<paramref name="editKey"/> returns the new value, or null to drop the key) and tensor entries changed
    /// (<paramref name="editTensor"/> returns the new name, dimensions and type, or null to drop the tensor; the data
    /// is the original bytes, cut or zero-padded to the new size).
    /// </summary>
    public static void Rewrite(string source, string destination,
        Func<string, object, object?>? editKey = null,
        Func<GgufTensorInfo, (string Name, long[] Dimensions, GgmlType Type)?>? editTensor = null,
        IEnumerable<(string Key, object Value)>? addKeys = null)
    {
        var file = GgufFile.Open(source);
        var writer = new GgufWriter();
        foreach (var (key, value) in file.Metadata.Select(kv => (kv.Key, kv.Value)).Concat(addKeys ?? []))
        {
            object? v = editKey is null ? value : editKey(key, value);
            switch (v)
            {
                case null: break;
                case string s: writer.Add(key, s); break;
                case uint u: writer.Add(key, u); break;
                case float f: writer.Add(key, f); break;
                case bool b: writer.Add(key, b); break;
                case string[] a: writer.Add(key, a); break;
                case float[] a: writer.Add(key, a); break;
                case int[] a: writer.Add(key, a); break;
                default: throw new ArgumentException($"Rewrite does not write {v.GetType().Name} values ({key}).");
            }
        }
        foreach (var tensor in file.Tensors)
        {
            var entry = editTensor is null ? (tensor.Name, tensor.Dimensions, tensor.Type) : editTensor(tensor);
            if (entry is null) continue;
            var (name, dims, type) = entry.Value;
            var bytes = new byte[tensor.ByteCount!.Value];
            file.ReadTensor(tensor, bytes);
            var block = GgmlTypes.Block(type) ?? (type == GgmlType.Q4_K ? (256, 144) : throw new ArgumentException($"No test layout for {type}."));
            long size = dims.Aggregate(1L, (a, b) => a * b) / block.Values * block.Bytes;
            writer.AddTensor(name, dims, type, size, s =>
            {
                s.Write(bytes.AsSpan(0, (int)Math.Min(size, bytes.Length)));
                for (long i = bytes.Length; i < size; i++) s.WriteByte(0);
            });
        }
        writer.Write(destination);
    }
}
