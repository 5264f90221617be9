using System.Formats.Tar;
using System.IO.Compression;
using TinyLlm.MLNet.Stories;
using TinyLlm.MLNet.Stories.Synthetic;

namespace TinyLlm.MLNet.Tests;

/// <summary>Runs <c>tinyllm synth</c> and <c>tinyllm download</c> in-process through the CLI's entry point.</summary>
[TestClass]
public sealed class CliDataCommandsTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "cli-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);


    [TestMethod]
    public void SynthWritesTheSameShardsAsTheLibrary()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), lib = Path.Combine(_dir, "lib");
        Assert.AreEqual(0, Cli.Run("synth", "--out", a, "--stories", "50", "--seed", "3", "--stories-per-shard", "20"));
        // The llama2.c tutorial's spelling works too.
        Assert.AreEqual(0, Cli.Run("synth", "--out=" + b, "--stories=50", "--seed=3", "--stories_per_shard=20"));
        SyntheticStories.WriteShards(lib, stories: 50, seed: 3, storiesPerShard: 20);

        string[] names = ["data00.json", "data01.json", "data02.json"];
        CollectionAssert.AreEqual(names, Directory.GetFiles(a).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        foreach (string name in names)
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(lib, name)), File.ReadAllBytes(Path.Combine(a, name)));
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(lib, name)), File.ReadAllBytes(Path.Combine(b, name)));
        }
        Assert.AreEqual(50, TinyStoriesReader.ReadStories(a).Count());
    }

    [TestMethod]
    public void SynthRejectsAStoryCountBelowOneNamingTheFlag()
    {
        var zero = Cli.Capture("synth", "--out", _dir, "--stories", "0");
        var negative = Cli.Capture("synth", "--out", _dir, "--stories", "-5");
        Assert.AreEqual(1, zero.ExitCode);
        Assert.AreEqual(1, negative.ExitCode);
        StringAssert.Contains(zero.Error, "--stories must be between 1 and 2147483647; it was 0.");
        StringAssert.Contains(negative.Error, "it was -5.");
        Assert.IsEmpty(Directory.GetFiles(_dir));
    }

    [TestMethod]
    public void DownloadExtractsALocalArchive()
    {
        string shards = Path.Combine(_dir, "shards");
        SyntheticStories.WriteShards(shards, stories: 40, seed: 9, storiesPerShard: 15);
        string archive = Path.Combine(_dir, "TinyStories_all_data.tar.gz");
        using (var file = File.Create(archive))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            TarFile.CreateFromDirectory(shards, gzip, includeBaseDirectory: false);

        string dir = Path.Combine(_dir, "TinyStories");
        Assert.AreEqual(0, Cli.Run("download", "--dir", dir, "--url", new Uri(archive).AbsoluteUri));
        CollectionAssert.AreEqual(TinyStoriesReader.ReadStories(shards).ToArray(), TinyStoriesReader.ReadStories(dir).ToArray());

        // A file that is not an archive: exit code 1 (the message goes through CliRunner), nothing kept.
        string bad = Path.Combine(_dir, "bad.tar.gz");
        File.WriteAllText(bad, "not an archive");
        Assert.AreEqual(1, Cli.Run("download", "--dir", Path.Combine(_dir, "bad"), "--url", bad));
        Assert.IsEmpty(Directory.GetFiles(Path.Combine(_dir, "bad")));
    }

    [TestMethod]
    public void DownloadOfAnArchiveWithoutStoriesIsAnError()
    {
        string content = Path.Combine(_dir, "content");
        Directory.CreateDirectory(content);
        File.WriteAllText(Path.Combine(content, "README.txt"), "no stories here");
        string archive = Path.Combine(_dir, "empty.tar.gz");
        using (var file = File.Create(archive))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            TarFile.CreateFromDirectory(content, gzip, includeBaseDirectory: false);

        string dir = Path.Combine(_dir, "TinyStories");
        var run = Cli.Capture("download", "--dir", dir, "--url", archive);
        Assert.AreEqual(1, run.ExitCode, run.All);
        Assert.AreEqual("", run.Out);
        StringAssert.Contains(run.Error, $"'{archive}' holds no TinyStories shards");
        Assert.IsFalse(File.Exists(Path.Combine(dir, ".tinystories-extracted")), "a second run tries again");
        Assert.AreEqual(1, Cli.Capture("download", "--dir", dir, "--url", archive).ExitCode);
    }
}
