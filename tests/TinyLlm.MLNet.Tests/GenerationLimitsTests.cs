using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Sizes and numbers at the edge: a context or a batch too large for memory is an error that gives the size asked
/// and the limit (never an overflow), a subnormal temperature is greedy, and a story stops at the model's context
/// unless asked to slide.
/// </summary>
[TestClass]
public sealed class GenerationLimitsTests
{
    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    [TestMethod]
    public void AContextOrABatchTooLargeForMemoryIsAnErrorGivingTheSizes()
    {
        string dir = TempDir("limits");
        string tok = Path.Combine(dir, "tok.model");
        Tokenizer.Save(tok);

        // A Hugging Face config claiming two billion positions.
        string hf = Path.Combine(dir, "hf");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.HuggingFace, hf, Tokenizer);
        string configPath = Path.Combine(hf, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["max_position_embeddings"] = 2_000_000_000;
        File.WriteAllText(configPath, config.ToJsonString());
        string e = Cli.Fails("generate", "--checkpoint", hf, "--prompt", "Once");
        StringAssert.Contains(e, "2,000,000,000 positions");
        StringAssert.Contains(e, "a .NET array holds");

        // A llama2.c v1 header claiming 50 million.
        string v1 = Path.Combine(dir, "model-v1.bin");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true), ModelExportFormat.Llama2cV1, v1);
        byte[] bytes = File.ReadAllBytes(v1);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4 * 6), 50_000_000);
        File.WriteAllBytes(v1, bytes);
        e = Cli.Fails("generate", "--checkpoint", v1, "--tokenizer-model-path", tok, "--prompt", "Once");
        StringAssert.Contains(e, "50,000,000 positions");

        // A million stories at once.
        string v0 = Path.Combine(dir, "model.bin");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: true, seqLen: 256), ModelExportFormat.Llama2c, v0);
        e = Cli.Fails("generate", "--checkpoint", v0, "--tokenizer-model-path", tok, "--num-samples", "1000000");
        StringAssert.Contains(e, "1,000,000 sequence(s)");
        StringAssert.Contains(e, " GB for the key/value cache");

        // Within .NET's arrays but beyond the memory the process may use.
        var shape = Random(Tokenizer.VocabSize, shared: true, seqLen: 256).Config;
        var m = Assert.ThrowsExactly<InsufficientMemoryException>(() => TinyLlm.MLNet.Engine.DecoderMemory.Check(shape, 1_000, available: 100_000_000));
        StringAssert.Contains(m.Message, "1,000 sequence(s)");
        StringAssert.Contains(m.Message, "but this process may use 0.1 GB");
    }

    [TestMethod]
    public void ATemperatureTooSmallToDivideByIsGreedy()
    {
        var weights = Random(Tokenizer.VocabSize, shared: true);
        using var generator = new TextGenerator(weights, Tokenizer);
        string greedy = generator.Generate("Once upon a time", new SamplingOptions { Temperature = 0, MaxNewTokens = 20 }).Text;
        foreach (float tiny in new[] { 1e-41f, float.Epsilon, 1e-6f })
            Assert.AreEqual(greedy, generator.Generate("Once upon a time", new SamplingOptions { Temperature = tiny, MaxNewTokens = 20 }).Text, $"temperature {tiny}");

        // A small temperature with every token kept (no top-k, no top-p): the softmax must not overflow.
        var logits = new float[100];
        for (int i = 0; i < logits.Length; i++) logits[i] = 10f * i / logits.Length;
        logits[37] = 30f;
        var sampler = new Sampler(logits.Length, new SamplingOptions { Temperature = 0.02f, TopK = logits.Length, TopP = 1f });
        for (int i = 0; i < 20; i++) Assert.AreEqual(37, sampler.Sample(logits));
    }

    [TestMethod]
    public void AStoryStopsAtTheContextUnlessAskedToSlide()
    {
        // Unshared classifier rows of EOS and BOS at zero: greedy decoding never ends the story by itself.
        var weights = Random(Tokenizer.VocabSize, shared: false, seqLen: 16);
        Array.Clear(weights.Classifier, Tokenizer.EosId * 64, 64);
        Array.Clear(weights.Classifier, Tokenizer.BosId * 64, 64);
        using var generator = new TextGenerator(weights, Tokenizer);
        var stopped = generator.Generate("Once upon a time", new SamplingOptions { Temperature = 0, MaxNewTokens = 100 });
        Assert.IsTrue(stopped.StoppedAtContextLength);
        Assert.IsFalse(stopped.StoppedAtEndOfText);
        Assert.AreEqual(17, stopped.PromptTokens + stopped.TokenIds.Count, "every token came from one of the 16 trained positions");

        var slid = generator.Generate("Once upon a time", new SamplingOptions { Temperature = 0, MaxNewTokens = 100, SlideContextWindow = true });
        Assert.IsFalse(slid.StoppedAtContextLength);
        Assert.HasCount(100, slid.TokenIds);
        StringAssert.StartsWith(slid.Text, stopped.Text);

        // The option is saved with the model.
        var ml = new MLContext();
        using var transformer = new LlamaGenerationTransformer(ml, weights, Tokenizer.ToBytes(),
            new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 100, SlideContextWindow = true } });
        string zip = Path.Combine(TempDir("slide"), "model.zip");
        ml.Model.Save(transformer, ml.Data.LoadFromEnumerable([new StoryPrompt { Text = "Once" }]).Schema, zip);
        var loaded = (LlamaGenerationTransformer)new MLContext().Model.Load(zip, out _);
        Assert.IsTrue(loaded.Options.Sampling.SlideContextWindow);

        // The command line says why the story stopped.
        string tok = Path.Combine(TempDir("slide-cli"), "tok.model");
        Tokenizer.Save(tok);
        string model = Path.Combine(Path.GetDirectoryName(tok)!, "model.bin");
        Llama2cCheckpoint.Write(weights, model);
        var run = Cli.Capture("generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--prompt", "Once upon a time", "--temperature", "0", "--max-new-tokens", "100");
        Assert.AreEqual(0, run.ExitCode, run.All);
        StringAssert.Contains(run.Error, "stopped at the model's context length (16 positions");
    }
}
