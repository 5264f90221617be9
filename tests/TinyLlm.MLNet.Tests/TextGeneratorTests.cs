using TinyLlm.MLNet.Generation;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>Prompts to text: streaming, batches, byte-fallback pieces, context limits, tokenizer checks.</summary>
[TestClass]
public sealed class TextGeneratorTests
{
    [TestMethod]
    public void StreamedPiecesAddUpToTheTextWithWholeCharacters()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        var pieces = new List<string>();
        var result = generator.Generate("Once upon a time, Lily saw a cat. ", new SamplingOptions { Seed = 9, MaxNewTokens = 60 }, pieces.Add);
        Assert.AreEqual(result.Text, string.Concat(pieces));
        Assert.IsTrue(result.TokenIds.Count > 0);
        Assert.IsFalse(result.TokenIds.Contains(Tokenizer.EosId));
    }

    [TestMethod]
    public void ABatchGivesTheSameStoriesAsOneAtATime()
    {
        // Prompts of different lengths advance together; sequence i uses seed + i, as generated alone.
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 48, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        string[] prompts = ["Tom had a ball.", "Once upon a time, there was a little girl named Lily who", "Tom had a ball."];
        var options = new SamplingOptions { Seed = 21, MaxNewTokens = 60, TopK = 40, SlideContextWindow = true };
        var streamed = new string[3];
        var batch = generator.GenerateBatch(prompts, options, (i, piece) => streamed[i] += piece);
        for (int i = 0; i < prompts.Length; i++)
        {
            var one = options.Clone();
            one.Seed = 21 + (ulong)i;
            var alone = generator.Generate(prompts[i], one);
            CollectionAssert.AreEqual(alone.TokenIds.ToArray(), batch[i].TokenIds.ToArray(), $"sequence {i}");
            Assert.AreEqual(alone.Text, batch[i].Text);
            Assert.AreEqual(batch[i].Text, streamed[i] ?? "");
        }
        Assert.AreNotEqual(batch[0].Text, batch[2].Text, "same prompt, different seeds");
        Assert.IsTrue(batch.Any(r => r.TokenIds.Count + r.PromptTokens > 48) || batch.All(r => r.StoppedAtEndOfText),
            "the check should include a sequence that outgrows the 48-token context");
    }

    [TestMethod]
    public void ByteFallbackPiecesAreHeldBackUntilTheyFormACharacter()
    {
        // "é" is U+00E9, UTF-8 C3 A9; byte pieces <0xNN> have ids 3 + NN.
        int[] prompt = Tokenizer.Encode("Lily").ToArray();
        var decoder = new IncrementalDetokenizer(Tokenizer, prompt);
        Assert.AreEqual("", decoder.Append(3 + 0xC3));
        Assert.AreEqual("é", decoder.Append(3 + 0xA9));
        // A three-byte character (U+2603, E2 98 83) appears only when its last byte arrives.
        Assert.AreEqual("", decoder.Append(3 + 0xE2));
        Assert.AreEqual("", decoder.Append(3 + 0x98));
        Assert.AreEqual("☃", decoder.Append(3 + 0x83));
        Assert.AreEqual("é☃", decoder.Text);
    }

    [TestMethod]
    public void APromptLongerThanTheContextKeepsItsLastTokens()
    {
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 32, scale: 3f);
        var generator = new TextGenerator(weights, Tokenizer);
        string longPrompt = string.Join(" ", GenerationTestModels.Stories.Take(3));
        int[] ids = generator.EncodePrompt(longPrompt);
        var full = Tokenizer.Encode(longPrompt);
        Assert.AreEqual(31, ids.Length);
        CollectionAssert.AreEqual(full.Skip(full.Count - 31).ToArray(), ids);
        var result = generator.Generate(longPrompt, new SamplingOptions { Seed = 1, MaxNewTokens = 80 });
        Assert.AreEqual(31, result.PromptTokens);
        // One new position is left: two tokens (the second sampled from it), then the context is full.
        Assert.IsTrue((result.TokenIds.Count == 2 && result.StoppedAtContextLength) || result.StoppedAtEndOfText);
        var slid = generator.Generate(longPrompt, new SamplingOptions { Seed = 1, MaxNewTokens = 80, SlideContextWindow = true });
        Assert.IsTrue(slid.TokenIds.Count == 80 || slid.StoppedAtEndOfText);
    }

    [TestMethod]
    public void ATokenizerOfAnotherVocabularyIsRejected()
    {
        var weights = RandomWeights(vocab: 128, seqLen: 16, scale: 1f);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new TextGenerator(weights, Tokenizer));
        StringAssert.Contains(e.Message, "400");
        StringAssert.Contains(e.Message, "128");
    }
}
