using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using TinyLlm.MLNet.Data;

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

    private static int RunCli(params string[] args)
    {
        MethodInfo main = Assembly.Load("tinyllm").EntryPoint!;
        return (int)main.Invoke(null, [args])!;
    }

    [TestMethod]
    public void SynthWritesTheSameShardsAsTheLibrary()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), lib = Path.Combine(_dir, "lib");
        Assert.AreEqual(0, RunCli("synth", "--out", a, "--stories", "50", "--seed", "3", "--stories-per-shard", "20"));
        // The llama2.c tutorial's spelling works too.
        Assert.AreEqual(0, RunCli("synth", "--out=" + b, "--stories=50", "--seed=3", "--stories_per_shard=20"));
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
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.AreEqual(1, RunCli("synth", "--out", _dir, "--stories", "0"));
            Assert.AreEqual(1, RunCli("synth", "--out", _dir, "--stories", "-5"));
        }
        finally
        {
            Console.SetError(original);
        }
        StringAssert.Contains(error.ToString(), "--stories must be between 1 and 2147483647; it was 0.");
        StringAssert.Contains(error.ToString(), "it was -5.");
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
        Assert.AreEqual(0, RunCli("download", "--dir", dir, "--url", new Uri(archive).AbsoluteUri));
        CollectionAssert.AreEqual(TinyStoriesReader.ReadStories(shards).ToArray(), TinyStoriesReader.ReadStories(dir).ToArray());

        // A file that is not an archive: exit code 1 (the message goes through CliRunner), nothing kept.
        string bad = Path.Combine(_dir, "bad.tar.gz");
        File.WriteAllText(bad, "not an archive");
        Assert.AreEqual(1, RunCli("download", "--dir", Path.Combine(_dir, "bad"), "--url", bad));
        Assert.IsEmpty(Directory.GetFiles(Path.Combine(_dir, "bad")));
    }
}
