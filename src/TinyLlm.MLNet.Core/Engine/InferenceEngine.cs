using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// A pure .NET forward pass, one token per sequence per call, with a preallocated key/value cache: the counterpart
/// of llama2.c's <c>forward</c> in <c>run.c</c>. The engine holds <see cref="Slots"/> independent sequences; one
/// call can advance several of them together (a batch), which reads each weight once for all of them. It
/// allocates nothing per token. Not thread-safe: one engine per thread (engines can share one
/// <see cref="TransformerWeights"/>). The weight matrices are read in their stored <see cref="WeightFormat"/>
/// (fp32, bf16 or Q8_0; see <see cref="TransformerWeights.Convert"/>); activations, the cache and all other
/// arithmetic are fp32.
/// </summary>
public sealed class InferenceEngine : ITokenDecoder
{
    private readonly TransformerWeights _w;
    private readonly LlamaConfig _p;
    private readonly float _normEps;
    // Activations of the current position, (slot, width) each.
    private readonly float[] _x, _xb, _xb2, _hb, _hb2, _q, _att, _logits;
    // (slot, layer, seq_len, kv_dim) key and value cache.
    private readonly float[] _keyCache, _valueCache;
    // (seq_len, head_size / 2) rotary cos/sin tables.
    private readonly float[] _cos, _sin;
    private readonly MatVec _matVec;
    // Per-call offsets of the slots being run, into the activations and the cache.
    private readonly int[] _dimOffsets, _hiddenOffsets, _cacheRows, _vocabOffsets, _slotOf, _posOf;
    // The (slot, token, position) triples of one prefill step (or of a single-sequence Forward).
    private readonly int[] _stepSlots, _stepTokens, _stepPositions;
    // The attention of one layer, split by (sequence, head) across cores like the products.
    private readonly Action<int, int> _attendPart;
    private int _attendLayer, _attendCount;

    /// <summary>Creates an engine over <paramref name="weights"/> with room for <paramref name="slots"/> sequences.</summary>
    public InferenceEngine(TransformerWeights weights, int slots = 1)
    {
        _w = weights ?? throw new ArgumentNullException(nameof(weights));
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), $"An engine needs at least one sequence slot; got {slots}.");
        DecoderMemory.Check(weights.Config, slots);
        _p = weights.Config;
        _normEps = (float)_p.NormEps;
        Slots = slots;
        int d = _p.Dim;
        _x = new float[slots * d];
        _xb = new float[slots * d];
        _xb2 = new float[slots * d];
        _hb = new float[slots * _p.FeedForwardDim];
        _hb2 = new float[slots * _p.FeedForwardDim];
        _q = new float[slots * d];
        _att = new float[slots * _p.NHeads * _p.MaxSeqLen];
        _logits = new float[slots * _p.VocabSize];
        long cache = checked((long)slots * _p.NLayers * _p.MaxSeqLen * _p.KvDim);
        _keyCache = new float[cache];
        _valueCache = new float[cache];
        (_cos, _sin) = RotaryTables(_p);
        _matVec = new MatVec(slots, Math.Max(d, _p.FeedForwardDim));
        _dimOffsets = new int[slots];
        _hiddenOffsets = new int[slots];
        _cacheRows = new int[slots];
        _vocabOffsets = new int[slots];
        _slotOf = new int[slots];
        _posOf = new int[slots];
        _stepSlots = new int[slots];
        _stepTokens = new int[slots];
        _stepPositions = new int[slots];
        _attendPart = AttendPart;
    }

    /// <summary>The model's sizes.</summary>
    public LlamaConfig Config => _p;

    /// <summary>How many sequences the engine holds.</summary>
    public int Slots { get; }

    /// <summary>
    /// Runs token <paramref name="token"/> at position <paramref name="pos"/> of the sequence in slot 0 (every
    /// earlier position must have been run) and returns the logits for the next token. The span is overwritten
    /// by the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(int token, int pos)
    {
        // Not Forward([0], [token], [pos]): the compiler puts those collection expressions on the heap.
        _stepSlots[0] = 0;
        _stepTokens[0] = token;
        _stepPositions[0] = pos;
        Forward(new ReadOnlySpan<int>(_stepSlots, 0, 1), new ReadOnlySpan<int>(_stepTokens, 0, 1), new ReadOnlySpan<int>(_stepPositions, 0, 1));
        return new ReadOnlySpan<float>(_logits, 0, _p.VocabSize);
    }

    /// <summary>
    /// Runs, for each i, token <c>tokens[i]</c> at position <c>positions[i]</c> of the sequence in slot
    /// <c>slots[i]</c> (distinct slots), all in one pass over the weights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: no tier-0 warm-up
    public void Forward(ReadOnlySpan<int> slots, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
    {
        DecoderArguments.CheckForward(_p, Slots, slots, tokens, positions);
        int n = slots.Length;
        int d = _p.Dim, kvDim = _p.KvDim, hidden = _p.FeedForwardDim;
        for (int i = 0; i < n; i++)
        {
            int slot = slots[i], token = tokens[i], pos = positions[i];
            _slotOf[i] = slot;
            _posOf[i] = pos;
            _dimOffsets[i] = slot * d;
            _hiddenOffsets[i] = slot * hidden;
            _vocabOffsets[i] = slot * _p.VocabSize;
            _w.EmbeddingMatrix.Read((long)token * d, Slice(_x, slot * d, d));
        }
        var dims = new ReadOnlySpan<int>(_dimOffsets, 0, n);
        var hiddens = new ReadOnlySpan<int>(_hiddenOffsets, 0, n);

        for (int l = 0; l < _p.NLayers; l++)
        {
            // attention: rmsnorm, then q, k, v; k and v go straight into this position's cache row
            for (int i = 0; i < n; i++)
            {
                RmsNorm(Slice(_xb, _dimOffsets[i], d), Slice(_x, _dimOffsets[i], d), Slice(_w.AttentionNorm, l * d, d), _normEps);
                _cacheRows[i] = checked(((_slotOf[i] * _p.NLayers + l) * _p.MaxSeqLen + _posOf[i]) * kvDim);
            }
            var cacheRows = new ReadOnlySpan<int>(_cacheRows, 0, n);
            _matVec.Begin(_xb, d, dims);
            _matVec.Add(_q, _w.WqMatrix, (long)l * d * d, d, dims);
            _matVec.Add(_keyCache, _w.WkMatrix, (long)l * kvDim * d, kvDim, cacheRows);
            _matVec.Add(_valueCache, _w.WvMatrix, (long)l * kvDim * d, kvDim, cacheRows);
            _matVec.Run();

            long attention = 0;
            for (int i = 0; i < n; i++)
            {
                // RoPE: rotate each interleaved pair (x[2i], x[2i+1]) of every head of q and of k
                Rotate(_q, _dimOffsets[i], d, _posOf[i]);
                Rotate(_keyCache, _cacheRows[i], kvDim, _posOf[i]);
                attention += 2L * (_posOf[i] + 1) * d;
            }
            _attendLayer = l;
            _attendCount = n;
            int units = n * _p.NHeads;
            if (attention < MatVec.ParallelThreshold) AttendPart(0, 1);
            else RowWorkers.Shared.Run(_attendPart, Math.Min(units, RowWorkers.Shared.SuggestedChunks));

            _matVec.Begin(_xb, d, dims);
            _matVec.Add(_xb2, _w.WoMatrix, (long)l * d * d, d, dims);
            _matVec.Run();
            for (int i = 0; i < n; i++)
                StepKernels.AddInPlace(Slice(_x, _dimOffsets[i], d), Slice(_xb2, _dimOffsets[i], d)); // residual

            // feed-forward: w2(silu(w1 x) * w3 x)
            for (int i = 0; i < n; i++)
                RmsNorm(Slice(_xb, _dimOffsets[i], d), Slice(_x, _dimOffsets[i], d), Slice(_w.FfnNorm, l * d, d), _normEps);
            _matVec.Begin(_xb, d, dims);
            _matVec.Add(_hb, _w.W1Matrix, (long)l * hidden * d, hidden, hiddens);
            _matVec.Add(_hb2, _w.W3Matrix, (long)l * hidden * d, hidden, hiddens);
            _matVec.Run();
            for (int i = 0; i < n; i++)
                StepKernels.SiluMultiplyInPlace(Slice(_hb, _hiddenOffsets[i], hidden), Slice(_hb2, _hiddenOffsets[i], hidden));
            _matVec.Begin(_hb, hidden, hiddens);
            _matVec.Add(_xb, _w.W2Matrix, (long)l * d * hidden, d, dims);
            _matVec.Run();
            for (int i = 0; i < n; i++)
                StepKernels.AddInPlace(Slice(_x, _dimOffsets[i], d), Slice(_xb, _dimOffsets[i], d)); // residual
        }

        for (int i = 0; i < n; i++)
            RmsNorm(Slice(_x, _dimOffsets[i], d), Slice(_x, _dimOffsets[i], d), Slice(_w.FinalNorm, 0, d), _normEps);
        _matVec.Begin(_x, d, dims);
        _matVec.Add(_logits, _w.ClassifierMatrix, 0, _p.VocabSize, new ReadOnlySpan<int>(_vocabOffsets, 0, n));
        _matVec.Run();
    }

    /// <summary>
    /// Starts each sequence afresh in its slot: position by position, as one batch of the sequences that reach that
    /// far, so every weight is read once per position for all of them.
    /// </summary>
    public void Prefill(ReadOnlySpan<int> slots, ReadOnlySpan<int[]> sequences)
    {
        int longest = DecoderArguments.CheckPrefill(_p, Slots, slots, sequences);
        for (int pos = 0; pos < longest; pos++)
        {
            int n = 0;
            for (int i = 0; i < slots.Length; i++)
            {
                if (pos >= sequences[i].Length) continue;
                _stepSlots[n] = slots[i];
                _stepTokens[n] = sequences[i][pos];
                _stepPositions[n++] = pos;
            }
            Forward(new ReadOnlySpan<int>(_stepSlots, 0, n), new ReadOnlySpan<int>(_stepTokens, 0, n), new ReadOnlySpan<int>(_stepPositions, 0, n));
        }
    }

    /// <summary>The engine holds only managed arrays; nothing to release.</summary>
    public void Dispose() { }

    /// <summary>The logits computed for <paramref name="slot"/> by the last <see cref="Forward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{int})"/> that ran it.</summary>
    public ReadOnlySpan<float> Logits(int slot)
    {
        DecoderArguments.CheckSlot(slot, Slots);
        return new(_logits, slot * _p.VocabSize, _p.VocabSize);
    }

    private static Span<float> Slice(float[] a, int offset, int length) => new(a, offset, length);

    // Part p of n of this layer's attention: a contiguous range of the (sequence i, head h) pairs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per layer and token: no tier-0 code
    private void AttendPart(int part, int parts)
    {
        int units = _attendCount * _p.NHeads;
        for (int u = part * units / parts; u < (part + 1) * units / parts; u++)
        {
            int i = u / _p.NHeads;
            Attend(_slotOf[i], _attendLayer, _posOf[i], u % _p.NHeads);
        }
    }

    // Head h of the slot's query at this position attending over its cached positions 0..pos; result in _xb.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: no tier-0 warm-up
    private void Attend(int slot, int layer, int pos, int h)
    {
        int hs = _p.HeadDim, kvDim = _p.KvDim, groups = _p.NHeads / _p.NKvHeads, d = _p.Dim;
        float scale = 1f / MathF.Sqrt(hs);
        int layerBase = (slot * _p.NLayers + layer) * _p.MaxSeqLen * kvDim;
        ref float q = ref _q[slot * d + h * hs];
        var att = new Span<float>(_att, (slot * _p.NHeads + h) * _p.MaxSeqLen, pos + 1);
        int kvHead = (h / groups) * hs; // grouped-query attention: query heads share kv heads in order
        var path = KernelPaths.Current; // read once per head, not once per position
        // Head vectors are short (tens of floats): inlined loops, not a library call per position.
        for (int t = 0; t <= pos; t++)
            att[t] = HeadDot(path, ref q, ref _keyCache[layerBase + t * kvDim + kvHead], hs) * scale;
        StepKernels.SoftMaxInPlace(att);
        // The weighted sum of values is accumulated on this thread's stack and stored once: heads next to each other
        // share cache lines of _xb, and another core may be working on the neighbouring head.
        Span<float> sum = stackalloc float[hs];
        sum.Clear();
        ref float xb = ref MemoryMarshal.GetReference(sum);
        for (int t = 0; t <= pos; t++)
            HeadAxpy(path, att[t], ref _valueCache[layerBase + t * kvDim + kvHead], ref xb, hs);
        sum.CopyTo(new Span<float>(_xb, slot * d + h * hs, hs));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HeadDot(KernelPath path, ref float a, ref float b, int n)
    {
        int i = 0;
        float sum = 0;
        if (path >= KernelPath.Avx2 && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc);
            sum = Vector256.Sum(acc);
        }
        else if (path >= KernelPath.Vector128 && n >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref a, (nuint)i), Vector128.LoadUnsafe(ref b, (nuint)i), acc);
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        return sum;
    }

    // y += a * x over n floats.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HeadAxpy(KernelPath path, float a, ref float x, ref float y, int n)
    {
        int i = 0;
        if (path >= KernelPath.Avx2 && n >= Vector256<float>.Count)
        {
            var av = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref y, (nuint)i);
        }
        else if (path >= KernelPath.Vector128 && n >= Vector128<float>.Count)
        {
            var av = Vector128.Create(a);
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                Vector128.MultiplyAddEstimate(av, Vector128.LoadUnsafe(ref x, (nuint)i), Vector128.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref y, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref y, i) += a * Unsafe.Add(ref x, i);
    }

    // Rotates the interleaved pairs of each head in v[offset..offset+width) by the angles of position pos.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: no tier-0 warm-up
    private void Rotate(float[] v, int offset, int width, int pos)
    {
        int hs = _p.HeadDim, half = hs / 2;
        for (int i = 0; i < width; i += 2)
        {
            int f = pos * half + (i % hs) / 2;
            float c = _cos[f], s = _sin[f];
            float a = v[offset + i], b = v[offset + i + 1];
            v[offset + i] = a * c - b * s;
            v[offset + i + 1] = a * s + b * c;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per layer and token: no tier-0 code
    private static void RmsNorm(Span<float> output, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps)
    {
        float meanSquare = StepKernels.SumOfSquares(x) / x.Length;
        float inv = 1f / MathF.Sqrt(meanSquare + eps);
        StepKernels.ScaleMultiply(x, inv, weight, output);
    }

    /// <summary>cos/sin of pos * theta^(-2i/head_size) for every position and pair, as in llama2.c.</summary>
    internal static (float[] Cos, float[] Sin) RotaryTables(LlamaConfig p)
    {
        int half = p.HeadDim / 2;
        var cos = new float[p.MaxSeqLen * half];
        var sin = new float[p.MaxSeqLen * half];
        for (int i = 0; i < half; i++)
        {
            double freq = 1.0 / Math.Pow(p.RopeTheta, (2.0 * i) / p.HeadDim);
            for (int pos = 0; pos < p.MaxSeqLen; pos++)
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
