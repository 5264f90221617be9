using TinyLlm.MLNet.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// The keys and values of every position run so far, per layer, for several independent sequences (slots): what
/// lets <see cref="LlamaModel"/> decode one token at a time instead of re-running the whole sequence (Meta's llama
/// <c>cache_k</c>/<c>cache_v</c>). Allocated once, on the model's device.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys, _values; // per layer (slots, max_seq_len, n_kv_heads, head_dim)

    /// <summary>A zeroed cache for <paramref name="slots"/> sequences of up to <c>max_seq_len</c> positions.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slots"/> is less than 1.</exception>
    public KvCache(LlamaConfig config, int slots, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), $"A key/value cache needs at least one sequence slot; got {slots}.");
        Slots = slots;
        MaxSeqLen = config.MaxSeqLen;
        _keys = new Tensor[config.NLayers];
        _values = new Tensor[config.NLayers];
        for (int l = 0; l < config.NLayers; l++)
        {
            _keys[l] = torch.zeros([slots, config.MaxSeqLen, config.NKvHeads, config.HeadDim], dtype, device);
            _values[l] = torch.zeros([slots, config.MaxSeqLen, config.NKvHeads, config.HeadDim], dtype, device);
        }
    }

    /// <summary>How many sequences the cache holds.</summary>
    public int Slots { get; }

    /// <summary>Positions per sequence.</summary>
    public int MaxSeqLen { get; }

    /// <summary>
    /// Stores this step's keys and values <c>(n, t, n_kv_heads, head_dim)</c> of <paramref name="layer"/> at their
    /// slots and positions, then returns those sequences' cached keys and values for positions
    /// <c>0..step.Length-1</c>, each <c>(n, length, n_kv_heads, head_dim)</c>.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v, CacheStep step)
    {
        var keys = _keys[layer];
        var values = _values[layer];
        // cache[slot_i, position_ij] = k[i, j]
        var rows = step.Slots.unsqueeze(1).expand_as(step.Positions);
        keys.index_put_(k.to(keys.dtype), rows, step.Positions);
        values.index_put_(v.to(values.dtype), rows, step.Positions);
        return (keys.narrow(1, 0, step.Length).index_select(0, step.Slots), values.narrow(1, 0, step.Length).index_select(0, step.Slots));
    }

    /// <summary>Frees the cache tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}

/// <summary>
/// Which cache rows one cached forward pass touches: the slot of each batch row <c>(n)</c>, the position of each of
/// its tokens <c>(n, t)</c>, how many cached positions attention reads (the largest position + 1), and the mask that
/// lets each query see only its own sequence's positions up to its own <c>(n, 1, t, length)</c>.
/// </summary>
internal sealed record CacheStep(Tensor Slots, Tensor Positions, long Length, Tensor Mask)
{
    /// <summary>The step for rows at <paramref name="positions"/> of <paramref name="slots"/> (int64 tensors on the cache's device).</summary>
    public static CacheStep Of(Tensor slots, Tensor positions)
    {
        long length = positions.max().item<long>() + 1;
        // causal over cached positions: key position j is visible to the query at position p when j <= p
        var keyPositions = torch.arange(length, dtype: ScalarType.Int64, device: positions.device).view(1, 1, 1, length);
        var mask = keyPositions <= positions.unsqueeze(1).unsqueeze(-1);
        return new CacheStep(slots, positions, length, mask);
    }
}
