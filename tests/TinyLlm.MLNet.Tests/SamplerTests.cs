using TinyLlm.MLNet.Generation;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class SamplerTests
{
    private static float[] Logits(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
    }

    [TestMethod]
    public void GreedyTopK1AndTinyTopPAllPickTheArgmax()
    {
        var logits = Logits(500, 1);
        int argmax = Array.IndexOf(logits, logits.Max());
        Assert.AreEqual(argmax, new Sampler(500, new SamplingOptions { Temperature = 0 }).Sample(logits));
        var topK1 = new Sampler(500, new SamplingOptions { TopK = 1, Seed = 3 });
        var tinyP = new Sampler(500, new SamplingOptions { TopK = 500, TopP = 1e-6f, Seed = 4 });
        for (int i = 0; i < 20; i++)
        {
            Assert.AreEqual(argmax, topK1.Sample(logits));
            Assert.AreEqual(argmax, tinyP.Sample(logits));
        }
    }

    [TestMethod]
    public void SameSeedSameTokensOtherSeedOtherTokens()
    {
        var logits = Logits(300, 2);
        int[] Draw(ulong seed)
        {
            var s = new Sampler(300, new SamplingOptions { Seed = seed, TopK = int.MaxValue });
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits)).ToArray();
        }
        CollectionAssert.AreEqual(Draw(7), Draw(7));
        CollectionAssert.AreNotEqual(Draw(7), Draw(8));
    }

    [TestMethod]
    public void DrawsFollowTheSoftmaxWithinTopK()
    {
        float[] logits = [2f, 1f, 0f, -1f, 5f];
        var s = new Sampler(5, new SamplingOptions { TopK = 3, Seed = 11 });
        var counts = new int[5];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[s.Sample(logits)]++;
        Assert.AreEqual(0, counts[2] + counts[3], "tokens outside the top 3 were drawn");
        double z = Math.Exp(5) + Math.Exp(2) + Math.Exp(1);
        Assert.AreEqual(Math.Exp(5) / z, counts[4] / (double)n, 0.01);
        Assert.AreEqual(Math.Exp(2) / z, counts[0] / (double)n, 0.01);
        Assert.AreEqual(Math.Exp(1) / z, counts[1] / (double)n, 0.01);
    }

    [TestMethod]
    public void OptionsOutOfRangeNameTheOption()
    {
        void Bad(SamplingOptions o, string name)
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(o.Validate);
            StringAssert.Contains(e.Message, name);
        }
        Bad(new SamplingOptions { Temperature = -0.5f }, "Temperature must be 0 (greedy) or a positive number");
        Bad(new SamplingOptions { Temperature = float.NaN }, "Temperature");
        Bad(new SamplingOptions { TopK = 0 }, "TopK must be at least 1");
        Bad(new SamplingOptions { TopP = 0f }, "TopP must be in (0, 1]");
        Bad(new SamplingOptions { TopP = 1.5f }, "TopP");
        Bad(new SamplingOptions { MaxNewTokens = 0 }, "MaxNewTokens must be at least 1");
    }
}
