using System.Buffers.Binary;
using System.Text;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>llama2.c's v0, v1 and v2 (Q8_0) checkpoints and its tokenizer.bin.</summary>
[TestClass]
public sealed class InteropLlama2cTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    [TestMethod]
    [DataRow("llama2c", true)]
    [DataRow("llama2c", false)]
    [DataRow("llama2c-v1", true)]
    [DataRow("llama2c-v1", false)]
    public void ExportThenImportIsBitExactAndGreedyTextIsIdentical(string format, bool shared)
    {
        var original = Random(Tokenizer.VocabSize, shared);
        string path = Path.Combine(TempDir(format), "model.bin");
        ModelExporter.Export(original, ModelExporter.ParseFormat(format), path);
        Assert.IsFalse(File.Exists(path + ".tmp"));
        var imported = GenerationModelLoader.ReadWeights(path);
        AssertBitEqual(original, imported);
        Assert.AreEqual(Greedy(original), Greedy(imported));
    }

    [TestMethod]
    public void V1FileHasExportPyHeaderAndOrder()
    {
        var w = Random(96, shared: false);
        string path = Path.Combine(TempDir("v1"), "model.bin");
        Llama2cV1Checkpoint.Write(w, path);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.AreEqual("24ka", Encoding.ASCII.GetString(bytes, 0, 4)); // uint32 0x616b3432 little-endian
        Assert.AreEqual(0x616b3432u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        int[] ints = Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 + 4 * i))).ToArray();
        CollectionAssert.AreEqual(new[] { 1, 64, 176, 2, 4, 2, 96, 64 }, ints);
        Assert.AreEqual(0, bytes[36], "shared_classifier");
        Assert.IsTrue(bytes.AsSpan(37, 256 - 37).ToArray().All(b => b == 0), "zero padding");
        float At(long index) => BitConverter.ToSingle(bytes, checked((int)(256 + 4 * index)));
        int d = 64, l = 2;
        Assert.AreEqual(w.AttentionNorm[d + 5], At(d + 5));
        Assert.AreEqual(w.FfnNorm[3], At(l * d + 3));
        Assert.AreEqual(w.FinalNorm[7], At(2 * l * d + 7));
        long emb = 2 * l * d + d;
        Assert.AreEqual(w.TokenEmbedding[100], At(emb + 100));
        long wq = emb + 96 * d;
        Assert.AreEqual(w.Wq[d * d + 9], At(wq + d * d + 9));
        long total = emb + 96L * d + w.Wq.Length + w.Wk.Length + w.Wv.Length + w.Wo.Length + w.W1.Length + w.W2.Length + w.W3.Length;
        Assert.AreEqual(w.Classifier[11], At(total + 11));
        Assert.AreEqual(256 + 4 * (total + w.Classifier.Length), bytes.Length);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Q8FileQuantizesInGroupsAndReadsBackWithinHalfAStep(bool shared)
    {
        var w = Random(96, shared);
        string path = Path.Combine(TempDir("q8"), "model-q8.bin");
        // 64 does not divide hidden_dim 176: export.py-style backoff to 16
        Assert.AreEqual(16, Llama2cQ8Checkpoint.Write(w, path));
        byte[] bytes = File.ReadAllBytes(path);
        Assert.AreEqual(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        Assert.AreEqual(shared ? 1 : 0, bytes[36]);
        Assert.AreEqual(16, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(37)));

        // layout: fp32 norms, then the embedding's int8 values followed by its scales, then wq of layer 0 ...
        int d = 64, g = 16;
        long normsEnd = 256 + 4 * (2 * 2 * d + d);
        Assert.AreEqual(w.FfnNorm[1], BitConverter.ToSingle(bytes, 256 + 4 * (2 * d + 1)));
        int embCount = 96 * d;
        float scale0 = w.TokenEmbedding.Take(g).Max(MathF.Abs) / 127f;
        Assert.AreEqual(scale0, BitConverter.ToSingle(bytes, (int)normsEnd + embCount));
        Assert.AreEqual((sbyte)MathF.Round(w.TokenEmbedding[3] / scale0), (sbyte)bytes[normsEnd + 3]);
        long wqStart = normsEnd + embCount + 4 * (embCount / g);
        float wqScale1 = w.Wq.Skip(g).Take(g).Max(MathF.Abs) / 127f;
        Assert.AreEqual(wqScale1, BitConverter.ToSingle(bytes, (int)(wqStart + d * d + 4)));

        var read = GenerationModelLoader.ReadWeights(path);
        Assert.AreEqual(w.Config, read.Config);
        CollectionAssert.AreEqual(w.AttentionNorm, read.AttentionNorm);
        CollectionAssert.AreEqual(w.FinalNorm, read.FinalNorm);
        foreach (var ((name, a), (_, b)) in w.InFileOrder().Append(("output.weight", w.Classifier)).Zip(read.InFileOrder().Append(("output.weight", read.Classifier))))
        {
            if (name.Contains("norm", StringComparison.Ordinal)) continue;
            for (int start = 0; start < a.Length; start += g)
            {
                float step = a.AsSpan(start, g).ToArray().Max(MathF.Abs) / 127f;
                for (int i = start; i < start + g; i++)
                    if (Math.Abs(a[i] - b[i]) > step / 2 * 1.0001f + 1e-7f)
                        Assert.Fail($"{name}[{i}]: {a[i]} read back as {b[i]}, more than half a step ({step / 2}) away");
            }
        }
        Assert.AreEqual(shared, ReferenceEquals(read.Classifier, read.TokenEmbedding));
    }

    [TestMethod]
    public void UnsharedV1FileServesThroughLoadLlamaAndAPredictionEngine()
    {
        var w = Random(Tokenizer.VocabSize, shared: false);
        string dir = TempDir("serve");
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        Llama2cV1Checkpoint.Write(w, model);
        Tokenizer.Save(tok);
        var ml = new MLContext();
        var transformer = ml.Transforms.Text.LoadLlama(model, tok, new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 40 } });
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(transformer);
        Assert.AreEqual(Greedy(w, "Tom had a ball."), engine.Predict(new StoryPrompt { Text = "Tom had a ball." }).Completion);
    }

    [TestMethod]
    public void TokenizerBinHasLlama2cTokenizerPyLayout()
    {
        var tok = Tokenizer;
        string path = Path.Combine(TempDir("tokbin"), "tokenizer.bin");
        Llama2cTokenizerBin.Write(tok, path);
        var vocab = Llama2cTokenizerBin.Read(path, tok.VocabSize);
        string Text(int id) => Encoding.UTF8.GetString(vocab.Tokens[id]);
        Assert.AreEqual("\n<s>\n", Text(tok.BosId));
        Assert.AreEqual("\n</s>\n", Text(tok.EosId));
        Assert.AreEqual("<unk>", Text(0));
        Assert.AreEqual("<0x0A>", Text(3 + 0x0A));
        int spaced = Enumerable.Range(0, tok.VocabSize).First(i => tok.GetPiece(i).StartsWith('\u2581') && tok.GetPiece(i).Length > 1);
        Assert.AreEqual(" " + tok.GetPiece(spaced)[1..], Text(spaced));
        for (int i = 0; i < tok.VocabSize; i++) Assert.AreEqual(tok.GetScore(i), vocab.Scores[i]);
        Assert.AreEqual(vocab.Tokens.Max(t => t.Length), vocab.MaxTokenLength);

        // the raw bytes, read by hand: uint32 max, then (float score, int32 length, bytes) from id 0
        byte[] raw = File.ReadAllBytes(path);
        Assert.AreEqual((uint)vocab.MaxTokenLength, BinaryPrimitives.ReadUInt32LittleEndian(raw));
        Assert.AreEqual(tok.GetScore(0), BitConverter.ToSingle(raw, 4));
        Assert.AreEqual(5, BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(8)));
        Assert.AreEqual("<unk>", Encoding.UTF8.GetString(raw, 12, 5));
        Assert.AreEqual(4 + vocab.Tokens.Sum(t => 8 + t.Length), raw.Length);
    }
}
