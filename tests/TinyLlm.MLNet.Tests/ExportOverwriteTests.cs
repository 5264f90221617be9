using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary><c>tinyllm export</c> never writes over what it reads, under whatever name the input is given.</summary>
[TestClass]
public sealed class ExportOverwriteTests
{
    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    private static void Refused(string[] args, string input, string because)
    {
        byte[]? before = File.Exists(input) ? File.ReadAllBytes(input) : null;
        var run = Cli.Capture(["export", .. args]);
        Assert.AreEqual(1, run.ExitCode, run.All);
        Assert.AreEqual("", run.Out);
        StringAssert.Contains(run.Error, because, run.Error);
        if (before is not null) CollectionAssert.AreEqual(before, File.ReadAllBytes(input), "the input is untouched");
    }

    [TestMethod]
    public void AnOutputThatIsTheInputUnderAnyNameIsRefused()
    {
        string dir = TempDir("export-self");
        string model = Path.Combine(dir, "model.bin");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.Llama2c, model);

        Refused(["--checkpoint", model, "--out", model], model, $"--out '{model}' would overwrite --checkpoint '{model}'");
        string dotted = Path.Combine(dir, "sub", "..", "model.bin");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        Refused(["--checkpoint", model, "--out", dotted, "--format", "llama2c-v1"], model, "would overwrite --checkpoint");

        string symlink = Path.Combine(dir, "link.bin");
        File.CreateSymbolicLink(symlink, model);
        Refused(["--checkpoint", symlink, "--out", model], model, "would overwrite --checkpoint");
        Refused(["--checkpoint", model, "--out", symlink], model, "would overwrite --checkpoint");

        string hardlink = Path.Combine(dir, "hard.bin");
        Assert.AreEqual(0, ReferenceTools.Run("ln", $"\"{model}\" \"{hardlink}\"", out string lnOutput), lnOutput);
        Refused(["--checkpoint", model, "--out", hardlink], model, "would overwrite --checkpoint");

        // The tokenizer is an input too.
        string tok = Path.Combine(dir, "tok.model");
        Tokenizer.Save(tok);
        Refused(["--checkpoint", model, "--tokenizer-model-path", tok, "--tokenizer-bin", tok], tok, "--tokenizer-bin '" + tok + "' would overwrite --tokenizer-model-path");

        // A Hugging Face folder exported onto itself.
        string hf = Path.Combine(dir, "hf");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.HuggingFace, hf, Tokenizer);
        Refused(["--checkpoint", hf, "--format", "hf", "--out", hf], Path.Combine(hf, "model.safetensors"), "would overwrite --checkpoint");
        Refused(["--checkpoint", Path.Combine(hf, "model.safetensors"), "--format", "hf", "--out", hf], Path.Combine(hf, "model.safetensors"), "would overwrite --checkpoint");

        // Another file is fine.
        var ok = Cli.Capture("export", "--checkpoint", model, "--out", Path.Combine(dir, "copy.bin"));
        Assert.AreEqual(0, ok.ExitCode, ok.All);
    }

    [TestMethod]
    public void AnOutputUnderAFileNamesThatFileNotATemporaryName()
    {
        string dir = TempDir("export-under-file");
        string model = Path.Combine(dir, "model.bin");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.Llama2c, model);
        string file = Path.Combine(dir, "notes.txt");
        File.WriteAllText(file, "a file");
        foreach (string[] args in new[]
        {
            new[] { "--out", Path.Combine(file, "out.bin") },
            new[] { "--format", "hf", "--out", Path.Combine(file, "hf") },
        })
        {
            var run = Cli.Capture(["export", "--checkpoint", model, .. args]);
            Assert.AreEqual(1, run.ExitCode, run.All);
            StringAssert.Contains(run.Error, $"'{file}' is a file, not a folder");
            Assert.IsFalse(run.Error.Contains(".tmp"), run.Error);
        }
    }
}
