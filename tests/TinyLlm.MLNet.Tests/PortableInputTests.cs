using Microsoft.ML;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.ProcessProbe;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Stories;
using TinyLlm.MLNet.Stories.Synthetic;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Input as it comes from other systems: stories saved with Windows line endings (CRLF) tokenize, pretokenize and
/// train exactly like the LF originals; folders with spaces and non-ASCII names work through the whole CLI flow; and
/// nothing written (nor anything in the repository) differs from another path only in case, which a Windows or macOS
/// file system would merge.
/// </summary>
[TestClass]
public sealed class PortableInputTests
{
    private static string _root = "";

    [ClassInitialize]
    public static void CreateRoot(TestContext _) => _root = Directory.CreateTempSubdirectory("tinyllm-portable-").FullName;

    [ClassCleanup]
    public static void DeleteRoot()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }


    private static string NewDir(string name) => Directory.CreateDirectory(Path.Combine(_root, name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;

    /// <summary>The same 240 synthetic stories (paragraphs split by blank lines) as LF and as CRLF shards.</summary>
    private static (string Lf, string Crlf) JsonDatasets()
    {
        string lf = NewDir("json-lf"), crlf = NewDir("json-crlf");
        SyntheticStories.WriteShards(lf, stories: 240, seed: 11, storiesPerShard: 80);
        foreach (string shard in Directory.GetFiles(lf))
        {
            string text = File.ReadAllText(shard);
            StringAssert.Contains(text, "\\n\\n", "the stories should have paragraphs");
            // CRLF between the JSON elements, and "\r\n" escapes inside the stories, as a Windows tool writes them.
            File.WriteAllText(Path.Combine(crlf, Path.GetFileName(shard)), text.Replace("\n", "\r\n").Replace("\\n", "\\r\\n"));
        }
        return (lf, crlf);
    }

    /// <summary>One story per line (paragraphs joined), in LF and CRLF text files.</summary>
    private static (string Lf, string Crlf) TextDatasets()
    {
        string lf = NewDir("txt-lf"), crlf = NewDir("txt-crlf");
        for (int s = 0; s < 3; s++)
        {
            var lines = SyntheticStories.Generate(80, seed: 20 + s).Select(story => story.Replace("\n\n", " ")).ToArray();
            File.WriteAllText(Path.Combine(lf, $"data{s:D2}.txt"), string.Join("\n", lines) + "\n");
            File.WriteAllText(Path.Combine(crlf, $"data{s:D2}.txt"), string.Join("\r\n", lines) + "\r\n");
        }
        return (lf, crlf);
    }

    private static void AssertSameFiles(string expectedDir, string actualDir, string pattern)
    {
        string[] names = Directory.GetFiles(expectedDir, pattern).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.IsNotEmpty(names, $"{expectedDir}/{pattern}");
        CollectionAssert.AreEqual(names, Directory.GetFiles(actualDir, pattern).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        foreach (string name in names)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(expectedDir, name)), File.ReadAllBytes(Path.Combine(actualDir, name)), name);
    }

    private static void AssertNoCarriageReturnPiece(string model)
    {
        var pieces = Tokenization.SentencePieceModel.Load(model);
        Assert.IsFalse(Enumerable.Range(0, pieces.VocabSize).Any(i => pieces.GetPiece(i).Contains('\r')), "a piece holds '\\r'");
    }

    [TestMethod]
    public void CrlfShardsTokenizePretokenizeAndTrainExactlyLikeLf()
    {
        var (lf, crlf) = JsonDatasets();
        foreach (string dataset in new[] { lf, crlf })
        {
            Cli.Succeed("train-tokenizer", "--dataset-dir", dataset, "--vocab-size", "400");
            Cli.Succeed("pretokenize", "--dataset-dir", dataset, "--vocab-size", "400");
        }
        AssertSameFiles(lf, crlf, "tok400.*");
        AssertSameFiles(Path.Combine(lf, "tok400"), Path.Combine(crlf, "tok400"), "*.bin");
        AssertNoCarriageReturnPiece(Path.Combine(crlf, "tok400.model"));

        // Training reads the shards, byte for byte the same: the same losses, step by step.
        CollectionAssert.AreEqual(TrainLosses(lf), TrainLosses(crlf));
    }

    [TestMethod]
    public void CrlfTextFilesAndCrlfStoriesInMemoryTokenizeAndPretokenizeExactlyLikeLf()
    {
        var (lf, crlf) = TextDatasets();
        var ml = new MLContext(seed: 1);
        foreach (string dataset in new[] { lf, crlf })
        {
            // spm_train's input: plain-text files, one sentence per line
            Cli.Succeed(["train-tokenizer", "--input", .. Directory.GetFiles(dataset, "*.txt").Order(StringComparer.Ordinal), "--out", Path.Combine(dataset, "tok400.model"), "--vocab-size", "400"]);
            ml.Data.SaveAsTokenShards(ml.Data.LoadTinyStories(dataset), Path.Combine(dataset, "tok400"), Path.Combine(lf, "tok400.model"));
        }
        AssertSameFiles(lf, crlf, "tok400.*");
        AssertSameFiles(Path.Combine(lf, "tok400"), Path.Combine(crlf, "tok400"), "*.bin");
        AssertNoCarriageReturnPiece(Path.Combine(crlf, "tok400.model"));

        // Stories that never were in a file (an app's own IDataView): "\r\n" inside is encoded as "\n".
        string[] stories = SyntheticStories.Generate(50, seed: 4).ToArray();
        IDataView InMemory(Func<string, string> change) => ml.Data.LoadFromEnumerable(stories.Select(s => new StoryPrompt { Text = change(s) }));
        string memoryLf = NewDir("memory-lf"), memoryCrlf = NewDir("memory-crlf");
        ml.Data.SaveAsTokenShards(InMemory(s => s), memoryLf, Path.Combine(lf, "tok400.model"));
        ml.Data.SaveAsTokenShards(InMemory(s => s.Replace("\n", "\r\n") + "\r\n"), memoryCrlf, Path.Combine(lf, "tok400.model"));
        AssertSameFiles(memoryLf, memoryCrlf, "*.bin");

        // The tokenizer stage of a pipeline, too: its Tokens column for a CRLF text is the LF text's.
        var tokenizer = ml.Transforms.Text.LoadSentencePiece(Path.Combine(lf, "tok400.model"));
        var rows = ml.Data.CreateEnumerable<TokenRow>(tokenizer.Transform(InMemory(s => s.Replace("\n", "\r\n"))), reuseRowObject: false).ToArray();
        for (int i = 0; i < stories.Length; i++)
            CollectionAssert.AreEqual(tokenizer.Encode(stories[i]).ToArray(), rows[i].Tokens, $"story {i}");
        CollectionAssert.AreEqual(tokenizer.Encode("One day.\nThe end.").ToArray(), tokenizer.Encode("One day.\rThe end.").ToArray());
    }

    private sealed class TokenRow
    {
        public int[] Tokens { get; set; } = [];
    }

    private static string[] TrainLosses(string dataset)
    {
        string outDir = Path.Combine(dataset, "out");
        Cli.Succeed("train", "--dataset-dir", dataset, "--out-dir", outDir, "--vocab-size", "400", "--dim", "32", "--n-layers", "2",
            "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "32", "--batch-size", "4",
            "--gradient-accumulation-steps", "1", "--max-iters", "3", "--eval-interval", "3", "--eval-iters", "1",
            "--warmup-iters", "1", "--device", "cpu", "--dtype", "float32");
        // kind,iter,tokens,lr,loss,...: the loss of every step
        string[] losses = File.ReadLines(Path.Combine(outDir, "metrics.csv")).Where(l => l.StartsWith("step,", StringComparison.Ordinal))
            .Select(l => l.Split(',')[4]).ToArray();
        Assert.HasCount(4, losses);
        return losses;
    }

    [TestMethod]
    public void TheStoriesOfACrlfShardAreTheLfStoriesWithoutAnyCarriageReturn()
    {
        var (lf, crlf) = JsonDatasets();
        var ml = new MLContext(seed: 1);
        string[] Read(string dir) => ml.Data.CreateEnumerable<StoryPrompt>(ml.Data.LoadTinyStories(dir), reuseRowObject: false).Select(s => s.Text).ToArray();
        string[] expected = Read(lf), actual = Read(crlf);
        Assert.HasCount(240, actual);
        CollectionAssert.AreEqual(expected, actual);
        Assert.IsFalse(actual.Any(s => s.Contains('\r')));

        // A lone '\r' (old Mac line ending) inside a text line reads as '\n' too.
        string text = Path.Combine(_root, "lone-cr.txt");
        File.WriteAllText(text, "One day.\rThe end.\r\nSecond story.\n");
        CollectionAssert.AreEqual(new[] { "One day.\nThe end.", "Second story." }, TinyStoriesReader.ReadStories(text).ToArray());
    }

    [TestMethod]
    public void TokenizeFileEncodesACrlfFileLikeItsLfCopy()
    {
        var (lf, _) = JsonDatasets();
        Cli.Succeed("train-tokenizer", "--dataset-dir", lf, "--vocab-size", "400");
        string model = Path.Combine(lf, "tok400.model");
        string lfFile = Path.Combine(_root, "lines-lf.txt"), crlfFile = Path.Combine(_root, "lines-crlf.txt");
        File.WriteAllText(lfFile, "One day, Lily met a dog.\nThe dog was happy.\n");
        File.WriteAllText(crlfFile, "One day, Lily met a dog.\r\nThe dog was happy.\r\n");
        // tokenize --file writes to the process's standard output stream: run the built CLI as a process.
        string dll = Path.Combine(AppContext.BaseDirectory, "tinyllm.dll");
        Assert.AreEqual(0, ReferenceTools.Run("dotnet", $"\"{dll}\" tokenize --model \"{model}\" --file \"{lfFile}\"", out string fromLf), fromLf);
        Assert.AreEqual(0, ReferenceTools.Run("dotnet", $"\"{dll}\" tokenize --model \"{model}\" --file \"{crlfFile}\"", out string fromCrlf), fromCrlf);
        Assert.HasCount(2, fromLf.Split('\n', StringSplitOptions.RemoveEmptyEntries), fromLf);
        Assert.AreEqual(fromLf, fromCrlf);
    }

    [TestMethod]
    public void TheWholeFlowRunsInAFolderWithSpacesAndNonAsciiNamesAndWritesNoTwoNamesDifferingOnlyInCase()
    {
        string dir = Path.Combine(_root, "my stories ü 故事", "data set");
        string outDir = Path.Combine(_root, "my stories ü 故事", "out dir é");
        Cli.Succeed("synth", "--out", dir, "--stories", "240", "--stories-per-shard", "80");
        Cli.Succeed("train-tokenizer", "--dataset-dir", dir, "--vocab-size", "400");
        Cli.Succeed("pretokenize", "--dataset-dir", dir, "--vocab-size", "400");
        Cli.Succeed("train", "--dataset-dir", dir, "--out-dir", outDir, "--vocab-size", "400", "--dim", "32", "--n-layers", "2",
            "--n-heads", "4", "--n-kv-heads", "2", "--multiple-of", "16", "--max-seq-len", "32", "--batch-size", "4",
            "--gradient-accumulation-steps", "1", "--max-iters", "2", "--eval-interval", "2", "--eval-iters", "1",
            "--warmup-iters", "1", "--device", "cpu");
        string model = Path.Combine(outDir, "model ü.bin"), tokenizerBin = Path.Combine(outDir, "tokenizer ü.bin");
        Cli.Succeed("export", "--checkpoint", Path.Combine(outDir, Checkpoint.FileName), "--format", "llama2c", "--out", model,
            "--tokenizer-model-path", Path.Combine(dir, "tok400.model"), "--tokenizer-bin", tokenizerBin);
        Cli.Succeed("export", "--checkpoint", Path.Combine(outDir, Checkpoint.FileName), "--format", "hf", "--out", Path.Combine(outDir, "hf ü"),
            "--tokenizer-model-path", Path.Combine(dir, "tok400.model"));
        string story = Cli.Succeed("generate", "--checkpoint", model, "--tokenizer-model-path", Path.Combine(dir, "tok400.model"),
            "--prompt", "One day", "--max-new-tokens", "8", "--temperature", "0");
        StringAssert.Contains(story, "One day");
        Assert.IsTrue(File.Exists(tokenizerBin));

        AssertNoNamesDifferOnlyInCase(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "my stories ü 故事"), "*", SearchOption.AllDirectories));
    }

    [TestMethod]
    public void TheRepositoryHasNoTwoPathsDifferingOnlyInCase()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found");
        var entries = Directory.EnumerateFileSystemEntries(root.FullName, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or ".git" or "TestResults" or "artifacts"))
            .ToArray();
        Assert.IsGreaterThan(100, entries.Length);
        AssertNoNamesDifferOnlyInCase(entries);
    }

    private static void AssertNoNamesDifferOnlyInCase(IEnumerable<string> paths)
    {
        var clashes = paths.GroupBy(p => p, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => string.Join(" / ", g)).ToArray();
        Assert.IsEmpty(clashes, "paths a case-insensitive file system would merge: " + string.Join("; ", clashes));
    }
}
