using System.Buffers.Binary;
using System.Text.Json.Nodes;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>Damaged or unsupported interop files fail with errors that name the field, tensor or file.</summary>
[TestClass]
public sealed class InteropBadInputTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    private static void Fails<T>(Action read, params string[] fragments) where T : Exception
    {
        var e = Assert.ThrowsExactly<T>(read);
        foreach (string f in fragments) StringAssert.Contains(e.Message, f);
    }

    private static string Written(ModelExportFormat format, bool shared = true)
    {
        string path = Path.Combine(TempDir("bad"), format == ModelExportFormat.HuggingFace ? "model" : "model.bin");
        ModelExporter.Export(Random(96, shared), format, path);
        return path;
    }

    private static void Truncate(string path, int bytes)
    {
        using var f = File.OpenWrite(path);
        f.SetLength(f.Length - bytes);
    }

    [TestMethod]
    public void Llama2cTruncatedFilesNameTheSizes()
    {
        foreach (var format in new[] { ModelExportFormat.Llama2c, ModelExportFormat.Llama2cV1, ModelExportFormat.Llama2cQ8 })
        {
            string path = Written(format);
            Truncate(path, 100);
            Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(path), path, "implies");
        }
        string tiny = Path.Combine(TempDir("bad"), "short.bin");
        File.WriteAllBytes(tiny, [0x32, 0x34, 0x6b, 0x61, 1, 0, 0, 0, 64]);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(tiny), "too short", "truncated");
    }

    [TestMethod]
    public void Llama2cWrongMagicVersionAndHeaderFields()
    {
        string v1 = Written(ModelExportFormat.Llama2cV1);
        byte[] good = File.ReadAllBytes(v1);

        byte[] bytes = (byte[])good.Clone();
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(v1, bytes);
        Fails<InvalidDataException>(() => Llama2cV1Checkpoint.Read(v1), "magic", "0x616b3432");

        bytes = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 3);
        File.WriteAllBytes(v1, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(v1), "version 3", "versions 0, 1 and 2");

        bytes = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 3 * 4), 5); // n_heads 5 does not divide dim 64
        File.WriteAllBytes(v1, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(v1), "n_heads (5)", "dim (64)");

        bytes = (byte[])good.Clone();
        bytes[36] = 7;
        File.WriteAllBytes(v1, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(v1), "shared_classifier 7");

        bytes = (byte[])good.Clone();
        bytes[36] = 0; // says unshared, but the data has no classifier: the size check catches it
        File.WriteAllBytes(v1, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(v1), "shared_classifier 0", "implies");

        string q8 = Written(ModelExportFormat.Llama2cQ8);
        bytes = File.ReadAllBytes(q8);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(37), 48);
        File.WriteAllBytes(q8, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(q8), "group_size 48");

        string v0 = Written(ModelExportFormat.Llama2c);
        bytes = File.ReadAllBytes(v0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * 4), 3); // n_kv_heads 3 does not divide n_heads 4
        File.WriteAllBytes(v0, bytes);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(v0), "n_kv_heads (3)");
    }

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        string path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    [TestMethod]
    public void HuggingFaceUnsupportedConfigsNameTheField()
    {
        void Check(Action<JsonObject> edit, params string[] fragments)
        {
            string dir = Written(ModelExportFormat.HuggingFace);
            EditConfig(dir, edit);
            Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), ["config.json", .. fragments]);
        }
        Check(c => c["architectures"] = new JsonArray("MistralForCausalLM"), "architectures", "MistralForCausalLM", "LlamaForCausalLM");
        Check(c => c["model_type"] = "gemma", "model_type \"gemma\"");
        Check(c => c.Remove("num_hidden_layers"), "lacks the field num_hidden_layers");
        Check(c => c["hidden_size"] = "64", "hidden_size \"64\"", "integer");
        Check(c => c["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 2.0 }, "rope_scaling");
        Check(c => c["hidden_act"] = "gelu", "hidden_act \"gelu\"");
        Check(c => c["attention_bias"] = true, "attention_bias");
        Check(c => c["num_key_value_heads"] = 3, "num_key_value_heads (3) must divide num_attention_heads (4)");
        Check(c => c["head_dim"] = 32, "head_dim 32");
    }

    [TestMethod]
    public void HuggingFaceTensorProblemsNameTheTensor()
    {
        // shape: config.json says another intermediate_size than the tensors have
        string dir = Written(ModelExportFormat.HuggingFace);
        EditConfig(dir, c => c["intermediate_size"] = 192);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "model.layers.0.mlp.gate_proj.weight", "[176, 64]", "[192, 64]");

        // untied without lm_head.weight
        dir = Written(ModelExportFormat.HuggingFace, shared: true);
        EditConfig(dir, c => c["tie_word_embeddings"] = false);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "lm_head.weight", "tie_word_embeddings");

        // a dtype we do not read, and an extra tensor (a bias)
        dir = Written(ModelExportFormat.HuggingFace);
        string file = Path.Combine(dir, "model.safetensors");
        var tensors = InteropHuggingFaceTests.ReadSafetensors(file);
        var norm = tensors["model.norm.weight"];
        tensors["model.norm.weight"] = ("F64", norm.Shape, new byte[norm.Bytes.Length * 2]);
        InteropHuggingFaceTests.WriteSafetensors(file, tensors);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "model.norm.weight", "dtype F64", "F32, F16 and BF16");

        tensors["model.norm.weight"] = norm;
        tensors["model.layers.0.self_attn.q_proj.bias"] = ("F32", [64], new byte[256]);
        InteropHuggingFaceTests.WriteSafetensors(file, tensors);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "model.layers.0.self_attn.q_proj.bias");

        // a missing tensor
        tensors.Remove("model.layers.0.self_attn.q_proj.bias");
        tensors.Remove("model.layers.1.self_attn.o_proj.weight");
        InteropHuggingFaceTests.WriteSafetensors(file, tensors);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "model.layers.1.self_attn.o_proj.weight");
    }

    [TestMethod]
    public void SafetensorsDamageAndMissingFiles()
    {
        string dir = Written(ModelExportFormat.HuggingFace);
        string file = Path.Combine(dir, "model.safetensors");
        Truncate(file, 1000);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "data_offsets", "truncated");

        File.WriteAllBytes(file, [0xFF, 0xFF, 0, 0, 0, 0, 0, 0, (byte)'{']);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "header", "truncated");

        File.WriteAllBytes(file, [2, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'x']);
        Fails<InvalidDataException>(() => GenerationModelLoader.ReadWeights(dir), "malformed safetensors header");

        File.Delete(file);
        Fails<FileNotFoundException>(() => GenerationModelLoader.ReadWeights(dir), "model.safetensors", "pytorch_model.bin");

        string empty = TempDir("bad-empty");
        Fails<FileNotFoundException>(() => GenerationModelLoader.ReadWeights(empty), "config.json");
        Fails<ArgumentException>(() => ModelExporter.ParseFormat("onnx"), "onnx", "llama2c-q8", "hf", "gguf");
    }

    [TestMethod]
    public void TokenizerBinReadChecksTheCount()
    {
        string path = Path.Combine(TempDir("bad-tokbin"), "tokenizer.bin");
        Llama2cTokenizerBin.Write(Tokenizer, path);
        Fails<InvalidDataException>(() => Llama2cTokenizerBin.Read(path, Tokenizer.VocabSize + 1), "truncated");
        Fails<InvalidDataException>(() => Llama2cTokenizerBin.Read(path, Tokenizer.VocabSize - 1), "more than");
    }
}
