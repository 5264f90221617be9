namespace TinyLlm.MLNet.Serving;

/// <summary>
/// Cuts a stream of text before the first occurrence of any of a request's stop sequences. Text that could still be
/// the start of a stop sequence is held back until the next piece shows whether it is, so nothing past the cut is
/// ever released, and the released pieces add up to the final text.
/// </summary>
internal sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private string _held = "";

    /// <summary>True once a stop sequence was found; later pieces are dropped.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Takes the next piece of text; returns the text that can be released now.</summary>
    public string Push(string piece)
    {
        if (Stopped) return "";
        if (stops.Count == 0) return piece;
        string text = _held + piece;
        int cut = -1;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _held = "";
            return text[..cut];
        }
        int hold = HeldBack(text);
        _held = text[^hold..];
        return text[..^hold];
    }

    /// <summary>At the end of generation: the text held back, which no stop sequence completed.</summary>
    public string Flush()
    {
        string rest = _held;
        _held = "";
        return rest;
    }

    // The longest end of the text that is the start of some stop sequence.
    private int HeldBack(string text)
    {
        int longest = 0;
        foreach (string stop in stops)
            for (int n = Math.Min(stop.Length - 1, text.Length); n > longest; n--)
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    longest = n;
                    break;
                }
        return longest;
    }
}
