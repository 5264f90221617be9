namespace TinyLlm.MLNet.Tokenization;

/// <summary>The characters with a fixed meaning in sentencepiece's training.</summary>
internal static class SentencePieceSymbols
{
    /// <summary>U+2581 LOWER ONE EIGHTH BLOCK: the escaped space.</summary>
    public const int Whitespace = 0x2581;
    public const char WhitespaceChar = '\u2581';

    /// <summary>U+2585: marks characters outside the required set during training; lines holding it are skipped.</summary>
    public const int Unknown = 0x2585;
    public const char UnknownChar = '\u2585';

    /// <summary>Tab: replaces special pieces (user-defined, control, byte pieces) found in training text.</summary>
    public const int Boundary = '\t';

    /// <summary>The text of byte piece <paramref name="b"/>: <c>&lt;0x41&gt;</c>.</summary>
    public static string BytePiece(int b) => $"<0x{b:X2}>";
}
