using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

/// <summary>What the generation test classes share: a 400-piece tokenizer fitted once, and random models.</summary>
internal static class GenerationTestModels
{
    private static readonly Lazy<(SentencePieceModel Tokenizer, string[] Stories)> Fitted = new(Fit);

    /// <summary>300 synthetic stories (seed 5).</summary>
    public static string[] Stories => Fitted.Value.Stories;

    /// <summary>A 400-piece BPE tokenizer fitted on <see cref="Stories"/>.</summary>
    public static SentencePieceModel Tokenizer => Fitted.Value.Tokenizer;

    private static (SentencePieceModel, string[]) Fit()
    {
        string[] stories = SyntheticStories.Generate(300, seed: 5).ToArray();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(stories.Select(s => new StoryPrompt { Text = s }));
        var tokenizer = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 }).Fit(data);
        return (tokenizer.Model, stories);
    }

    /// <summary>
    /// A 64-dim, 2-layer TorchSharp model's initial weights (seed 3) times <paramref name="scale"/>, with unit norms:
    /// larger weights than the N(0, 0.02) init give peaked logits, so greedy choices are not near-ties.
    /// </summary>
    public static TransformerWeights RandomWeights(int vocab, int seqLen, float scale, int heads = 4, int kvHeads = 2)
    {
        torch.manual_seed(3);
        using var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = heads, NKvHeads = kvHeads, VocabSize = vocab, MultipleOf = 16, MaxSeqLen = seqLen });
        var weights = model.ToTransformerWeights();
        foreach (var (_, values) in weights.InFileOrder())
            for (int i = 0; i < values.Length; i++) values[i] *= scale;
        Array.Fill(weights.AttentionNorm, 1f);
        Array.Fill(weights.FfnNorm, 1f);
        Array.Fill(weights.FinalNorm, 1f);
        return weights;
    }
}
