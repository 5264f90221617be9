namespace TinyLlm.MLNet.Tests;

/// <summary>Runs <c>tinyllm quickstart</c> in-process, tiny and short, twice: the second run reuses every stage.</summary>
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
            Assert.AreEqual(0, Cli.Run(args));
            foreach (string artifact in new[] { "data/data00.json", "tok400.model", "tok400/data00.bin", "tok400/manifest.json", "out/ckpt.bin", "out/loss.png", "out/metrics.csv", "out/quickstart.json", "tinyllm.zip" })
                Assert.IsTrue(File.Exists(Path.Combine(work, artifact)), $"{artifact} was not written");
            var stamps = new[] { "tok400.model", "tok400/data00.bin", "out/ckpt.bin" }.ToDictionary(f => f, f => File.GetLastWriteTimeUtc(Path.Combine(work, f)));

            Assert.AreEqual(0, Cli.Run(args));
            foreach (var (file, stamp) in stamps)
                Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(Path.Combine(work, file)), $"{file} was redone instead of reused");

            Assert.AreEqual(1, Cli.Run("quickstart", "--work-dir", work, "--minutes", "0"), "--minutes 0 must be refused");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
