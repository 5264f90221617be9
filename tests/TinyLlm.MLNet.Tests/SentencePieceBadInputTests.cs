using Google.Protobuf;
using Microsoft.ML;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class SentencePieceBadInputTests
{
    private static readonly string[] Corpus = TokenizerTestCorpus.Synthetic(1_000, seed: 5);

    [TestMethod]
    public void VocabularyBelowSpecialsBytesAndCharactersNamesTheMinimum()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            SentencePieceBpeTrainer.Train(Corpus, new SentencePieceBpeOptions { VocabSize = 270 }));
        // 3 specials + 256 bytes + the corpus's distinct characters.
        int chars = Corpus.SelectMany(l => l.EnumerateRunes()).Where(r => r.Value != ' ').Distinct().Count() + 1; // + '▁'
        StringAssert.Contains(e.Message, $"at least {259 + chars}");
        StringAssert.Contains(e.Message, "VocabSize 270");
    }

    [TestMethod]
    public void VocabularyBelowSpecialPiecesAloneFailsBeforeReading()
    {
        static IEnumerable<string> NeverRead() { Assert.Fail("the corpus must not be read"); yield break; }
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            SentencePieceBpeTrainer.Train(NeverRead(), new SentencePieceBpeOptions { VocabSize = 100 }));
        StringAssert.Contains(e.Message, "259 special and byte pieces");
    }

    [TestMethod]
    public void VocabularyAboveUint16WarnsAboutShards()
    {
        var warnings = SentencePieceBpeTrainer.CheckOptions(new SentencePieceBpeOptions { VocabSize = 70_000 });
        Assert.HasCount(1, warnings);
        StringAssert.Contains(warnings[0], "uint16");
        Assert.IsEmpty(SentencePieceBpeTrainer.CheckOptions(new SentencePieceBpeOptions { VocabSize = 65_536 }));
    }

    [TestMethod]
    public void VocabularyLargerThanTheCorpusCanFillSaysHowLargeItCanBe()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            SentencePieceBpeTrainer.Train(["a b", "ab ba"], new SentencePieceBpeOptions { VocabSize = 400 }));
        StringAssert.Contains(e.Message, "too large for this corpus");
        StringAssert.Contains(e.Message, "VocabSize <=");
    }

    [TestMethod]
    public void EmptyCorpusIsAClearError()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SentencePieceBpeTrainer.Train([]));
        StringAssert.Contains(e.Message, "empty");
        var blank = Assert.ThrowsExactly<InvalidDataException>(() => SentencePieceBpeTrainer.Train(["", "   ", "\n"]));
        StringAssert.Contains(blank.Message, "no usable line");
    }

    [TestMethod]
    public void OutOfRangeOptionsNameTheOptionAndRange()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            SentencePieceBpeTrainer.CheckOptions(new SentencePieceBpeOptions { CharacterCoverage = 0.5 }));
        StringAssert.Contains(e.Message, "CharacterCoverage is 0.5; it must be between 0.98 and 1.0");
        var n = Assert.ThrowsExactly<ArgumentException>(() =>
            SentencePieceBpeTrainer.CheckOptions(new SentencePieceBpeOptions { NormalizationRuleName = "nmt_nfkc" }));
        StringAssert.Contains(n.Message, "only 'identity'");
        var ids = Assert.ThrowsExactly<ArgumentException>(() =>
            SentencePieceBpeTrainer.CheckOptions(new SentencePieceBpeOptions { EosId = 1 }));
        StringAssert.Contains(ids.Message, "already the id of '<s>'");
    }

    [TestMethod]
    public void CorruptModelIsAClearError()
    {
        string path = TokenizerTestCorpus.WriteTemp("corrupt.model", ["this is not a protobuf ModelProto", "\u0001\u0002"]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new MLContext().Transforms.Text.LoadSentencePiece(path));
        StringAssert.Contains(e.Message, "corrupt.model");
        StringAssert.Contains(e.Message, "not a sentencepiece model");
        Assert.ThrowsExactly<FileNotFoundException>(() => new MLContext().Transforms.Text.LoadSentencePiece(path + ".missing"));
    }

    [TestMethod]
    public void NonBpeModelIsRejected()
    {
        var model = SentencePieceBpeTrainer.Train(Corpus, new SentencePieceBpeOptions { VocabSize = 400 });
        var proto = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Parser.ParseFrom(model.ToBytes());
        proto.TrainerSpec.ModelType = TinyLlm.MLNet.Tokenization.Proto.TrainerSpec.Types.ModelType.Unigram;
        string path = Path.Combine(Path.GetDirectoryName(TokenizerTestCorpus.WriteTemp("u.txt", []))!, "unigram.model");
        File.WriteAllBytes(path, proto.ToByteArray());
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new MLContext().Transforms.Text.LoadSentencePiece(path));
        StringAssert.Contains(e.Message, "Unigram model; only BPE models are supported");
    }

    private sealed class NumberRow { public float Text { get; set; } }

    [TestMethod]
    public void InputColumnThatIsNotTextIsASchemaMismatch()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable([new NumberRow { Text = 1 }]);
        var estimator = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestSchemas.Shape(data.Schema)));
        StringAssert.Contains(e.Message, "Schema mismatch for input column 'Text': expected String, got Single");
        Assert.AreEqual("inputSchema", e.ParamName);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Story").GetOutputSchema(TestSchemas.Shape(data.Schema)));
        StringAssert.Contains(missing.Message, "Could not find input column 'Story'");
    }
}
