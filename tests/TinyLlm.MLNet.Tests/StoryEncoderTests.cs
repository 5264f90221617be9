using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class StoryEncoderTests
{
    [TestMethod]
    public void OneCharacterStoriesAreEncodedLikeSentencePieceDoes()
    {
        // Microsoft.ML.Tokenizers 2.0.1's own normalizer returns no ids for a one-character text; the shards must
        // still hold [BOS, ▁a] as sentencepiece (and llama2.c's pretokenize) writes.
        var stories = SyntheticStories.Generate(200, seed: 2).ToArray();
        var model = SentencePieceBpeTrainer.Train(stories, new SentencePieceBpeOptions { VocabSize = 400 });
        foreach (bool memoize in new[] { true, false })
        {
            var writer = new TokenShardWriter(model.ToBytes(), new TokenShardWriterOptions { MemoizeWords = memoize });
            foreach (string story in new[] { "a", " .", "I", "Lily ran." })
            {
                var expected = model.Encode(story.Trim()).Select(i => (ushort)i).ToArray();
                CollectionAssert.AreEqual(expected, writer.EncodeStory(story).Select(i => (ushort)i).ToArray(), $"'{story}', memoize {memoize}");
                Assert.IsTrue(expected.Length >= 2, $"'{story}' encodes to BOS only");
            }
        }
    }
}
