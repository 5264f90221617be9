using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>The ML.NET generation transformer: PredictionEngine seeds and batched cursors.</summary>
[TestClass]
public sealed class GenerationTransformerTests
{
    [TestMethod]
    public void APredictionEngineSamplesEachCallWithTheNextSeed()
    {
        var ml = new MLContext();
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        var options = new LlamaGenerationOptions { Sampling = new SamplingOptions { Seed = 40, MaxNewTokens = 20 }, TokenIdsColumnName = "Ids" };
        var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(), options);
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(transformer);
        string first = engine.Predict(new StoryPrompt { Text = "Tom had a ball." }).Completion;
        string second = engine.Predict(new StoryPrompt { Text = "Tom had a ball." }).Completion;
        Assert.AreNotEqual(first, second);

        var generator = transformer.Generator;
        Assert.AreEqual(generator.Generate("Tom had a ball.", new SamplingOptions { Seed = 40, MaxNewTokens = 20 }).Text, first);
        Assert.AreEqual(generator.Generate("Tom had a ball.", new SamplingOptions { Seed = 41, MaxNewTokens = 20 }).Text, second);

        // The IDataView path: row i uses seed 40 + i, and the ids column agrees with the text.
        var rows = ml.Data.CreateEnumerable<IdsRow>(transformer.Transform(ml.Data.LoadFromEnumerable(
            [new StoryPrompt { Text = "Tom had a ball." }, new StoryPrompt { Text = "Tom had a ball." }])), reuseRowObject: false).ToArray();
        Assert.AreEqual(first, rows[0].Completion);
        Assert.AreEqual(second, rows[1].Completion);
        CollectionAssert.AreEqual(new[] { first, second }, transformer.GenerateBatch(["Tom had a ball.", "Tom had a ball."]).ToArray());
        Assert.AreEqual(first, Tokenizer.Decode(Tokenizer.Encode("Tom had a ball.").Concat(rows[0].Ids)).Substring("Tom had a ball.".Length));
    }

    [TestMethod]
    public void ACursorCompletesRowsInBatchesWithTheSameStoriesAsRowByRow()
    {
        var ml = new MLContext();
        var weights = RandomWeights(Tokenizer.VocabSize, seqLen: 64, scale: 3f);
        string[] prompts = ["Tom had a ball.", "Once upon a time", "Lily", "Tom had a ball.", "One day, Lily met a", "The sun", "Ben ran"];
        var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new StoryPrompt { Text = p }).ToArray());
        var sampling = new SamplingOptions { Seed = 7, MaxNewTokens = 24, Temperature = 1f, TopK = 50, TopP = 0.9f };
        LlamaGenerationTransformer With(int batch) => new(ml, weights, Tokenizer.ToBytes(),
            new LlamaGenerationOptions { Sampling = sampling, BatchSize = batch, TokenIdsColumnName = "Ids" });

        // 7 rows in batches of 3 (3 + 3 + 1) and of 4 (4 + 3) against one at a time: row n uses seed 7 + n.
        var rowByRow = ml.Data.CreateEnumerable<IdsRow>(With(1).Transform(data), reuseRowObject: false).ToArray();
        foreach (int batch in new[] { 3, 4 })
        {
            var batched = ml.Data.CreateEnumerable<IdsRow>(With(batch).Transform(data), reuseRowObject: false).ToArray();
            Assert.HasCount(prompts.Length, batched);
            for (int i = 0; i < prompts.Length; i++)
            {
                Assert.AreEqual(rowByRow[i].Completion, batched[i].Completion, $"batch {batch}, row {i}");
                CollectionAssert.AreEqual(rowByRow[i].Ids, batched[i].Ids, $"batch {batch}, row {i}");
            }
        }
        Assert.AreNotEqual(rowByRow[0].Completion, rowByRow[3].Completion, "same prompt, rows 0 and 3, different seeds");

        // The same as a PredictionEngine scoring the prompts in order, and as GenerateBatch.
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(With(4));
        for (int i = 0; i < prompts.Length; i++)
            Assert.AreEqual(rowByRow[i].Completion, engine.Predict(new StoryPrompt { Text = prompts[i] }).Completion, $"row {i}");
        CollectionAssert.AreEqual(rowByRow.Select(r => r.Completion).ToArray(), With(4).GenerateBatch(prompts).ToArray());

        // Reading only some rows: each still gets its own row's seed.
        using var cursor = With(3).Transform(data).GetRowCursor(With(3).GetOutputSchema(data.Schema).Where(c => c.Name == "Completion"));
        var completion = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Completion"]);
        ReadOnlyMemory<char> text = default;
        for (int i = 0; cursor.MoveNext(); i++)
        {
            if (i % 3 != 2) continue;
            completion(ref text);
            Assert.AreEqual(rowByRow[i].Completion, text.ToString(), $"sparse row {i}");
        }

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => With(0));
    }

    private sealed class IdsRow
    {
        public string Completion { get; set; } = "";

        [Microsoft.ML.Data.VectorType]
        public int[] Ids { get; set; } = [];
    }
}
