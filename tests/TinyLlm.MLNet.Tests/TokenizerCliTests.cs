using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TokenizerCliTests
{
    [TestMethod]
    public void TrainTokenizerThenTokenizePrintsIdsAndDecodedText()
    {
        string corpus = TokenizerTestCorpus.WriteTemp("cli.txt", TokenizerTestCorpus.Synthetic(2_000, seed: 21));
        string model = Path.Combine(Path.GetDirectoryName(corpus)!, "cli", "tok420.model");
        // The tutorial's spelling of the flag is accepted too.
        int code = Cli.RunProcess($"train-tokenizer --vocab_size=420 --input \"{corpus}\" --out \"{model}\"", out string output);
        Assert.AreEqual(0, code, output);
        Assert.IsTrue(File.Exists(model), output);
        Assert.IsTrue(File.Exists(Path.ChangeExtension(model, ".vocab")));
        var expected = SentencePieceBpeTrainer.Train(File.ReadLines(corpus), new SentencePieceBpeOptions { VocabSize = 420 });
        CollectionAssert.AreEqual(expected.ToBytes(), File.ReadAllBytes(model));

        code = Cli.RunProcess($"tokenize --model \"{model}\" \"Lily saw a red ball!\"", out output);
        Assert.AreEqual(0, code, output);
        var lines = output.Trim().Split('\n');
        var ids = expected.Encode("Lily saw a red ball!", true, true);
        Assert.AreEqual("[" + string.Join(", ", ids) + "]", lines[0].Trim());
        Assert.AreEqual("Lily saw a red ball!", lines[1].Trim());

        string text = TokenizerTestCorpus.WriteTemp("cli-lines.txt", ["Tom took a kite.", "", "Mia made some cake!"]);
        code = Cli.RunProcess($"tokenize --model \"{model}\" --file \"{text}\"", out output);
        Assert.AreEqual(0, code, output);
        var idLines = output.Split('\n', StringSplitOptions.None);
        Assert.AreEqual(string.Join(' ', expected.Encode("Tom took a kite.", true, true)), idLines[0]);
        Assert.AreEqual(string.Join(' ', expected.Encode("", true, true)), idLines[1]);
        Assert.AreEqual(string.Join(' ', expected.Encode("Mia made some cake!", true, true)), idLines[2]);
    }

    [TestMethod]
    public void TrainTokenizerReadsADatasetDirectoryWithTheTutorialsFlags()
    {
        string dir = Path.Combine(Path.GetDirectoryName(TokenizerTestCorpus.WriteTemp("ds.txt", []))!, "dataset");
        int code = Cli.RunProcess($"synth --out \"{dir}\" --stories 3000 --stories-per-shard 1000", out string output);
        Assert.AreEqual(0, code, output);
        code = Cli.RunProcess($"train-tokenizer --vocab_size=500 --dataset_dir={dir} --num_shards=2", out output);
        Assert.AreEqual(0, code, output);
        string model = Path.Combine(dir, "tok500.model");
        Assert.IsTrue(File.Exists(model), output);

        // Same as training on the first two shards' stories, stripped, through the library.
        var stories = TinyLlm.MLNet.Stories.TinyStoriesReader.ReadStories(dir, new TinyLlm.MLNet.Stories.TinyStoriesOptions { ShardCount = 2 })
            .Select(s => s.Trim());
        var expected = SentencePieceBpeTrainer.Train(stories, new SentencePieceBpeOptions { VocabSize = 500 });
        Assert.AreEqual(expected.ToVocabText(), File.ReadAllText(Path.ChangeExtension(model, ".vocab")));
    }

    [TestMethod]
    public void BadInputGivesOneLineErrorsAndExitCode1()
    {
        int code = Cli.RunProcess("tokenize --model /nonexistent/tok.model hello", out string output);
        Assert.AreEqual(1, code, output);
        StringAssert.Contains(output, "error:");
        StringAssert.Contains(output, "/nonexistent/tok.model");
        Assert.IsFalse(output.Contains("   at "), output);

        string corpus = TokenizerTestCorpus.WriteTemp("cli-small.txt", TokenizerTestCorpus.Synthetic(200, seed: 2));
        code = Cli.RunProcess($"train-tokenizer --vocab-size 280 --input \"{corpus}\" --out /tmp/never.model", out output);
        Assert.AreEqual(1, code, output);
        StringAssert.Contains(output, "too small");

        code = Cli.RunProcess("train-tokenizer --vocab-size 4096", out output);
        Assert.AreEqual(1, code, output);
        StringAssert.Contains(output, "--dataset-dir");
    }
}
