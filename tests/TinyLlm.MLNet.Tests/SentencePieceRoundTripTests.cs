using System.Text;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class SentencePieceRoundTripTests
{
    private static readonly Lazy<SentencePieceModel> Verbatim = new(() =>
        SentencePieceBpeTrainer.Train(TokenizerTestCorpus.Synthetic(3_000, seed: 11),
            new SentencePieceBpeOptions { VocabSize = 500, RemoveExtraWhitespaces = false }));

    private static readonly Lazy<SentencePieceModel> Default = new(() =>
        SentencePieceBpeTrainer.Train(TokenizerTestCorpus.Synthetic(3_000, seed: 11), new SentencePieceBpeOptions { VocabSize = 500 }));

    /// <summary>Random strings of emoji, CJK, combining marks, control characters, runs of spaces and ASCII.</summary>
    private static string RandomString(Random random)
    {
        int[][] pools =
        [
            [' ', ' ', ' '], // runs of spaces
            Enumerable.Range(0x20, 0x5F).ToArray(), // printable ASCII
            Enumerable.Range(0x00, 0x20).ToArray(), // control characters, NUL and tab and newline included
            Enumerable.Range(0x4E00, 0x200).ToArray(), // CJK
            Enumerable.Range(0x0300, 0x70).ToArray(), // combining marks
            Enumerable.Range(0x1F600, 0x50).ToArray(), // emoji (outside the BMP)
            // U+2581 is left out: it is sentencepiece's escaped space and decodes as a space by design.
            [0x00E9, 0x00FC, 0x0416, 0x05D0, 0x0627, 0x200D, 0xFEFF, 0xFFFD],
        ];
        var sb = new StringBuilder();
        int length = random.Next(0, 40);
        for (int i = 0; i < length; i++)
        {
            var pool = pools[random.Next(pools.Length)];
            sb.Append(char.ConvertFromUtf32(pool[random.Next(pool.Length)]));
        }
        return sb.ToString();
    }

    [TestMethod]
    public void DecodeOfEncodeIsIdentityWithoutWhitespaceCleanup()
    {
        var model = Verbatim.Value;
        var tokenizer = model.CreateTokenizer(addBeginningOfSentence: true, addEndOfSentence: true);
        var random = new Random(1234);
        for (int n = 0; n < 3000; n++)
        {
            string s = RandomString(random);
            var ids = model.Encode(s, addBeginningOfSentence: true, addEndOfSentence: true);
            Assert.AreEqual(s, model.Decode(ids), $"case {n}: ids [{string.Join(", ", ids)}]");
            // Microsoft.ML.Tokenizers' own normalizer agrees when spaces are kept verbatim.
            // (except for the empty text, where it returns no ids at all, not even BOS/EOS).
            if (s.Length > 0) CollectionAssert.AreEqual(ids.ToArray(), tokenizer.EncodeToIds(s).ToArray(), $"case {n}: '{s}'");
        }
    }

    [TestMethod]
    public void DefaultOptionsRemoveExtraWhitespaceAsDocumented()
    {
        // RemoveExtraWhitespaces (sentencepiece's default): leading/trailing spaces dropped, runs collapsed.
        var m = Default.Value;
        Assert.AreEqual("Lily saw a red ball.", m.Decode(m.Encode("  Lily   saw a  red ball.   ")));
        Assert.AreEqual("東京 Привет 😀 x", m.Decode(m.Encode("東京 Привет   😀 x")));
        Assert.IsEmpty(m.Encode("   ", addBeginningOfSentence: false)); // as spm_encode: no ids for a blank line
        Assert.AreEqual("a", m.Decode(m.Encode(" a ")));
    }

    [TestMethod]
    public void BosAndEosAreAddedAsAsked()
    {
        var m = Default.Value;
        var ids = m.Encode("Tom saw a big tree.", true, true);
        Assert.AreEqual(1, ids[0]);
        Assert.AreEqual(2, ids[^1]);
        CollectionAssert.AreEqual(ids.ToArray(), m.CreateTokenizer(true, true).EncodeToIds("Tom saw a big tree.").ToArray());
        var bare = m.Encode("Tom saw a big tree.", false, false);
        CollectionAssert.AreEqual(ids.Skip(1).Take(ids.Count - 2).ToArray(), bare.ToArray());
    }

    [TestMethod]
    public void UnseenCharactersFallBackToBytes()
    {
        var m = Default.Value;
        var ids = m.Encode("ᚠ", false, false); // Runic: not in the corpus, UTF-8 E1 9A A0
        CollectionAssert.AreEqual(new[] { 3 + 0xE1, 3 + 0x9A, 3 + 0xA0 }, ids.Skip(1).ToArray());
        Assert.AreEqual("ᚠ", m.Decode(ids));
    }
}
