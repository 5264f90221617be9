using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>Every estimator checks its input the same way, up front, in ML.NET's exception type and wording.</summary>
[TestClass]
public sealed class SchemaCheckTests
{
    private sealed class Row
    {
        public float Text { get; set; }

        [VectorType]
        public float[] Tokens { get; set; } = [1f];

        [VectorType]
        public long[] Ids { get; set; } = [1, 2, 3];

        public string Prompt { get; set; } = "";
    }

    private static readonly MLContext Ml = new(seed: 1);
    private static readonly IDataView Data = Ml.Data.LoadFromEnumerable(new[] { new Row() });

    private static string Refusal(IEstimator<ITransformer> estimator)
    {
        var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestSchemas.Shape(Data.Schema)));
        Assert.AreEqual("inputSchema", shape.ParamName);
        return shape.Message;
    }

    [TestMethod]
    public void ATextColumnOfAnotherTypeIsRefusedByEveryEstimatorThatReadsText()
    {
        StringAssert.Contains(Refusal(Ml.Transforms.Text.TrainSentencePieceBpe("Out", "Text")), "Schema mismatch for input column 'Text': expected String, got Single");
        StringAssert.Contains(Refusal(Ml.Transforms.PretokenizeToShards(new() { OutputDirectory = "unused", Writer = new() { TextColumnName = "Text" } })),
            "Schema mismatch for input column 'Text': expected String, got Single");
        StringAssert.Contains(Refusal(Ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { TokensColumnName = "Ids", Generation = new() { PromptColumnName = "Text" } })),
            "Schema mismatch for input column 'Text': expected String, got Single");
    }

    [TestMethod]
    public void TokenColumnsFollowOneRuleWithMLNetsTypeNames()
    {
        const string expected = "Schema mismatch for input column 'Tokens': expected Vector<Int32>, Vector<UInt32>, Vector<Int64> or Vector<UInt16>, got Vector<Single>";
        StringAssert.Contains(Refusal(Ml.Transforms.PretokenizeToShards(null, 8, tokensColumnName: "Tokens")), expected);
        StringAssert.Contains(Refusal(Ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { TokensColumnName = "Tokens", Generation = new() { PromptColumnName = "Prompt" } })), expected);

        // Int64 ids (a common way to hold token ids) are accepted by the trainer as by the shard writer.
        var llama = Ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { TokensColumnName = "Ids", Generation = new() { PromptColumnName = "Prompt" } });
        var output = llama.GetOutputSchema(TestSchemas.Shape(Data.Schema));
        Assert.IsTrue(output.Any(c => c.Name == "Completion"));
        Assert.IsNotNull(Ml.Transforms.PretokenizeToShards(null, 8, tokensColumnName: "Ids").GetOutputSchema(TestSchemas.Shape(Data.Schema)));
    }

    [TestMethod]
    public void AMissingColumnIsNamed()
    {
        StringAssert.Contains(Refusal(Ml.Transforms.Text.TrainSentencePieceBpe("Out", "Story")), "Could not find input column 'Story'");
        StringAssert.Contains(Refusal(Ml.Transforms.Text.TrainLlama(new LlamaEstimatorOptions { TokensColumnName = "Missing" })), "Could not find input column 'Missing'");
    }
}
