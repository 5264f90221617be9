using System.Reflection;
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

    private static int RunCli(params string[] args)
    {
        MethodInfo main = Assembly.Load("tinyllm").EntryPoint!;
        return (int)main.Invoke(null, [args])!;
    }

    [TestMethod]
    public void ExportEveryFormatAndGenerateFromTheHuggingFaceFolder()
    {
        string dir = TempDir("cli");
        var original = Random(Tokenizer.VocabSize, shared: false);
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        Llama2cCheckpoint.Write(original, model);
        Tokenizer.Save(tok);

        string hf = Path.Combine(dir, "hf");
        Assert.AreEqual(0, RunCli("export", "--checkpoint", model, "--format", "hf", "--out", hf, "--tokenizer-model-path", tok, "--tokenizer-bin", Path.Combine(dir, "tokenizer.bin")));
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(hf));
        Assert.AreEqual(Tokenizer.VocabSize, Llama2cTokenizerBin.Read(Path.Combine(dir, "tokenizer.bin"), Tokenizer.VocabSize).Tokens.Count);

        // from the folder back to llama2.c v1 (into a folder not yet there), and to Q8
        string v1 = Path.Combine(dir, "out", "v1.bin");
        Assert.AreEqual(0, RunCli("export", "--checkpoint", hf, "--format", "llama2c-v1", "--out", v1));
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(v1));
        Assert.AreEqual(0, RunCli("export", "--checkpoint", model, "--format", "llama2c-q8", "--out", Path.Combine(dir, "q8.bin")));
        Assert.AreEqual(original.Dims, GenerationModelLoader.ReadWeights(Path.Combine(dir, "q8.bin")).Dims);

        // generate finds tokenizer.model in the folder
        Assert.AreEqual(0, RunCli("generate", "--checkpoint", hf, "--temperature", "0", "--max-new-tokens", "5"));

        Assert.AreEqual(1, RunCli("export", "--checkpoint", model, "--format", "gguf", "--out", Path.Combine(dir, "x")));
        Assert.AreEqual(1, RunCli("export", "--checkpoint", model, "--tokenizer-bin", Path.Combine(dir, "t.bin")));
        Assert.AreEqual(1, RunCli("export", "--checkpoint", Path.Combine(dir, "missing.bin"), "--out", Path.Combine(dir, "y.bin")));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "y.bin")));
    }
}
