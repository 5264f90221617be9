using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// A TinyLlm model as a GGUF file of llama.cpp's <c>llama</c> architecture, vocabulary included: what llama.cpp,
/// Ollama, LM Studio and LLamaSharp load. Writes GGUF version 3; reads versions 2 and 3 with F32, F16, BF16 or Q8_0
/// tensors.
/// </summary>
/// <remarks>
/// Tensors (ggml order, fastest-varying dimension first; the bytes are our row-major (out, in) matrices as they are):
/// <c>token_embd.weight</c> [dim, vocab]; per layer N <c>blk.N.attn_norm.weight</c> [dim], <c>attn_q</c> [dim, dim],
/// <c>attn_k</c> and <c>attn_v</c> [dim, kv_dim], <c>attn_output</c> [dim, dim], <c>ffn_norm</c> [dim],
/// <c>ffn_gate</c> (w1) and <c>ffn_up</c> (w3) [dim, hidden], <c>ffn_down</c> (w2) [hidden, dim];
/// <c>output_norm.weight</c> [dim]; <c>output.weight</c> [dim, vocab] only when the classifier is not tied (llama.cpp
/// reuses the embedding when it is absent). The query and key rows stay in llama2.c's order: llama.cpp's
/// <c>llama</c> architecture rotates interleaved pairs (x[2i], x[2i+1]) as llama2.c does, so they are not permuted
/// as in the Hugging Face export. Norms are always F32. Q8_0 is ggml's: blocks of 32 weights along a row, each with
/// an fp16 scale, so every row length (dim and hidden_dim) must be a multiple of 32.
/// Keys: <c>general.architecture</c> = llama; <c>llama.context_length</c>, <c>embedding_length</c>,
/// <c>block_count</c>, <c>feed_forward_length</c>, <c>attention.head_count</c>, <c>attention.head_count_kv</c>,
/// <c>rope.dimension_count</c>, <c>rope.freq_base</c>, <c>attention.layer_norm_rms_epsilon</c>,
/// <c>vocab_size</c>; and the SentencePiece vocabulary under <c>tokenizer.ggml.*</c>.
/// </remarks>
public static class GgufLlama
{
    private const string Architecture = "llama";

    /// <summary>
    /// Writes <paramref name="weights"/> and <paramref name="tokenizer"/> to <paramref name="path"/> (through a
    /// temporary file and a rename).
    /// </summary>
    /// <param name="weights">The model.</param>
    /// <param name="tokenizer">Its tokenizer (identity normalization, byte fallback): embedded as the GGUF vocabulary.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="weightType">The type of the weight matrices: <see cref="GgmlType.F32"/>, <see cref="GgmlType.F16"/>,
    /// <see cref="GgmlType.BF16"/> or <see cref="GgmlType.Q8_0"/>; null keeps the weights' own storage (fp32 as F32,
    /// bf16 as BF16, Q8_0 as Q8_0 requantized to blocks of 32 with fp16 scales unless it already is).</param>
    /// <param name="name">general.name; null for the file name without its extension.</param>
    /// <exception cref="ArgumentException">Another type, a tokenizer that does not fit the model or llama.cpp, Q8_0 rows not a multiple of 32, or a weight outside fp16's range.</exception>
    public static void Write(TransformerWeights weights, SentencePieceModel tokenizer, string path, GgmlType? weightType = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var p = weights.Config;
        var type = weightType ?? DefaultType(weights.Format);
        if (type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0))
            throw new ArgumentException($"GGUF export writes the weights as F32, F16, BF16 or Q8_0, not {GgmlTypes.Describe(type)}.", nameof(weightType));
        if (type == GgmlType.Q8_0 && (p.Dim % GgmlTypes.Q8BlockSize != 0 || p.FeedForwardDim % GgmlTypes.Q8BlockSize != 0))
            throw new ArgumentException($"GGUF's Q8_0 quantizes each row in blocks of {GgmlTypes.Q8BlockSize}, so dim ({p.Dim}) and hidden_dim ({p.FeedForwardDim}) must be multiples of {GgmlTypes.Q8BlockSize}; export this model as f32, f16 or bf16.", nameof(weightType));
        if (tokenizer.VocabSize != p.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} pieces but the model has vocab_size {p.VocabSize}.", nameof(tokenizer));
        GgufVocabulary.CheckExportable(tokenizer);

        var writer = new GgufWriter();
        writer.Add("general.architecture", Architecture);
        writer.Add("general.name", name ?? Path.GetFileNameWithoutExtension(path));
        writer.Add("general.file_type", FileType(type));
        if (type == GgmlType.Q8_0) writer.Add("general.quantization_version", 2u);
        writer.Add("general.alignment", (uint)GgufFile.DefaultAlignment);
        writer.Add($"{Architecture}.vocab_size", (uint)p.VocabSize);
        writer.Add($"{Architecture}.context_length", (uint)p.MaxSeqLen);
        writer.Add($"{Architecture}.embedding_length", (uint)p.Dim);
        writer.Add($"{Architecture}.block_count", (uint)p.NLayers);
        writer.Add($"{Architecture}.feed_forward_length", (uint)p.FeedForwardDim);
        writer.Add($"{Architecture}.attention.head_count", (uint)p.NHeads);
        writer.Add($"{Architecture}.attention.head_count_kv", (uint)p.NKvHeads);
        writer.Add($"{Architecture}.rope.dimension_count", (uint)p.HeadDim);
        writer.Add($"{Architecture}.rope.freq_base", (float)p.RopeTheta);
        writer.Add($"{Architecture}.attention.layer_norm_rms_epsilon", (float)p.NormEps);
        GgufVocabulary.Write(writer, tokenizer);
        foreach (var t in Layout(p))
        {
            if (t.Matrix is { } matrix)
                writer.AddTensor(t.Name, t.Dimensions, type, s => GgufTensorData.Write(s, matrix(weights), t.Offset, t.Count, type, t.Name));
            else
                writer.AddTensor(t.Name, t.Dimensions, GgmlType.F32, s => GgufTensorData.Write(s, t.Norm!(weights).AsSpan(checked((int)t.Offset), t.Count)));
        }
        writer.Write(path);
    }

    /// <summary>Whether the file at <paramref name="path"/> starts with the GGUF magic.</summary>
    public static bool IsGguf(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && GgufFile.HasMagic(magic);
    }

    /// <summary>Reads the model and its embedded SentencePiece vocabulary.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a GGUF file TinyLlm can run; the message names the key, tensor or type.</exception>
    public static (TransformerWeights Weights, SentencePieceModel Tokenizer) Read(string path)
    {
        var (weights, tokenizer) = ReadModel(path, requireTokenizer: true);
        return (weights, tokenizer!);
    }

    /// <summary>The model, and its vocabulary when the file has one (or always, when <paramref name="requireTokenizer"/>).</summary>
    internal static (TransformerWeights Weights, SentencePieceModel? Tokenizer) ReadModel(string path, bool requireTokenizer)
    {
        var file = GgufFile.Open(path);
        var weights = ReadWeights(file);
        bool read = requireTokenizer || GgufVocabulary.IsPresent(file);
        return (weights, read ? GgufVocabulary.Read(file, weights.Config.VocabSize) : null);
    }

    /// <summary>
    /// Reads the model's weights: kept as Q8_0 (groups of 32) when every matrix is Q8_0, as bf16 when every matrix is
    /// BF16, otherwise as fp32 (F16 and mixed files widened exactly).
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a GGUF file TinyLlm can run; the message names the key, tensor or type.</exception>
    public static TransformerWeights ReadWeights(string path) => ReadWeights(GgufFile.Open(path));

    /// <summary>Reads the SentencePiece vocabulary embedded in the file (<c>tokenizer.ggml.model = "llama"</c>).</summary>
    /// <exception cref="InvalidDataException">No vocabulary, or one TinyLlm cannot use; the message names the key.</exception>
    public static SentencePieceModel ReadTokenizer(string path)
    {
        var file = GgufFile.Open(path);
        return GgufVocabulary.Read(file, checked((int)ConfigOf(file).VocabSize));
    }

    private static TransformerWeights ReadWeights(GgufFile file)
    {
        var dims = ConfigOf(file);
        var layout = Layout(dims).ToList();
        var expected = layout.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var tensor in file.Tensors)
            if (!expected.ContainsKey(tensor.Name))
                throw new InvalidDataException(tensor.Name == "rope_freqs.weight"
                    ? $"'{file.Path}' holds rope_freqs.weight (per-frequency RoPE scaling, as Llama 3.1 uses); TinyLlm supports plain RoPE only."
                    : $"'{file.Path}' holds tensor '{tensor.Name}', which TinyLlm's llama model (no biases, no extra tensors) does not have.");
        var matrixTypes = new HashSet<GgmlType>();
        foreach (var t in layout)
        {
            var tensor = file.FindTensor(t.Name) ?? throw new InvalidDataException(
                $"'{file.Path}' has no tensor '{t.Name}', which a llama model with llama.block_count {dims.NLayers}{(t.Name == "output.weight" ? " and an untied classifier" : "")} needs.");
            if (!tensor.Dimensions.SequenceEqual(t.Dimensions))
                throw new InvalidDataException($"'{file.Path}': tensor '{tensor.Name}' has shape {tensor.Shape} but the llama.* keys and the vocabulary imply [{string.Join(", ", t.Dimensions)}] (ggml order, columns first).");
            bool matrix = t.Matrix is not null;
            if (tensor.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16) && !(matrix && tensor.Type == GgmlType.Q8_0))
                throw new InvalidDataException($"'{file.Path}': tensor '{tensor.Name}' has type {GgmlTypes.Describe(tensor.Type)}; TinyLlm reads F32, F16, BF16 and Q8_0 weight matrices (and F32/F16/BF16 norms). Requantize the model to Q8_0 (llama-quantize) or convert it to F16.");
            if (matrix) matrixTypes.Add(tensor.Type);
        }

        var format = matrixTypes.Count != 1 ? WeightFormat.Float32 : matrixTypes.Single() switch
        {
            GgmlType.Q8_0 => WeightFormat.Q8_0,
            GgmlType.BF16 => WeightFormat.BFloat16,
            _ => WeightFormat.Float32,
        };
        var weights = TransformerWeights.Allocate(dims, format, format == WeightFormat.Q8_0 ? GgmlTypes.Q8BlockSize : 0);
        foreach (var t in layout)
        {
            var tensor = file.FindTensor(t.Name)!;
            if (t.Matrix is { } m) GgufTensorData.Read(file, tensor, m(weights), t.Offset);
            else GgufTensorData.Read(file, tensor, t.Norm!(weights).AsSpan(checked((int)t.Offset), t.Count));
        }
        return weights;
    }

    /// <summary>The model's shape from the llama.* keys (the vocabulary size from the token embedding).</summary>
    private static LlamaConfig ConfigOf(GgufFile file)
    {
        string p = file.Path;
        string? arch = file.String("general.architecture", required: false);
        if (arch is null)
            throw new InvalidDataException($"'{p}' lacks general.architecture: it is not a model file TinyLlm can read (a GGUF of the llama architecture).");
        if (arch != Architecture)
            throw new InvalidDataException($"'{p}' has general.architecture \"{arch}\"; TinyLlm runs the \"{Architecture}\" architecture only.");
        if (file.Integer($"{arch}.expert_count", required: false) is > 0)
            throw new InvalidDataException($"'{p}' is a mixture-of-experts model ({arch}.expert_count > 0); TinyLlm runs dense models only.");
        if (file.String($"{arch}.rope.scaling.type", required: false) is { } scaling && scaling != "none")
            throw new InvalidDataException($"'{p}' has {arch}.rope.scaling.type \"{scaling}\"; TinyLlm supports plain RoPE only.");

        int Size(string key, bool required = true)
        {
            long? value = file.Metadata.TryGetValue(key, out var raw) && raw is System.Array perLayer ? SameForEveryLayer(key, perLayer) : file.Integer(key, required);
            if (value is null) return 0;
            if (value < 1 || value > int.MaxValue)
                throw new InvalidDataException($"'{p}' has {key} = {value}; it must be a positive integer.");
            return (int)value;
        }
        long? SameForEveryLayer(string key, System.Array values)
        {
            var distinct = values.Cast<object>().Select(v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToList();
            if (distinct.Count != 1)
                throw new InvalidDataException($"'{p}' has {key} that differs between layers ({string.Join(", ", distinct)}); TinyLlm's model has one size for every layer.");
            return distinct[0];
        }

        var embedding = file.FindTensor("token_embd.weight")
            ?? throw new InvalidDataException($"'{p}' has no tensor 'token_embd.weight', which every llama model needs.");
        if (embedding.Dimensions.Length != 2)
            throw new InvalidDataException($"'{p}': tensor 'token_embd.weight' has shape {embedding.Shape}; it must be [embedding_length, vocab_size].");
        int heads = Size($"{arch}.attention.head_count");
        var dims = new LlamaConfig
        {
            Dim = Size($"{arch}.embedding_length"),
            NLayers = Size($"{arch}.block_count"),
            NHeads = heads,
            NKvHeads = Size($"{arch}.attention.head_count_kv", required: false) is int kv and > 0 ? kv : heads,
            HiddenDim = Size($"{arch}.feed_forward_length"),
            MaxSeqLen = Size($"{arch}.context_length"),
            VocabSize = checked((int)embedding.Dimensions[1]),
            NormEps = file.Number($"{arch}.attention.layer_norm_rms_epsilon")!.Value,
            RopeTheta = file.Number($"{arch}.rope.freq_base", required: false) ?? 10000.0,
            SharedClassifier = file.FindTensor("output.weight") is null,
        };
        try
        {
            dims.Validate(KeyName);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{p}' describes an impossible model: {e.Message}", e);
        }
        if (file.Integer($"{arch}.vocab_size", required: false) is long vocab && vocab != dims.VocabSize)
            throw new InvalidDataException($"'{p}' has {arch}.vocab_size = {vocab} but token_embd.weight has {dims.VocabSize} rows.");
        foreach (string key in new[] { "rope.dimension_count", "attention.key_length", "attention.value_length" })
            if (file.Integer($"{arch}.{key}", required: false) is long size && size != dims.HeadDim)
                throw new InvalidDataException($"'{p}' has {arch}.{key} = {size}; TinyLlm needs embedding_length / head_count = {dims.HeadDim} (every channel of a head rotated, heads of one size).");
        return dims;
    }

    private static GgmlType DefaultType(WeightFormat format) => format switch
    {
        WeightFormat.BFloat16 => GgmlType.BF16,
        WeightFormat.Q8_0 => GgmlType.Q8_0,
        _ => GgmlType.F32,
    };

    // llama.cpp's llama_ftype of a file whose matrices are all of this type.
    private static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q8_0 => 7,
        _ => 32, // BF16
    };

    /// <summary>One tensor of the file: a slice (one layer's copy) of a stored matrix or of a norm array.</summary>
    private sealed record Tensor(string Name, long[] Dimensions, Func<TransformerWeights, WeightMatrix>? Matrix, Func<TransformerWeights, float[]>? Norm, long Offset, int Count);

    // Every tensor of a model of shape p, in llama.cpp's order.
    private static IEnumerable<Tensor> Layout(LlamaConfig p)
    {
        long d = p.Dim, kv = p.KvDim, h = p.FeedForwardDim, v = p.VocabSize;
        Tensor Matrix(string name, Func<TransformerWeights, WeightMatrix> m, int layer, long rows, long cols) =>
            new(name, [cols, rows], m, null, layer * rows * cols, checked((int)(rows * cols)));
        Tensor Norm(string name, Func<TransformerWeights, float[]> values, int layer) => new(name, [d], null, values, layer * d, (int)d);

        yield return Matrix("token_embd.weight", w => w.EmbeddingMatrix, 0, v, d);
        for (int l = 0; l < p.NLayers; l++)
        {
            string b = $"blk.{l}.";
            yield return Norm(b + "attn_norm.weight", w => w.AttentionNorm, l);
            yield return Matrix(b + "attn_q.weight", w => w.WqMatrix, l, d, d);
            yield return Matrix(b + "attn_k.weight", w => w.WkMatrix, l, kv, d);
            yield return Matrix(b + "attn_v.weight", w => w.WvMatrix, l, kv, d);
            yield return Matrix(b + "attn_output.weight", w => w.WoMatrix, l, d, d);
            yield return Norm(b + "ffn_norm.weight", w => w.FfnNorm, l);
            yield return Matrix(b + "ffn_gate.weight", w => w.W1Matrix, l, h, d);
            yield return Matrix(b + "ffn_down.weight", w => w.W2Matrix, l, d, h);
            yield return Matrix(b + "ffn_up.weight", w => w.W3Matrix, l, h, d);
        }
        yield return Norm("output_norm.weight", w => w.FinalNorm, 0);
        if (!p.SharedClassifier) yield return Matrix("output.weight", w => w.ClassifierMatrix, 0, v, d);
    }

    // The file's metadata keys for the hyperparameters, for errors about them.
    private static string KeyName(string option) => option switch
    {
        nameof(LlamaConfig.Dim) => $"{Architecture}.embedding_length", nameof(LlamaConfig.NLayers) => $"{Architecture}.block_count",
        nameof(LlamaConfig.NHeads) => $"{Architecture}.attention.head_count", nameof(LlamaConfig.NKvHeads) => $"{Architecture}.attention.head_count_kv",
        nameof(LlamaConfig.MaxSeqLen) => $"{Architecture}.context_length", nameof(LlamaConfig.HiddenDim) => $"{Architecture}.feed_forward_length",
        nameof(LlamaConfig.NormEps) => $"{Architecture}.attention.layer_norm_rms_epsilon", nameof(LlamaConfig.RopeTheta) => $"{Architecture}.rope.freq_base",
        _ => LlamaConfig.Llama2cName(option),
    };
}
