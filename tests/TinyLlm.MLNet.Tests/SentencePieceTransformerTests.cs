using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class SentencePieceTransformerTests
{
    private sealed class TextRow { public string Text { get; set; } = ""; }

    private sealed class TokensRow
    {
        public string Text { get; set; } = "";
        [VectorType] public int[] Tokens { get; set; } = [];
    }

    private static IDataView Stories(MLContext ml, int n, int seed) =>
        ml.Data.LoadFromEnumerable(TokenizerTestCorpus.Synthetic(n, seed).Select(t => new TextRow { Text = t }).ToList());

    [TestMethod]
    public void FitTrainsAndTransformMapsTextToIds()
    {
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text",
            new SentencePieceBpeOptions { VocabSize = 450, AddEndOfSentence = true });
        var data = Stories(ml, 2_000, 4);

        var shape = estimator.GetOutputSchema(TestSchemas.Shape(data.Schema));
        var tokensShape = shape.Single(c => c.Name == "Tokens");
        Assert.AreEqual(SchemaShape.Column.VectorKind.VariableVector, tokensShape.Kind);
        Assert.AreEqual(NumberDataViewType.Int32, tokensShape.ItemType);

        var transformer = estimator.Fit(data);
        Assert.AreEqual(450, transformer.Model.VocabSize);
        Assert.IsTrue(transformer.GetModelBytes().Length > 1000);
        var output = transformer.Transform(data);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), output.Schema["Tokens"].Type);
        var rows = ml.Data.CreateEnumerable<TokensRow>(output, reuseRowObject: false).Take(50).ToList();
        foreach (var row in rows)
        {
            CollectionAssert.AreEqual(transformer.Encode(row.Text).ToArray(), row.Tokens);
            Assert.AreEqual(1, row.Tokens[0]);
            Assert.AreEqual(2, row.Tokens[^1]);
            // Default options collapse runs of spaces.
            Assert.AreEqual(string.Join(' ', row.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries)), transformer.Decode(row.Tokens));
        }
    }

    private static (SentencePieceTokenizerTransformer Transformer, string Zip) FitAndSave(MLContext ml, IDataView data)
    {
        var transformer = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 400 }).Fit(data);
        string zip = Path.Combine(Directory.CreateTempSubdirectory("tinyllm-tokenizer-").FullName, "tokenizer.zip");
        ml.Model.Save(transformer, data.Schema, zip);
        return (transformer, zip);
    }

    [TestMethod]
    public void ASavedTokenizerLoadsOnABareMLContext()
    {
        var ml = new MLContext(seed: 1);
        var data = Stories(ml, 600, 9);
        var (transformer, zip) = FitAndSave(ml, data);
        var expected = ml.Data.CreateEnumerable<TokensRow>(transformer.Transform(data), false).Select(r => r.Tokens).ToList();

        // No RegisterTinyLlm: ML.NET finds the loader through the [LoadableClass] attributes woven into Core.
        var bare = new MLContext(seed: 2);
        var loaded = bare.Model.Load(zip, out _);
        var actual = bare.Data.CreateEnumerable<TokensRow>(loaded.Transform(data), false).Select(r => r.Tokens).ToList();
        Assert.HasCount(expected.Count, actual);
        for (int i = 0; i < expected.Count; i++) CollectionAssert.AreEqual(expected[i], actual[i], $"row {i}");

        // Registering afterwards (as every TinyLlm catalog method does) must not clash with what ML.NET registered.
        bare.ComponentCatalog.RegisterTinyLlm();
        Assert.IsInstanceOfType<SentencePieceTokenizerTransformer>(bare.Model.Load(zip, out _));
        // Nor the other way round: registered first, then loaded.
        var registered = new MLContext(seed: 3);
        registered.ComponentCatalog.RegisterTinyLlm();
        Assert.IsInstanceOfType<SentencePieceTokenizerTransformer>(registered.Model.Load(zip, out _));
    }

    [TestMethod]
    public void ATokenizerZipFromANewerFormatNamesTheProblemWithOrWithoutRegistration()
    {
        var ml = new MLContext(seed: 1);
        string zip = FitAndSave(ml, Stories(ml, 300, 10)).Zip;
        ModelPersistenceTests.SetFormatVersion(zip, 9);

        var registered = new MLContext();
        registered.ComponentCatalog.RegisterTinyLlm();
        var direct = Assert.ThrowsExactly<FormatException>(() => registered.Model.Load(zip, out _));
        StringAssert.Contains(direct.Message, "newer TinyLlm.MLNet");
        StringAssert.Contains(direct.Message, SentencePieceTokenizerTransformer.LoaderSignature);

        // Unregistered, ML.NET calls the woven loader by reflection and wraps the same exception.
        var bare = new MLContext();
        var wrapped = Assert.Throws<Exception>(() => bare.Model.Load(zip, out _));
        var inner = wrapped.GetBaseException();
        Assert.IsInstanceOfType<FormatException>(inner, wrapped.ToString());
        Assert.AreEqual(direct.Message, inner.Message);
    }

    [TestMethod]
    public void SavedInsideTheZipAndReloadedGivesIdenticalIds()
    {
        var ml = new MLContext(seed: 1);
        var data = Stories(ml, 1_500, 8);
        var transformer = ml.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 420 }).Fit(data);
        string zip = Path.Combine(Path.GetDirectoryName(TokenizerTestCorpus.WriteTemp("z.txt", []))!, "tokenizer.zip");
        ml.Model.Save(transformer, data.Schema, zip);

        var fresh = new MLContext(seed: 2);
        fresh.ComponentCatalog.RegisterTinyLlm();
        var loaded = fresh.Model.Load(zip, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull("Text"));
        var expected = ml.Data.CreateEnumerable<TokensRow>(transformer.Transform(data), false).ToList();
        var actual = fresh.Data.CreateEnumerable<TokensRow>(loaded.Transform(data), false).ToList();
        Assert.HasCount(expected.Count, actual);
        for (int i = 0; i < expected.Count; i++) CollectionAssert.AreEqual(expected[i].Tokens, actual[i].Tokens, $"row {i}");

        // The .model bytes travel inside the zip.
        var reloaded = (SentencePieceTokenizerTransformer)loaded;
        CollectionAssert.AreEqual(transformer.GetModelBytes(), reloaded.GetModelBytes());

        // And a PredictionEngine scores single rows.
        var engine = fresh.Model.CreatePredictionEngine<TextRow, TokensRow>(loaded);
        CollectionAssert.AreEqual(expected[0].Tokens, engine.Predict(new TextRow { Text = expected[0].Text }).Tokens);
    }

    [TestMethod]
    public void LoadSentencePieceWrapsAModelTrainedBySpmTrain()
    {
        ReferenceTools.Require("spm_train", "apt-get install sentencepiece");
        string corpus = TokenizerTestCorpus.WriteTemp("wrap.txt", TokenizerTestCorpus.Synthetic(3_000, seed: 9));
        string spmModel = SpmReference.Train(corpus, 500, Path.Combine(Path.GetDirectoryName(corpus)!, "wrap"));
        var reference = SpmReference.Encode(spmModel, corpus);

        var ml = new MLContext();
        var transformer = ml.Transforms.Text.LoadSentencePiece(spmModel, addBeginningOfSentence: false);
        var lines = File.ReadAllLines(corpus);
        var data = ml.Data.LoadFromEnumerable(lines.Select(l => new TextRow { Text = l }).ToList());
        var rows = ml.Data.CreateEnumerable<TokensRow>(transformer.Transform(data), false).ToList();
        int same = rows.Select((r, i) => r.Tokens.SequenceEqual(reference[i]) ? 1 : 0).Sum();
        Assert.IsGreaterThanOrEqualTo(0.995, same / (double)rows.Count);
    }
}
