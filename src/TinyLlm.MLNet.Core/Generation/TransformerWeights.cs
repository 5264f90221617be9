namespace TinyLlm.MLNet.Generation;

/// <summary>
/// All weights of a model as plain float arrays, laid out as llama2.c's <c>TransformerWeights</c>: one array
/// per kind of tensor with every layer's copy back to back, each matrix row-major <c>(out, in)</c> so that
/// <c>y = W x</c> reads rows.
/// </summary>
public sealed class TransformerWeights
{
    /// <summary>Allocates zeroed weights for <paramref name="dims"/>.</summary>
    public TransformerWeights(ModelDimensions dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        dims.Validate();
        Dims = dims;
        int d = dims.Dim, kv = dims.KvDim, h = dims.HiddenDim, l = dims.NLayers;
        TokenEmbedding = new float[(long)dims.VocabSize * d];
        AttentionNorm = new float[l * d];
        Wq = new float[(long)l * d * d];
        Wk = new float[(long)l * kv * d];
        Wv = new float[(long)l * kv * d];
        Wo = new float[(long)l * d * d];
        FfnNorm = new float[l * d];
        W1 = new float[(long)l * h * d];
        W2 = new float[(long)l * d * h];
        W3 = new float[(long)l * h * d];
        FinalNorm = new float[d];
        Classifier = dims.SharedClassifier ? TokenEmbedding : new float[(long)dims.VocabSize * d];
    }

    /// <summary>The sizes.</summary>
    public ModelDimensions Dims { get; }

    /// <summary>(vocab_size, dim) token embedding table.</summary>
    public float[] TokenEmbedding { get; }

    /// <summary>(layer, dim) RMSNorm weights before attention.</summary>
    public float[] AttentionNorm { get; }

    /// <summary>(layer, dim, dim) query projection.</summary>
    public float[] Wq { get; }

    /// <summary>(layer, kv_dim, dim) key projection.</summary>
    public float[] Wk { get; }

    /// <summary>(layer, kv_dim, dim) value projection.</summary>
    public float[] Wv { get; }

    /// <summary>(layer, dim, dim) attention output projection.</summary>
    public float[] Wo { get; }

    /// <summary>(layer, dim) RMSNorm weights before the feed-forward block.</summary>
    public float[] FfnNorm { get; }

    /// <summary>(layer, hidden_dim, dim) gate projection.</summary>
    public float[] W1 { get; }

    /// <summary>(layer, dim, hidden_dim) down projection.</summary>
    public float[] W2 { get; }

    /// <summary>(layer, hidden_dim, dim) up projection.</summary>
    public float[] W3 { get; }

    /// <summary>(dim) final RMSNorm weights.</summary>
    public float[] FinalNorm { get; }

    /// <summary>(vocab_size, dim) output projection; the same array as <see cref="TokenEmbedding"/> when shared.</summary>
    public float[] Classifier { get; }

    /// <summary>The tensors in llama2.c's v0 file order, with their names in our TorchSharp model.</summary>
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
