using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class LlamaModelTests
{
    private static readonly LlamaConfig Tiny = new()
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 128, MultipleOf = 16, MaxSeqLen = 32,
    };

    private static Tensor RandomTokens(int batch, int seq, int vocab, int seed)
    {
        var g = new Random(seed);
        var ids = new long[batch * seq];
        for (int i = 0; i < ids.Length; i++) ids[i] = g.Next(vocab);
        return torch.tensor(ids, [batch, seq]);
    }

    [TestMethod]
    public void SeedConfigHasExactly8483616Parameters()
    {
        var config = new LlamaConfig();
        Assert.AreEqual(768, config.FeedForwardDim);
        Assert.AreEqual(8_483_616L, config.ParameterCount);
        torch.manual_seed(1);
        using var model = new LlamaModel(config);
        Assert.AreEqual(8_483_616L, model.ParameterCount);
    }

    [TestMethod]
    public void StateDictionaryKeysAreThoseOfLlama2cModelPy()
    {
        using var model = new LlamaModel(Tiny with { NLayers = 1 });
        var keys = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            "layers.0.attention.wk.weight", "layers.0.attention.wo.weight", "layers.0.attention.wq.weight", "layers.0.attention.wv.weight",
            "layers.0.attention_norm.weight",
            "layers.0.feed_forward.w1.weight", "layers.0.feed_forward.w2.weight", "layers.0.feed_forward.w3.weight",
            "layers.0.ffn_norm.weight",
            "norm.weight", "output.weight", "tok_embeddings.weight",
        ];
        CollectionAssert.AreEqual(expected, keys, string.Join(", ", keys));
    }

    [TestMethod]
    public void EmbeddingAndOutputShareOneTensorAcrossMoves()
    {
        using var model = new LlamaModel(Tiny);
        long count = model.ParameterCount;
        Assert.AreEqual(Tiny.ParameterCount, count);
        model.to(ScalarType.Float64); // replaces every parameter: the tie must be re-made
        Assert.AreEqual(count, model.ParameterCount, "a move split the tied embedding/output weight");
        var sd = model.state_dict();
        using (torch.no_grad()) model.TokenEmbeddingWeight[0, 0] = 123.0;
        Assert.AreEqual(123.0, sd["output.weight"][0, 0].item<double>());
        Assert.AreEqual(ScalarType.Float64, sd["output.weight"].dtype);
    }

    [TestMethod]
    public void InitializationFollowsLlama2c()
    {
        torch.manual_seed(3);
        var config = Tiny with { Dim = 128, NHeads = 4, NKvHeads = 4, NLayers = 2 };
        using var model = new LlamaModel(config);
        var sd = model.state_dict();
        double scaled = 0.02 / Math.Sqrt(2 * config.NLayers);
        foreach (var (key, std) in new[]
        {
            ("tok_embeddings.weight", 0.02), ("layers.0.attention.wq.weight", 0.02), ("layers.1.feed_forward.w1.weight", 0.02),
            ("layers.1.feed_forward.w2.weight", 0.02), ("layers.0.attention.wo.weight", scaled), ("layers.1.feed_forward.w3.weight", scaled),
        })
        {
            double actual = sd[key].std().item<float>();
            Assert.AreEqual(std, actual, std * 0.05, key);
            Assert.AreEqual(0.0, sd[key].mean().item<float>(), std * 0.05, key);
        }
        Assert.AreEqual(1.0f, sd["norm.weight"].min().item<float>());
        Assert.AreEqual(1.0f, sd["layers.0.ffn_norm.weight"].max().item<float>());
    }

    [TestMethod]
    public void ChangingTokenTChangesNoLogitBeforeT()
    {
        torch.manual_seed(5);
        using var model = new LlamaModel(Tiny);
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = RandomTokens(2, 20, Tiny.VocabSize, 1);
        var before = model.forward(tokens);
        const int t = 11;
        var changed = tokens.clone();
        changed[0, t] = (tokens[0, t].item<long>() + 1) % Tiny.VocabSize;
        changed[1, t] = (tokens[1, t].item<long>() + 5) % Tiny.VocabSize;
        var after = model.forward(changed);
        Assert.AreEqual(0.0, (before[.., ..t] - after[.., ..t]).abs().max().item<float>(), 0.0, "a logit before t changed");
        Assert.IsTrue((before[.., t] - after[.., t]).abs().max().item<float>() > 1e-4, "the logit at t did not change");
    }

    [TestMethod]
    public void GroupedQueryAttentionEqualsMultiHeadWithRepeatedKeyValueWeights()
    {
        torch.manual_seed(7);
        using var gqa = new LlamaModel(Tiny);                       // 4 heads, 2 kv heads
        using var mha = new LlamaModel(Tiny with { NKvHeads = 4 }); // 4 heads, 4 kv heads
        int hd = Tiny.HeadDim, rep = Tiny.NHeads / Tiny.NKvHeads;
        var source = gqa.state_dict();
        var target = mha.state_dict();
        using (torch.no_grad())
        {
            foreach (var (key, value) in source)
            {
                if (key.EndsWith("wk.weight") || key.EndsWith("wv.weight"))
                {
                    // kv head j serves query heads j*rep .. j*rep+rep-1: repeat each head's block of rows rep times
                    var heads = value.view(Tiny.NKvHeads, hd, Tiny.Dim).repeat_interleave(rep, dim: 0).reshape(Tiny.NHeads * hd, Tiny.Dim);
                    target[key].copy_(heads);
                }
                else
                {
                    target[key].copy_(value);
                }
            }
        }
        gqa.eval();
        mha.eval();
        using var noGrad = torch.no_grad();
        var tokens = RandomTokens(2, 16, Tiny.VocabSize, 2);
        var a = gqa.forward(tokens);
        var b = mha.forward(tokens);
        Assert.IsTrue(torch.allclose(a, b, rtol: 1e-5, atol: 1e-5), $"max difference {(a - b).abs().max().item<float>()}");
    }

    [TestMethod]
    public void FusedAttentionMatchesTheExplicitFormula()
    {
        torch.manual_seed(9);
        using var model = new LlamaModel(Tiny);
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = RandomTokens(3, 24, Tiny.VocabSize, 3);
        model.UseScaledDotProductAttention = true;
        var fused = model.forward(tokens);
        model.UseScaledDotProductAttention = false;
        var explicitLogits = model.forward(tokens);
        Assert.IsTrue(torch.allclose(fused, explicitLogits, rtol: 1e-5, atol: 1e-5), $"max difference {(fused - explicitLogits).abs().max().item<float>()}");
    }

    [TestMethod]
    public void DropoutActsInTrainingModeOnlyOnBothAttentionPaths()
    {
        torch.manual_seed(19);
        using var model = new LlamaModel(Tiny with { Dropout = 0.2 });
        var tokens = RandomTokens(2, 16, Tiny.VocabSize, 9);
        using var noGrad = torch.no_grad();
        foreach (bool sdpa in new[] { true, false })
        {
            model.UseScaledDotProductAttention = sdpa;
            model.train();
            var a = model.forward(tokens);
            var b = model.forward(tokens);
            Assert.IsTrue((a - b).abs().max().item<float>() > 1e-3, $"sdpa={sdpa}: training-mode outputs should differ");
            model.eval();
            var c = model.forward(tokens);
            var d = model.forward(tokens);
            Assert.AreEqual(0f, (c - d).abs().max().item<float>(), $"sdpa={sdpa}: eval mode must be deterministic");
        }
    }

    [TestMethod]
    public void InitialLossIsCloseToLnVocab()
    {
        torch.manual_seed(11);
        var config = Tiny with { VocabSize = 256 };
        using var model = new LlamaModel(config);
        using var noGrad = torch.no_grad();
        var tokens = RandomTokens(4, 32, config.VocabSize, 4);
        var targets = RandomTokens(4, 32, config.VocabSize, 5);
        double loss = LlamaModel.Loss(model.forward(tokens), targets).item<float>();
        Assert.AreEqual(Math.Log(config.VocabSize), loss, 0.05);
    }

    [TestMethod]
    public void BFloat16ComputeStaysCloseToFloat32AndKeepsFp32Gradients()
    {
        torch.manual_seed(13);
        using var model = new LlamaModel(Tiny);
        var tokens = RandomTokens(2, 32, Tiny.VocabSize, 6);
        var targets = RandomTokens(2, 32, Tiny.VocabSize, 7);
        double fp32 = LlamaModel.Loss(model.forward(tokens), targets).item<float>();
        model.ComputeType = ScalarType.BFloat16;
        var logits = model.forward(tokens);
        Assert.AreEqual(ScalarType.Float32, logits.dtype);
        var loss = LlamaModel.Loss(logits, targets);
        Assert.AreEqual(fp32, loss.item<float>(), 0.02);
        loss.backward();
        Assert.AreEqual(ScalarType.Float32, model.TokenEmbeddingWeight.grad!.dtype);
        Assert.IsTrue(model.TokenEmbeddingWeight.grad!.abs().sum().item<float>() > 0);
        Assert.ThrowsExactly<ArgumentException>(() => model.ComputeType = ScalarType.Float16);
    }

    [TestMethod]
    public void SaveAndLoadThroughAStreamKeepTheLogits()
    {
        torch.manual_seed(15);
        using var model = new LlamaModel(Tiny with { NKvHeads = 1 });
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.WriteByte(42); // the stream stays open and positioned after the model
        stream.Position = 0;
        using var loaded = LlamaModel.Load(stream);
        Assert.AreEqual(42, stream.ReadByte());
        Assert.AreEqual(model.Config, loaded.Config);
        using var noGrad = torch.no_grad();
        var tokens = RandomTokens(1, 10, Tiny.VocabSize, 8);
        Assert.AreEqual(0f, (model.forward(tokens) - loaded.forward(tokens)).abs().max().item<float>());

        var bytes = stream.ToArray();
        Assert.ThrowsExactly<InvalidDataException>(() => LlamaModel.Load(new MemoryStream(bytes[..(bytes.Length / 2)])));
        bytes[0] = (byte)'X';
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LlamaModel.Load(new MemoryStream(bytes)));
        StringAssert.Contains(e.Message, "TLLMWGT1");
    }

    [TestMethod]
    public void InconsistentHeadCountsAreRefusedByName()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LlamaModel(Tiny with { NHeads = 5 }));
        StringAssert.Contains(e.Message, "NHeads (5) must divide Dim (64)");
        e = Assert.ThrowsExactly<ArgumentException>(() => new LlamaModel(Tiny with { NKvHeads = 3 }));
        StringAssert.Contains(e.Message, "NKvHeads (3) must divide NHeads (4)");
        e = Assert.Throws<ArgumentException>(() => new LlamaModel(Tiny with { VocabSize = 0 }));
        StringAssert.Contains(e.Message, "VocabSize must be a positive integer");
        using var model = new LlamaModel(Tiny);
        e = Assert.ThrowsExactly<ArgumentException>(() => model.forward(torch.zeros(1, 33, dtype: ScalarType.Int64)));
        StringAssert.Contains(e.Message, "MaxSeqLen is 32");
    }
}

[TestClass]
public sealed class LlamaModelWeightsTests
{
    [TestMethod]
    public void TheInferenceEngineComputesTheSameLogitsAsTheTrainingModel()
    {
        torch.manual_seed(17);
        var config = new LlamaConfig { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 96, MultipleOf = 16, MaxSeqLen = 16 };
        using var model = new LlamaModel(config);
        model.eval();
        var weights = model.ToTransformerWeights();
        Assert.AreEqual(config.FeedForwardDim, weights.Config.FeedForwardDim);
        var engine = new TinyLlm.MLNet.Engine.InferenceEngine(weights);
        long[] ids = [1, 5, 17, 42, 3, 88, 9, 60, 2, 1];
        using var noGrad = torch.no_grad();
        var ours = model.forward(torch.tensor(ids, [1, ids.Length]))[0];
        float scale = ours.abs().max().item<float>();
        for (int pos = 0; pos < ids.Length; pos++)
        {
            float[] theirs = engine.Forward((int)ids[pos], pos).ToArray();
            float diff = (ours[pos] - torch.tensor(theirs)).abs().max().item<float>();
            Assert.IsTrue(diff / scale < 1e-4, $"position {pos}: relative difference {diff / scale:E2}");
        }

        using var back = weights.ToLlamaModel();
        Assert.AreEqual(config with { HiddenDim = config.FeedForwardDim, MultipleOf = back.Config.MultipleOf }, back.Config); // hidden_dim is stored, multiple_of is not
        Assert.AreEqual(0f, (back.forward(torch.tensor(ids, [1, ids.Length]))[0] - ours).abs().max().item<float>());
    }
}
