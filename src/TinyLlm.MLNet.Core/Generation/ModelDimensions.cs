namespace TinyLlm.MLNet.Generation;

/// <summary>
/// The sizes that fix a trained model's tensors: what llama2.c's <c>Config</c> struct (and the header of its
/// checkpoint files) holds. The inference engine needs nothing else.
/// </summary>
/// <param name="Dim">Model width (embedding size).</param>
/// <param name="HiddenDim">SwiGLU hidden size.</param>
/// <param name="NLayers">Number of transformer blocks.</param>
/// <param name="NHeads">Query heads.</param>
/// <param name="NKvHeads">Key/value heads (grouped-query attention when fewer than <paramref name="NHeads"/>).</param>
/// <param name="VocabSize">Vocabulary size.</param>
/// <param name="SeqLen">Maximum context length.</param>
/// <param name="SharedClassifier">Whether the output projection is the token embedding (tied weights).</param>
/// <param name="NormEps">RMSNorm epsilon.</param>
/// <param name="RopeTheta">RoPE base.</param>
public sealed record ModelDimensions(
    int Dim, int HiddenDim, int NLayers, int NHeads, int NKvHeads, int VocabSize, int SeqLen,
    bool SharedClassifier = true, float NormEps = 1e-5f, float RopeTheta = 10000f)
{
    /// <summary>Size of one attention head.</summary>
    public int HeadSize => Dim / NHeads;

    /// <summary>Width of the key and value projections.</summary>
    public int KvDim => HeadSize * NKvHeads;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first inconsistent size.</summary>
    public void Validate()
    {
        Positive(Dim, "dim"); Positive(HiddenDim, "hidden_dim"); Positive(NLayers, "n_layers"); Positive(NHeads, "n_heads");
        Positive(NKvHeads, "n_kv_heads"); Positive(VocabSize, "vocab_size"); Positive(SeqLen, "seq_len");
        if (Dim % NHeads != 0) throw new ArgumentException($"n_heads ({NHeads}) must divide dim ({Dim}).");
        if (NHeads % NKvHeads != 0) throw new ArgumentException($"n_kv_heads ({NKvHeads}) must divide n_heads ({NHeads}).");
        if (HeadSize % 2 != 0) throw new ArgumentException($"The head size dim/n_heads ({HeadSize}) must be even for rotary embeddings.");
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive; it is {value}.");
    }
}
