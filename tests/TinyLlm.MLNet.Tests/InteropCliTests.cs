using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary><c>tinyllm export</c> in-process, and <c>tinyllm generate</c> reading what it wrote.</summary>
[TestClass]
public sealed class InteropCliTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();


    [TestMethod]
    public void ExportEveryFormatAndGenerateFromTheHuggingFaceFolder()
    {
        string dir = TempDir("cli");
        var original = Random(Tokenizer.VocabSize, shared: false);
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        Llama2cCheckpoint.Write(original, model);
        Tokenizer.Save(tok);

        string hf = Path.Combine(dir, "hf");
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", model, "--format", "hf", "--out", hf, "--tokenizer-model-path", tok, "--tokenizer-bin", Path.Combine(dir, "tokenizer.bin")));
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(hf));
        Assert.AreEqual(Tokenizer.VocabSize, Llama2cTokenizerBin.Read(Path.Combine(dir, "tokenizer.bin"), Tokenizer.VocabSize).Tokens.Count);

        // from the folder back to llama2.c v1 (into a folder not yet there), and to Q8
        string v1 = Path.Combine(dir, "out", "v1.bin");
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", hf, "--format", "llama2c-v1", "--out", v1));
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(v1));
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", model, "--format", "llama2c-q8", "--out", Path.Combine(dir, "q8.bin")));
        Assert.AreEqual(original.Config, GenerationModelLoader.ReadWeights(Path.Combine(dir, "q8.bin")).Config);

        // generate finds tokenizer.model in the folder
        Assert.AreEqual(0, Cli.Run("generate", "--checkpoint", hf, "--temperature", "0", "--max-new-tokens", "5"));

        Assert.AreEqual(1, Cli.Run("export", "--checkpoint", model, "--format", "gguf", "--out", Path.Combine(dir, "x")));
        Assert.AreEqual(1, Cli.Run("export", "--checkpoint", model, "--tokenizer-bin", Path.Combine(dir, "t.bin")));
        Assert.AreEqual(1, Cli.Run("export", "--checkpoint", Path.Combine(dir, "missing.bin"), "--out", Path.Combine(dir, "y.bin")));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "y.bin")));
    }
}
