using System.Text;

namespace TinyLlm.MLNet.Data;

/// <summary>
/// Streams a plain-text corpus: one document per line (<c>\n</c> or <c>\r\n</c>), blank lines skipped, strict UTF-8.
/// </summary>
internal sealed class TextLineReader : IStoryFileReader
{
    private const int InitialBufferSize = 64 * 1024;

    private readonly string _path;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _start;
    private int _end;
    private long _bufferOffset;
    private bool _endOfFile;
    private long _lineNumber;

    public TextLineReader(string path)
    {
        _path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        Refill();
        if (_end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF) _start = 3;
    }

    public bool TryReadNext(bool decode, out string? story)
    {
        story = null;
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline < 0 && !_endOfFile)
            {
                Refill();
                continue;
            }
            if (newline < 0 && _start == _end) return false;

            int length = newline < 0 ? _end - _start : newline;
            long lineOffset = _bufferOffset + _start;
            var line = _buffer.AsSpan(_start, length);
            _start += newline < 0 ? length : length + 1;
            _lineNumber++;
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];

            int bad = Utf8Validation.FirstInvalidByte(line);
            if (bad >= 0)
                throw new InvalidDataException(
                    $"'{_path}' has invalid UTF-8 at byte offset {lineOffset + bad} (line {_lineNumber}).");
            if (IsBlank(line)) continue;
            if (decode) story = Encoding.UTF8.GetString(line);
            return true;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\f' or (byte)'\v')) return false;
        return true;
    }

    private void Refill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _endOfFile = true;
        _end += read;
    }

    public void Dispose() => _stream.Dispose();
}
