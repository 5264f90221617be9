using TinyLlm.MLNet.Engine;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>One pre-norm decoder block: <c>h = x + attention(norm(x))</c>, <c>out = h + feed_forward(norm(h))</c>.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Attention attention;
    private readonly FeedForward feed_forward;
    private readonly RMSNorm attention_norm, ffn_norm;
    private readonly int _layerId;

    internal TransformerBlock(int layerId, LlamaConfig config, ForwardOptions options) : base($"{nameof(TransformerBlock)}{layerId}")
    {
        _layerId = layerId;
        attention = new Attention(config, options);
        feed_forward = new FeedForward(config, options);
        attention_norm = new RMSNorm(config.Dim, config.NormEps);
        ffn_norm = new RMSNorm(config.Dim, config.NormEps);
        RegisterComponents();
    }

    /// <summary>Applies the block to <paramref name="x"/> <c>(batch, seq, dim)</c> with the RoPE tables for its positions.</summary>
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        // The residual stream keeps the type of x (fp32); branch outputs in the compute type are promoted by the add.
        var h = x + attention.forward(attention_norm.forward(x), cos, sin).to(x.dtype);
        return h + feed_forward.forward(ffn_norm.forward(h)).to(h.dtype);
    }

    /// <summary>The block with a key/value cache (inference): attention stores and reads this layer's part of <paramref name="cache"/>.</summary>
    internal Tensor forward(Tensor x, Tensor cos, Tensor sin, KvCache cache, CacheStep step)
    {
        var h = x + attention.forward(attention_norm.forward(x), cos, sin, cache, _layerId, step).to(x.dtype);
        return h + feed_forward.forward(ffn_norm.forward(h)).to(h.dtype);
    }
}
