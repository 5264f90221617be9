using System.Runtime.CompilerServices;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Draws the next token from logits: temperature, then top-k, then top-p (nucleus), then a draw from the
/// renormalised distribution. Its random numbers come from its own xorshift generator so that a seed gives the
/// same tokens on every machine and runtime. Buffers are allocated once; sampling allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly float[] _probs;
    private readonly int[] _order;
    private readonly float[] _negKeys;
    private ulong _state;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(int vocabSize, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _probs = new float[vocabSize];
        _order = new int[vocabSize];
        _negKeys = new float[vocabSize];
        _state = options.Seed == 0 ? 0x9E3779B97F4A7C15UL : options.Seed;
    }

    /// <summary>Picks the next token id from <paramref name="logits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per token from the first: no tier-0 warm-up
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length != _probs.Length)
            throw new ArgumentException($"Expected {_probs.Length} logits, got {logits.Length}.", nameof(logits));
        if (_options.Temperature < SamplingOptions.GreedyBelow)
            return StepKernels.IndexOfMax(logits);

        // (logit - max) / temperature: at most 0, so neither the division nor the exponentials below can overflow.
        var probs = _probs.AsSpan();
        float maxLogit = logits[StepKernels.IndexOfMax(logits)];
        for (int i = 0; i < probs.Length; i++) probs[i] = (logits[i] - maxLogit) / _options.Temperature;
        int k = Math.Min(_options.TopK, probs.Length);
        bool filter = k < probs.Length || _options.TopP < 1f;
        if (!filter)
        {
            StepKernels.SoftMaxInPlace(probs);
            return Draw(probs, null, probs.Length);
        }

        // Candidates ordered by logit, highest first: select the top k, then sort only those.
        var negKeys = _negKeys.AsSpan();
        for (int i = 0; i < _order.Length; i++) { _order[i] = i; negKeys[i] = -probs[i]; }
        if (k < _order.Length) SelectSmallest(_negKeys, _order, k);
        Array.Sort(_negKeys, _order, 0, k);
        // Softmax over the kept candidates only.
        float max = probs[_order[0]];
        float sum = 0;
        for (int i = 0; i < k; i++) sum += probs[_order[i]] = MathF.Exp(probs[_order[i]] - max);
        for (int i = 0; i < k; i++) probs[_order[i]] /= sum;
        // Nucleus: the shortest prefix whose mass reaches top_p.
        int n = k;
        if (_options.TopP < 1f)
        {
            float cumulative = 0;
            for (int i = 0; i < k; i++)
            {
                cumulative += probs[_order[i]];
                if (cumulative >= _options.TopP) { n = i + 1; break; }
            }
        }
        return Draw(probs, _order, n);
    }

    // Quickselect: moves the k smallest keys (with their ids) to the front, in no particular order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SelectSmallest(float[] keys, int[] ids, int k)
    {
        int lo = 0, hi = keys.Length - 1;
        while (lo < hi)
        {
            float pivot = keys[lo + (hi - lo) / 2];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    (ids[i], ids[j]) = (ids[j], ids[i]);
                    i++; j--;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }

    // Inverse-CDF draw over the first n candidates (in 'order' if given), renormalised to their mass.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Draw(ReadOnlySpan<float> probs, int[]? order, int n)
    {
        float mass = 0;
        for (int i = 0; i < n; i++) mass += probs[order is null ? i : order[i]];
        float r = NextFloat() * mass;
        float cdf = 0;
        for (int i = 0; i < n; i++)
        {
            int id = order is null ? i : order[i];
            cdf += probs[id];
            if (r < cdf) return id;
        }
        return order is null ? n - 1 : order[n - 1]; // rounding left r at the very top
    }

    // xorshift64*, uniform in [0, 1) with 24 bits like llama2.c's random_f32.
    private float NextFloat()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return ((_state * 0x2545F4914F6CDD1DUL) >> 40) / 16777216.0f;
    }
}
