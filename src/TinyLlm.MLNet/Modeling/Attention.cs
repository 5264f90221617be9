using TinyLlm.MLNet.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// Causal multi-head self-attention with grouped-query attention (<c>n_kv_heads</c> key/value heads shared by
/// groups of query heads) and rotary position embeddings. No biases.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly int _nHeads, _nKvHeads, _headDim;
    private readonly double _dropout;
    private readonly ForwardOptions _options;
    private readonly Linear wq, wk, wv, wo;
    private readonly Dropout attn_dropout, resid_dropout;

    internal Attention(LlamaConfig config, ForwardOptions options) : base(nameof(Attention))
    {
        _nHeads = config.NHeads;
        _nKvHeads = config.NKvHeads;
        _headDim = config.HeadDim;
        _dropout = config.Dropout;
        _options = options;
        wq = nn.Linear(config.Dim, _nHeads * _headDim, hasBias: false);
        wk = nn.Linear(config.Dim, _nKvHeads * _headDim, hasBias: false);
        wv = nn.Linear(config.Dim, _nKvHeads * _headDim, hasBias: false);
        wo = nn.Linear(_nHeads * _headDim, config.Dim, hasBias: false);
        attn_dropout = nn.Dropout(config.Dropout);
        resid_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>
    /// Attends over <paramref name="x"/> <c>(batch, seq, dim)</c>; <paramref name="cos"/>/<paramref name="sin"/>
    /// are the RoPE tables for positions 0..seq-1, each <c>(seq, headDim / 2)</c>. Returns <c>(batch, seq, dim)</c>.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        var (xq, xk, xv) = QueryKeyValue(x, cos, sin);
        var output = Attend(xq, xk, xv, mask: null);
        return Project(output);
    }

    /// <summary>
    /// Attends with a key/value cache (inference): <paramref name="x"/> <c>(n, t, dim)</c> holds new tokens of the
    /// sequences in <paramref name="step"/>'s slots at its positions, <paramref name="cos"/>/<paramref name="sin"/>
    /// their RoPE angles <c>(n, t, headDim / 2)</c>. Their keys and values are stored in <paramref name="cache"/>
    /// and every query attends over its sequence's cached positions up to its own.
    /// </summary>
    internal Tensor forward(Tensor x, Tensor cos, Tensor sin, KvCache cache, int layer, CacheStep step)
    {
        var (xq, xk, xv) = QueryKeyValue(x, cos, sin);
        var (keys, values) = cache.Update(layer, xk, xv, step);                  // (n, cache_len, n_kv_heads, hd)
        var output = Attend(xq, keys.to(xq.dtype), values.to(xq.dtype), step.Mask);
        return Project(output);
    }

    // QKV projections (x cast to the compute type once for the three), then RoPE on queries and keys.
    private (Tensor Q, Tensor K, Tensor V) QueryKeyValue(Tensor x, Tensor cos, Tensor sin)
    {
        long bsz = x.shape[0], seqlen = x.shape[1];
        x = _options.ToCompute(x);
        var xq = _options.Linear(x, wq.weight!).view(bsz, seqlen, _nHeads, _headDim);
        var xk = _options.Linear(x, wk.weight!).view(bsz, seqlen, _nKvHeads, _headDim);
        var xv = _options.Linear(x, wv.weight!).view(bsz, seqlen, _nKvHeads, _headDim);

        // RoPE relative positional embeddings
        xq = Rope.Apply(xq, cos, sin);
        xk = Rope.Apply(xk, cos, sin);
        return (xq, xk, xv);
    }

    // softmax(q k^T / sqrt(hd)) v over heads; causal when mask is null, else mask (bool, true = visible) decides.
    // q is (bs, seqlen, n_heads, hd), k and v (bs, kvlen, n_kv_heads, hd); returns (bs, n_heads, seqlen, hd).
    private Tensor Attend(Tensor xq, Tensor xk, Tensor xv, Tensor? mask)
    {
        long seqlen = xq.shape[1], kvlen = xk.shape[1];

        // grouped-query attention: each kv head serves n_heads / n_kv_heads query heads.
        // libtorch's attention does not broadcast groups, so repeat k/v heads (head j serves queries j*rep..).
        int nRep = _nHeads / _nKvHeads;
        if (nRep > 1)
        {
            xk = xk.repeat_interleave(nRep, dim: 2);                             // (bs, kvlen, n_heads, hd)
            xv = xv.repeat_interleave(nRep, dim: 2);
        }

        // make heads into a batch dimension
        xq = xq.transpose(1, 2);                                                 // (bs, n_heads, seqlen, hd)
        xk = xk.transpose(1, 2);                                                 // (bs, n_heads, kvlen, hd)
        xv = xv.transpose(1, 2);

        double p = training ? _dropout : 0.0;
        if (_options.UseScaledDotProductAttention)
        {
            // libtorch's causal flag aligns the mask top-left, right only without a cache; a cache passes its own mask
            return mask is null
                ? nn.functional.scaled_dot_product_attention(xq, xk, xv, p: p, is_casual: true)
                : nn.functional.scaled_dot_product_attention(xq, xk, xv, attn_mask: mask, p: p, is_casual: false);
        }
        var scores = torch.matmul(xq, xk.transpose(2, 3)) / Math.Sqrt(_headDim); // (bs, n_heads, seqlen, kvlen)
        if (mask is null)
            scores = scores + torch.full(seqlen, kvlen, float.NegativeInfinity, device: xq.device).triu(1);
        else
            scores = scores.masked_fill(mask.logical_not(), float.NegativeInfinity);
        scores = nn.functional.softmax(scores.to(ScalarType.Float32), dim: -1).to(xq.dtype);
        scores = attn_dropout.forward(scores);
        return torch.matmul(scores, xv);                                         // (bs, n_heads, seqlen, hd)
    }

    // restore time as batch dimension, concat heads, and project into the residual stream
    private Tensor Project(Tensor output)
    {
        long bsz = output.shape[0], seqlen = output.shape[2];
        output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1);
        output = _options.Linear(output, wo.weight!);
        return resid_dropout.forward(output);
    }
}
