using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// A pure .NET forward pass for one sequence, one token at a time, with a preallocated key/value cache: the
/// counterpart of llama2.c's <c>forward</c> in <c>run.c</c>. It allocates nothing per token. Not thread-safe:
/// one engine per concurrent sequence (they can share one <see cref="TransformerWeights"/>).
/// </summary>
public sealed class InferenceEngine
{
    private readonly TransformerWeights _w;
    private readonly ModelDimensions _p;
    // Activations for the current position.
    private readonly float[] _x, _xb, _xb2, _hb, _hb2, _q, _att, _logits;
    // (layer, seq_len, kv_dim) key and value cache.
    private readonly float[] _keyCache, _valueCache;
    // (seq_len, head_size / 2) rotary cos/sin tables.
    private readonly float[] _cos, _sin;
    private readonly MatVec _matVec = new();

    /// <summary>Creates an engine over <paramref name="weights"/>.</summary>
    public InferenceEngine(TransformerWeights weights)
    {
        _w = weights ?? throw new ArgumentNullException(nameof(weights));
        _p = weights.Dims;
        int d = _p.Dim;
        _x = new float[d];
        _xb = new float[d];
        _xb2 = new float[d];
        _hb = new float[_p.HiddenDim];
        _hb2 = new float[_p.HiddenDim];
        _q = new float[d];
        _att = new float[_p.NHeads * _p.SeqLen];
        _logits = new float[_p.VocabSize];
        _keyCache = new float[(long)_p.NLayers * _p.SeqLen * _p.KvDim];
        _valueCache = new float[(long)_p.NLayers * _p.SeqLen * _p.KvDim];
        (_cos, _sin) = RotaryTables(_p);
    }

    /// <summary>The model's sizes.</summary>
    public ModelDimensions Dims => _p;

    /// <summary>
    /// Runs token <paramref name="token"/> at position <paramref name="pos"/> (every earlier position must have
    /// been run) and returns the logits for the next token. The span is overwritten by the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(int token, int pos)
    {
        if ((uint)token >= (uint)_p.VocabSize) throw new ArgumentOutOfRangeException(nameof(token), $"Token id {token} is outside the vocabulary [0, {_p.VocabSize}).");
        if ((uint)pos >= (uint)_p.SeqLen) throw new ArgumentOutOfRangeException(nameof(pos), $"Position {pos} is outside the context [0, {_p.SeqLen}).");
        int d = _p.Dim, kvDim = _p.KvDim, hidden = _p.HiddenDim, hs = _p.HeadSize;

        Array.Copy(_w.TokenEmbedding, (long)token * d, _x, 0, d);

        for (int l = 0; l < _p.NLayers; l++)
        {
            // attention: rmsnorm, then q, k, v; k and v go straight into this position's cache slot
            RmsNorm(_xb, _x, _w.AttentionNorm, l * d, _p.NormEps);
            int cacheRow = checked((l * _p.SeqLen + pos) * kvDim);
            _matVec.Begin(_xb, d);
            _matVec.Add(_q, _w.Wq, (long)l * d * d, d);
            _matVec.Add(_keyCache, _w.Wk, (long)l * kvDim * d, kvDim, yOffset: cacheRow);
            _matVec.Add(_valueCache, _w.Wv, (long)l * kvDim * d, kvDim, yOffset: cacheRow);
            _matVec.Run();

            // RoPE: rotate each interleaved pair (x[2i], x[2i+1]) of every head of q and of k
            Rotate(_q, 0, d, pos);
            Rotate(_keyCache, cacheRow, kvDim, pos);

            Attend(l, pos);

            _matVec.Multiply(_xb2, _w.Wo, (long)l * d * d, _xb, d, d);
            TensorPrimitives.Add(_x, _xb2, _x); // residual

            // feed-forward: w2(silu(w1 x) * w3 x)
            RmsNorm(_xb, _x, _w.FfnNorm, l * d, _p.NormEps);
            _matVec.Begin(_xb, d);
            _matVec.Add(_hb, _w.W1, (long)l * hidden * d, hidden);
            _matVec.Add(_hb2, _w.W3, (long)l * hidden * d, hidden);
            _matVec.Run();
            Silu(_hb);
            TensorPrimitives.Multiply(_hb, _hb2, _hb);
            _matVec.Multiply(_xb, _w.W2, (long)l * d * hidden, _hb, d, hidden);
            TensorPrimitives.Add(_x, _xb, _x); // residual
        }

        RmsNorm(_x, _x, _w.FinalNorm, 0, _p.NormEps);
        _matVec.Multiply(_logits, _w.Classifier, 0, _x, _p.VocabSize, d);
        return _logits;
    }

    // Multi-head attention of this position's queries over cached positions 0..pos; result in _xb.
    private void Attend(int layer, int pos)
    {
        int hs = _p.HeadSize, kvDim = _p.KvDim, groups = _p.NHeads / _p.NKvHeads;
        float scale = 1f / MathF.Sqrt(hs);
        int layerBase = layer * _p.SeqLen * kvDim;
        for (int h = 0; h < _p.NHeads; h++)
        {
            ref float q = ref _q[h * hs];
            var att = new Span<float>(_att, h * _p.SeqLen, pos + 1);
            int kvHead = (h / groups) * hs; // grouped-query attention: query heads share kv heads in order
            // Head vectors are short (tens of floats): inlined loops, not a library call per position.
            for (int t = 0; t <= pos; t++)
                att[t] = HeadDot(ref q, ref _keyCache[layerBase + t * kvDim + kvHead], hs) * scale;
            TensorPrimitives.SoftMax(att, att);
            ref float xb = ref _xb[h * hs];
            new Span<float>(_xb, h * hs, hs).Clear();
            for (int t = 0; t <= pos; t++)
                HeadAxpy(att[t], ref _valueCache[layerBase + t * kvDim + kvHead], ref xb, hs);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HeadDot(ref float a, ref float b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc);
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        return sum;
    }

    // y += a * x over n floats.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeadAxpy(float a, ref float x, ref float y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var av = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref y, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) += a * Unsafe.Add(ref x, i);
    }

    // Rotates the interleaved pairs of each head in v[offset..offset+width) by the angles of position pos.
    private void Rotate(float[] v, int offset, int width, int pos)
    {
        int hs = _p.HeadSize, half = hs / 2;
        for (int i = 0; i < width; i += 2)
        {
            int f = pos * half + (i % hs) / 2;
            float c = _cos[f], s = _sin[f];
            float a = v[offset + i], b = v[offset + i + 1];
            v[offset + i] = a * c - b * s;
            v[offset + i + 1] = a * s + b * c;
        }
    }

    private static void RmsNorm(float[] output, float[] x, float[] weight, int weightOffset, float eps)
    {
        float meanSquare = TensorPrimitives.SumOfSquares(x) / x.Length;
        float inv = 1f / MathF.Sqrt(meanSquare + eps);
        TensorPrimitives.Multiply(x, inv, output);
        TensorPrimitives.Multiply(output, new ReadOnlySpan<float>(weight, weightOffset, x.Length), output);
    }

    private static void Silu(float[] v)
    {
        for (int i = 0; i < v.Length; i++) v[i] /= 1f + MathF.Exp(-v[i]);
    }

    /// <summary>cos/sin of pos * theta^(-2i/head_size) for every position and pair, as in llama2.c.</summary>
    internal static (float[] Cos, float[] Sin) RotaryTables(ModelDimensions p)
    {
        int half = p.HeadSize / 2;
        var cos = new float[p.SeqLen * half];
        var sin = new float[p.SeqLen * half];
        for (int i = 0; i < half; i++)
        {
            double freq = 1.0 / Math.Pow(p.RopeTheta, (2.0 * i) / p.HeadSize);
            for (int pos = 0; pos < p.SeqLen; pos++)
            {
                // Computed in float like the reference (torch.outer on float32 freqs), so angles round identically.
                float angle = pos * (float)freq;
                cos[pos * half + i] = MathF.Cos(angle);
                sin[pos * half + i] = MathF.Sin(angle);
            }
        }
        return (cos, sin);
    }
}
