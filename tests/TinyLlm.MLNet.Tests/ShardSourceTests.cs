using Microsoft.ML;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Shards are never stale: the manifest records each source's size, modification time and SHA-256, so a re-run
/// encodes a changed source again and removes the shard of a deleted one; and it says whether the run finished, so
/// a half-written set is not trained on without being asked.
/// </summary>
[TestClass]
public sealed class ShardSourceTests
{
    private static byte[] Encoded(string model, string jsonShard) =>
        TokenShardTestData.ReadJsonShard(jsonShard).SelectMany(new TokenShardWriter(model).EncodeStory)
            .SelectMany(id => new[] { (byte)id, (byte)(id >> 8) }).ToArray();

    [TestMethod]
    public void AChangedSourceIsEncodedAgainAndADeletedOneLosesItsShard()
    {
        string model = TokenShardTestData.SpmModel(512);
        string data = TokenShardTestData.NewFolder("sources");
        for (int s = 0; s < 3; s++) TokenShardTestData.WriteJsonShard(Path.Combine(data, $"data{s:D2}.json"), TokenShardTestData.Stories(60, seed: 70 + s));
        string tok = Path.Combine(data, "tok512");
        var first = Cli.Capture("pretokenize", "--vocab-size", "512", "--dataset-dir", data, "--tokenizer-model-path", model);
        Assert.AreEqual(0, first.ExitCode, first.All);
        var manifest = TokenShardManifest.Load(tok)!;
        Assert.IsTrue(manifest.Complete);
        var entry = manifest.Find("data01.bin")!;
        Assert.AreEqual(new FileInfo(Path.Combine(data, "data01.json")).Length, entry.SourceSize);
        Assert.AreEqual(File.GetLastWriteTimeUtc(Path.Combine(data, "data01.json")), entry.SourceModified);
        Assert.AreEqual(64, entry.SourceHash!.Length);

        // data01.json is replaced by other stories: its shard is encoded again, the others are kept.
        string changed = Path.Combine(data, "data01.json");
        TokenShardTestData.WriteJsonShard(changed, TokenShardTestData.Stories(60, seed: 99));
        File.SetLastWriteTimeUtc(changed, File.GetLastWriteTimeUtc(changed).AddSeconds(5));
        var kept = File.GetLastWriteTimeUtc(Path.Combine(tok, "data00.bin"));
        var second = Cli.Capture("pretokenize", "--vocab-size", "512", "--dataset-dir", data, "--tokenizer-model-path", model);
        Assert.AreEqual(0, second.ExitCode, second.All);
        StringAssert.Contains(second.Out, "2 already done; 1 encoded again because their source changed");
        CollectionAssert.AreEqual(Encoded(model, changed), File.ReadAllBytes(Path.Combine(tok, "data01.bin")));
        Assert.AreEqual(kept, File.GetLastWriteTimeUtc(Path.Combine(tok, "data00.bin")));

        // Touched without a change (a copy, a restore): the hash says it is the same, nothing is encoded again.
        File.SetLastWriteTimeUtc(changed, File.GetLastWriteTimeUtc(changed).AddSeconds(5));
        var progress = new List<TokenShardProgress>();
        new TokenShardWriter(model, new TokenShardWriterOptions { Progress = new ListProgress(progress) })
            .Write(TokenShardInput.FromTinyStoriesFolder(data), tok);
        Assert.AreEqual(3, progress[^1].ShardsSkipped);
        Assert.AreEqual(0, progress[^1].ShardsReencoded);
        Assert.AreEqual(File.GetLastWriteTimeUtc(changed), TokenShardManifest.Load(tok)!.Find("data01.bin")!.SourceModified);

        // data02.json is deleted: its shard goes, and the run says so.
        File.Delete(Path.Combine(data, "data02.json"));
        var third = Cli.Capture("pretokenize", "--vocab-size", "512", "--dataset-dir", data, "--tokenizer-model-path", model);
        Assert.AreEqual(0, third.ExitCode, third.All);
        StringAssert.Contains(third.Out, "1 removed because their source is gone");
        Assert.IsFalse(File.Exists(Path.Combine(tok, "data02.bin")));
        CollectionAssert.AreEqual(new[] { "data00.bin", "data01.bin" }, TokenShardManifest.Load(tok)!.Shards.Select(e => e.File).ToArray());
    }

    [TestMethod]
    public void ShardsFromAnIDataViewFollowItsRows()
    {
        string model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("dataview-sources");
        var ml = new MLContext();
        var options = new TokenShardWriterOptions { TokenizerModelPath = model, StoriesPerShard = 40 };
        IDataView Rows(int count, int seed) => ml.Data.LoadFromEnumerable(TokenShardTestData.Stories(count, seed).Select(s => new StoryRow { Text = s }));

        ml.Data.SaveAsTokenShards(Rows(80, 1), dir, options);
        var before = File.ReadAllBytes(Path.Combine(dir, "data01.bin"));
        // Other rows of the same count: both shards follow them; fewer rows: the second shard goes.
        ml.Data.SaveAsTokenShards(Rows(80, 2), dir, options);
        CollectionAssert.AreNotEqual(before, File.ReadAllBytes(Path.Combine(dir, "data01.bin")));
        ml.Data.SaveAsTokenShards(Rows(40, 2), dir, options);
        Assert.IsFalse(File.Exists(Path.Combine(dir, "data01.bin")));
        Assert.HasCount(1, TokenShardManifest.Load(dir)!.Shards);
    }

    [TestMethod]
    public void AnUnfinishedSetIsRefusedUnlessAllowed()
    {
        string model = TokenShardTestData.SpmModel(512);
        string data = TokenShardTestData.NewFolder("unfinished");
        string tok = Path.Combine(data, "tok512");
        var stories = Enumerable.Range(0, 4).Select(s => TokenShardTestData.Stories(200, seed: 80 + s)).ToList();
        IEnumerable<string> Dies(List<string> s) { foreach (var x in s.Take(10)) yield return x; throw new IOException("killed"); }
        var killed = stories.Select((s, i) => TokenShardInput.FromStories($"data{i:D2}", () => i == 3 ? Dies(s) : s)).ToList();
        Assert.ThrowsExactly<IOException>(() => new TokenShardWriter(model, new TokenShardWriterOptions { ShardsInParallel = 1 }).Write(killed, tok));
        Assert.IsFalse(TokenShardManifest.Load(tok)!.Complete);

        var ml = new MLContext();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Data.LoadFromTokenShards(tok, new TokenShardLoaderOptions { SequenceLength = 8 }));
        StringAssert.Contains(e.Message, $"Shard folder '{tok}' is incomplete");
        StringAssert.Contains(e.Message, "lists 3 finished shard(s)");
        StringAssert.Contains(e.Message, "AllowIncompleteShards");
        using (var view = ml.Data.LoadFromTokenShards(tok, new TokenShardLoaderOptions { SequenceLength = 8, AllowIncompleteShards = true }))
            Assert.IsGreaterThan(0L, view.Source.TokenCount);

        var train = Cli.Capture("train", "--data-dir", tok, "--vocab-size", "512", "--device", "cpu");
        Assert.AreEqual(1, train.ExitCode, train.All);
        StringAssert.Contains(train.Error, "is incomplete");
        StringAssert.Contains(train.Error, "set --allow-incomplete-shards to train");

        // Finishing the run completes the set.
        new TokenShardWriter(model).Write(stories.Select((s, i) => TokenShardInput.FromStories($"data{i:D2}", () => s)).ToList(), tok);
        Assert.IsTrue(TokenShardManifest.Load(tok)!.Complete);
        using (ml.Data.LoadFromTokenShards(tok, new TokenShardLoaderOptions { SequenceLength = 8 })) { }
    }

    private sealed class StoryRow
    {
        public string Text { get; set; } = "";
    }

    private sealed class ListProgress(List<TokenShardProgress> into) : IProgress<TokenShardProgress>
    {
        public void Report(TokenShardProgress value) { lock (into) into.Add(value); }
    }
}
