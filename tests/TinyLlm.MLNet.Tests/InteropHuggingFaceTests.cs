using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>Hugging Face Llama folders: config.json + model.safetensors, the RoPE permutation, fp16/bf16 import.</summary>
[TestClass]
public sealed class InteropHuggingFaceTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    /// <summary>A safetensors file read by hand: name -> (dtype, shape, raw bytes).</summary>
    internal static Dictionary<string, (string DType, long[] Shape, byte[] Bytes)> ReadSafetensors(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(all);
        using var doc = JsonDocument.Parse(all.AsMemory(8, n));
        var result = new Dictionary<string, (string, long[], byte[])>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            long[] off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            result[p.Name] = (p.Value.GetProperty("dtype").GetString()!, p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                all.AsSpan((int)(8 + n + off[0]), (int)(off[1] - off[0])).ToArray());
        }
        return result;
    }

    /// <summary>Writes a safetensors file by hand, each tensor given as (dtype, shape, bytes).</summary>
    internal static void WriteSafetensors(string path, Dictionary<string, (string DType, long[] Shape, byte[] Bytes)> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            header[name] = new { dtype = t.DType, shape = t.Shape, data_offsets = new[] { offset, offset + t.Bytes.Length } };
            offset += t.Bytes.Length;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        foreach (var t in tensors.Values) f.Write(t.Bytes);
    }

    private static float[] Floats(byte[] bytes) => Enumerable.Range(0, bytes.Length / 4).Select(i => BitConverter.ToSingle(bytes, 4 * i)).ToArray();

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ExportThenImportIsBitExactAndServesTheSameGreedyText(bool shared)
    {
        var original = Random(Tokenizer.VocabSize, shared);
        string dir = Path.Combine(TempDir("hf"), "model");
        ModelExporter.Export(original, ModelExportFormat.HuggingFace, dir, Tokenizer);
        foreach (string file in new[] { "config.json", "model.safetensors", "generation_config.json", "tokenizer.model", "tokenizer_config.json" })
            Assert.IsTrue(File.Exists(Path.Combine(dir, file)), file);
        Assert.AreEqual(0, Directory.GetFiles(dir, "*.tmp").Length);
        CollectionAssert.AreEqual(Tokenizer.ToBytes(), File.ReadAllBytes(Path.Combine(dir, "tokenizer.model")));

        var imported = GenerationModelLoader.ReadWeights(dir);
        AssertBitEqual(original, imported);
        string expected = Greedy(original);
        Assert.AreEqual(expected, Greedy(imported));

        // served from the folder through ML.NET
        var ml = new MLContext();
        var transformer = ml.Transforms.Text.LoadLlama(dir, Path.Combine(dir, "tokenizer.model"), new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 40 } });
        var engine = ml.Model.CreatePredictionEngine<StoryPrompt, StoryCompletion>(transformer);
        Assert.AreEqual(expected, engine.Predict(new StoryPrompt { Text = "Once upon a time, Lily saw a cat." }).Completion);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ExportedTensorsMatchHandComputedPermutationsAndNames(bool shared)
    {
        var w = Random(96, shared);
        string dir = Path.Combine(TempDir("hf-perm"), "model");
        HuggingFaceLlama.Export(w, dir);
        var t = ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        int d = 64, hs = 16, half = 8, kv = 32, h = 176;

        // transformers' half-split row r of a head is our interleaved row 2r (r < hs/2) or 2(r - hs/2) + 1
        static int Source(int row, int hs, int half) => row / hs * hs + (row % hs < half ? 2 * (row % hs) : 2 * (row % hs - half) + 1);
        for (int l = 0; l < 2; l++)
        {
            var q = t[$"model.layers.{l}.self_attn.q_proj.weight"];
            Assert.AreEqual("F32", q.DType);
            CollectionAssert.AreEqual(new long[] { d, d }, q.Shape);
            float[] qv = Floats(q.Bytes);
            for (int r = 0; r < d; r++)
                for (int c = 0; c < d; c++)
                    Assert.AreEqual(w.Wq[(long)l * d * d + Source(r, hs, half) * d + c], qv[r * d + c], $"q_proj layer {l} row {r}");
            var k = t[$"model.layers.{l}.self_attn.k_proj.weight"];
            CollectionAssert.AreEqual(new long[] { kv, d }, k.Shape);
            float[] kvals = Floats(k.Bytes);
            for (int r = 0; r < kv; r++)
                for (int c = 0; c < d; c++)
                    Assert.AreEqual(w.Wk[(long)l * kv * d + Source(r, hs, half) * d + c], kvals[r * d + c], $"k_proj layer {l} row {r}");
            // the rest are copied as they are: v, o, gate = w1, up = w3, down = w2, norms
            CollectionAssert.AreEqual(w.Wv.AsSpan(l * kv * d, kv * d).ToArray(), Floats(t[$"model.layers.{l}.self_attn.v_proj.weight"].Bytes));
            CollectionAssert.AreEqual(w.Wo.AsSpan(l * d * d, d * d).ToArray(), Floats(t[$"model.layers.{l}.self_attn.o_proj.weight"].Bytes));
            CollectionAssert.AreEqual(w.W1.AsSpan(l * h * d, h * d).ToArray(), Floats(t[$"model.layers.{l}.mlp.gate_proj.weight"].Bytes));
            CollectionAssert.AreEqual(w.W3.AsSpan(l * h * d, h * d).ToArray(), Floats(t[$"model.layers.{l}.mlp.up_proj.weight"].Bytes));
            CollectionAssert.AreEqual(w.W2.AsSpan(l * d * h, d * h).ToArray(), Floats(t[$"model.layers.{l}.mlp.down_proj.weight"].Bytes));
            CollectionAssert.AreEqual(new long[] { d, h }, t[$"model.layers.{l}.mlp.down_proj.weight"].Shape);
            CollectionAssert.AreEqual(w.AttentionNorm.AsSpan(l * d, d).ToArray(), Floats(t[$"model.layers.{l}.input_layernorm.weight"].Bytes));
            CollectionAssert.AreEqual(w.FfnNorm.AsSpan(l * d, d).ToArray(), Floats(t[$"model.layers.{l}.post_attention_layernorm.weight"].Bytes));
        }
        CollectionAssert.AreEqual(w.TokenEmbedding, Floats(t["model.embed_tokens.weight"].Bytes));
        CollectionAssert.AreEqual(w.FinalNorm, Floats(t["model.norm.weight"].Bytes));
        Assert.AreEqual(!shared, t.ContainsKey("lm_head.weight"), "lm_head.weight is written only when untied");
        if (!shared) CollectionAssert.AreEqual(w.Classifier, Floats(t["lm_head.weight"].Bytes));
        Assert.AreEqual(2 * 9 + 2 + (shared ? 0 : 1), t.Count);

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        var cfg = config.RootElement;
        Assert.AreEqual("LlamaForCausalLM", cfg.GetProperty("architectures")[0].GetString());
        Assert.AreEqual(64, cfg.GetProperty("hidden_size").GetInt32());
        Assert.AreEqual(176, cfg.GetProperty("intermediate_size").GetInt32());
        Assert.AreEqual(4, cfg.GetProperty("num_attention_heads").GetInt32());
        Assert.AreEqual(2, cfg.GetProperty("num_key_value_heads").GetInt32());
        Assert.AreEqual(2, cfg.GetProperty("num_hidden_layers").GetInt32());
        Assert.AreEqual(96, cfg.GetProperty("vocab_size").GetInt32());
        Assert.AreEqual(64, cfg.GetProperty("max_position_embeddings").GetInt32());
        Assert.AreEqual(1e-5, cfg.GetProperty("rms_norm_eps").GetDouble());
        Assert.AreEqual(10000.0, cfg.GetProperty("rope_theta").GetDouble());
        Assert.AreEqual(shared, cfg.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.AreEqual("float32", cfg.GetProperty("torch_dtype").GetString());
    }

    [TestMethod]
    [DataRow("BF16")]
    [DataRow("F16")]
    public void HalfPrecisionSafetensorsImportAsFp32(string dtype)
    {
        var w = Random(96, shared: false);
        string dir = Path.Combine(TempDir("hf-half"), "model");
        HuggingFaceLlama.Export(w, dir);
        string file = Path.Combine(dir, "model.safetensors");
        var fp32 = GenerationModelLoader.ReadWeights(dir);

        // the same tensors as bf16 (upper 16 bits) or IEEE half, written by hand
        var half = ReadSafetensors(file).ToDictionary(kv => kv.Key, kv =>
        {
            float[] v = Floats(kv.Value.Bytes);
            var bytes = new byte[v.Length * 2];
            for (int i = 0; i < v.Length; i++)
            {
                ushort bits = dtype == "BF16" ? (ushort)(BitConverter.SingleToUInt32Bits(v[i]) >> 16) : BitConverter.HalfToUInt16Bits((Half)v[i]);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), bits);
            }
            return (dtype, kv.Value.Shape, bytes);
        });
        WriteSafetensors(file, half);
        var imported = GenerationModelLoader.ReadWeights(dir);
        Assert.AreEqual(fp32.Config, imported.Config);
        Assert.AreEqual(dtype == "BF16" ? WeightFormat.BFloat16 : WeightFormat.Float32, imported.Format, "a bf16 model stays bf16");
        foreach (var ((name, a), (_, b)) in fp32.InFileOrder().Append(("output.weight", fp32.Classifier)).Zip(imported.InFileOrder().Append(("output.weight", imported.Classifier))))
            for (int i = 0; i < a.Length; i++)
            {
                float expected = dtype == "BF16" ? BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(a[i]) & 0xFFFF0000u) : (float)(Half)a[i];
                if (expected != b[i]) Assert.Fail($"{name}[{i}]: {a[i]} as {dtype} is {expected}, imported {b[i]}");
            }
    }

    [TestMethod]
    public void ShardedFolderWithIndexImports()
    {
        var w = Random(96, shared: true);
        string dir = Path.Combine(TempDir("hf-shards"), "model");
        HuggingFaceLlama.Export(w, dir);
        var all = ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var first = all.Where(kv => kv.Key.Contains("layers.0", StringComparison.Ordinal)).ToDictionary();
        var second = all.Where(kv => !first.ContainsKey(kv.Key)).ToDictionary();
        WriteSafetensors(Path.Combine(dir, "model-00001-of-00002.safetensors"), first);
        WriteSafetensors(Path.Combine(dir, "model-00002-of-00002.safetensors"), second);
        var map = first.Keys.ToDictionary(k => k, _ => "model-00001-of-00002.safetensors")
            .Concat(second.Keys.ToDictionary(k => k, _ => "model-00002-of-00002.safetensors")).ToDictionary();
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        AssertBitEqual(w, GenerationModelLoader.ReadWeights(dir));
    }
}

[TestClass]
public sealed class InteropHuggingFaceConfigTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    [TestMethod]
    public void TransformersDefaultsApplyWhenFieldsAreAbsent()
    {
        // a config as older transformers versions write it: no num_key_value_heads (= num_attention_heads, so the model
        // here has 4 kv heads), no rope_theta, head_dim, rms_norm_eps, max_position_embeddings or tie_word_embeddings
        // (transformers' defaults: 10000, hidden/heads, 1e-6, 2048, false), bf16 torch_dtype, eos as a list
        var w = Random(96, shared: false);
        string dir = Path.Combine(TempDir("hf-defaults"), "model");
        var mha = new TinyLlm.MLNet.Engine.TransformerWeights(w.Config with { NKvHeads = 4 });
        foreach (var ((_, src), (_, dst)) in w.InFileOrder().Zip(mha.InFileOrder()))
            Array.Copy(src, dst, Math.Min(src.Length, dst.Length));
        Array.Copy(w.Classifier, mha.Classifier, w.Classifier.Length);
        HuggingFaceLlama.Export(mha, dir);
        string configPath = Path.Combine(dir, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        foreach (string field in new[] { "num_key_value_heads", "rope_theta", "head_dim", "tie_word_embeddings", "rms_norm_eps", "max_position_embeddings", "rope_scaling" })
            config.Remove(field);
        config["torch_dtype"] = "bfloat16";
        config["eos_token_id"] = new System.Text.Json.Nodes.JsonArray(2, 3);
        File.WriteAllText(configPath, config.ToJsonString());

        var read = GenerationModelLoader.ReadWeights(Path.Combine(dir, "config.json"));
        Assert.AreEqual(4, read.Config.NKvHeads);
        Assert.AreEqual(10000.0, read.Config.RopeTheta);
        Assert.AreEqual(1e-6, read.Config.NormEps);
        Assert.AreEqual(2048, read.Config.MaxSeqLen);
        Assert.IsFalse(read.Config.SharedClassifier);
        CollectionAssert.AreEqual(mha.Wq, read.Wq);
        CollectionAssert.AreEqual(mha.Classifier, read.Classifier);

        // rope_theta as an integer, and a custom eps, reach the model's sizes
        config["rope_theta"] = 500000;
        config["rms_norm_eps"] = 1e-5;
        File.WriteAllText(configPath, config.ToJsonString());
        read = GenerationModelLoader.ReadWeights(dir);
        Assert.AreEqual(500000.0, read.Config.RopeTheta);
        Assert.AreEqual(1e-5, read.Config.NormEps);
    }
}
