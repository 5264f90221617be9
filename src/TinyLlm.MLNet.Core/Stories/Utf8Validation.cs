using System.Buffers;
using System.Text;

namespace TinyLlm.MLNet.Stories;

/// <summary>Locates the first invalid UTF-8 byte, so errors can give its offset.</summary>
internal static class Utf8Validation
{
    /// <summary>Index of the first byte that does not start a valid UTF-8 sequence, or -1 when all are valid.</summary>
    public static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return -1;
        int index = 0;
        while (index < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[index..], out _, out int consumed) != OperationStatus.Done) return index;
            index += consumed;
        }
        return -1;
    }
}
