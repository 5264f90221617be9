namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Which character sequences may become a piece: sentencepiece's rules for length, whitespace position, digits,
/// and scripts (trainer_interface.cc, IsValidSentencePiece).
/// </summary>
internal sealed class PieceValidator
{
    private const int AnyScript = -1;
    private readonly SentencePieceBpeOptions _options;

    public PieceValidator(SentencePieceBpeOptions options) => _options = options;

    private static bool IsDecimalDigit(int c) => (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19);

    /// <summary>True when <paramref name="piece"/> (code points) may be a vocabulary piece.</summary>
    public bool IsValid(ReadOnlySpan<int> piece)
    {
        if (piece.Length == 0 || piece.Length > _options.MaxSentencePieceLength) return false;

        bool allWhitespace = true;
        foreach (int c in piece)
            if (c != SentencePieceSymbols.Whitespace) { allWhitespace = false; break; }

        int previousScript = AnyScript;
        for (int pos = 0; pos < piece.Length; pos++)
        {
            int c = piece[pos];
            // The unknown marker, NUL (the trie cannot hold it), the user-symbol boundary and raw spaces never enter a piece.
            if (c == SentencePieceSymbols.Unknown || c == 0 || c == SentencePieceSymbols.Boundary || c == ' ') return false;
            if (!IsValidCodePoint(c)) return false;

            if (c == SentencePieceSymbols.Whitespace)
            {
                // Whitespace only as a prefix (we never treat it as a suffix), unless the piece is all whitespace.
                if (!_options.AllowWhitespaceOnlyPieces || !allWhitespace)
                {
                    if (_options.SplitByWhitespace ? pos > 0 : pos > 0 && pos == piece.Length - 1) return false;
                }
                continue;
            }

            int script = UnicodeScript.Of(c);
            // Kana and the prolonged sound mark count as Han so Japanese words can merge; combining marks take
            // the script of what they follow.
            if (script == UnicodeScript.Hiragana || script == UnicodeScript.Katakana || c == 0x30FC) script = UnicodeScript.Han;
            else if (script == UnicodeScript.Inherited) script = previousScript;

            if (!_options.SplitByNumber && IsDecimalDigit(c)) script = AnyScript;
            if (_options.SplitDigits && IsDecimalDigit(c) && piece.Length > 1) return false;

            if (_options.SplitByUnicodeScript && script != AnyScript && previousScript != AnyScript && previousScript != script)
                return false;
            previousScript = script;
        }
        return true;
    }

    public static bool IsValidCodePoint(int c) => (uint)c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF);
}
