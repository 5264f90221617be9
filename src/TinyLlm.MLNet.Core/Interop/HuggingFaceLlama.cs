using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Exports to and imports from a Hugging Face transformers Llama model folder (<c>LlamaForCausalLM</c>):
/// <c>config.json</c>, <c>model.safetensors</c> (or shards with <c>model.safetensors.index.json</c>),
/// <c>generation_config.json</c>, and the sentencepiece <c>tokenizer.model</c> with a <c>tokenizer_config.json</c>.
/// </summary>
/// <remarks>
/// Tensor names: model.embed_tokens.weight; model.layers.N.input_layernorm.weight (our attention norm),
/// self_attn.{q,k,v,o}_proj.weight, post_attention_layernorm.weight (our ffn norm), mlp.gate_proj (w1), mlp.up_proj
/// (w3), mlp.down_proj (w2); model.norm.weight; lm_head.weight. A tied model is written with
/// <c>"tie_word_embeddings": true</c> and no lm_head.weight (transformers ties it on load, and its own save does the
/// same); on import, tie_word_embeddings (default false, as in transformers) decides, and lm_head.weight is required
/// when it is false.
/// RoPE: we (like llama2.c and Meta's code) rotate interleaved channel pairs (2i, 2i+1) of each head; transformers
/// rotates the halves (i, i + head_size/2). So each head's rows of wq and wk are permuted on export, row
/// <c>2i + j</c> to row <c>j * head_size/2 + i</c>, as transformers' convert_llama_weights_to_hf.py does, and back on
/// import; wq uses num_attention_heads, wk num_key_value_heads.
/// </remarks>
public static class HuggingFaceLlama
{
    /// <summary>The architecture written and the only one read.</summary>
    public const string Architecture = "LlamaForCausalLM";

    /// <summary>
    /// Writes <paramref name="weights"/> as a Llama model folder at <paramref name="directory"/> (created if needed; each
    /// file via a temporary file and a rename). With <paramref name="tokenizer"/>, its <c>.model</c> is written as
    /// tokenizer.model and its BOS/EOS ids go into the configs.
    /// </summary>
    public static void Export(TransformerWeights weights, string directory, SentencePieceModel? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (File.Exists(directory)) throw new ArgumentException($"The Hugging Face export goes to a folder, but '{directory}' is a file.");
        var p = weights.Config;
        if (tokenizer is not null && tokenizer.VocabSize != p.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} pieces but the model's vocab_size is {p.VocabSize}.");
        AtomicFile.CreateFolder(directory);
        int bos = tokenizer?.BosId ?? 1, eos = tokenizer?.EosId ?? 2;

        int d = p.Dim, kv = p.KvDim, h = p.FeedForwardDim;
        var tensors = new List<SafetensorsFile.TensorData> { new("model.embed_tokens.weight", [p.VocabSize, d], weights.TokenEmbedding, 0, (long)p.VocabSize * d) };
        for (int l = 0; l < p.NLayers; l++)
        {
            string prefix = $"model.layers.{l}.";
            tensors.Add(new(prefix + "input_layernorm.weight", [d], weights.AttentionNorm, (long)l * d, d));
            tensors.Add(new(prefix + "self_attn.q_proj.weight", [d, d], ToHalfSplitRope(weights.Wq, (long)l * d * d, p.NHeads, p.HeadDim, d), 0, (long)d * d));
            tensors.Add(new(prefix + "self_attn.k_proj.weight", [kv, d], ToHalfSplitRope(weights.Wk, (long)l * kv * d, p.NKvHeads, p.HeadDim, d), 0, (long)kv * d));
            tensors.Add(new(prefix + "self_attn.v_proj.weight", [kv, d], weights.Wv, (long)l * kv * d, (long)kv * d));
            tensors.Add(new(prefix + "self_attn.o_proj.weight", [d, d], weights.Wo, (long)l * d * d, (long)d * d));
            tensors.Add(new(prefix + "post_attention_layernorm.weight", [d], weights.FfnNorm, (long)l * d, d));
            tensors.Add(new(prefix + "mlp.gate_proj.weight", [h, d], weights.W1, (long)l * h * d, (long)h * d));
            tensors.Add(new(prefix + "mlp.up_proj.weight", [h, d], weights.W3, (long)l * h * d, (long)h * d));
            tensors.Add(new(prefix + "mlp.down_proj.weight", [d, h], weights.W2, (long)l * d * h, (long)d * h));
        }
        tensors.Add(new("model.norm.weight", [d], weights.FinalNorm, 0, d));
        if (!p.SharedClassifier) tensors.Add(new("lm_head.weight", [p.VocabSize, d], weights.Classifier, 0, (long)p.VocabSize * d));
        SafetensorsFile.WriteSingle(Path.Combine(directory, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });

        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = "llama",
            ["hidden_size"] = d,
            ["intermediate_size"] = h,
            ["num_attention_heads"] = p.NHeads,
            ["num_hidden_layers"] = p.NLayers,
            ["num_key_value_heads"] = p.NKvHeads,
            ["head_dim"] = p.HeadDim,
            ["vocab_size"] = p.VocabSize,
            ["max_position_embeddings"] = p.MaxSeqLen,
            ["rms_norm_eps"] = p.NormEps,
            ["rope_theta"] = p.RopeTheta,
            ["rope_scaling"] = null,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["mlp_bias"] = false,
            ["initializer_range"] = 0.02,
            ["pretraining_tp"] = 1,
            ["use_cache"] = true,
            ["tie_word_embeddings"] = p.SharedClassifier,
            ["torch_dtype"] = "float32",
            ["bos_token_id"] = bos,
            ["eos_token_id"] = eos,
        };
        WriteJson(Path.Combine(directory, "config.json"), config);
        WriteJson(Path.Combine(directory, "generation_config.json"), new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = bos,
            ["eos_token_id"] = eos,
            ["max_length"] = p.MaxSeqLen,
        });
        if (tokenizer is not null)
        {
            AtomicFile.Write(Path.Combine(directory, "tokenizer.model"), s => s.Write(tokenizer.ToBytes()));
            WriteJson(Path.Combine(directory, "tokenizer_config.json"), new JsonObject
            {
                ["tokenizer_class"] = "LlamaTokenizer",
                ["bos_token"] = tokenizer.GetPiece(bos),
                ["eos_token"] = tokenizer.GetPiece(eos),
                ["unk_token"] = tokenizer.GetPiece(0),
                ["add_bos_token"] = true,
                ["add_eos_token"] = false,
                ["legacy"] = false,
                ["model_max_length"] = p.MaxSeqLen,
            });
        }
    }

    /// <summary>Whether <paramref name="directory"/> looks like a model folder this class reads (it has a config.json).</summary>
    public static bool IsModelFolder(string directory) => Directory.Exists(directory) && File.Exists(Path.Combine(directory, "config.json"));

    /// <summary>
    /// Reads a Llama model folder (F32, F16 or BF16 safetensors; one file or index-listed shards) into fp32 weights, or
    /// into <see cref="WeightFormat.BFloat16"/> weights when every tensor is BF16 (no rounding: the values are the file's).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No folder at <paramref name="directory"/>.</exception>
    /// <exception cref="FileNotFoundException">config.json or the safetensors are missing.</exception>
    /// <exception cref="InvalidDataException">Not a supported Llama model: the message names the config field or tensor.</exception>
    public static TransformerWeights Import(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Hugging Face model folder '{directory}' does not exist.");
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"'{directory}' has no config.json: it is not a Hugging Face model folder.", configPath);
        var dims = ReadConfig(configPath);
        var files = TensorFiles(directory);

        var weights = new TransformerWeights(dims);
        int d = dims.Dim, kv = dims.KvDim, h = dims.FeedForwardDim, v = dims.VocabSize;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        void Load(string name, long[] shape, float[] target, long offset)
        {
            expected[name] = shape;
            if (!files.TryGetValue(name, out var file))
                throw new InvalidDataException($"'{directory}' has no tensor '{name}', which a {Architecture} with this config.json needs.");
            var info = file.Tensors[name];
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"'{file.Path}': tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but config.json implies [{string.Join(", ", shape)}].");
            long count = shape.Aggregate(1L, (a, b) => a * b);
            file.ReadAsSingle(name, target.AsSpan(checked((int)offset), checked((int)count)));
        }

        Load("model.embed_tokens.weight", [v, d], weights.TokenEmbedding, 0);
        var q = new float[(long)d * d];
        var k = new float[(long)kv * d];
        for (int l = 0; l < dims.NLayers; l++)
        {
            string prefix = $"model.layers.{l}.";
            Load(prefix + "input_layernorm.weight", [d], weights.AttentionNorm, (long)l * d);
            Load(prefix + "self_attn.q_proj.weight", [d, d], q, 0);
            FromHalfSplitRope(q, weights.Wq, (long)l * d * d, dims.NHeads, dims.HeadDim, d);
            Load(prefix + "self_attn.k_proj.weight", [kv, d], k, 0);
            FromHalfSplitRope(k, weights.Wk, (long)l * kv * d, dims.NKvHeads, dims.HeadDim, d);
            Load(prefix + "self_attn.v_proj.weight", [kv, d], weights.Wv, (long)l * kv * d);
            Load(prefix + "self_attn.o_proj.weight", [d, d], weights.Wo, (long)l * d * d);
            Load(prefix + "post_attention_layernorm.weight", [d], weights.FfnNorm, (long)l * d);
            Load(prefix + "mlp.gate_proj.weight", [h, d], weights.W1, (long)l * h * d);
            Load(prefix + "mlp.up_proj.weight", [h, d], weights.W3, (long)l * h * d);
            Load(prefix + "mlp.down_proj.weight", [d, h], weights.W2, (long)l * d * h);
        }
        Load("model.norm.weight", [d], weights.FinalNorm, 0);
        if (!dims.SharedClassifier)
        {
            if (!files.ContainsKey("lm_head.weight"))
                throw new InvalidDataException($"'{directory}' has no tensor 'lm_head.weight' and its config.json has tie_word_embeddings false (or absent, which transformers reads as false).");
            Load("lm_head.weight", [v, d], weights.Classifier, 0);
        }
        else expected["lm_head.weight"] = [v, d]; // tied: transformers ignores a stored copy too

        foreach (string name in files.Keys)
            if (!expected.ContainsKey(name) && !name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
                throw new InvalidDataException($"'{files[name].Path}' holds tensor '{name}', which a {Architecture} without biases does not have: TinyLlm cannot import this model.");
        // A bf16 model stays bf16 for the engine, exactly (every value came from a bf16) and in half the memory.
        bool allBf16 = expected.Keys.Where(files.ContainsKey).All(name => files[name].Tensors[name].DType == "BF16");
        return allBf16 ? weights.Convert(WeightFormat.BFloat16) : weights;
    }

    private static LlamaConfig ReadConfig(string configPath)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(configPath)) ?? throw new InvalidDataException($"'{configPath}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{configPath}' is not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject config) throw new InvalidDataException($"'{configPath}' must hold a JSON object.");

        var architectures = config["architectures"] as JsonArray;
        if (architectures is not null && !architectures.Any(a => a?.GetValueKind() == JsonValueKind.String && a.GetValue<string>() == Architecture))
            throw new InvalidDataException($"'{configPath}' has architectures [{string.Join(", ", architectures.Select(a => a?.ToJsonString()))}]; TinyLlm imports {Architecture} only.");
        string? modelType = String(config, "model_type", configPath);
        if (modelType is not null && modelType != "llama")
            throw new InvalidDataException($"'{configPath}' has model_type \"{modelType}\"; TinyLlm imports model_type \"llama\" only.");
        string? act = String(config, "hidden_act", configPath);
        if (act is not null && act != "silu")
            throw new InvalidDataException($"'{configPath}' has hidden_act \"{act}\"; TinyLlm's SwiGLU needs \"silu\".");
        foreach (string flag in new[] { "attention_bias", "mlp_bias" })
            if (config[flag] is JsonValue b && b.GetValueKind() == JsonValueKind.True)
                throw new InvalidDataException($"'{configPath}' has {flag} true; TinyLlm's model has no biases.");
        if (config["rope_scaling"] is JsonNode scaling && scaling.GetValueKind() != JsonValueKind.Null)
            throw new InvalidDataException($"'{configPath}' has rope_scaling {scaling.ToJsonString()}; TinyLlm supports plain RoPE only (rope_scaling null).");

        int dim = Int(config, "hidden_size", configPath)!.Value;
        int heads = Int(config, "num_attention_heads", configPath)!.Value;
        var dims = new LlamaConfig
        {
            Dim = dim,
            HiddenDim = Int(config, "intermediate_size", configPath)!.Value,
            NLayers = Int(config, "num_hidden_layers", configPath)!.Value,
            NHeads = heads,
            NKvHeads = Int(config, "num_key_value_heads", configPath, required: false) ?? heads,
            VocabSize = Int(config, "vocab_size", configPath)!.Value,
            MaxSeqLen = Int(config, "max_position_embeddings", configPath, required: false) ?? 2048,
            SharedClassifier = config["tie_word_embeddings"] is JsonNode tie && tie.GetValueKind() == JsonValueKind.True,
            NormEps = Number(config, "rms_norm_eps", configPath) ?? 1e-6,
            RopeTheta = Number(config, "rope_theta", configPath) ?? 10000.0,
        };
        try
        {
            dims.Validate(ConfigName);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{configPath}' describes an impossible model: {e.Message}", e);
        }
        if (Int(config, "head_dim", configPath, required: false) is int headDim && headDim != dims.HeadDim)
            throw new InvalidDataException($"'{configPath}' has head_dim {headDim}; TinyLlm needs hidden_size / num_attention_heads ({dims.HeadDim}).");
        if (!(dims.NormEps > 0)) throw new InvalidDataException($"'{configPath}' has rms_norm_eps {dims.NormEps}; it must be positive.");
        if (!(dims.RopeTheta > 0)) throw new InvalidDataException($"'{configPath}' has rope_theta {dims.RopeTheta}; it must be positive.");
        return dims;
    }

    // config.json's names of the hyperparameters, for errors about it.
    private static string ConfigName(string option) => option switch
    {
        nameof(LlamaConfig.Dim) => "hidden_size", nameof(LlamaConfig.NLayers) => "num_hidden_layers",
        nameof(LlamaConfig.NHeads) => "num_attention_heads", nameof(LlamaConfig.NKvHeads) => "num_key_value_heads",
        nameof(LlamaConfig.MaxSeqLen) => "max_position_embeddings", nameof(LlamaConfig.HiddenDim) => "intermediate_size",
        nameof(LlamaConfig.NormEps) => "rms_norm_eps", _ => LlamaConfig.Llama2cName(option),
    };

    /// <summary>Every tensor name in the folder's safetensors, mapped to the file holding it.</summary>
    private static Dictionary<string, SafetensorsFile> TensorFiles(string directory)
    {
        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        string single = Path.Combine(directory, "model.safetensors");
        string index = Path.Combine(directory, "model.safetensors.index.json");
        IEnumerable<string> paths;
        if (File.Exists(single)) paths = [single];
        else if (File.Exists(index))
        {
            try
            {
                var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"] as JsonObject
                    ?? throw new InvalidDataException($"'{index}' has no weight_map object.");
                paths = map.Select(kv => Path.Combine(directory, kv.Value!.GetValue<string>())).Distinct().ToList();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{index}' is not a valid safetensors index: {e.Message}", e);
            }
        }
        else
            throw new FileNotFoundException($"'{directory}' has neither model.safetensors nor model.safetensors.index.json; TinyLlm reads safetensors weights only (not pytorch_model.bin).", single);
        foreach (string path in paths)
        {
            var file = SafetensorsFile.Open(path);
            file.VerifyChecksum();
            foreach (string name in file.Tensors.Keys) files[name] = file;
        }
        return files;
    }

    /// <summary>
    /// One layer's wq or wk (<paramref name="heads"/> heads of <paramref name="headSize"/> rows, starting at
    /// <paramref name="offset"/> in <paramref name="source"/>), rows reordered from interleaved RoPE pairs to
    /// transformers' half-split layout: row <c>head*hs + 2i + j</c> becomes row <c>head*hs + j*hs/2 + i</c>.
    /// </summary>
    internal static float[] ToHalfSplitRope(float[] source, long offset, int heads, int headSize, int cols)
    {
        var result = new float[(long)heads * headSize * cols];
        int half = headSize / 2;
        for (int head = 0; head < heads; head++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(source, offset + ((long)head * headSize + 2 * i + j) * cols, result, ((long)head * headSize + j * half + i) * cols, cols);
        return result;
    }

    /// <summary>The inverse of <see cref="ToHalfSplitRope"/>, writing into <paramref name="target"/> at <paramref name="offset"/>.</summary>
    internal static void FromHalfSplitRope(float[] source, float[] target, long offset, int heads, int headSize, int cols)
    {
        int half = headSize / 2;
        for (int head = 0; head < heads; head++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(source, ((long)head * headSize + j * half + i) * cols, target, offset + ((long)head * headSize + 2 * i + j) * cols, cols);
    }

    private static int? Int(JsonObject config, string field, string path, bool required = true)
    {
        var node = config[field];
        if (node is null || node.GetValueKind() == JsonValueKind.Null)
            return required ? throw new InvalidDataException($"'{path}' lacks the field {field}, which a {Architecture} config needs.") : null;
        if (node.GetValueKind() != JsonValueKind.Number || !int.TryParse(node.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new InvalidDataException($"'{path}' has {field} {node.ToJsonString()}; it must be an integer.");
        return value;
    }

    private static double? Number(JsonObject config, string field, string path)
    {
        var node = config[field];
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        if (node.GetValueKind() != JsonValueKind.Number) throw new InvalidDataException($"'{path}' has {field} {node.ToJsonString()}; it must be a number.");
        return node.GetValue<double>();
    }

    private static string? String(JsonObject config, string field, string path)
    {
        var node = config[field];
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        if (node.GetValueKind() != JsonValueKind.String) throw new InvalidDataException($"'{path}' has {field} {node.ToJsonString()}; it must be a string.");
        return node.GetValue<string>();
    }

    /// <summary>The float as the double with its shortest decimal spelling (1e-05, not 9.99999974737875E-06).</summary>
    private static void WriteJson(string path, JsonObject json) =>
        AtomicFile.Write(path, s =>
        {
            using var writer = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
            json.WriteTo(writer);
        });
}
