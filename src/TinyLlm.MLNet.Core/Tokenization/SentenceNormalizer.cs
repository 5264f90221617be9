namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// sentencepiece's "identity" normalization of one training line: spaces escaped to <c>▁</c>, an optional dummy
/// prefix, optional removal of extra spaces (normalizer.cc), then every special piece found in the text replaced by
/// the boundary character so training never learns it (trainer_interface.cc, LoadSentences).
/// </summary>
internal sealed class SentenceNormalizer
{
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    // Special pieces by first character, longest first, for the longest-match replacement.
    private readonly Dictionary<char, string[]> _specialsByFirstChar;

    public SentenceNormalizer(SentencePieceBpeOptions options, IEnumerable<string> specialPieces)
    {
        _addDummyPrefix = options.AddDummyPrefix;
        _removeExtraWhitespaces = options.RemoveExtraWhitespaces;
        _specialsByFirstChar = specialPieces
            .Where(p => p.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .GroupBy(p => p[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Length).ToArray());
    }

    /// <summary>Normalizes <paramref name="line"/> into <paramref name="output"/> (cleared first).</summary>
    public void Normalize(ReadOnlySpan<char> line, List<char> output)
    {
        output.Clear();
        int i = 0;
        if (_removeExtraWhitespaces)
            while (i < line.Length && line[i] == ' ') i++;
        if (i == line.Length) return;

        if (_addDummyPrefix) output.Add(SentencePieceSymbols.WhitespaceChar);

        bool previousWasSpace = _removeExtraWhitespaces;
        for (; i < line.Length; i++)
        {
            char c = line[i];
            if (c == ' ')
            {
                if (previousWasSpace) continue;
                output.Add(SentencePieceSymbols.WhitespaceChar);
                previousWasSpace = _removeExtraWhitespaces;
                continue;
            }
            previousWasSpace = false;
            if (char.IsHighSurrogate(c) && i + 1 < line.Length && char.IsLowSurrogate(line[i + 1]))
            {
                output.Add(c);
                output.Add(line[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                output.Add('\uFFFD'); // an unpaired surrogate is malformed text, as sentencepiece treats bad UTF-8
            }
            else
            {
                output.Add(c);
            }
        }

        if (_removeExtraWhitespaces)
            while (output.Count > 0 && output[^1] == SentencePieceSymbols.WhitespaceChar) output.RemoveAt(output.Count - 1);

        ReplaceSpecialPieces(output);
    }

    private void ReplaceSpecialPieces(List<char> text)
    {
        if (_specialsByFirstChar.Count == 0) return;
        bool any = false;
        foreach (char c in text)
            if (_specialsByFirstChar.ContainsKey(c)) { any = true; break; }
        if (!any) return;

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(text).ToArray().AsSpan();
        text.Clear();
        for (int i = 0; i < span.Length;)
        {
            int matched = 0;
            if (_specialsByFirstChar.TryGetValue(span[i], out var candidates))
            {
                foreach (var piece in candidates)
                    if (span[i..].StartsWith(piece, StringComparison.Ordinal)) { matched = piece.Length; break; }
            }
            if (matched > 0)
            {
                text.Add((char)SentencePieceSymbols.Boundary);
                i += matched;
            }
            else
            {
                text.Add(span[i++]);
            }
        }
    }
}
