namespace TinyLlm.MLNet.Engine;

/// <summary>
/// Scores windows on an <see cref="ITokenDecoder"/> (the .NET engine): window i runs in slot i, and each step advances
/// every window that still has a target by one position, in one pass over the weights; the log-softmax of each
/// slot's logits is taken in double precision.
/// </summary>
internal sealed class DecoderWindowScorer : IWindowScorer
{
    private readonly ITokenDecoder _decoder;
    private readonly int[] _slots, _tokens, _positions;

    /// <summary>A scorer over <paramref name="decoder"/> (owned: disposed with the scorer), one window per slot.</summary>
    public DecoderWindowScorer(ITokenDecoder decoder)
    {
        _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        _slots = new int[decoder.Slots];
        _tokens = new int[decoder.Slots];
        _positions = new int[decoder.Slots];
    }

    public LlamaConfig Config => _decoder.Config;

    public int MaxWindows => _decoder.Slots;

    public void Score(ReadOnlySpan<int[]> windows, Span<double> nll)
    {
        DecoderArguments.CheckWindows(Config, MaxWindows, windows, nll.Length);
        nll.Clear();
        int steps = 0;
        foreach (var w in windows) steps = Math.Max(steps, w.Length - 1);
        for (int p = 0; p < steps; p++)
        {
            int k = 0;
            for (int i = 0; i < windows.Length; i++)
            {
                if (windows[i].Length - 1 <= p) continue;
                _slots[k] = i;
                _tokens[k] = windows[i][p];
                _positions[k] = p;
                k++;
            }
            _decoder.Forward(_slots.AsSpan(0, k), _tokens.AsSpan(0, k), _positions.AsSpan(0, k));
            for (int j = 0; j < k; j++)
            {
                int i = _slots[j];
                nll[i] += NegativeLogLikelihood(_decoder.Logits(i), windows[i][p + 1]);
            }
        }
    }

    /// <summary><c>-log softmax(logits)[target]</c> = logsumexp(logits) - logits[target], in double.</summary>
    internal static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return max + Math.Log(sum) - logits[target];
    }

    public void Dispose() => _decoder.Dispose();
}
