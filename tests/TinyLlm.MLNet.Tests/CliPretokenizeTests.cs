using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

/// <summary>Runs <c>tinyllm pretokenize</c> in-process through the CLI's entry point.</summary>
[TestClass]
public sealed class CliPretokenizeTests
{

    private static string Dataset(out string model)
    {
        model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("cli");
        string data = Path.Combine(dir, "TinyStories_all_data");
        Directory.CreateDirectory(data);
        for (int s = 0; s < 3; s++)
            TokenShardTestData.WriteJsonShard(Path.Combine(data, $"data{s:D2}.json"), TokenShardTestData.Stories(150, seed: 60 + s));
        return data;
    }

    [TestMethod]
    public void PretokenizeWritesTokFolderEqualToTheLibraryAndResumes()
    {
        string data = Dataset(out string model);
        // The tutorial's spelling: --vocab_size=512 --dataset_dir=...
        Assert.AreEqual(0, Cli.Run("pretokenize", "--vocab_size=512", "--dataset_dir=" + data, "--tokenizer_model_path=" + model));
        string tok = Path.Combine(data, "tok512");
        CollectionAssert.AreEqual(new[] { "data00.bin", "data01.bin", "data02.bin" },
            Directory.GetFiles(tok, "*.bin").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());

        var writer = new TokenShardWriter(model);
        for (int s = 0; s < 3; s++)
        {
            var expected = TokenShardTestData.ReadJsonShard(Path.Combine(data, $"data{s:D2}.json")).SelectMany(writer.EncodeStory)
                .SelectMany(id => new[] { (byte)id, (byte)(id >> 8) }).ToArray();
            CollectionAssert.AreEqual(expected, File.ReadAllBytes(Path.Combine(tok, $"data{s:D2}.bin")));
        }
        var manifest = TokenShardManifest.Load(tok)!;
        Assert.AreEqual(512, manifest.VocabSize);
        CollectionAssert.AreEqual(new long[] { 150, 150, 150 }, manifest.Shards.Select(e => e.Stories).ToArray());

        // A re-run finds every shard finished and rewrites none.
        var times = Directory.GetFiles(tok, "*.bin").Order(StringComparer.Ordinal).Select(File.GetLastWriteTimeUtc).ToArray();
        Assert.AreEqual(0, Cli.Run("pretokenize", "--vocab-size", "512", "--dataset-dir", data, "--tokenizer-model-path", model));
        CollectionAssert.AreEqual(times, Directory.GetFiles(tok, "*.bin").Order(StringComparer.Ordinal).Select(File.GetLastWriteTimeUtc).ToArray());
    }

    [TestMethod]
    public void PretokenizeRejectsBadInputWithExitCodeOne()
    {
        string data = Dataset(out string model);
        var tooLarge = Cli.Capture("pretokenize", "--vocab-size", "70000", "--dataset-dir", data, "--tokenizer-model-path", model);
        Assert.AreEqual(1, tooLarge.ExitCode);
        Assert.AreEqual(1, Cli.Capture("pretokenize", "--vocab-size", "4096", "--dataset-dir", data, "--tokenizer-model-path", model).ExitCode);
        Assert.AreEqual(1, Cli.Capture("pretokenize", "--vocab-size", "512", "--dataset-dir", Path.Combine(data, "missing"), "--tokenizer-model-path", model).ExitCode);
        // System.CommandLine's validation message; the library's messages (printed by CliRunner) are tested in TokenShardWriterTests.
        StringAssert.Contains(tooLarge.Error, "--vocab-size must be between 1 and 65,536");
        Assert.IsFalse(Directory.Exists(Path.Combine(data, "tok4096")), "nothing is written when the vocabulary does not match");
    }
}
