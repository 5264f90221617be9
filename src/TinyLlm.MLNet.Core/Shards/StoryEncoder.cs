using Microsoft.ML.Tokenizers;
using TinyLlm.MLNet.Stories;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Encodes stories as llama2.c's pretokenize does (<c>[BOS] + encode(story.strip())</c>) with Microsoft.ML.Tokenizers,
/// memoizing the encoding of each word.
/// </summary>
/// <remarks>
/// Why memoizing is exact: SentencePiece BPE only merges adjacent symbols into pieces of the vocabulary, so when no
/// piece holds a word boundary inside it (a <c>▁</c> right after a non-<c>▁</c> character), no merge can cross the
/// boundary and the normalized text encodes as the concatenation of its words' encodings, each word being a run of
/// <c>▁</c> and the characters up to the next boundary. That property is checked on the model's vocabulary when the
/// encoder is made; a model without it is encoded story by story. TinyStories repeats a small set of words, so after
/// a few thousand stories almost every word is a dictionary hit and the BPE runs only on new words.
/// </remarks>
internal sealed class StoryEncoder
{
    private const char WordBoundary = '\u2581'; // ▁, SentencePiece's escaped space
    private const int MaxCachedWords = 1 << 20;

    private readonly SentencePieceModel _model;
    private readonly SentencePieceTokenizer _tokenizer;
    private readonly ushort _bos;
    private readonly bool _memoize;
    private readonly ThreadLocal<Dictionary<string, ushort[]>> _words = new(() => new Dictionary<string, ushort[]>(StringComparer.Ordinal));

    public StoryEncoder(SentencePieceModel model, SentencePieceTokenizer tokenizer, bool memoizeWords)
    {
        _model = model;
        _tokenizer = tokenizer;
        _bos = checked((ushort)tokenizer.BeginningOfSentenceId);
        _memoize = memoizeWords && CanSplitAtWords(tokenizer);
    }

    /// <summary>Whether words are memoized (the model allows it and it was asked for).</summary>
    public bool MemoizesWords => _memoize;

    /// <summary>Appends <c>[BOS] + encode(story.strip())</c> to <paramref name="output"/>, CRLF read as LF.</summary>
    public void Encode(string story, List<ushort> output)
    {
        string text = PythonStrip(LineEndings.ToLf(story ?? ""));
        // BOS is added here, not by the tokenizer: for empty text it returns no ids at all, llama2.c still writes BOS.
        output.Add(_bos);
        if (text.Length == 0) return;
        if (!_memoize)
        {
            foreach (int id in _model.Encode(text, addBeginningOfSentence: false, addEndOfSentence: false)) output.Add((ushort)id);
            return;
        }

        // SentencePieceModel's normalization: Microsoft.ML.Tokenizers 2.0.1's drops one-character texts.
        string normalized = _model.Normalize(text);
        var words = _words.Value!;
        if (words.Count > MaxCachedWords) words.Clear(); // bound memory on unusual corpora
        var lookup = words.GetAlternateLookup<ReadOnlySpan<char>>();
        int start = 0;
        for (int i = 1; i <= normalized.Length; i++)
        {
            if (i < normalized.Length && !(normalized[i] == WordBoundary && normalized[i - 1] != WordBoundary)) continue;
            var word = normalized.AsSpan(start, i - start);
            if (!lookup.TryGetValue(word, out var ids))
            {
                var encoded = _tokenizer.EncodeToIds(word, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false);
                ids = new ushort[encoded.Count];
                for (int k = 0; k < ids.Length; k++) ids[k] = (ushort)encoded[k];
                lookup[word] = ids;
            }
            output.AddRange(ids);
            start = i;
        }
    }

    /// <summary>Python's <c>str.strip()</c>: .NET's white space plus the separators U+001C..U+001F that Python also strips.</summary>
    internal static string PythonStrip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsPythonSpace(s[start])) start++;
        while (end > start && IsPythonSpace(s[end - 1])) end--;
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    /// <summary>True when no piece can join two words: no piece has a <c>▁</c> right after another character.</summary>
    private static bool CanSplitAtWords(SentencePieceTokenizer tokenizer)
    {
        if (tokenizer.Normalizer is null || tokenizer.TreatWhitespaceAsSuffix || !tokenizer.EscapeWhiteSpaces || tokenizer.SpecialTokens is { Count: > 0 })
            return false;
        foreach (string piece in tokenizer.Vocabulary.Keys)
        {
            for (int i = 1; i < piece.Length; i++)
                if (piece[i] == WordBoundary && piece[i - 1] != WordBoundary) return false;
        }
        return true;
    }
}
