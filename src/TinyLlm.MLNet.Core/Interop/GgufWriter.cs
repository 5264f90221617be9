using System.Runtime.InteropServices;
using System.Text;
using TinyLlm.MLNet.IO;
using ValueType = TinyLlm.MLNet.Interop.GgufFile.ValueType;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Writes a GGUF version 3 file (the layout <see cref="GgufFile"/> describes): metadata entries and tensors are
/// added, then <see cref="Write(string)"/> lays them out with each tensor's data aligned to
/// <see cref="GgufFile.DefaultAlignment"/> bytes, and streams the data from the callbacks.
/// </summary>
internal sealed class GgufWriter
{
    private readonly List<Action<BinaryWriter>> _entries = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<Tensor> _tensors = [];

    private sealed record Tensor(string Name, long[] Dimensions, GgmlType Type, long Bytes, Action<Stream> WriteData);

    public void Add(string key, string value) => Entry(key, ValueType.String, w => WriteString(w, value));

    public void Add(string key, uint value) => Entry(key, ValueType.UInt32, w => w.Write(value));

    public void Add(string key, float value) => Entry(key, ValueType.Float32, w => w.Write(value));

    public void Add(string key, bool value) => Entry(key, ValueType.Bool, w => w.Write(value));

    public void Add(string key, IReadOnlyList<string> values) => Entry(key, ValueType.Array, w =>
    {
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (string v in values) WriteString(w, v);
    });

    public void Add(string key, float[] values) => Entry(key, ValueType.Array, w =>
    {
        w.Write((uint)ValueType.Float32);
        w.Write((ulong)values.Length);
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    });

    public void Add(string key, int[] values) => Entry(key, ValueType.Array, w =>
    {
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)values.Length);
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    });

    /// <summary>
    /// Adds a tensor of <paramref name="dimensions"/> (ggml's order: the fastest-varying first) whose data
    /// <paramref name="writeData"/> writes, exactly the size the type and dimensions imply.
    /// </summary>
    public void AddTensor(string name, long[] dimensions, GgmlType type, Action<Stream> writeData)
    {
        var block = GgmlTypes.Block(type) ?? throw new ArgumentOutOfRangeException(nameof(type), $"TinyLlm does not write tensors of type {GgmlTypes.Describe(type)}.");
        if (dimensions[0] % block.Values != 0)
            throw new ArgumentException($"Tensor '{name}': rows of {dimensions[0]} values are not a whole number of {type}'s {block.Values}-value blocks.", nameof(dimensions));
        AddTensor(name, dimensions, type, dimensions.Aggregate(1L, (a, b) => a * b) / block.Values * block.Bytes, writeData);
    }

    /// <summary>Adds a tensor of any type whose data is <paramref name="bytes"/> long.</summary>
    public void AddTensor(string name, long[] dimensions, GgmlType type, long bytes, Action<Stream> writeData)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"Tensor '{name}' was added twice.", nameof(name));
        _tensors.Add(new Tensor(name, dimensions, type, bytes, writeData));
    }

    /// <summary>Writes the file to <paramref name="path"/> through a temporary file and a rename.</summary>
    public void Write(string path) => AtomicFile.Write(path, Write);

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    public void Write(Stream stream)
    {
        const int alignment = GgufFile.DefaultAlignment;
        var head = new MemoryStream();
        using (var w = new BinaryWriter(head, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(GgufFile.Magic);
            w.Write(3u);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_entries.Count);
            foreach (var entry in _entries) entry(w);
            long offset = 0;
            foreach (var t in _tensors)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Dimensions.Length);
                foreach (long d in t.Dimensions) w.Write((ulong)d);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offset = Align(offset + t.Bytes, alignment);
            }
        }
        stream.Write(head.GetBuffer().AsSpan(0, (int)head.Length));
        long written = head.Length;
        Pad(stream, ref written, alignment);
        foreach (var t in _tensors)
        {
            long start = stream.Position;
            t.WriteData(stream);
            long bytes = stream.Position - start;
            if (bytes != t.Bytes)
                throw new InvalidOperationException($"Tensor '{t.Name}' wrote {bytes} bytes; its shape and type need {t.Bytes}.");
            written += bytes;
            Pad(stream, ref written, alignment);
        }
    }

    private void Entry(string key, ValueType type, Action<BinaryWriter> writeValue)
    {
        if (!_keys.Add(key)) throw new ArgumentException($"Metadata key '{key}' was added twice.", nameof(key));
        _entries.Add(w =>
        {
            WriteString(w, key);
            w.Write((uint)type);
            writeValue(w);
        });
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static long Align(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    private static void Pad(Stream stream, ref long written, int alignment)
    {
        Span<byte> zeros = stackalloc byte[alignment];
        zeros.Clear();
        int padding = (int)(Align(written, alignment) - written);
        stream.Write(zeros[..padding]);
        written += padding;
    }
}
