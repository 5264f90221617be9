namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Runs <c>tinyllm quickstart</c> in-process, tiny and short: a second run reuses every stage, a stage whose completion
/// record is missing or unreadable is redone, and the summary reports the run's average speed.
/// </summary>
[TestClass]
[TestCategory("Slow")]
public sealed class CliQuickstartTests
{

    [TestMethod]
    public void QuickstartRunsEveryStageAndReusesThemOnASecondRun()
    {
        string work = Directory.CreateTempSubdirectory("tinyllm-quickstart-").FullName;
        try
        {
            string[] args = ["quickstart", "--work-dir", work, "--stories", "400", "--minutes", "0.2", "--vocab-size", "400",
                "--dim", "32", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--max-seq-len", "64", "--batch-size", "4"];
            var first = Cli.Capture(args);
            Assert.AreEqual(0, first.ExitCode, first.All);
            // The run's own average (tokens over the wall time of its training loop), said to be one.
            StringAssert.Matches(first.Out, new System.Text.RegularExpressions.Regex(@"M tokens in \d+ s: [\d,]+ tokens/s on average"));
            foreach (string artifact in new[] { "data/data00.json", "tok400.model", "tok400/data00.bin", "tok400/manifest.json", "out/ckpt.bin", "out/loss.png", "out/metrics.csv", "quickstart.json", "tinyllm.zip" })
                Assert.IsTrue(File.Exists(Path.Combine(work, artifact)), $"{artifact} was not written");
            var stamps = new[] { "tok400.model", "tok400/data00.bin", "out/ckpt.bin" }.ToDictionary(f => f, f => File.GetLastWriteTimeUtc(Path.Combine(work, f)));

            Assert.AreEqual(0, Cli.Run(args));
            foreach (var (file, stamp) in stamps)
                Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(Path.Combine(work, file)), $"{file} was redone instead of reused");

            Assert.AreEqual(1, Cli.Run("quickstart", "--work-dir", work, "--minutes", "0"), "--minutes 0 must be refused");

            // A run killed while writing the stories left two shards and no record: the next run writes them all again
            // (never "reused" on a tenth of the data); a truncated record is no record, not a crash.
            string record = Path.Combine(work, "quickstart.json");
            File.WriteAllText(record, File.ReadAllText(record)[..20]);
            foreach (string shard in Directory.GetFiles(Path.Combine(work, "data")).Skip(2)) File.Delete(shard);
            var third = Cli.Capture(args);
            Assert.AreEqual(0, third.ExitCode, third.All);
            StringAssert.Contains(third.Error, "could not be read");
            Assert.IsFalse(third.Out.Contains("(reused)"), third.Out);
            Assert.AreEqual(10, Directory.GetFiles(Path.Combine(work, "data"), "*.json").Length);
            Assert.AreNotEqual(stamps["tok400.model"], File.GetLastWriteTimeUtc(Path.Combine(work, "tok400.model")), "the tokenizer was redone");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
