namespace TinyLlm.MLNet.Engine;

/// <summary>
/// All weights of a model, laid out as llama2.c's <c>TransformerWeights</c>: one array per kind of tensor with every
/// layer's copy back to back, each matrix row-major <c>(out, in)</c> so that <c>y = W x</c> reads rows. The matrices
/// are stored in one <see cref="WeightFormat"/> (fp32 unless converted with <see cref="Convert"/> or read from a
/// llama2.c v2 file); the RMSNorm weights are always fp32.
/// </summary>
/// <remarks>
/// Memory: the matrices take 4 (fp32), 2 (bf16) or 1 + 4/<see cref="GroupSize"/> (Q8_0) bytes per weight, see
/// <see cref="StorageBytes"/>. The engine reads the token embedding one row per token from the stored format, so a
/// bf16 or Q8_0 model keeps no fp32 copy of it (llama2.c's runq.c keeps a dequantized fp32 copy of the whole table).
/// The fp32 array properties of a bf16 or Q8_0 model (<see cref="Wq"/>, ...) are a dequantized copy made on first
/// access and kept, costing the fp32 size again; writes to that copy do not reach the stored values.
/// </remarks>
public sealed class TransformerWeights
{
    private readonly WeightMatrix _embedding, _wq, _wk, _wv, _wo, _w1, _w2, _w3, _classifier;

    /// <summary>Allocates zeroed fp32 weights for a model of shape <paramref name="config"/>.</summary>
    public TransformerWeights(LlamaConfig config)
        : this(config, WeightFormat.Float32, 0)
    {
    }

    private TransformerWeights(LlamaConfig dims, WeightFormat format, int groupSize, Func<WeightMatrix, WeightMatrix>? from = null, TransformerWeights? source = null)
    {
        ArgumentNullException.ThrowIfNull(dims);
        dims.Validate();
        // Stated, not derived: two configs of the same tensors compare equal whichever way hidden_dim was given.
        Config = dims with { HiddenDim = dims.FeedForwardDim };
        Format = format;
        GroupSize = format == WeightFormat.Q8_0 ? groupSize : 0;
        int d = dims.Dim, kv = dims.KvDim, h = dims.FeedForwardDim, l = dims.NLayers;
        WeightMatrix Make(long length, WeightMatrix? original) =>
            original is not null && from is not null ? from(original) : WeightMatrix.Allocate(format, checked((int)length), groupSize);
        _embedding = Make((long)dims.VocabSize * d, source?._embedding);
        _wq = Make((long)l * d * d, source?._wq);
        _wk = Make((long)l * kv * d, source?._wk);
        _wv = Make((long)l * kv * d, source?._wv);
        _wo = Make((long)l * d * d, source?._wo);
        _w1 = Make((long)l * h * d, source?._w1);
        _w2 = Make((long)l * d * h, source?._w2);
        _w3 = Make((long)l * h * d, source?._w3);
        _classifier = dims.SharedClassifier ? _embedding : Make((long)dims.VocabSize * d, source?._classifier);
        AttentionNorm = source is null ? new float[l * d] : (float[])source.AttentionNorm.Clone();
        FfnNorm = source is null ? new float[l * d] : (float[])source.FfnNorm.Clone();
        FinalNorm = source is null ? new float[d] : (float[])source.FinalNorm.Clone();
    }

    /// <summary>Allocates zeroed weights stored as <paramref name="format"/>, for a reader to fill (llama2.c v2).</summary>
    internal static TransformerWeights Allocate(LlamaConfig dims, WeightFormat format, int groupSize)
    {
        CheckFormat(dims, format, groupSize);
        return new TransformerWeights(dims, format, groupSize);
    }

    /// <summary>The model's shape, with <see cref="LlamaConfig.HiddenDim"/> always stated.</summary>
    public LlamaConfig Config { get; }

    /// <summary>How the matrices are stored.</summary>
    public WeightFormat Format { get; }

    /// <summary>Weights per scale for <see cref="WeightFormat.Q8_0"/>; 0 for the other formats.</summary>
    public int GroupSize { get; }

    /// <summary>Bytes the weights occupy as stored (matrices in <see cref="Format"/>, norms in fp32), excluding fp32 views made on request.</summary>
    public long StorageBytes =>
        new[] { _embedding, _wq, _wk, _wv, _wo, _w1, _w2, _w3 }.Sum(m => m.Bytes)
        + (Config.SharedClassifier ? 0 : _classifier.Bytes)
        + 4L * (AttentionNorm.Length + FfnNorm.Length + FinalNorm.Length);

    /// <summary>(vocab_size, dim) token embedding table.</summary>
    public float[] TokenEmbedding => _embedding.Float32View();

    /// <summary>(layer, dim) RMSNorm weights before attention.</summary>
    public float[] AttentionNorm { get; }

    /// <summary>(layer, dim, dim) query projection.</summary>
    public float[] Wq => _wq.Float32View();

    /// <summary>(layer, kv_dim, dim) key projection.</summary>
    public float[] Wk => _wk.Float32View();

    /// <summary>(layer, kv_dim, dim) value projection.</summary>
    public float[] Wv => _wv.Float32View();

    /// <summary>(layer, dim, dim) attention output projection.</summary>
    public float[] Wo => _wo.Float32View();

    /// <summary>(layer, dim) RMSNorm weights before the feed-forward block.</summary>
    public float[] FfnNorm { get; }

    /// <summary>(layer, hidden_dim, dim) gate projection.</summary>
    public float[] W1 => _w1.Float32View();

    /// <summary>(layer, dim, hidden_dim) down projection.</summary>
    public float[] W2 => _w2.Float32View();

    /// <summary>(layer, hidden_dim, dim) up projection.</summary>
    public float[] W3 => _w3.Float32View();

    /// <summary>(dim) final RMSNorm weights.</summary>
    public float[] FinalNorm { get; }

    /// <summary>(vocab_size, dim) output projection; the same array as <see cref="TokenEmbedding"/> when shared.</summary>
    public float[] Classifier => _classifier.Float32View();

    internal WeightMatrix EmbeddingMatrix => _embedding;
    internal WeightMatrix WqMatrix => _wq;
    internal WeightMatrix WkMatrix => _wk;
    internal WeightMatrix WvMatrix => _wv;
    internal WeightMatrix WoMatrix => _wo;
    internal WeightMatrix W1Matrix => _w1;
    internal WeightMatrix W2Matrix => _w2;
    internal WeightMatrix W3Matrix => _w3;
    internal WeightMatrix ClassifierMatrix => _classifier;

    /// <summary>
    /// These weights with the matrices stored as <paramref name="format"/>: this object if they already are (same
    /// group size for Q8_0), otherwise a converted copy (norms copied). bf16 rounds each weight to nearest even;
    /// Q8_0 quantizes each group of <paramref name="groupSize"/> consecutive weights of a row as llama2.c's
    /// export.py does; converting back to <see cref="WeightFormat.Float32"/> gives the rounded values.
    /// </summary>
    /// <param name="format">The storage.</param>
    /// <param name="groupSize">Q8_0 only: weights per scale; must divide dim and hidden_dim (every row length and
    /// every activation the engine quantizes). Ignored for the other formats.</param>
    /// <exception cref="ArgumentOutOfRangeException">An unknown format, or a group size that does not divide dim and hidden_dim.</exception>
    public TransformerWeights Convert(WeightFormat format, int groupSize = 64)
    {
        CheckFormat(Config, format, groupSize);
        if (format == Format && (format != WeightFormat.Q8_0 || groupSize == GroupSize)) return this;
        return new TransformerWeights(Config, format, groupSize, m => m.Convert(format, groupSize), this);
    }

    private static void CheckFormat(LlamaConfig dims, WeightFormat format, int groupSize)
    {
        if (!Enum.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), $"Weight format {(int)format} is not one of Float32, BFloat16, Q8_0.");
        if (format == WeightFormat.Q8_0 && (groupSize < 1 || dims.Dim % groupSize != 0 || dims.FeedForwardDim % groupSize != 0))
            throw new ArgumentOutOfRangeException(nameof(groupSize), $"The Q8_0 group size {groupSize} must be positive and divide dim ({dims.Dim}) and hidden_dim ({dims.FeedForwardDim}), the row lengths of every matrix.");
    }

    /// <summary>
    /// The tensors of <see cref="InFileOrder"/> as stored: each matrix in its <see cref="Format"/> (for writers that
    /// dequantize piece by piece instead of keeping fp32 views), each norm as its fp32 array.
    /// </summary>
    internal IEnumerable<(string Name, WeightMatrix? Matrix, float[]? Norm)> StoredInFileOrder()
    {
        yield return ("tok_embeddings.weight", _embedding, null);
        yield return ("attention_norm.weight", null, AttentionNorm);
        yield return ("attention.wq.weight", _wq, null);
        yield return ("attention.wk.weight", _wk, null);
        yield return ("attention.wv.weight", _wv, null);
        yield return ("attention.wo.weight", _wo, null);
        yield return ("ffn_norm.weight", null, FfnNorm);
        yield return ("feed_forward.w1.weight", _w1, null);
        yield return ("feed_forward.w2.weight", _w2, null);
        yield return ("feed_forward.w3.weight", _w3, null);
        yield return ("norm.weight", null, FinalNorm);
    }

    /// <summary>The tensors in llama2.c's v0 file order, with their names in our TorchSharp model (fp32 views).</summary>
    public IEnumerable<(string Name, float[] Values)> InFileOrder()
    {
        yield return ("tok_embeddings.weight", TokenEmbedding);
        yield return ("attention_norm.weight", AttentionNorm);
        yield return ("attention.wq.weight", Wq);
        yield return ("attention.wk.weight", Wk);
        yield return ("attention.wv.weight", Wv);
        yield return ("attention.wo.weight", Wo);
        yield return ("ffn_norm.weight", FfnNorm);
        yield return ("feed_forward.w1.weight", W1);
        yield return ("feed_forward.w2.weight", W2);
        yield return ("feed_forward.w3.weight", W3);
        yield return ("norm.weight", FinalNorm);
    }
}
