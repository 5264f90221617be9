using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>The .NET engine against the TorchSharp model it must reproduce, with and without its key/value cache.</summary>
[TestClass]
public sealed class EngineAgreementTests
{
    [TestMethod]
    [DataRow(4, 4, DisplayName = "multi-head")]
    [DataRow(4, 2, DisplayName = "grouped-query")]
    [DataRow(8, 1, DisplayName = "multi-query")]
    public void EngineLogitsEqualTheTorchSharpModelsForEachAttentionShape(int heads, int kvHeads)
    {
        torch.manual_seed(11);
        using var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = heads, NKvHeads = kvHeads, VocabSize = 100, MultipleOf = 16, MaxSeqLen = 24 });
        model.eval();
        var engine = new InferenceEngine(model.ToTransformerWeights());
        long[] ids = Enumerable.Range(0, 24).Select(i => (long)((i * 37 + 5) % 100)).ToArray();
        using var noGrad = torch.no_grad();
        var expected = model.forward(torch.tensor(ids, [1, ids.Length]))[0];
        float scale = expected.abs().max().item<float>();
        for (int pos = 0; pos < ids.Length; pos++)
        {
            float diff = (expected[pos] - torch.tensor(engine.Forward((int)ids[pos], pos).ToArray())).abs().max().item<float>();
            Assert.IsTrue(diff / scale < 1e-4, $"position {pos}: relative difference {diff / scale:E2}");
        }
    }

    [TestMethod]
    public void GreedyWithTheCacheEqualsGreedyWithoutItFor200Tokens()
    {
        var weights = RandomWeights(vocab: 128, seqLen: 256, scale: 25f);
        var engine = new InferenceEngine(weights);
        var sampler = new Sampler(128, new SamplingOptions { Temperature = 0 });
        var cached = new List<int> { 1 };
        var logits = engine.Forward(1, 0);
        for (int i = 0; i < 200; i++)
        {
            int next = sampler.Sample(logits);
            cached.Add(next);
            if (i < 199) logits = engine.Forward(next, cached.Count - 1);
        }

        // The tutorial's loop: the whole sequence through the training model at every step, no cache.
        using var model = weights.ToLlamaModel();
        model.eval();
        using var noGrad = torch.no_grad();
        var uncached = new List<long> { 1 };
        for (int i = 0; i < 200; i++)
        {
            using var scope = torch.NewDisposeScope();
            var all = model.forward(torch.tensor(uncached.ToArray(), [1, uncached.Count]));
            uncached.Add(all[0, -1].argmax().item<long>());
        }
        CollectionAssert.AreEqual(uncached.Select(t => (int)t).ToArray(), cached.ToArray());
        Assert.IsTrue(cached.Distinct().Count() > 5, "the check is weak if greedy decoding repeats one token");
    }
}
