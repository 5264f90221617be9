using System.Text;
using System.Text.Json;
using TinyLlm.MLNet.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// The LLaMA-2 decoder of llama2.c's <c>model.py</c>: token embedding, <c>n_layers</c> pre-norm blocks (RMSNorm,
/// RoPE attention with grouped-query heads, SwiGLU), a final RMSNorm and an output projection, tied to the
/// embedding as in llama2.c (<see cref="LlamaConfig.SharedClassifier"/>) or a matrix of its own as in Meta's LLaMA 2
/// and most Hugging Face models (fine-tuning those keeps them untied). Parameter names (<c>tok_embeddings.weight</c>, <c>layers.0.attention.wq.weight</c>, ...) are those of
/// model.py, so state dictionaries line up with llama2.c's exporters.
/// </summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
    private const string WeightsMagic = "TLLMWGT1";

    private readonly LlamaConfig _config;
    private readonly ForwardOptions _options = new();
    private readonly TokenEmbedding tok_embeddings;
    private readonly Dropout dropout;
    private readonly ModuleList<TransformerBlock> layers;
    private readonly RMSNorm norm;
    private readonly Linear output;
    private Tensor freqs_cos, freqs_sin; // (max_seq_len, head_dim / 2) each, not saved: recomputed from the config

    /// <summary>
    /// Builds the model and initializes it as llama2.c does, drawing from torch's global generator (seed it with
    /// <c>torch.manual_seed</c> first for a reproducible model): every matrix from N(0, 0.02), then the residual
    /// projections <c>w3</c> and <c>wo</c> re-drawn from N(0, 0.02 / sqrt(2 * n_layers)). (GPT-2's scaled init is
    /// meant for the projections that write into the residual stream, <c>wo</c> and <c>w2</c>; llama2.c scales
    /// <c>w3</c> instead of <c>w2</c>, which its authors call a slip (llama2.c issue #579). We keep llama2.c's
    /// choice so that the two implementations start from the same distribution.)
    /// </summary>
    /// <exception cref="ArgumentException">The configuration is inconsistent (see <see cref="LlamaConfig.Validate()"/>).</exception>
    public LlamaModel(LlamaConfig config) : base(nameof(LlamaModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;

        tok_embeddings = new TokenEmbedding();
        dropout = nn.Dropout(config.Dropout);
        layers = new ModuleList<TransformerBlock>();
        for (int i = 0; i < config.NLayers; i++) layers.Add(new TransformerBlock(i, config, _options));
        norm = new RMSNorm(config.Dim, config.NormEps);
        output = nn.Linear(config.Dim, config.VocabSize, hasBias: false);

        // share the unembedding parameters with the embedding parameters (an untied model has a table of its own)
        if (config.SharedClassifier) tok_embeddings.Tie(output.weight);
        else tok_embeddings.Own(new Parameter(torch.empty(config.VocabSize, config.Dim)));

        // RoPE tables, precomputed once for every position
        (freqs_cos, freqs_sin) = Rope.PrecomputeFrequencies(config.HeadDim, config.MaxSeqLen, config.RopeTheta);
        register_buffer(nameof(freqs_cos), freqs_cos, persistent: false);
        register_buffer(nameof(freqs_sin), freqs_sin, persistent: false);
        RegisterComponents();

        InitializeWeights();
    }

    /// <summary>The hyperparameters this model was built with.</summary>
    public LlamaConfig Config => _config;

    /// <summary>
    /// Type of the matrix products: <see cref="ScalarType.Float32"/> (default) or <see cref="ScalarType.BFloat16"/>
    /// (bf16 compute over fp32 master weights, the hand-made equivalent of PyTorch's autocast).
    /// </summary>
    /// <exception cref="ArgumentException">Any other type.</exception>
    public ScalarType ComputeType
    {
        get => _options.Compute;
        set
        {
            if (value is not (ScalarType.Float32 or ScalarType.BFloat16))
                throw new ArgumentException($"The compute type must be Float32 or BFloat16; got {value}.", nameof(value));
            _options.Compute = value;
        }
    }

    /// <summary>
    /// Whether attention runs through libtorch's fused <c>scaled_dot_product_attention</c> (default; faster on this
    /// project's CPUs and on CUDA) or through the explicit softmax(QK^T/sqrt(d) + mask) V formula.
    /// </summary>
    public bool UseScaledDotProductAttention
    {
        get => _options.UseScaledDotProductAttention;
        set => _options.UseScaledDotProductAttention = value;
    }

    /// <summary>The token embedding table, <c>(vocab_size, dim)</c>: also the output projection's weight when the classifier is shared.</summary>
    public Parameter TokenEmbeddingWeight => tok_embeddings.Weight;

    /// <summary>Number of trainable parameters, counting a tied embedding/output matrix once.</summary>
    public long ParameterCount => named_parameters().Sum(p => p.parameter.numel());

    /// <summary>The device the weights live on.</summary>
    public Device Device => output.weight!.device;

    /// <summary>
    /// Logits for every position: <paramref name="tokens"/> is <c>(batch, seq)</c> int64 with seq &lt;=
    /// <c>max_seq_len</c>; returns <c>(batch, seq, vocab_size)</c> in fp32.
    /// </summary>
    public override Tensor forward(Tensor tokens)
    {
        long seqlen = tokens.shape[1];
        if (seqlen > _config.MaxSeqLen)
            throw new ArgumentException($"The input has {seqlen} positions but the model's MaxSeqLen is {_config.MaxSeqLen}.", nameof(tokens));

        var h = tok_embeddings.forward(tokens);                                  // (bs, seqlen, dim)
        h = dropout.forward(h);
        var cos = freqs_cos[..(int)seqlen];
        var sin = freqs_sin[..(int)seqlen];

        foreach (var layer in layers) h = layer.forward(h, cos, sin);
        h = norm.forward(h);

        return _options.Linear(h, output.weight!).to(ScalarType.Float32);      // (bs, seqlen, vocab)
    }

    /// <summary>
    /// Logits with a key/value cache (inference; Meta llama's <c>forward(tokens, start_pos)</c> for several sequences
    /// at once): row i of <paramref name="tokens"/> <c>(n, t)</c> int64 continues the sequence in cache slot
    /// <c>slots[i]</c> at <c>positions[i]</c> <c>(n, t)</c>. Every earlier position of that sequence must be in the
    /// cache; these positions' keys and values are added to it. A whole prompt runs as one call (positions 0..t-1,
    /// causal), then one token per call. Returns <c>(n, t, vocab_size)</c> in fp32. Call under
    /// <c>torch.no_grad()</c> in eval mode (no dropout is applied).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that disagree, or the cache was made for another model.</exception>
    public Tensor forward(Tensor tokens, Tensor positions, KvCache cache, Tensor slots)
    {
        ArgumentNullException.ThrowIfNull(cache);
        long n = tokens.shape[0], seqlen = tokens.shape[1];
        if (positions.shape.Length != 2 || positions.shape[0] != n || positions.shape[1] != seqlen || slots.shape.Length != 1 || slots.shape[0] != n)
            throw new ArgumentException($"A cached forward takes tokens and positions of one shape (n, t) and n slots; got tokens ({string.Join(", ", tokens.shape)}), positions ({string.Join(", ", positions.shape)}), slots ({string.Join(", ", slots.shape)}).");
        if (cache.MaxSeqLen != _config.MaxSeqLen)
            throw new ArgumentException($"The key/value cache holds {cache.MaxSeqLen} positions but the model's MaxSeqLen is {_config.MaxSeqLen}.", nameof(cache));

        var h = tok_embeddings.forward(tokens);                                  // (n, t, dim)
        // each row's own RoPE angles
        var flat = positions.reshape(-1);
        var cos = freqs_cos.index_select(0, flat).view(n, seqlen, -1);          // (n, t, hd/2)
        var sin = freqs_sin.index_select(0, flat).view(n, seqlen, -1);
        var step = CacheStep.Of(slots, positions);

        foreach (var layer in layers) h = layer.forward(h, cos, sin, cache, step);
        h = norm.forward(h);

        return _options.Linear(h, output.weight!).to(ScalarType.Float32);      // (n, t, vocab)
    }

    /// <summary>Mean cross-entropy of <paramref name="logits"/> <c>(b, t, v)</c> against <paramref name="targets"/> <c>(b, t)</c>; target -1 is ignored.</summary>
    public static Tensor Loss(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: -1);

    /// <summary>
    /// Writes the configuration and the weights to <paramref name="stream"/> (left open), in the format
    /// <see cref="Load(Stream)"/> reads.
    /// </summary>
    /// <remarks>
    /// *** Binary format ***
    /// 8 bytes ASCII "TLLMWGT1";
    /// int32 length + UTF-8 JSON of <see cref="LlamaConfig"/>;
    /// TorchSharp's state dictionary (<c>Module.save</c>): int count, then per entry name + tensor.
    /// </remarks>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Encoding.ASCII.GetBytes(WeightsMagic));
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(_config);
        writer.Write(json.Length);
        writer.Write(json);
        SaveStateDictionary(writer);
        writer.Flush();
    }

    /// <summary>Reads a model written by <see cref="Save(Stream)"/> (onto the CPU).</summary>
    /// <exception cref="InvalidDataException">The stream does not hold such a model or is damaged.</exception>
    public static LlamaModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            string magic = Encoding.ASCII.GetString(reader.ReadBytes(WeightsMagic.Length));
            if (magic != WeightsMagic)
                throw new InvalidDataException($"The stream does not hold TinyLlm model weights (expected the header '{WeightsMagic}').");
            int length = reader.ReadInt32();
            if (length <= 0 || length > 1 << 20) throw new InvalidDataException($"The model weights' configuration length {length} is out of range.");
            var config = JsonSerializer.Deserialize<LlamaConfig>(reader.ReadBytes(length))
                ?? throw new InvalidDataException("The model weights hold no configuration.");
            var model = new LlamaModel(config);
            model.LoadStateDictionary(reader, "the model stream");
            return model;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The model weights stream ends early: it is truncated.", e);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model weights' configuration is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Writes the state dictionary (TorchSharp format) to <paramref name="writer"/>.</summary>
    internal void SaveStateDictionary(BinaryWriter writer) => save(writer);

    /// <summary>Reads a state dictionary written by <see cref="SaveStateDictionary"/>; errors name <paramref name="source"/>.</summary>
    internal void LoadStateDictionary(BinaryReader reader, string source)
    {
        try
        {
            load(reader, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or NotImplementedException)
        {
            throw new InvalidDataException($"The weights in {source} do not fit a model of this architecture: {e.Message}", e);
        }
        // Loading writes into the existing tensors, so the tie survives; check it anyway.
        if (_config.SharedClassifier && tok_embeddings.Weight.Handle != output.weight!.Handle) tok_embeddings.Tie(output.weight);
    }

    /// <summary>N(0, 0.02) everywhere, then the scaled draw for the residual projections (see the constructor).</summary>
    private void InitializeWeights()
    {
        using var noGrad = torch.no_grad();
        double residualStd = 0.02 / Math.Sqrt(2.0 * _config.NLayers);
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() < 2) continue; // RMSNorm gains stay 1
            bool residual = name.EndsWith("w3.weight", StringComparison.Ordinal) || name.EndsWith("wo.weight", StringComparison.Ordinal);
            nn.init.normal_(p, 0.0, residual ? residualStd : 0.02);
        }
    }

    // A device or dtype move replaces each module's parameters one by one, which would split the tied
    // embedding/output weight into two tensors (and dispose the shared one under the other module). Untie, move,
    // and tie again to the moved output weight.
    /// <inheritdoc/>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => Retied(() => base._to(device, dtype, non_blocking));

    /// <inheritdoc/>
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) => Retied(() => base._to(deviceType, deviceIndex, non_blocking));

    /// <inheritdoc/>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => Retied(() => base._to(dtype, non_blocking));

    private nn.Module Retied(Func<nn.Module> move)
    {
        if (!_config.SharedClassifier) return move(); // two tables of their own: each moves like any parameter
        tok_embeddings.Tie(null);
        try
        {
            return move();
        }
        finally
        {
            tok_embeddings.Tie(output.weight);
        }
    }
}
