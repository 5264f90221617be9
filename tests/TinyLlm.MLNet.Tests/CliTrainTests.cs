using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>Runs <c>tinyllm train</c> in-process through the CLI's entry point, on uint16 shards written here.</summary>
[TestClass]
public sealed class CliTrainTests
{

    /// <summary>A tutorial-style dataset folder: <c>tok64/data00.bin</c> (validation) and two training shards.</summary>
    private static string Dataset()
    {
        string dir = Path.Combine(Path.GetTempPath(), "tinyllm-cli-train-" + Guid.NewGuid().ToString("N")[..8]);
        string tok = Path.Combine(dir, "tok64");
        Directory.CreateDirectory(tok);
        for (int s = 0; s < 3; s++)
        {
            var tokens = InMemoryTokenSource.SyntheticStories(s == 0 ? 2_000 : 8_000, 64, 10 + s);
            File.WriteAllBytes(Path.Combine(tok, $"data{s:D2}.bin"), tokens.SelectMany(t => new[] { (byte)t, (byte)(t >> 8) }).ToArray());
        }
        return dir;
    }

    /// <summary>A tiny run in the tutorial's spellings; <paramref name="overrides"/> (<c>--name=value</c>) replace or add flags.</summary>
    private static string[] Tiny(string data, string outDir, params string[] overrides)
    {
        string[] flags =
        [
            "--dataset_dir=" + data, "--out_dir=" + outDir, "--vocab_size=64", "--dim=32", "--n_layers=2", "--n_heads=4",
            "--n_kv_heads=2", "--multiple_of=16", "--max_seq_len=16", "--batch_size=8", "--gradient_accumulation_steps=1",
            "--eval_iters=2", "--warmup_iters=2", "--learning_rate=0.01", "--device=cpu",
        ];
        static string Name(string flag) => flag.Split('=')[0];
        return ["train", .. flags.Where(f => !overrides.Any(o => Name(o) == Name(f))), .. overrides];
    }

    [TestMethod]
    public void TrainWritesCheckpointAndMetricsAndResumes()
    {
        string data = Dataset();
        string outDir = Path.Combine(data, "out");
        Assert.AreEqual(0, Cli.Run(Tiny(data, outDir, "--max_iters=6", "--eval_interval=3", "--always_save_checkpoint=True")));
        var first = Checkpoint.Read(Path.Combine(outDir, Checkpoint.FileName));
        Assert.AreEqual(6L, first.IterNum);
        Assert.AreEqual(32, first.ModelArgs.Dim);
        Assert.AreEqual(0.01, first.Config!.LearningRate);
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "metrics.csv")));
        byte[] png = File.ReadAllBytes(Path.Combine(outDir, "loss.png"));
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "model.bin")));

        // resume to a longer run, with our kebab-case spellings this time
        Assert.AreEqual(0, Cli.Run([.. Tiny(data, outDir), "--max-iters", "9", "--eval-interval", "3", "--always-save-checkpoint", "--init-from", "resume"]));
        Assert.AreEqual(9L, Checkpoint.Read(Path.Combine(outDir, Checkpoint.FileName)).IterNum);
        string[] steps = File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Where(l => l.StartsWith("step,")).ToArray();
        Assert.AreEqual(10, steps.Length, "steps 0..9, those before the resume kept");
    }

    [TestMethod]
    public void TrainRejectsBadInputWithExitCodeOne()
    {
        string data = Dataset();
        string outDir = Path.Combine(data, "out");
        var error = new StringWriter();
        foreach (string[] args in new[]
        {
            Tiny(data, outDir, "--device=tpu"), Tiny(data, outDir, "--dtype=float16"), Tiny(data, outDir, "--init_from=resume"),
            Tiny(data, outDir, "--n_heads=3"), Tiny(data, outDir, "--vocab_size=32"), Tiny(Path.Combine(data, "missing"), outDir),
        })
        {
            var run = Cli.Capture(args);
            Assert.AreEqual(1, run.ExitCode, run.All);
            Assert.AreEqual("", run.Out, "errors go to standard error only");
            error.Write(run.Error);
        }
        string text = System.Text.RegularExpressions.Regex.Replace(error.ToString(), @"\s+", " ");
        StringAssert.Contains(text, "--device must be auto, cpu, cuda or cuda:N; it is 'tpu'");
        StringAssert.Contains(text, "float16 is not supported");
        StringAssert.Contains(text, "no checkpoint at");
        StringAssert.Contains(text, "--n-heads (3) must divide --dim (32)");
        StringAssert.Contains(text, "tok32");
        StringAssert.Contains(text, "does not exist");
    }
}
