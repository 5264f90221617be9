using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Modeling;
using TorchSharp;

namespace TinyLlm.MLNet.Tests;

/// <summary>The engine's work split across cores (the worker pool, attention by sequence and head), and no allocations per token.</summary>
[TestClass]
public sealed class InferenceEngineTests
{
    [TestMethod]
    public void LongContextsSplitAttentionAcrossCoresAndStillMatchTheTorchSharpModel()
    {
        // dim 128 and 160 positions: from position ~128 on, a layer's attention is large enough to be split
        torch.manual_seed(5);
        using var model = new LlamaModel(new LlamaConfig { Dim = 128, NLayers = 1, NHeads = 4, NKvHeads = 2, VocabSize = 64, MultipleOf = 32, MaxSeqLen = 160 });
        model.eval();
        var weights = model.ToTransformerWeights();
        long[] a = Enumerable.Range(0, 160).Select(i => (long)((i * 29 + 3) % 64)).ToArray();
        long[] b = Enumerable.Range(0, 160).Select(i => (long)((i * 11 + 7) % 64)).ToArray();
        Assert.IsGreaterThan(MatVec.ParallelThreshold, 2L * weights.Config.MaxSeqLen * weights.Config.Dim, "the test must reach the split path");

        using var noGrad = torch.no_grad();
        var expected = model.forward(torch.tensor(a, [1, a.Length]))[0];
        float scale = expected.abs().max().item<float>();
        var single = new InferenceEngine(weights);
        var batch = new InferenceEngine(weights, slots: 2);
        for (int pos = 0; pos < a.Length; pos++)
        {
            float[] one = single.Forward((int)a[pos], pos).ToArray();
            float diff = (expected[pos] - torch.tensor(one)).abs().max().item<float>();
            Assert.IsTrue(diff / scale < 1e-4, $"position {pos}: relative difference {diff / scale:E2}");
            // two sequences in one call: sequence a in slot 1 must come out as it did alone
            batch.Forward([0, 1], [(int)b[pos], (int)a[pos]], [pos, pos]);
            CollectionAssert.AreEqual(one, batch.Logits(1).ToArray(), $"position {pos}");
        }
    }

    [TestMethod]
    public void PoolJobsWithDifferentChunkCountsRunEveryChunkExactlyOnce()
    {
        // The engine alternates jobs of different delegates and chunk counts (products, attention) within
        // microseconds; a worker still leaving one job must not take, run or lose a chunk of the next.
        var few = new int[2];
        var many = new int[8];
        Action<int, int> runFew = (c, n) => { Assert.AreEqual(2, n); Interlocked.Increment(ref few[c]); };
        Action<int, int> runMany = (c, n) => { Assert.AreEqual(8, n); Interlocked.Increment(ref many[c]); };
        const int Rounds = 300_000;
        var run = Task.Run(() =>
        {
            // back to back, as the engine posts them
            for (int i = 0; i < Rounds; i++)
            {
                RowWorkers.Shared.Run(runFew, 2);
                RowWorkers.Shared.Run(runMany, 8);
            }
        });
        Assert.IsTrue(run.Wait(TimeSpan.FromSeconds(30)), "the pool hung: a chunk was claimed and never run");
        run.GetAwaiter().GetResult();
        CollectionAssert.AreEqual(Enumerable.Repeat(Rounds, 2).ToArray(), few, "chunks of the 2-chunk job");
        CollectionAssert.AreEqual(Enumerable.Repeat(Rounds, 8).ToArray(), many, "chunks of the 8-chunk job");
    }

    [TestMethod]
    [DataRow(WeightFormat.Float32)]
    [DataRow(WeightFormat.BFloat16)]
    [DataRow(WeightFormat.Q8_0)]
    public void DecodingAllocatesNothingPerToken(WeightFormat format)
    {
        // large enough that products and attention go to the worker pool
        var weights = new TransformerWeights(new LlamaConfig { Dim = 128, HiddenDim = 384, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 512, MaxSeqLen = 160 });
        var rng = new Random(1);
        foreach (var (_, values) in weights.InFileOrder())
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5);
        var engine = new InferenceEngine(weights.Convert(format, 32));
        for (int pos = 0; pos < 100; pos++) engine.Forward(pos % 512, pos); // warm up: JIT, pool threads
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int pos = 100; pos < 160; pos++) engine.Forward((pos * 7) % 512, pos);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // measured 0; the slack is for other threads of the test host, far below one small object per token (60 x 24 bytes)
        Assert.IsTrue(allocated < 1024, $"{allocated} bytes allocated over 60 tokens ({format})");
    }

    [TestMethod]
    public void PositionsPastTheContextAndUnknownTokensAreRejectedByName()
    {
        var engine = new InferenceEngine(new TransformerWeights(new LlamaConfig { Dim = 32, HiddenDim = 64, NLayers = 1, NHeads = 4, NKvHeads = 4, VocabSize = 50, MaxSeqLen = 16 }), slots: 2);
        var past = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => engine.Forward(1, 16));
        StringAssert.Contains(past.Message, "Position 16 is outside the context [0, 16)");
        var token = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => engine.Forward(50, 0));
        StringAssert.Contains(token.Message, "Token id 50 is outside the vocabulary [0, 50)");
        var tooLong = Assert.ThrowsExactly<ArgumentException>(() => engine.Prefill([0], [Enumerable.Range(0, 17).ToArray()]));
        StringAssert.Contains(tooLong.Message, "1 to 16 (the context) tokens; got 17");
        var slot = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => engine.Forward([2], [1], [0]));
        StringAssert.Contains(slot.Message, "Slot 2 is outside [0, 2)");
    }
    [TestMethod]
    [DataRow(WeightFormat.Float32, 90)]
    [DataRow(WeightFormat.BFloat16, 90)]
    [DataRow(WeightFormat.Q8_0, 96)]
    public void ASequencesLogitsAreTheSameBitsWhateverElseIsInItsBatch(WeightFormat format, int hiddenDim)
    {
        // What a server batching requests together relies on: a request's tokens must not depend on what else runs.
        // A hidden size of 90 is not a multiple of the kernels' 4-row block and the batch size moves the products
        // between one part and several (ParallelThreshold), so a row split that ignored block boundaries would change
        // some rows' summation order, and their bits, with the company the sequence keeps.
        var config = new LlamaConfig { Dim = 64, HiddenDim = hiddenDim, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 403, MaxSeqLen = 40 };
        var weights = new TransformerWeights(config);
        var rng = new Random(2);
        foreach (var (_, values) in weights.InFileOrder())
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5);
        weights = weights.Convert(format, 32);
        int[] sequence = Enumerable.Range(0, config.MaxSeqLen).Select(i => (i * 37 + 5) % config.VocabSize).ToArray();

        var alone = new InferenceEngine(weights);
        var expected = new float[sequence.Length][];
        for (int pos = 0; pos < sequence.Length; pos++) expected[pos] = alone.Forward(sequence[pos], pos).ToArray();

        // The sequence in slot 3 of 6; each step a random set of other slots (each at its own position, sometimes
        // restarted) runs with it, in a random order.
        const int Slots = 6, Mine = 3;
        var batch = new InferenceEngine(weights, Slots);
        var positions = new int[Slots];
        var calls = (Slots: new List<int>(), Tokens: new List<int>(), Positions: new List<int>());
        for (int pos = 0; pos < sequence.Length; pos++)
        {
            calls.Slots.Clear(); calls.Tokens.Clear(); calls.Positions.Clear();
            foreach (int slot in Enumerable.Range(0, Slots).OrderBy(_ => rng.Next()))
            {
                if (slot != Mine && rng.Next(3) == 0) continue;
                if (slot != Mine && positions[slot] == config.MaxSeqLen) positions[slot] = 0;
                calls.Slots.Add(slot);
                calls.Tokens.Add(slot == Mine ? sequence[pos] : rng.Next(config.VocabSize));
                calls.Positions.Add(slot == Mine ? pos : positions[slot]++);
            }
            batch.Forward(calls.Slots.ToArray(), calls.Tokens.ToArray(), calls.Positions.ToArray());
            CollectionAssert.AreEqual(expected[pos], batch.Logits(Mine).ToArray(), $"position {pos}, batch of {calls.Slots.Count} ({format})");
        }
    }
}
