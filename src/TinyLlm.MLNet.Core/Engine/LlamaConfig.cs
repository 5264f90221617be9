using System.Text.Json.Serialization;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The one description of a model's shape, for every part of TinyLlm: llama2.c's <c>ModelArgs</c> (training) and
/// its <c>Config</c> struct (inference) in one record. The defaults are this project's seed model (dim 288,
/// 8 layers, 8 heads, 4 kv heads, vocab 4096, context 256, 8,483,616 parameters): <see cref="Seed"/>. The JSON
/// names are llama2.c's <c>model_args</c> keys; the record is written into every checkpoint.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>The tutorial's seed model, the default of every option that sets a model's shape.</summary>
    public static LlamaConfig Seed { get; } = new();

    /// <summary>Width of the residual stream (the embedding size).</summary>
    [JsonPropertyName("dim")] public int Dim { get; init; } = 288;

    /// <summary>Number of transformer blocks.</summary>
    [JsonPropertyName("n_layers")] public int NLayers { get; init; } = 8;

    /// <summary>Number of query heads; must divide <see cref="Dim"/>.</summary>
    [JsonPropertyName("n_heads")] public int NHeads { get; init; } = 8;

    /// <summary>Number of key/value heads (grouped-query attention); must divide <see cref="NHeads"/>.</summary>
    [JsonPropertyName("n_kv_heads")] public int NKvHeads { get; init; } = 4;

    /// <summary>Number of token ids (embedding rows and output logits).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 4096;

    /// <summary>The SwiGLU hidden size is rounded up to a multiple of this.</summary>
    [JsonPropertyName("multiple_of")] public int MultipleOf { get; init; } = 32;

    /// <summary>The SwiGLU hidden size; null derives it from <see cref="Dim"/> and <see cref="MultipleOf"/> as llama2.c does.</summary>
    [JsonPropertyName("hidden_dim")] public int? HiddenDim { get; init; }

    /// <summary>Epsilon inside RMSNorm's square root.</summary>
    [JsonPropertyName("norm_eps")] public double NormEps { get; init; } = 1e-5;

    /// <summary>The longest sequence the RoPE tables cover (the context length).</summary>
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen { get; init; } = 256;

    /// <summary>Dropout probability on embeddings, attention weights and residual branches (0 disables it).</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }

    /// <summary>RoPE base frequency (llama2.c and LLaMA 2 use 10000).</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;

    /// <summary>
    /// Whether the output classifier is the token embedding matrix (tied weights, as in llama2.c's models) or a
    /// matrix of its own (as in Meta's LLaMA 2 and most Hugging Face models).
    /// </summary>
    [JsonPropertyName("shared_classifier")] public bool SharedClassifier { get; init; } = true;

    /// <summary>Size of one attention head: <c>Dim / NHeads</c>.</summary>
    [JsonIgnore] public int HeadDim => Dim / NHeads;

    /// <summary>Width of the key and value projections: <c>NKvHeads * HeadDim</c>.</summary>
    [JsonIgnore] public int KvDim => NKvHeads * HeadDim;

    /// <summary>
    /// The SwiGLU hidden size actually used: <see cref="HiddenDim"/> when set, otherwise
    /// <c>MultipleOf * ceil(int(2 * 4 * Dim / 3) / MultipleOf)</c> (768 for dim 288).
    /// </summary>
    [JsonIgnore]
    public int FeedForwardDim
    {
        get
        {
            if (HiddenDim is int h) return h;
            int hidden = 2 * (4 * Dim) / 3;
            return MultipleOf * ((hidden + MultipleOf - 1) / MultipleOf);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent hyperparameter by its C# name (<c>NHeads</c>).</summary>
    public void Validate() => Validate(CSharpName);

    private static readonly Func<string, string> CSharpName = name => name;

    /// <summary>
    /// <see cref="Validate()"/> with the hyperparameters named by <paramref name="name"/> (from the C# name), as the
    /// file being read names them: llama2.c's <c>n_heads</c>, a Hugging Face config's <c>num_attention_heads</c>.
    /// </summary>
    internal void Validate(Func<string, string> name)
    {
        // ParamName is the C# option only when the message names C# options: a file's reader quotes the message.
        string? Param(string option) => ReferenceEquals(name, CSharpName) ? option : null;
        void Positive(int value, string option)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(Param(option), $"{name(option)} must be a positive integer; it is {value}.");
        }
        Positive(Dim, nameof(Dim));
        Positive(NLayers, nameof(NLayers));
        Positive(NHeads, nameof(NHeads));
        Positive(NKvHeads, nameof(NKvHeads));
        Positive(VocabSize, nameof(VocabSize));
        Positive(MultipleOf, nameof(MultipleOf));
        Positive(MaxSeqLen, nameof(MaxSeqLen));
        if (HiddenDim is int h) Positive(h, nameof(HiddenDim));
        if (Dim % NHeads != 0)
            throw new ArgumentException($"{name(nameof(NHeads))} ({NHeads}) must divide {name(nameof(Dim))} ({Dim}) so that every head has the same size.", Param(nameof(NHeads)));
        if (NHeads % NKvHeads != 0)
            throw new ArgumentException($"{name(nameof(NKvHeads))} ({NKvHeads}) must divide {name(nameof(NHeads))} ({NHeads}): each key/value head serves a whole group of query heads.", Param(nameof(NKvHeads)));
        if (HeadDim % 2 != 0)
            throw new ArgumentException($"The head size {name(nameof(Dim))} / {name(nameof(NHeads))} = {HeadDim} must be even: RoPE rotates pairs of channels.", Param(nameof(NHeads)));
        if (!(NormEps > 0) || double.IsInfinity(NormEps))
            throw new ArgumentOutOfRangeException(Param(nameof(NormEps)), $"{name(nameof(NormEps))} must be a positive number; it is {NormEps}.");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta))
            throw new ArgumentOutOfRangeException(Param(nameof(RopeTheta)), $"{name(nameof(RopeTheta))} must be a positive number; it is {RopeTheta}.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(Param(nameof(Dropout)), $"{name(nameof(Dropout))} must be in [0, 1); it is {Dropout}.");
    }

    /// <summary>llama2.c's names of the hyperparameters (its <c>ModelArgs</c> and header fields), for errors about its files.</summary>
    internal static string Llama2cName(string option) => option switch
    {
        nameof(Dim) => "dim", nameof(NLayers) => "n_layers", nameof(NHeads) => "n_heads", nameof(NKvHeads) => "n_kv_heads",
        nameof(VocabSize) => "vocab_size", nameof(MultipleOf) => "multiple_of", nameof(MaxSeqLen) => "seq_len",
        nameof(HiddenDim) => "hidden_dim", nameof(NormEps) => "norm_eps", nameof(RopeTheta) => "rope_theta", nameof(Dropout) => "dropout",
        _ => option,
    };

    /// <summary>
    /// Number of trainable parameters (a tied embedding/output matrix counted once), computed from the shapes.
    /// </summary>
    [JsonIgnore]
    public long ParameterCount
    {
        get
        {
            long d = Dim, kv = (long)NKvHeads * HeadDim, f = FeedForwardDim;
            long attention = d * d + 2 * d * kv + d * d;
            long feedForward = 3 * d * f;
            long perLayer = attention + feedForward + 2 * d;
            long classifier = SharedClassifier ? 0 : (long)VocabSize * d;
            return VocabSize * d + classifier + NLayers * perLayer + d;
        }
    }
}
