using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

/// <summary>Tiny random models, a small trained tokenizer and comparisons shared by the Interop*Tests.</summary>
internal static class InteropTestModels
{
    private static readonly Lazy<SentencePieceModel> LazyTokenizer = new(() =>
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticStories.Generate(300, seed: 5).Select(s => new StoryPrompt { Text = s }));
        return ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 }).Fit(data).Model;
    });

    /// <summary>A 400-piece BPE tokenizer trained on synthetic stories.</summary>
    public static SentencePieceModel Tokenizer => LazyTokenizer.Value;

    /// <summary>
    /// Random weights (dim 64, hidden 176 unless given, 2 layers, 4 heads, 2 kv heads), large enough that the logits are
    /// peaked and greedy choices are not near-ties; norms around 1 but not 1, so a misplaced norm changes the output.
    /// </summary>
    public static TransformerWeights Random(int vocab, bool shared, int seed = 3, int seqLen = 64, int hiddenDim = 176)
    {
        var weights = new TransformerWeights(new LlamaConfig { Dim = 64, HiddenDim = hiddenDim, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = vocab, MaxSeqLen = seqLen, SharedClassifier = shared });
        var rng = new Random(seed);
        foreach (var (name, values) in weights.InFileOrder().Append(("output.weight", weights.Classifier)))
        {
            bool norm = name.Contains("norm", StringComparison.Ordinal);
            for (int i = 0; i < values.Length; i++)
                values[i] = norm ? 0.8f + 0.4f * (float)rng.NextDouble() : 0.3f * (float)(rng.NextDouble() * 2 - 1);
        }
        return weights;
    }

    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> TempDirs = new();

    /// <summary>A fresh temporary folder, removed by <see cref="DeleteTempDirs"/> (each test class's cleanup).</summary>
    public static string TempDir(string tag)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tinyllm-interop-{tag}-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        TempDirs.Enqueue(dir);
        return dir;
    }

    public static void DeleteTempDirs()
    {
        while (TempDirs.TryDequeue(out string? dir))
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>Every tensor and every size equal, bit for bit.</summary>
    public static void AssertBitEqual(TransformerWeights expected, TransformerWeights actual)
    {
        Assert.AreEqual(expected.Config, actual.Config);
        foreach (var ((name, e), (_, a)) in expected.InFileOrder().Append(("output.weight", expected.Classifier))
                     .Zip(actual.InFileOrder().Append(("output.weight", actual.Classifier))))
        {
            Assert.AreEqual(e.Length, a.Length, name);
            for (int i = 0; i < e.Length; i++)
                if (BitConverter.SingleToInt32Bits(e[i]) != BitConverter.SingleToInt32Bits(a[i]))
                    Assert.Fail($"{name}[{i}]: expected {e[i]:R}, got {a[i]:R}");
        }
        Assert.AreEqual(expected.Config.SharedClassifier, ReferenceEquals(actual.Classifier, actual.TokenEmbedding));
    }

    /// <summary>Greedy text of 40 new tokens, checked to be varied enough to tell models apart.</summary>
    public static string Greedy(TransformerWeights weights, string prompt = "Once upon a time, Lily saw a cat.")
    {
        var result = new TextGenerator(weights, Tokenizer).Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 40 });
        Assert.IsTrue(result.TokenIds.Distinct().Count() > 5, "greedy decoding repeats one token: the comparison would be weak");
        return result.Text;
    }
}
