namespace TinyLlm.MLNet.Stories;

/// <summary>
/// The unread part of a file in a buffer that is refilled from the file, for the streaming story readers: read
/// bytes are dropped at each refill, and the buffer only grows when unread bytes fill it. A UTF-8 byte order mark
/// at the start of the file is skipped.
/// </summary>
internal sealed class FileByteWindow : IDisposable
{
    private const int InitialBufferSize = 64 * 1024;

    /// <summary>Sees the bytes a refill drops, with the file offset of the first.</summary>
    public delegate void DroppedBytes(ReadOnlySpan<byte> bytes, long fileOffset);

    private readonly Stream _stream;
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _start;            // first unread byte in _buffer
    private int _end;              // one past the last valid byte in _buffer
    private long _bufferOffset;    // file offset of _buffer[0]

    public FileByteWindow(string path)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        Refill();
        if (_end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF) _start = 3;
    }

    /// <summary>The bytes read from the file and not yet consumed.</summary>
    public ReadOnlySpan<byte> Unread => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Every byte in the buffer, consumed or not; the first is at <see cref="BufferOffset"/> in the file.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(0, _end);

    /// <summary>File offset of the first buffered byte.</summary>
    public long BufferOffset => _bufferOffset;

    /// <summary>File offset of the first unread byte.</summary>
    public long Position => _bufferOffset + _start;

    /// <summary>File offset just past the last byte read from the file.</summary>
    public long ReadPosition => _bufferOffset + _end;

    /// <summary>Whether the whole file has been read into the buffer.</summary>
    public bool EndOfFile { get; private set; }

    /// <summary>Marks <paramref name="count"/> unread bytes as consumed.</summary>
    public void Advance(int count) => _start += count;

    /// <summary>Drops the consumed bytes (shown to <paramref name="onDrop"/> first), grows the buffer if unread bytes fill it, and reads more.</summary>
    public void Refill(DroppedBytes? onDrop = null)
    {
        if (_start > 0)
        {
            onDrop?.Invoke(_buffer.AsSpan(0, _start), _bufferOffset);
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) EndOfFile = true;
        _end += read;
    }

    public void Dispose() => _stream.Dispose();
}
