using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Every <c>tinyllm</c> command writes its results to standard output and its progress, notes and errors to
/// standard error, so <c>tinyllm tokenize ... &gt; ids.txt</c> stores ids and never an error message.
/// </summary>
[TestClass]
public sealed class CliStreamsTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("tinyllm-streams-").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void AFailingCommandPrintsItsErrorOnStandardErrorAndNothingOnStandardOutput()
    {
        string missing = Path.Combine(_dir, "missing");
        string[][] failing =
        [
            ["tokenize", "--model", missing + ".model", "Hello"],
            ["train-tokenizer", "--input", missing + ".txt"],
            ["pretokenize", "--dataset-dir", missing],
            ["train", "--data-dir", missing],
            ["generate", "--model", missing + ".zip"],
            ["export", "--checkpoint", missing + ".bin", "--out", Path.Combine(_dir, "model.bin")],
            ["download", "--dir", _dir, "--url", missing + ".tar.gz"],
            ["quickstart", "--work-dir", _dir, "--minutes", "0"],
            ["synth", "--out", _dir, "--stories", "0"],
        ];
        foreach (string[] args in failing)
        {
            var run = Cli.Capture(args);
            string command = string.Join(' ', args);
            Assert.AreEqual(1, run.ExitCode, $"{command}: {run.All}");
            Assert.AreEqual("", run.Out, $"{command} printed on standard output");
            Assert.IsFalse(string.IsNullOrWhiteSpace(run.Error), $"{command} printed no error");
        }
    }

    [TestMethod]
    public void ProgressGoesToStandardErrorAndResultsToStandardOutput()
    {
        // (Spectre draws progress bars only on a terminal; evaluations and notes are plain lines on standard error.)
        string data = Path.Combine(_dir, "data");
        var synth = Cli.Capture("synth", "--out", data, "--stories", "400", "--stories-per-shard", "100");
        Assert.AreEqual(0, synth.ExitCode, synth.All);
        StringAssert.StartsWith(synth.Out, "Wrote 400 stories");
        Assert.AreEqual(1, synth.Out.Trim().Split('\n').Length, synth.Out);

        var tokenizer = Cli.Capture("train-tokenizer", "--dataset-dir", data, "--vocab-size", "400");
        Assert.AreEqual(0, tokenizer.ExitCode, tokenizer.All);
        StringAssert.StartsWith(tokenizer.Out, "Trained 400 pieces");
        Assert.AreEqual(1, tokenizer.Out.Trim().Split('\n').Length, tokenizer.Out);

        string model = Path.Combine(data, "tok400.model");
        var tokenize = Cli.Capture("tokenize", "--model", model, "Hello, world!");
        Assert.AreEqual(0, tokenize.ExitCode, tokenize.All);
        var ids = SentencePieceModel.Load(model).Encode("Hello, world!", true, true);
        Assert.AreEqual($"[{string.Join(", ", ids)}]\nHello, world!\n", tokenize.Out.Replace("\r\n", "\n"));
        Assert.AreEqual("", tokenize.Error);

        var pretokenize = Cli.Capture("pretokenize", "--dataset-dir", data, "--vocab-size", "400");
        Assert.AreEqual(0, pretokenize.ExitCode, pretokenize.All);
        StringAssert.StartsWith(pretokenize.Out, "Wrote 4 shard(s)");
        Assert.AreEqual(1, pretokenize.Out.Trim().Split('\n').Length, pretokenize.Out);

        var train = Cli.Capture("train", "--data-dir", data, "--out-dir", Path.Combine(_dir, "out"), "--vocab-size", "400",
            "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "16",
            "--batch-size", "4", "--gradient-accumulation-steps", "1", "--max-iters", "2", "--eval-interval", "2", "--eval-iters", "1",
            "--warmup-iters", "1", "--device", "cpu");
        Assert.AreEqual(0, train.ExitCode, train.All);
        StringAssert.StartsWith(train.Out, "done: 3 iterations");
        StringAssert.Contains(train.Error, "step 0: train loss");
        Assert.IsFalse(train.Out.Contains("step 0"), train.Out);
    }
}
