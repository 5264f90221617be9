using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TokenShardEstimatorTests
{
    private static IDataView TokenizedStories(MLContext mlContext, int count)
    {
        // Stand-in for the tokenizer transformer's output: a variable-length Vector<Int32> "Tokens" column, BOS first.
        var rows = Enumerable.Range(0, count).Select(r => new TokensRow { Tokens = [1, .. Enumerable.Range(0, 30 + r % 7).Select(i => 3 + (r * 31 + i) % 500)] });
        var schema = SchemaDefinition.Create(typeof(TokensRow));
        schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Int32);
        return mlContext.Data.LoadFromEnumerable(rows.ToList(), schema);
    }

    [TestMethod]
    public void PipelineStageWritesShardsAndHandsTheWindowsToTheNextStage()
    {
        var mlContext = new MLContext(seed: 1);
        var data = TokenizedStories(mlContext, 300);
        string dir = TokenShardTestData.NewFolder("estimator");
        var pipeline = mlContext.Transforms.CopyColumns("Ids", "Tokens")
            .Append(mlContext.Transforms.PretokenizeToShards(new TokenShardEstimatorOptions
            {
                OutputDirectory = dir,
                Writer = new TokenShardWriterOptions { TokensColumnName = "Ids", StoriesPerShard = 100 },
                Windows = new TokenShardLoaderOptions { SequenceLength = 16 },
            }));
        var shape = pipeline.GetOutputSchema(TestSchemas.Shape(data.Schema));
        CollectionAssert.AreEqual(new[] { "Input", "Target" }, shape.Select(c => c.Name).ToArray());

        var model = pipeline.Fit(data);
        Assert.HasCount(3, Directory.GetFiles(dir, "*.bin"));
        var windows = model.Transform(data);
        Assert.IsInstanceOfType<ITokenBatchSource>(windows);
        using var reread = mlContext.Data.LoadFromTokenShards(dir, 16);
        Assert.AreEqual(reread.GetRowCount(), windows.GetRowCount());
        CollectionAssert.AreEqual(
            reread.GetColumn<int[]>("Target").SelectMany(x => x).ToArray(),
            windows.GetColumn<int[]>("Target").SelectMany(x => x).ToArray());
        ((TokenShardTransformer)model.LastTransformer).Dispose();
    }

    [TestMethod]
    public void TokenizerTrainingAndPretokenizingFormOnePipeline()
    {
        var mlContext = new MLContext(seed: 1);
        // Stripped, non-empty stories: the tokenizer transformer encodes the text as it is (BOS first).
        var stories = TokenShardTestData.Stories(600, seed: 21).Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        var data = mlContext.Data.LoadFromEnumerable(stories.Select(s => new TextRow { Text = s }));
        string dir = TokenShardTestData.NewFolder("pipeline");
        var pipeline = mlContext.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new TinyLlm.MLNet.Tokenization.SentencePieceBpeOptions { VocabSize = 400 })
            .Append(mlContext.Transforms.PretokenizeToShards(new TokenShardEstimatorOptions
            {
                OutputDirectory = dir,
                Writer = new TokenShardWriterOptions { TokensColumnName = "Tokens", StoriesPerShard = 200 },
                Windows = new TokenShardLoaderOptions { SequenceLength = 32 },
            }));
        var model = pipeline.Fit(data);
        var windows = (TokenWindowDataView)model.Transform(data);
        Assert.AreEqual(3, windows.Source.SegmentCount);

        // The same shards as the writer makes from the trained .model and the raw stories.
        var tokenizer = (TinyLlm.MLNet.Tokenization.SentencePieceTokenizerTransformer)model.First();
        var writer = new TokenShardWriter(tokenizer.GetModelBytes());
        for (int s = 0; s < 3; s++)
        {
            var expected = stories.Skip(200 * s).Take(200).SelectMany(writer.EncodeStory).SelectMany(id => new[] { (byte)id, (byte)(id >> 8) }).ToArray();
            CollectionAssert.AreEqual(expected, File.ReadAllBytes(Path.Combine(dir, $"data{s:D2}.bin")));
        }
        Assert.IsLessThan(400, windows.MaxTokenId);
        ((IDisposable)windows.Source).Dispose();
    }

    [TestMethod]
    public void InMemoryStageMatchesTheTokenStream()
    {
        var mlContext = new MLContext();
        var data = TokenizedStories(mlContext, 120);
        var transformer = mlContext.Transforms.PretokenizeToShards(outputDirectory: null, sequenceLength: 8).Fit(data);
        var source = (ITokenBatchSource)transformer.Transform(data);
        var all = data.GetColumn<int[]>("Tokens").SelectMany(x => x).ToArray();
        Assert.AreEqual(all.Length, transformer.Source.TokenCount);
        Assert.AreEqual(all.Max(), source.MaxTokenId);
        Assert.IsGreaterThan(0L, source.WindowCount(DataSplit.Validation));
        // Unshuffled validation windows are the first tokens of the stream.
        var unshuffled = new InMemoryTokenBatchSource([all.Select(i => (ushort)i).ToArray()], new TokenWindowOptions { SequenceLength = 8, ValidationShards = [] });
        Assert.AreEqual(all.Length / 8 - 1, unshuffled.WindowCount(DataSplit.Train));
        CollectionAssert.AreEqual(all.Take(9).Select(i => (ushort)i).ToArray(), unshuffled.Window(DataSplit.Train, 0).ToArray());
    }

    [TestMethod]
    public void TrainerGetsABatchSourceFromShardsOrTokenizedText()
    {
        var mlContext = new MLContext();
        var data = TokenizedStories(mlContext, 100);
        var options = new TokenWindowOptions { SequenceLength = 8 };
        var fromText = TokenWindowBatchSource.FromDataView(data, options);
        Assert.IsInstanceOfType<InMemoryTokenBatchSource>(fromText);

        string dir = TokenShardTestData.NewFolder("fromview");
        mlContext.Data.SaveAsTokenShards(data, dir, new TokenShardWriterOptions { TokensColumnName = "Tokens", StoriesPerShard = 25 });
        using var shards = mlContext.Data.LoadFromTokenShards(dir, 8);
        Assert.AreSame(shards, TokenWindowBatchSource.FromDataView(shards, options));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TokenWindowBatchSource.FromDataView(shards, new TokenWindowOptions { SequenceLength = 16 })).Message, "SequenceLength 8");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => TokenWindowBatchSource.FromDataView(data, options, tokensColumnName: "Ids"));
    }

    [TestMethod]
    public void SchemaErrorsUseMLNetWording()
    {
        var mlContext = new MLContext();
        var data = TokenizedStories(mlContext, 10);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            mlContext.Transforms.PretokenizeToShards(null, 8, tokensColumnName: "Missing").GetOutputSchema(TestSchemas.Shape(data.Schema)));
        Assert.AreEqual("inputSchema", e.ParamName);
        StringAssert.Contains(e.Message, "Could not find input column 'Missing'");
        var text = mlContext.Data.LoadFromEnumerable(new[] { new TextRow { Text = "x" } });
        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            mlContext.Transforms.PretokenizeToShards(null, 8, tokensColumnName: "Text").GetOutputSchema(TestSchemas.Shape(text.Schema)));
        StringAssert.Contains(e2.Message, "Schema mismatch for input column 'Text': expected Vector<Int32>");
        Assert.ThrowsExactly<NotSupportedException>(() =>
            mlContext.Model.Save(mlContext.Transforms.PretokenizeToShards(null, 8).Fit(data), data.Schema, new MemoryStream()));
    }

    public sealed class TokensRow { public int[] Tokens { get; set; } = []; }

    public sealed class TextRow { public string Text { get; set; } = ""; }
}
