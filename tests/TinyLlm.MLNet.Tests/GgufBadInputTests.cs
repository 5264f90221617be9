using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>Every kind of GGUF file TinyLlm cannot run gets one clear error that names the problem.</summary>
[TestClass]
public sealed class GgufBadInputTests
{
    private static readonly Lazy<string> Valid = new(() =>
    {
        string path = Path.Combine(TempDir("gguf-valid"), "valid.gguf");
        GgufLlama.Write(Random(Tokenizer.VocabSize, shared: false, hiddenDim: 192), Tokenizer, path, GgmlType.Q8_0);
        return path;
    });

    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    private static string Variant(string tag, Func<string, object, object?>? editKey = null,
        Func<GgufTensorInfo, (string, long[], GgmlType)?>? editTensor = null, params (string, object)[] addKeys)
    {
        string path = Path.Combine(TempDir("gguf-bad"), tag + ".gguf");
        GgufTestModels.Rewrite(Valid.Value, path, editKey, editTensor, addKeys);
        return path;
    }

    private static void Refused(string path, string expected)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => GenerationModelLoader.ReadWeights(path));
        StringAssert.Contains(e.Message, expected);
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void TheUnchangedRewriteLoads() =>
        Assert.AreEqual(Random(Tokenizer.VocabSize, shared: false, hiddenDim: 192).Config, GgufLlama.Read(Variant("same")).Weights.Config);

    [TestMethod]
    public void ATruncatedFileNamesWhereItEnds()
    {
        byte[] bytes = File.ReadAllBytes(Valid.Value);
        var file = GgufFile.Open(Valid.Value);
        string dir = TempDir("gguf-cut");
        foreach (var (cut, expected) in new (long, string)[]
        {
            (10, "too few for a GGUF header"),
            (2000, "ends inside metadata key 'tokenizer.ggml.tokens'"),
            (file.DataOffset - 40, "ends inside the directory entry of tensor"),
            (bytes.Length - 100, "the file has " + (bytes.Length - 100) + " bytes: it is truncated"),
        })
        {
            string path = Path.Combine(dir, $"cut{cut}.gguf");
            File.WriteAllBytes(path, bytes[..(int)cut]);
            Refused(path, expected);
        }
    }

    [TestMethod]
    public void WrongMagicAndUnsupportedVersionsAreRefused()
    {
        byte[] bytes = File.ReadAllBytes(Valid.Value);
        string dir = TempDir("gguf-magic");
        string Patched(string name, int at, params byte[] patch)
        {
            var copy = (byte[])bytes.Clone();
            patch.CopyTo(copy, at);
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, copy);
            return path;
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => GgufFile.Open(Patched("magic.gguf", 0, (byte)'G', (byte)'G', (byte)'M', (byte)'L')));
        StringAssert.Contains(e.Message, "not the GGUF magic");
        e = Assert.ThrowsExactly<InvalidDataException>(() => GgufFile.Open(Patched("v1.gguf", 4, 1, 0, 0, 0)));
        StringAssert.Contains(e.Message, "GGUF version 1");
        e = Assert.ThrowsExactly<InvalidDataException>(() => GgufFile.Open(Patched("v4.gguf", 4, 4, 0, 0, 0)));
        StringAssert.Contains(e.Message, "GGUF version 4; TinyLlm reads versions 2 and 3");
        e = Assert.ThrowsExactly<InvalidDataException>(() => GgufFile.Open(Patched("be.gguf", 4, 0, 0, 0, 3)));
        StringAssert.Contains(e.Message, "big-endian");
        // a file that is not GGUF at all is read as llama2.c v0 by ReadWeights, but GgufFile says what it is not
        e = Assert.ThrowsExactly<InvalidDataException>(() => GgufFile.Open(Patched("zip.gguf", 0, 0x50, 0x4b, 0x03, 0x04)));
        StringAssert.Contains(e.Message, "50 4b 03 04");
    }

    [TestMethod]
    public void MissingOrInconsistentKeysAreNamed()
    {
        Refused(Variant("no-dim", (k, v) => k == "llama.embedding_length" ? null : v), "lacks the metadata key llama.embedding_length");
        Refused(Variant("no-eps", (k, v) => k == "llama.attention.layer_norm_rms_epsilon" ? null : v), "llama.attention.layer_norm_rms_epsilon");
        Refused(Variant("string-dim", (k, v) => k == "llama.block_count" ? "two" : v), "has llama.block_count = \"two\"; it must be an integer");
        Refused(Variant("rope-dims", (k, v) => k == "llama.rope.dimension_count" ? 8u : v), "llama.rope.dimension_count = 8");
        Refused(Variant("heads", (k, v) => k == "llama.attention.head_count_kv" ? 3u : v), "llama.attention.head_count_kv (3) must divide llama.attention.head_count (4)");
        Refused(Variant("vocab", (k, v) => k == "llama.vocab_size" ? 7u : v), "llama.vocab_size = 7 but token_embd.weight has");
    }

    [TestMethod]
    public void ATensorWhoseShapeDisagreesWithTheKeysIsNamed()
    {
        Refused(Variant("ffn", (k, v) => k == "llama.feed_forward_length" ? 224u : v),
            "tensor 'blk.0.ffn_gate.weight' has shape [64, 192] but the llama.* keys and the vocabulary imply [64, 224]");
        Refused(Variant("kshape", editTensor: t => t.Name == "blk.1.attn_k.weight" ? (t.Name, [64, 64], t.Type) : (t.Name, t.Dimensions, t.Type)),
            "tensor 'blk.1.attn_k.weight' has shape [64, 64] but");
        Refused(Variant("missing", editTensor: t => t.Name == "blk.1.ffn_up.weight" ? null : (t.Name, t.Dimensions, t.Type)),
            "has no tensor 'blk.1.ffn_up.weight'");
        Refused(Variant("bias", editTensor: t => (t.Name == "blk.0.attn_norm.weight" ? "blk.0.attn_q.bias" : t.Name, t.Dimensions, t.Type)),
            "holds tensor 'blk.0.attn_q.bias', which TinyLlm's llama model");
    }

    [TestMethod]
    public void UnsupportedArchitecturesTensorTypesAndRopeScalingAreNamed()
    {
        Refused(Variant("qwen", (k, v) => k == "general.architecture" ? "qwen2" : v), "general.architecture \"qwen2\"; TinyLlm runs the \"llama\" architecture only");
        Refused(Variant("no-arch", (k, v) => k == "general.architecture" ? null : v), "lacks general.architecture");
        Refused(Variant("q4k", editTensor: t => (t.Name, t.Dimensions, t.Name == "blk.0.attn_v.weight" ? GgmlType.Q4_K : t.Type)),
            "tensor 'blk.0.attn_v.weight' has type Q4_K (12); TinyLlm reads F32, F16, BF16 and Q8_0");
        Refused(Variant("yarn", addKeys: ("llama.rope.scaling.type", "yarn")), "llama.rope.scaling.type \"yarn\"; TinyLlm supports plain RoPE only");
        Refused(Variant("moe", addKeys: ("llama.expert_count", 8u)), "mixture-of-experts");
    }

    [TestMethod]
    public void VocabulariesTinyLlmCannotUseAreNamed()
    {
        void TokenizerRefused(string path, string expected)
        {
            var e = Assert.ThrowsExactly<InvalidDataException>(() => GgufLlama.ReadTokenizer(path));
            StringAssert.Contains(e.Message, expected);
            GenerationModelLoader.ReadWeights(path); // the weights alone still load
        }
        TokenizerRefused(Variant("gpt2", (k, v) => k == "tokenizer.ggml.model" ? "gpt2" : v), "tokenizer.ggml.model \"gpt2\"; TinyLlm's tokenizer is SentencePiece BPE with byte fallback");
        TokenizerRefused(Variant("no-vocab", (k, v) => k.StartsWith("tokenizer.", StringComparison.Ordinal) ? null : v), "has no tokenizer.ggml.model: it carries no vocabulary");
        TokenizerRefused(Variant("no-bytes", (k, v) => k == "tokenizer.ggml.token_type" ? ((int[])v).Select(t => t == 6 ? 1 : t).ToArray() : v),
            "has no byte piece <0x00> (token type 6, BYTE)");
        TokenizerRefused(Variant("short-scores", (k, v) => k == "tokenizer.ggml.scores" ? ((float[])v)[..10] : v), "but 10 scores");
        TokenizerRefused(Variant("bad-bos", (k, v) => k == "tokenizer.ggml.bos_token_id" ? 100000u : v), "tokenizer.ggml.bos_token_id = 100000, outside the vocabulary");

        // generate needs a tokenizer when the file has none
        string noVocab = Variant("no-vocab-2", (k, v) => k == "tokenizer.ggml.model" ? null : v);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new Microsoft.ML.MLContext().Transforms.Text.LoadLlama(noVocab, null));
        StringAssert.Contains(e.Message, "Give the tokenizer .model");
    }

    [TestMethod]
    public void ExportRefusesTokenizersLlamaCppCannotUse()
    {
        var weights = Random(Tokenizer.VocabSize, shared: true);
        string path = Path.Combine(TempDir("gguf-export-bad"), "m.gguf");
        var e = Assert.ThrowsExactly<ArgumentException>(() => ModelExporter.Export(weights, ModelExportFormat.Gguf, path));
        StringAssert.Contains(e.Message, "give the tokenizer .model");
        e = Assert.ThrowsExactly<ArgumentException>(() => GgufLlama.Write(Random(50, shared: true), Tokenizer, path));
        StringAssert.Contains(e.Message, $"{Tokenizer.VocabSize} pieces but the model has vocab_size 50");
        e = Assert.ThrowsExactly<ArgumentException>(() => GgufLlama.Write(weights, Tokenizer, path, GgmlType.Q4_K));
        StringAssert.Contains(e.Message, "F32, F16, BF16 or Q8_0, not Q4_K (12)");
        var huge = Random(Tokenizer.VocabSize, shared: true);
        huge.Wq[5] = 1e6f;
        e = Assert.ThrowsExactly<ArgumentException>(() => GgufLlama.Write(huge, Tokenizer, path, GgmlType.F16));
        StringAssert.Contains(e.Message, "outside fp16's range");
        Assert.IsFalse(File.Exists(path) || File.Exists(path + ".tmp"), "a refused export leaves no file");
    }
}
