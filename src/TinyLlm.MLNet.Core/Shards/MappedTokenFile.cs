using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// A read-only memory map of one <c>.bin</c> shard (raw little-endian uint16), seen as <see cref="Memory{T}"/>, so
/// windows are read straight from the page cache without copying the shard into the managed heap.
/// </summary>
internal sealed unsafe class MappedTokenFile : MemoryManager<ushort>
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _pointer;
    private readonly int _length;

    public MappedTokenFile(string path)
    {
        Path = path;
        long bytes = new FileInfo(path).Length;
        TokenShardFormat.CheckLength(path, bytes);
        if (bytes / 2 > int.MaxValue)
            throw new InvalidDataException($"Shard '{path}' holds {bytes / 2:N0} tokens, more than the {int.MaxValue:N0} one shard may hold; split it.");
        _length = (int)(bytes / 2);
        if (bytes == 0) return; // an empty file cannot be mapped; it has no windows anyway
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.Read);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
        _pointer += _view.PointerOffset;
    }

    public string Path { get; }

    public override Span<ushort> GetSpan() => _length == 0 ? Span<ushort>.Empty : new Span<ushort>(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + (long)elementIndex * sizeof(ushort));

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
