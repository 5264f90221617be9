using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TokenShardDataTests
{
    /// <summary>Three shards whose token at position i is (shard * 1000 + i) % 65536, so every window is recognisable.</summary>
    private static string ThreeShards(params int[] lengths)
    {
        string dir = TokenShardTestData.NewFolder("windows");
        for (int s = 0; s < lengths.Length; s++)
            TokenShardTestData.WriteBin(Path.Combine(dir, $"data{s:D2}.bin"), Enumerable.Range(0, lengths[s]).Select(i => (s * 1000 + i) % 65536));
        return dir;
    }

    [TestMethod]
    public void WindowsFollowTheReferenceSplitAndTargetsAreInputsShiftedByOne()
    {
        string dir = ThreeShards(100, 85, 64);
        using var source = TokenShardBatchSource.Open(dir, new TokenWindowOptions { SequenceLength = 8, Shuffle = false });
        // llama2.c: len // T - 1 windows per shard; validation = shard 0, training = the rest.
        Assert.AreEqual(100 / 8 - 1, source.WindowCount(DataSplit.Validation));
        Assert.AreEqual((85 / 8 - 1) + (64 / 8 - 1), source.WindowCount(DataSplit.Train));

        int trainWindows = (int)source.WindowCount(DataSplit.Train);
        var inputs = new long[trainWindows * 8];
        var targets = new long[trainWindows * 8];
        source.FillBatch(DataSplit.Train, 0, trainWindows, inputs, targets);
        for (int r = 0; r < trainWindows; r++)
        {
            // Unshuffled: shard 1's windows, then shard 2's, each starting at ix * T.
            long start = r < 9 ? 1000 + r * 8 : 2000 + (r - 9) * 8;
            for (int j = 0; j < 8; j++)
            {
                Assert.AreEqual(start + j, inputs[r * 8 + j]);
                Assert.AreEqual(start + j + 1, targets[r * 8 + j]);
            }
        }
        Assert.AreEqual(2000 + 63, source.MaxTokenId);

        // Configurable split: validation = the last shard.
        using var other = TokenShardBatchSource.Open(dir, new TokenWindowOptions { SequenceLength = 8, ValidationShards = [2] });
        Assert.AreEqual(7, other.WindowCount(DataSplit.Validation));
        Assert.AreEqual(11 + 9, other.WindowCount(DataSplit.Train));
    }

    [TestMethod]
    public void ShuffledBatchesArePureFunctionsOfSeedSplitAndIndexAndEachEpochIsAPermutation()
    {
        string dir = ThreeShards(400, 300, 200);
        var options = new TokenWindowOptions { SequenceLength = 4, Seed = 7 };
        using var a = TokenShardBatchSource.Open(dir, options);
        using var b = TokenShardBatchSource.Open(dir, options);
        using var c = TokenShardBatchSource.Open(dir, new TokenWindowOptions { SequenceLength = 4, Seed = 8 });
        long w = a.WindowCount(DataSplit.Train);
        Assert.AreEqual(74L + 49, w);

        long[] Batch(TokenWindowBatchSource s, long index, int size = 5)
        {
            var x = new long[size * 4];
            s.FillBatch(DataSplit.Train, index, size, x, new long[size * 4]);
            return x;
        }
        // Same (seed, split, index) gives the same batch, in any call order; another seed another batch.
        var late = Batch(b, 30);
        CollectionAssert.AreEqual(Batch(a, 30), late);
        CollectionAssert.AreEqual(Batch(a, 3), Batch(b, 3));
        CollectionAssert.AreNotEqual(Batch(a, 3), Batch(c, 3));

        // Each epoch visits every window once, in a different order from the next epoch.
        var epoch0 = Enumerable.Range(0, (int)w).Select(p => a.WindowAt(DataSplit.Train, p)).ToArray();
        var epoch1 = Enumerable.Range((int)w, (int)w).Select(p => a.WindowAt(DataSplit.Train, p)).ToArray();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, (int)w).Select(i => (long)i).ToArray(), epoch0);
        CollectionAssert.AreEquivalent(epoch0, epoch1);
        CollectionAssert.AreNotEqual(epoch0, epoch1);
        CollectionAssert.AreNotEqual(Enumerable.Range(0, (int)w).Select(i => (long)i).ToArray(), epoch0);

        // A batch that straddles the epoch boundary takes the end of epoch 0 and the start of epoch 1.
        var straddle = new long[3 * 4];
        a.FillBatch(DataSplit.Train, 41, 3, straddle, new long[3 * 4]); // positions 123, 124, 125 with W = 123
        CollectionAssert.AreEqual(a.Window(DataSplit.Train, epoch1[0]).ToArray().Take(4).Select(t => (long)t).ToArray(), straddle.Take(4).ToArray());
    }

    [TestMethod]
    public void LargeBatchesAreFilledInParallelWithTheSameContent()
    {
        string dir = ThreeShards(20_000, 30_000, 30_000);
        using var source = TokenShardBatchSource.Open(dir, new TokenWindowOptions { SequenceLength = 256 });
        int size = 200; // 51,200 tokens: the parallel path
        var x = new long[size * 256];
        var y = new long[size * 256];
        source.FillBatch(DataSplit.Train, 1, size, x, y);
        for (int r = 0; r < size; r++)
        {
            var window = source.Window(DataSplit.Train, source.WindowAt(DataSplit.Train, size + r));
            for (int j = 0; j < 256; j++)
            {
                Assert.AreEqual(window[j], x[r * 256 + j]);
                Assert.AreEqual(window[j + 1], y[r * 256 + j]);
            }
        }
    }

    [TestMethod]
    public void ShardDataViewWorksWithOrdinaryMLNetOperations()
    {
        string dir = ThreeShards(100, 85, 64);
        var mlContext = new MLContext(seed: 1);
        using var view = mlContext.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 8 });
        Assert.AreEqual(9L + 7, view.GetRowCount());
        Assert.IsTrue(view.CanShuffle);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32, 8), view.Schema[TokenWindowDataView.InputColumnName].Type);

        var rows = mlContext.Data.CreateEnumerable<WindowRow>(view, reuseRowObject: false).ToList();
        Assert.HasCount(16, rows);
        CollectionAssert.AreEqual(Enumerable.Range(1000, 8).ToArray(), rows[0].Input);
        CollectionAssert.AreEqual(Enumerable.Range(1001, 8).ToArray(), rows[0].Target);
        CollectionAssert.AreEqual(Enumerable.Range(2000, 8).ToArray(), rows[9].Input);

        var preview = view.Preview(maxRows: 3);
        Assert.HasCount(3, preview.RowView);
        Assert.AreEqual(3L, mlContext.Data.TakeRows(view, 3).GetColumn<int[]>(TokenWindowDataView.TargetColumnName).LongCount());

        // Shuffled cursors: deterministic given the Random, every window once.
        string Order(int seed)
        {
            using var cursor = view.GetRowCursor(view.Schema, new Random(seed));
            var input = cursor.GetGetter<VBuffer<int>>(view.Schema[TokenWindowDataView.InputColumnName]);
            var firsts = new List<int>();
            VBuffer<int> value = default;
            while (cursor.MoveNext()) { input(ref value); firsts.Add(value.GetValues()[0]); }
            return string.Join(',', firsts);
        }
        Assert.AreEqual(Order(3), Order(3));
        Assert.AreNotEqual(Order(3), Order(4));
        CollectionAssert.AreEquivalent(rows.Select(r => r.Input[0]).ToArray(), Order(3).Split(',').Select(int.Parse).ToArray());
        var shuffled = mlContext.Data.ShuffleRows(view, seed: 5);
        Assert.AreEqual(16, mlContext.Data.CreateEnumerable<WindowRow>(shuffled, false).Count());

        // The view is the trainer's batch source, over both splits.
        ITokenBatchSource batches = view;
        Assert.AreEqual(11L, batches.WindowCount(DataSplit.Validation));

        using var windows = mlContext.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 8, Split = DataSplit.Validation, Columns = TokenWindowColumns.Window });
        Assert.AreEqual(11L, windows.GetRowCount());
        var first = windows.GetColumn<int[]>(TokenWindowDataView.WindowColumnName).First();
        CollectionAssert.AreEqual(Enumerable.Range(0, 9).ToArray(), first);
    }

    [TestMethod]
    public void InMemorySourceSharesTheShardWindowing()
    {
        string dir = ThreeShards(100, 85, 64);
        var options = new TokenWindowOptions { SequenceLength = 8, Seed = 11 };
        using var shards = TokenShardBatchSource.Open(dir, options);
        var segments = Enumerable.Range(0, 3).Select(s => Enumerable.Range(0, new[] { 100, 85, 64 }[s]).Select(i => (ushort)(s * 1000 + i)).ToArray()).ToList();
        var memory = new InMemoryTokenBatchSource(segments, options);
        foreach (var split in new[] { DataSplit.Train, DataSplit.Validation })
        {
            Assert.AreEqual(shards.WindowCount(split), memory.WindowCount(split));
            for (long b = 0; b < 6; b++)
            {
                long[] x1 = new long[24], y1 = new long[24], x2 = new long[24], y2 = new long[24];
                shards.FillBatch(split, b, 3, x1, y1);
                memory.FillBatch(split, b, 3, x2, y2);
                CollectionAssert.AreEqual(x1, x2);
                CollectionAssert.AreEqual(y1, y2);
            }
        }

        // From a tokenized-text column: stories concatenated, cut at story boundaries, segment 0 = validation.
        var mlContext = new MLContext();
        var rows = Enumerable.Range(0, 40).Select(r => new TokensRow { Tokens = [1, .. Enumerable.Range(10 + r, 20)] }).ToList();
        var schema = SchemaDefinition.Create(typeof(TokensRow));
        schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Int32);
        var data = mlContext.Data.LoadFromEnumerable(rows, schema);
        var fromColumn = InMemoryTokenBatchSource.FromTokenColumn(data, "Tokens", segmentCount: 4, new TokenWindowOptions { SequenceLength = 16, Shuffle = false });
        Assert.AreEqual(4, fromColumn.SegmentCount);
        Assert.AreEqual(40L * 21, fromColumn.TokenCount);
        Assert.AreEqual(210 / 16 - 1, fromColumn.WindowCount(DataSplit.Validation));
        var first = fromColumn.Window(DataSplit.Validation, 0).ToArray();
        CollectionAssert.AreEqual(new ushort[] { 1, 10, 11, 12 }, first.Take(4).ToArray());
    }

    [TestMethod]
    public void BadShardsGiveClearErrors()
    {
        var mlContext = new MLContext();
        string empty = TokenShardTestData.NewFolder("empty");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Data.LoadFromTokenShards(empty, 8)).Message, "holds no .bin shards");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => mlContext.Data.LoadFromTokenShards(Path.Combine(empty, "missing"), 8));

        string odd = ThreeShards(100, 100);
        File.WriteAllBytes(Path.Combine(odd, "data01.bin"), new byte[201]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Data.LoadFromTokenShards(odd, 8));
        StringAssert.Contains(e.Message, "odd length");
        StringAssert.Contains(e.Message, "data01.bin");

        string small = ThreeShards(100, 30);
        var e2 = Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Data.LoadFromTokenShards(small, 16));
        StringAssert.Contains(e2.Message, "data01.bin");
        StringAssert.Contains(e2.Message, "too few for a window of SequenceLength 16");

        string badSplit = ThreeShards(100, 100);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Data.LoadFromTokenShards(badSplit, new TokenShardLoaderOptions { SequenceLength = 8, ValidationShards = [5] }));
        using var allTrain = mlContext.Data.LoadFromTokenShards(badSplit, new TokenShardLoaderOptions { SequenceLength = 8, ValidationShards = [] });
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => allTrain.FillBatch(DataSplit.Validation, 0, 1, new long[8], new long[8])).Message, "Validation split holds no windows");
    }

    [TestMethod]
    public void TruncatedShardIsDetectedThroughTheManifest()
    {
        string model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("truncated");
        new TokenShardWriter(model).Write(
            [TokenShardInput.FromStories("data00", () => TokenShardTestData.Stories(100, 1)), TokenShardInput.FromStories("data01", () => TokenShardTestData.Stories(100, 2))], dir);
        var mlContext = new MLContext();
        using (var ok = mlContext.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 32, TokenizerModelPath = model }))
            Assert.IsGreaterThan(0L, ok.GetRowCount()!.Value);

        string path = Path.Combine(dir, "data01.bin");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 64)]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Data.LoadFromTokenShards(dir, 32));
        StringAssert.Contains(e.Message, "truncated");
        StringAssert.Contains(e.Message, "data01.bin");

        // A re-run of the writer notices the wrong length and rewrites the shard.
        new TokenShardWriter(model).Write(
            [TokenShardInput.FromStories("data00", () => TokenShardTestData.Stories(100, 1)), TokenShardInput.FromStories("data01", () => TokenShardTestData.Stories(100, 2))], dir);
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(path));
    }

    public sealed class WindowRow
    {
        public int[] Input { get; set; } = [];
        public int[] Target { get; set; } = [];
    }

    public sealed class TokensRow
    {
        public int[] Tokens { get; set; } = [];
    }
}
