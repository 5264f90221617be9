using System.Text;

namespace TinyLlm.MLNet.Stories;

/// <summary>
/// Streams a plain-text corpus: one document per line (<c>\n</c> or <c>\r\n</c>), blank lines skipped, strict UTF-8;
/// a lone <c>\r</c> inside a line reads as <c>\n</c> (<see cref="LineEndings"/>).
/// </summary>
internal sealed class TextLineReader : IStoryFileReader
{
    private readonly string _path;
    private readonly FileByteWindow _file;
    private long _lineNumber;

    public TextLineReader(string path)
    {
        _path = path;
        _file = new FileByteWindow(path);
    }

    public bool TryReadNext(bool decode, out string? story)
    {
        story = null;
        while (true)
        {
            var unread = _file.Unread;
            int newline = unread.IndexOf((byte)'\n');
            if (newline < 0 && !_file.EndOfFile)
            {
                _file.Refill();
                continue;
            }
            if (newline < 0 && unread.IsEmpty) return false;

            int length = newline < 0 ? unread.Length : newline;
            long lineOffset = _file.Position;
            var line = unread[..length];
            _file.Advance(newline < 0 ? length : length + 1);
            _lineNumber++;
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];

            int bad = Utf8Validation.FirstInvalidByte(line);
            if (bad >= 0)
                throw new InvalidDataException(
                    $"'{_path}' has invalid UTF-8 at byte offset {lineOffset + bad} (line {_lineNumber}).");
            if (IsBlank(line)) continue;
            if (decode) story = LineEndings.ToLf(Encoding.UTF8.GetString(line));
            return true;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\f' or (byte)'\v')) return false;
        return true;
    }

    public void Dispose() => _file.Dispose();
}
