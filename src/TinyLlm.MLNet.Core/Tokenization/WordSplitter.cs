namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Splits a normalized line into the words that BPE counts pairs in: each word starts at a <c>▁</c>, so the space
/// is a prefix of the word after it (model_interface.cc, SplitIntoWords). With whitespace-only pieces allowed, a
/// run of <c>▁</c> stays together in front of the next word.
/// </summary>
internal static class WordSplitter
{
    /// <summary>Calls <paramref name="onWord"/> with (start, length) of each word of <paramref name="text"/>.</summary>
    public static void Split<TState>(ReadOnlySpan<char> text, bool allowWhitespaceOnlyPieces, ref TState state, WordAction<TState> onWord)
    {
        if (text.IsEmpty) return;
        int start = 0;
        bool inWhitespaceRun = false;
        for (int i = 0; i < text.Length; i++)
        {
            bool isWhitespace = text[i] == SentencePieceSymbols.WhitespaceChar;
            if (i == 0 || (isWhitespace && (!inWhitespaceRun || !allowWhitespaceOnlyPieces)))
            {
                if (i > 0) onWord(ref state, text[start..i]);
                start = i;
                inWhitespaceRun = true;
            }
            if (inWhitespaceRun && !isWhitespace) inWhitespaceRun = false;
        }
        onWord(ref state, text[start..]);
    }

    /// <summary>Receives one word.</summary>
    public delegate void WordAction<TState>(ref TState state, ReadOnlySpan<char> word);
}
