namespace TinyLlm.MLNet.Stories;

/// <summary>
/// Windows (<c>\r\n</c>) and old Mac (<c>\r</c>) line endings as <c>\n</c>, so a story saved on Windows tokenizes,
/// pretokenizes and trains exactly like the same story with LF: a <c>\r</c> never reaches the tokenizer as a
/// character (where it would take a byte piece or a vocabulary slot of its own).
/// </summary>
internal static class LineEndings
{
    /// <summary><paramref name="text"/> with every <c>\r\n</c> and every lone <c>\r</c> turned into <c>\n</c>.</summary>
    public static string ToLf(string text) =>
        text.Contains('\r') ? text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : text;
}
