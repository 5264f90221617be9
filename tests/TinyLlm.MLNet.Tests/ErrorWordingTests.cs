using System.IO.Compression;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Every error reads like the API the user called: the command line names its flags and the path typed, the library
/// its C# option names; neither mentions a term the caller never set.
/// </summary>
[TestClass]
public sealed class ErrorWordingTests
{
    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    [TestMethod]
    public void TheCommandLineNamesTheFlagAndThePathTyped()
    {
        string dir = TempDir("wording");
        string data = Path.Combine(dir, "data");
        TinyLlm.MLNet.Stories.Synthetic.SyntheticStories.WriteShards(data, stories: 60, seed: 1, storiesPerShard: 30);
        string file = Path.Combine(dir, "notes.txt");
        File.WriteAllText(file, "a file");

        string e = Cli.Fails("train-tokenizer", "--dataset-dir", data, "--num-shards", "-1");
        StringAssert.Contains(e, "--num-shards must be at least 1");
        Assert.IsFalse(e.Contains("TinyStoriesOptions"), e);
        e = Cli.Fails("train-tokenizer", "--dataset-dir", data, "--num-shards", "5");
        StringAssert.Contains(e, "--num-shards is 5, but");
        Assert.IsFalse(e.Contains("ShardCount") || e.Contains("FirstShard"), e);

        e = Cli.Fails("train-tokenizer", "--input", dir);
        StringAssert.Contains(e, $"--input '{dir}' is a folder");
        e = Cli.Fails("train", "--data-dir", file);
        StringAssert.Contains(e, $"--data-dir '{file}' is a file");
        e = Cli.Fails("pretokenize", "--dataset-dir", file);
        StringAssert.Contains(e, $"'{file}' is a file");
        e = Cli.Fails("tokenize", "--model", dir, "hello");
        StringAssert.Contains(e, $"--model '{dir}' is a folder");

        string empty = Path.Combine(dir, "empty.txt");
        File.WriteAllText(empty, "");
        e = Cli.Fails("train-tokenizer", "--input", empty, "--vocab-size", "300");
        StringAssert.Contains(e, $"The training corpus (--input '{empty}') is empty");
    }

    [TestMethod]
    public void AFileThatIsNotAModelZipIsNamed()
    {
        string dir = TempDir("wording-zip");
        string text = Path.Combine(dir, "model.zip");
        File.WriteAllText(text, "not a zip at all");
        StringAssert.Contains(Cli.Fails("generate", "--model", text), $"'{text}' is not a TinyLlm model zip");

        string otherZip = Path.Combine(dir, "other.zip");
        using (var archive = ZipFile.Open(otherZip, ZipArchiveMode.Create))
        using (var writer = new StreamWriter(archive.CreateEntry("readme.txt").Open()))
            writer.Write("an ordinary zip");
        StringAssert.Contains(Cli.Fails("generate", "--model", otherZip), $"'{otherZip}' is not a TinyLlm model zip");

        string truncated = Path.Combine(dir, "truncated.zip");
        File.WriteAllBytes(truncated, File.ReadAllBytes(otherZip)[..40]);
        StringAssert.Contains(Cli.Fails("generate", "--model", truncated), $"'{truncated}'");

        StringAssert.Contains(Cli.Fails("generate", "--model", dir), $"--model '{dir}' is a folder");
        // A zip given where a model file goes.
        string tok = Path.Combine(dir, "tok.model");
        Tokenizer.Save(tok);
        StringAssert.Contains(Cli.Fails("generate", "--checkpoint", otherZip, "--tokenizer-model-path", tok), $"'{otherZip}' is a zip file, not a model file");
    }

    [TestMethod]
    public void ATokenizerThatIsNotOneIsNamedByItsPath()
    {
        string dir = TempDir("wording-tok");
        string model = Path.Combine(dir, "model.bin");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.Llama2c, model);
        string shard = Path.Combine(dir, "data00.bin");
        TokenShardTestData.WriteBin(shard, Enumerable.Range(0, 500));
        string e = Cli.Fails("generate", "--checkpoint", model, "--tokenizer-model-path", shard);
        StringAssert.Contains(e, $"'{shard}' is not a sentencepiece model");
        var library = Assert.ThrowsExactly<InvalidDataException>(() => new MLContext().Transforms.Text.LoadLlama(model, shard));
        StringAssert.Contains(library.Message, $"'{shard}'");
    }

    [TestMethod]
    public void LibraryErrorsUseTheCSharpNamesAndTheCommandLineItsFlags()
    {
        var sampling = new SamplingOptions { MaxNewTokens = 0 };
        StringAssert.Contains(Assert.Throws<ArgumentException>(sampling.Validate).Message, "MaxNewTokens must be at least 1");
        sampling = new SamplingOptions { TopP = 2 };
        StringAssert.Contains(Assert.Throws<ArgumentException>(sampling.Validate).Message, "TopP must be in (0, 1]");

        string dir = TempDir("wording-flags");
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.Llama2c, model);
        Tokenizer.Save(tok);
        string e = Cli.Fails("generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--max-new-tokens", "0");
        StringAssert.Contains(e, "--max-new-tokens must be at least 1");
        Assert.IsFalse(e.Contains("MaxNewTokens") || e.Contains("max_new_tokens"), e);
        e = Cli.Fails("generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--top-k", "0");
        StringAssert.Contains(e, "--top-k must be at least 1");
    }
}
