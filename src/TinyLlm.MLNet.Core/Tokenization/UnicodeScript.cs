namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// The Unicode script of a code point (Scripts.txt), as sentencepiece uses it to keep pieces within one script.
/// Code points that Scripts.txt does not list count as Common, as in sentencepiece.
/// </summary>
internal static partial class UnicodeScript
{
    public const int Common = 0;
    public const int Inherited = 1;
    public const int Han = 2;
    public const int Hiragana = 3;
    public const int Katakana = 4;

    /// <summary>Script id of <paramref name="codePoint"/> (see <see cref="RunScripts"/> for the numbering).</summary>
    public static int Of(int codePoint)
    {
        ReadOnlySpan<int> starts = RunStarts;
        // Last run whose start is <= codePoint.
        int lo = 0, hi = starts.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= codePoint) lo = mid; else hi = mid - 1;
        }
        return RunScripts[lo];
    }
}
