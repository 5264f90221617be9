using System.Runtime.InteropServices;
using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Tokenization;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>GGUF export and import within TinyLlm: the file's layout, and every weight type back to the engine.</summary>
[TestClass]
public sealed class GgufExportImportTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    private static string Export(TransformerWeights weights, GgmlType? type = null, string tag = "gguf")
    {
        string path = Path.Combine(TempDir(tag), "model.gguf");
        ModelExporter.Export(weights, ModelExportFormat.Gguf, path, Tokenizer, ggufWeights: type);
        Assert.IsFalse(File.Exists(path + ".tmp"));
        return path;
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void F32ExportThenImportIsBitExactWithTheTokenizerAndGreedyTextIsIdentical(bool shared)
    {
        var original = Random(Tokenizer.VocabSize, shared);
        string path = Export(original);
        var imported = GenerationModelLoader.ReadWeights(path);
        Assert.AreEqual(WeightFormat.Float32, imported.Format);
        AssertBitEqual(original, imported);
        Assert.AreEqual(Greedy(original), Greedy(imported));

        var (weights, tokenizer) = GgufLlama.Read(path);
        AssertBitEqual(original, weights);
        GgufVocabulary.CheckSame(tokenizer, Tokenizer, path, "the test tokenizer");
        foreach (string text in new[] { "Once upon a time, Lily saw a cat.", "  two  spaces and a tab\there ", "Ünïcödé 😀 and 123" })
            CollectionAssert.AreEqual(Tokenizer.Encode(text).ToArray(), tokenizer.Encode(text).ToArray(), text);
    }

    [TestMethod]
    public void TheFileHasLlamaCppsKeysNamesShapesAndAlignmentAndQkRowsAreNotPermuted()
    {
        var w = Random(Tokenizer.VocabSize, shared: true);
        var file = GgufFile.Open(Export(w));
        Assert.AreEqual(3u, file.Version);
        var m = file.Metadata;
        Assert.AreEqual("llama", m["general.architecture"]);
        Assert.AreEqual(0u, m["general.file_type"]);
        Assert.AreEqual(64u, m["llama.context_length"]);
        Assert.AreEqual(64u, m["llama.embedding_length"]);
        Assert.AreEqual(2u, m["llama.block_count"]);
        Assert.AreEqual(176u, m["llama.feed_forward_length"]);
        Assert.AreEqual(4u, m["llama.attention.head_count"]);
        Assert.AreEqual(2u, m["llama.attention.head_count_kv"]);
        Assert.AreEqual(16u, m["llama.rope.dimension_count"]);
        Assert.AreEqual(10000f, m["llama.rope.freq_base"]);
        Assert.AreEqual(1e-5f, m["llama.attention.layer_norm_rms_epsilon"]);
        Assert.AreEqual("llama", m["tokenizer.ggml.model"]);
        var tokens = (string[])m["tokenizer.ggml.tokens"];
        var types = (int[])m["tokenizer.ggml.token_type"];
        var scores = (float[])m["tokenizer.ggml.scores"];
        Assert.AreEqual(Tokenizer.VocabSize, tokens.Length);
        Assert.AreEqual("<unk>", tokens[0]);
        CollectionAssert.AreEqual(new[] { 2, 3, 3 }, types[..3], "unknown, control (BOS), control (EOS)");
        Assert.AreEqual("<0x0A>", tokens[3 + 10]);
        Assert.IsTrue(types[3..259].All(t => t == 6), "the 256 byte pieces have token type BYTE");
        Assert.IsTrue(types[259..].All(t => t == 1));
        Assert.AreEqual(Tokenizer.GetScore(300), scores[300]);
        Assert.AreEqual(1u, m["tokenizer.ggml.bos_token_id"]);
        Assert.AreEqual(2u, m["tokenizer.ggml.eos_token_id"]);
        Assert.AreEqual(0u, m["tokenizer.ggml.unknown_token_id"]);
        Assert.AreEqual(true, m["tokenizer.ggml.add_bos_token"]);
        Assert.AreEqual(true, m["tokenizer.ggml.add_space_prefix"]);

        string[] perLayer = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"];
        var expected = new[] { "token_embd.weight" }
            .Concat(Enumerable.Range(0, 2).SelectMany(l => perLayer.Select(t => $"blk.{l}.{t}.weight")))
            .Append("output_norm.weight").ToArray();
        CollectionAssert.AreEqual(expected, file.Tensors.Select(t => t.Name).ToArray(), "tied: no output.weight");
        CollectionAssert.AreEqual(new long[] { 64, Tokenizer.VocabSize }, file.FindTensor("token_embd.weight")!.Dimensions);
        CollectionAssert.AreEqual(new long[] { 64, 32 }, file.FindTensor("blk.1.attn_k.weight")!.Dimensions);
        CollectionAssert.AreEqual(new long[] { 64, 176 }, file.FindTensor("blk.0.ffn_gate.weight")!.Dimensions);
        CollectionAssert.AreEqual(new long[] { 176, 64 }, file.FindTensor("blk.0.ffn_down.weight")!.Dimensions);
        CollectionAssert.AreEqual(new long[] { 64 }, file.FindTensor("output_norm.weight")!.Dimensions);
        Assert.AreEqual(0, file.DataOffset % 32);
        Assert.IsTrue(file.Tensors.All(t => t.Offset % 32 == 0 && t.Type == GgmlType.F32));

        // layer 1's wq, byte for byte in our (llama2.c) row order: llama.cpp's llama architecture rotates interleaved pairs
        var q1 = file.FindTensor("blk.1.attn_q.weight")!;
        var bytes = new byte[q1.ByteCount!.Value];
        file.ReadTensor(q1, bytes);
        CollectionAssert.AreEqual(w.Wq.AsSpan(64 * 64, 64 * 64).ToArray(), MemoryMarshal.Cast<byte, float>(bytes).ToArray());
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Q8ExportIsGgmlsBlocksOf32AndImportsQuantizedWithIdenticalLogits(bool shared)
    {
        var original = Random(Tokenizer.VocabSize, shared, hiddenDim: 192);
        string path = Export(original, GgmlType.Q8_0, "q8");
        var file = GgufFile.Open(path);
        Assert.AreEqual(7u, file.Metadata["general.file_type"]);
        Assert.AreEqual(2u, file.Metadata["general.quantization_version"]);
        Assert.AreEqual(GgmlType.F32, file.FindTensor("blk.0.ffn_norm.weight")!.Type);

        // the file's blocks are ggml's rule applied to our weights: fp16 scale, then 32 int8 values
        var expected = TransformerWeights.Allocate(original.Config, WeightFormat.Q8_0, 32);
        foreach (var (matrix, source) in Matrices(expected).Zip(Matrices(original)))
        {
            var (q, scales) = GgufTestModels.GgmlQ8(source.Float32View());
            q.CopyTo(matrix.Q!, 0);
            scales.CopyTo(matrix.Scales!, 0);
        }
        original.AttentionNorm.CopyTo(expected.AttentionNorm, 0);
        original.FfnNorm.CopyTo(expected.FfnNorm, 0);
        original.FinalNorm.CopyTo(expected.FinalNorm, 0);
        var down = file.FindTensor("blk.1.ffn_down.weight")!;
        Assert.AreEqual(GgmlType.Q8_0, down.Type);
        var bytes = new byte[down.ByteCount!.Value];
        file.ReadTensor(down, bytes);
        Assert.AreEqual(64L * 192 / 32 * 34, bytes.Length);
        int first = 64 * 192; // layer 1
        Assert.AreEqual(expected.W2Matrix.Scales![first / 32 + 5], (float)BitConverter.ToHalf(bytes, 5 * 34));
        Assert.AreEqual(expected.W2Matrix.Q![first + 5 * 32 + 7], (sbyte)bytes[5 * 34 + 2 + 7]);

        // imported: kept as Q8_0 in groups of 32, exactly those values, and the engine gives identical logits
        var imported = GenerationModelLoader.ReadWeights(path);
        Assert.AreEqual(WeightFormat.Q8_0, imported.Format);
        Assert.AreEqual(32, imported.GroupSize);
        Assert.AreEqual(shared, ReferenceEquals(imported.Classifier, imported.TokenEmbedding));
        foreach (var (a, b) in Matrices(expected).Zip(Matrices(imported)))
        {
            CollectionAssert.AreEqual(a.Q, b.Q);
            CollectionAssert.AreEqual(a.Scales, b.Scales);
        }
        var ids = Tokenizer.Encode("Once upon a time, Lily saw a cat. She was happy.");
        var (e1, e2) = (new InferenceEngine(expected), new InferenceEngine(imported));
        for (int pos = 0; pos < ids.Count; pos++)
            CollectionAssert.AreEqual(e1.Forward(ids[pos], pos).ToArray(), e2.Forward(ids[pos], pos).ToArray(), $"position {pos}");

        // exporting the imported model again writes the same file, byte for byte
        string again = Export(imported, tag: "q8-again");
        CollectionAssert.AreEqual(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [TestMethod]
    public void F16AndBf16ExportsImportAsTheRoundedWeights()
    {
        var original = Random(Tokenizer.VocabSize, shared: false);
        var f16 = GenerationModelLoader.ReadWeights(Export(original, GgmlType.F16, "f16"));
        Assert.AreEqual(WeightFormat.Float32, f16.Format, "the engine has no fp16 storage: F16 widens to fp32, exactly");
        foreach (var ((name, a), (_, b)) in original.InFileOrder().Zip(f16.InFileOrder()))
            for (int i = 0; i < a.Length; i++)
                Assert.AreEqual(name.Contains("norm") ? a[i] : (float)(Half)a[i], b[i], $"{name}[{i}]");

        var bf16 = GenerationModelLoader.ReadWeights(Export(original, GgmlType.BF16, "bf16"));
        Assert.AreEqual(WeightFormat.BFloat16, bf16.Format, "a BF16 file stays bf16");
        AssertBitEqual(original.Convert(WeightFormat.BFloat16).Convert(WeightFormat.Float32), bf16.Convert(WeightFormat.Float32));
        Assert.AreEqual(Greedy(original.Convert(WeightFormat.BFloat16)), Greedy(bf16));
    }

    [TestMethod]
    public void LoadLlamaServesAGgufAloneThroughAPredictionEngineAndTheModelZip()
    {
        var original = Random(Tokenizer.VocabSize, shared: true);
        string path = Export(original);
        var ml = new MLContext(seed: 1);
        var options = new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 20 } };
        var fromGguf = ml.Transforms.Text.LoadLlama(path, tokenizerModelPath: null, options);
        string tok = Path.Combine(TempDir("tok"), "tok.model");
        Tokenizer.Save(tok);
        var fromFiles = ml.Transforms.Text.LoadLlama(path, tok, options);
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(fromGguf);
        string story = engine.Predict(new StoryPrompt { Text = "Once upon a time" }).Completion;
        StringAssert.StartsWith(Greedy(original, "Once upon a time"), story);
        Assert.AreEqual(story, ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(fromFiles).Predict(new StoryPrompt { Text = "Once upon a time" }).Completion);

        string zip = Path.Combine(TempDir("zip"), "model.zip");
        ml.Model.Save(fromGguf, null, zip);
        var reloaded = new MLContext().Model.Load(zip, out _);
        Assert.AreEqual(story, new MLContext().Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(reloaded).Predict(new StoryPrompt { Text = "Once upon a time" }).Completion);
    }

    [TestMethod]
    public void CliExportsGgufAndGeneratesFromItWithoutATokenizer()
    {
        string dir = TempDir("cli");
        var original = Random(Tokenizer.VocabSize, shared: false, hiddenDim: 192);
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        Llama2cCheckpoint.Write(original, model);
        Tokenizer.Save(tok);
        string f32 = Path.Combine(dir, "f32.gguf"), q8 = Path.Combine(dir, "q8.gguf"), back = Path.Combine(dir, "back.bin");

        var export = Cli.Capture("export", "--checkpoint", model, "--format", "gguf", "--tokenizer", tok, "--out", f32);
        Assert.AreEqual(0, export.ExitCode, export.All);
        Assert.AreEqual("", export.Error, "no llama2.c notes for GGUF");
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(f32));
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", model, "--format", "gguf", "--weights", "q8_0", "--tokenizer", tok, "--out", q8));
        Assert.AreEqual(WeightFormat.Q8_0, GenerationModelLoader.ReadWeights(q8).Format);
        // from GGUF back to llama2.c, and GGUF to GGUF with the embedded vocabulary
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", f32, "--format", "llama2c", "--out", back));
        AssertBitEqual(original, GenerationModelLoader.ReadWeights(back));
        string again = Path.Combine(dir, "again", "q8.gguf"); // the same name: general.name is the file's
        Assert.AreEqual(0, Cli.Run("export", "--checkpoint", q8, "--format", "gguf", "--out", again));
        CollectionAssert.AreEqual(File.ReadAllBytes(q8), File.ReadAllBytes(again));

        var alone = Cli.Capture("generate", "--checkpoint", f32, "--temperature", "0", "--max-new-tokens", "20", "--prompt", "Once upon a time");
        Assert.AreEqual(0, alone.ExitCode, alone.All);
        var withTokenizer = Cli.Capture("generate", "--checkpoint", f32, "--tokenizer", tok, "--temperature", "0", "--max-new-tokens", "20", "--prompt", "Once upon a time");
        Assert.AreEqual(alone.Out, withTokenizer.Out);
        StringAssert.StartsWith(alone.Out, "Once upon a time" + Greedy(original, "Once upon a time")[..10]);

        // wrong inputs: one clear error each
        string other = Path.Combine(dir, "other.model");
        var pieces = Enumerable.Range(0, Tokenizer.VocabSize)
            .Select(i => (Tokenizer.GetPiece(i), i == 300 ? -1000f : Tokenizer.GetScore(i), Tokenizer.GetPieceType(i))).ToList();
        SentencePieceModel.FromPieces(pieces, 0, 1, 2, -1, true, true, "a changed tokenizer").Save(other);
        var mismatch = Cli.Capture("generate", "--checkpoint", f32, "--tokenizer", other, "--max-new-tokens", "2");
        Assert.AreEqual(1, mismatch.ExitCode);
        StringAssert.Contains(mismatch.All, $"does not match the vocabulary embedded in '{f32}': piece 300");
        var noTokenizer = Cli.Capture("export", "--checkpoint", model, "--format", "gguf", "--out", Path.Combine(dir, "x.gguf"));
        StringAssert.Contains(noTokenizer.All, "--format gguf needs --tokenizer-model-path");
        var notQ8 = Cli.Capture("export", "--checkpoint", GgufQ8Unfit(dir), "--format", "gguf", "--weights", "q8_0", "--tokenizer", tok, "--out", Path.Combine(dir, "y.gguf"));
        Assert.AreEqual(1, notQ8.ExitCode);
        StringAssert.Contains(notQ8.All, "hidden_dim (176) must be multiples of 32");
        var wrongFormat = Cli.Capture("export", "--checkpoint", model, "--format", "llama2c", "--weights", "q8_0", "--out", Path.Combine(dir, "z.bin"));
        StringAssert.Contains(wrongFormat.All, "--weights applies to --format gguf only");
        var badType = Cli.Capture("export", "--checkpoint", model, "--format", "gguf", "--weights", "q4_k", "--tokenizer", tok, "--out", Path.Combine(dir, "z.gguf"));
        StringAssert.Contains(badType.All, "use f32, f16, bf16 or q8_0");
        Assert.IsFalse(new[] { "x.gguf", "y.gguf", "z.bin", "z.gguf" }.Any(f => File.Exists(Path.Combine(dir, f)) || File.Exists(Path.Combine(dir, f + ".tmp"))));
    }

    // a llama2.c file of a model whose hidden_dim (176) is not a multiple of Q8_0's block
    private static string GgufQ8Unfit(string dir)
    {
        string path = Path.Combine(dir, "unfit.bin");
        Llama2cCheckpoint.Write(Random(Tokenizer.VocabSize, shared: true), path);
        return path;
    }

    private static IEnumerable<WeightMatrix> Matrices(TransformerWeights w) =>
        new[] { w.EmbeddingMatrix, w.WqMatrix, w.WkMatrix, w.WvMatrix, w.WoMatrix, w.W1Matrix, w.W2Matrix, w.W3Matrix }
            .Concat(w.Config.SharedClassifier ? [] : [w.ClassifierMatrix]);
}
