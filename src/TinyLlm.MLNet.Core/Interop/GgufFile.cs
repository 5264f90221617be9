using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace TinyLlm.MLNet.Interop;

/// <summary>One tensor's entry in a GGUF file's directory.</summary>
/// <param name="Name">Tensor name (<c>blk.0.attn_q.weight</c>).</param>
/// <param name="Dimensions">ggml's <c>ne</c>: the fastest-varying dimension first, so a row-major (rows, cols) matrix is <c>[cols, rows]</c>.</param>
/// <param name="Type">Element type.</param>
/// <param name="Offset">First byte, relative to <see cref="GgufFile.DataOffset"/>.</param>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes of data, or null for a type whose layout TinyLlm does not know.</summary>
    public long? ByteCount => GgmlTypes.Block(Type) is { } block ? ElementCount / block.Values * block.Bytes : null;

    /// <summary>The dimensions as <c>[288, 768]</c>.</summary>
    public string Shape => "[" + string.Join(", ", Dimensions) + "]";
}

/// <summary>
/// A GGUF file (llama.cpp's model format, versions 2 and 3) opened for reading: the header, the metadata and the
/// tensor directory are read and checked at once, the tensor data on request.
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// uint32 magic 0x46554747 ("GGUF"), uint32 version, uint64 tensor_count, uint64 metadata_kv_count;
/// metadata_kv_count entries: string key, uint32 value type, value (0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32,
/// 7 bool (one byte), 8 string = uint64 byte length + UTF-8 bytes, 9 array = uint32 element type + uint64 count +
/// elements, 10 u64, 11 i64, 12 f64);
/// tensor_count entries: string name, uint32 n_dims, uint64 ne[n_dims], uint32 ggml type, uint64 offset (relative to
/// the data section, a multiple of the alignment);
/// zero padding to a multiple of the alignment (<c>general.alignment</c>, default 32), then the data section.
/// </remarks>
public sealed class GgufFile
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment of tensor data when the file has no <c>general.alignment</c>.</summary>
    public const int DefaultAlignment = 32;

    private const int HeaderBytes = 24;
    private const int MaxDimensions = 4; // ggml's GGML_MAX_DIMS

    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(string path, uint version, int alignment, long dataOffset, Dictionary<string, object> metadata, List<GgufTensorInfo> tensors)
    {
        Path = path;
        Version = version;
        Alignment = alignment;
        DataOffset = dataOffset;
        Metadata = metadata;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Byte alignment of each tensor's data.</summary>
    public int Alignment { get; }

    /// <summary>Where the data section starts.</summary>
    public long DataOffset { get; }

    /// <summary>
    /// The metadata by key: <c>byte</c>, <c>sbyte</c>, <c>ushort</c>, <c>short</c>, <c>uint</c>, <c>int</c>, <c>float</c>,
    /// <c>bool</c>, <c>string</c>, <c>ulong</c>, <c>long</c>, <c>double</c>, or an array of one of these (an array of
    /// arrays as <c>object[]</c>).
    /// </summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    /// <summary>The tensor directory, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Whether <paramref name="firstBytes"/> (a file's start) is the GGUF magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> firstBytes) =>
        firstBytes.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(firstBytes) == Magic;

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Reads and checks the header, metadata and tensor directory of <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not GGUF, an unsupported version, truncated, or a directory entry that does not fit the file.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"GGUF file '{path}' does not exist.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var r = new Reader(stream, path);
        if (stream.Length < HeaderBytes)
            throw new InvalidDataException($"'{path}' has {stream.Length} bytes, too few for a GGUF header ({HeaderBytes} bytes).");
        uint magic = r.U32("the header");
        if (magic != Magic)
            throw new InvalidDataException($"'{path}' starts with bytes {Hex(magic)}, not the GGUF magic 47 47 55 46 (\"GGUF\"): it is not a GGUF file.");
        uint version = r.U32("the header");
        if (version == 1)
            throw new InvalidDataException($"'{path}' is GGUF version 1 (32-bit counts), which llama.cpp itself no longer reads; TinyLlm reads versions 2 and 3.");
        if (version is not (2 or 3))
            throw new InvalidDataException((version & 0xFFFF) == 0
                ? $"'{path}' is a big-endian GGUF file (version field {Hex(version)}); TinyLlm reads little-endian files."
                : $"'{path}' is GGUF version {version}; TinyLlm reads versions 2 and 3.");
        ulong tensorCount = r.U64("the header"), kvCount = r.U64("the header");
        // Each metadata entry takes at least 13 bytes (an empty key, a type, one byte of value), each tensor entry 24.
        if (kvCount > (ulong)stream.Length / 13 || tensorCount > (ulong)stream.Length / 24)
            throw new InvalidDataException($"'{path}' declares {kvCount} metadata entries and {tensorCount} tensors, more than its {stream.Length} bytes can hold: the header is damaged or the file truncated.");

        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = r.String($"metadata entry {i}'s key");
            var type = (ValueType)r.U32($"the type of metadata key '{key}'");
            object value = r.Value(type, $"metadata key '{key}'");
            if (!metadata.TryAdd(key, value))
                throw new InvalidDataException($"'{path}' has metadata key '{key}' twice.");
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var alignValue))
        {
            if (alignValue is not uint a || a == 0 || (a & (a - 1)) != 0 || a > 1 << 20)
                throw new InvalidDataException($"'{path}' has general.alignment {Format(alignValue)}; it must be a uint32 power of two.");
            alignment = (int)a;
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = r.String($"tensor entry {i}'s name");
            string where = $"the directory entry of tensor '{name}'";
            uint nDims = r.U32(where);
            if (nDims is 0 or > MaxDimensions)
                throw new InvalidDataException($"'{path}': tensor '{name}' has {nDims} dimensions; GGUF tensors have 1 to {MaxDimensions}.");
            var dims = new long[nDims];
            long count = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong ne = r.U64(where);
                if (ne == 0 || ne > (ulong)(long.MaxValue / count))
                    throw new InvalidDataException($"'{path}': tensor '{name}' has dimension {d} of size {ne}: the entry is damaged.");
                dims[d] = (long)ne;
                count *= (long)ne;
            }
            var type = (GgmlType)r.U32(where);
            ulong offset = r.U64(where);
            if (offset % (ulong)alignment != 0 || offset > long.MaxValue / 2)
                throw new InvalidDataException($"'{path}': tensor '{name}' starts at data offset {offset}, which is not a multiple of the alignment {alignment}: the entry is damaged.");
            if (!names.Add(name)) throw new InvalidDataException($"'{path}' has two tensors named '{name}'.");
            if (GgmlTypes.Block(type) is { } block && dims[0] % block.Values != 0)
                throw new InvalidDataException($"'{path}': tensor '{name}' of type {GgmlTypes.Describe(type)} has rows of {dims[0]} values, not a whole number of its {block.Values}-value blocks.");
            tensors.Add(new GgufTensorInfo(name, dims, type, (long)offset));
        }
        long dataOffset = (r.Position + alignment - 1) / alignment * alignment;
        foreach (var t in tensors)
            if (dataOffset + t.Offset + (t.ByteCount ?? 0) > stream.Length)
                throw new InvalidDataException($"'{path}': the data of tensor '{t.Name}' ({t.Shape}, {GgmlTypes.Describe(t.Type)}) would end at byte {dataOffset + t.Offset + (t.ByteCount ?? 0)}{(t.ByteCount is null ? " or later" : "")}, but the file has {stream.Length} bytes: it is truncated.");
        return new GgufFile(path, version, alignment, dataOffset, metadata, tensors);
    }

    /// <summary>Reads the data of <paramref name="tensor"/> (<see cref="GgufTensorInfo.ByteCount"/> bytes) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is not the tensor's size, or its layout is unknown.</exception>
    public void ReadTensor(GgufTensorInfo tensor, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long bytes = tensor.ByteCount ?? throw new ArgumentException($"Tensor '{tensor.Name}' has type {GgmlTypes.Describe(tensor.Type)}, whose layout TinyLlm does not know.", nameof(tensor));
        if (destination.Length != bytes)
            throw new ArgumentException($"Tensor '{tensor.Name}' has {bytes} bytes; the destination holds {destination.Length}.", nameof(destination));
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        stream.Position = DataOffset + tensor.Offset;
        if (stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) < destination.Length)
            throw new InvalidDataException($"'{Path}' ends inside the data of tensor '{tensor.Name}': the file is truncated.");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Typed metadata, with errors that name the file and the key.

    /// <summary>An integer key (any integer type) as a long; null when absent and not required.</summary>
    internal long? Integer(string key, bool required = true)
    {
        if (!Present(key, required, "an integer", out var value)) return null;
        return value switch
        {
            byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, long v => v,
            ulong v when v <= long.MaxValue => (long)v,
            _ => throw WrongType(key, value, "an integer"),
        };
    }

    /// <summary>A number key (float, double or integer) as a double, a float given as its shortest decimal spelling (1e-5, not 9.99999974737875E-06).</summary>
    internal double? Number(string key, bool required = true)
    {
        if (!Present(key, required, "a number", out var value)) return null;
        return value switch
        {
            float f => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            double d => d,
            byte or sbyte or ushort or short or uint or int or long or ulong => Convert.ToDouble(value, CultureInfo.InvariantCulture),
            _ => throw WrongType(key, value, "a number"),
        };
    }

    /// <summary>A string key; null when absent and not required.</summary>
    internal string? String(string key, bool required = true) =>
        !Present(key, required, "a string", out var value) ? null : value as string ?? throw WrongType(key, value, "a string");

    /// <summary>A bool key; null when absent.</summary>
    internal bool? Bool(string key) =>
        !Present(key, false, "a bool", out var value) ? null : value as bool? ?? throw WrongType(key, value, "a bool");

    /// <summary>An array key of element type <typeparamref name="T"/>; null when absent and not required.</summary>
    internal T[]? Array<T>(string key, string elementName, bool required = true) =>
        !Present(key, required, $"an array of {elementName}", out var value) ? null : value as T[] ?? throw WrongType(key, value, $"an array of {elementName}");

    private bool Present(string key, bool required, string what, out object value)
    {
        if (Metadata.TryGetValue(key, out value!)) return true;
        if (required) throw new InvalidDataException($"'{Path}' lacks the metadata key {key} ({what}), which TinyLlm needs.");
        return false;
    }

    private InvalidDataException WrongType(string key, object value, string expected) =>
        new($"'{Path}' has {key} = {Format(value)}; it must be {expected}.");

    /// <summary>A metadata value as an error message shows it: <c>"gpt2"</c>, <c>12</c>, <c>uint32[4]</c>.</summary>
    internal static string Format(object value) => value switch
    {
        string s => $"\"{s}\"",
        System.Array a => $"{a.GetType().GetElementType()!.Name}[{a.Length}]",
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)} ({value.GetType().Name})",
        _ => value.ToString() ?? "",
    };

    private static string Hex(uint value) =>
        string.Join(" ", BitConverter.GetBytes(value).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>GGUF's metadata value types.</summary>
    internal enum ValueType : uint
    {
        UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
        UInt64 = 10, Int64 = 11, Float64 = 12,
    }

    // Reads the little-endian fields of the header, metadata and directory, naming what it was reading when the file
    // ends early.
    private sealed class Reader(Stream stream, string path)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
        private readonly byte[] _scratch = new byte[8];

        public long Position { get; private set; }

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, what));

        public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8, what));

        public string String(string what)
        {
            ulong length = U64(what);
            if (length > (ulong)(stream.Length - Position))
                throw Truncated(what);
            var bytes = new byte[length];
            Fill(bytes, what);
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException($"'{path}': {what} is not valid UTF-8.");
            }
        }

        public object Value(ValueType type, string what) => type switch
        {
            ValueType.UInt8 => Bytes(1, what)[0],
            ValueType.Int8 => (sbyte)Bytes(1, what)[0],
            ValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, what)),
            ValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Bytes(2, what)),
            ValueType.UInt32 => U32(what),
            ValueType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, what)),
            ValueType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4, what)),
            ValueType.Bool => Bytes(1, what)[0] != 0,
            ValueType.String => String(what),
            ValueType.Array => Array(what),
            ValueType.UInt64 => U64(what),
            ValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, what)),
            ValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, what)),
            _ => throw new InvalidDataException($"'{path}': {what} has value type {(uint)type}, which GGUF does not define (0 to 12): the file is damaged."),
        };

        private object Array(string what)
        {
            var element = (ValueType)U32(what);
            ulong count = U64(what);
            int size = element switch
            {
                ValueType.UInt8 or ValueType.Int8 or ValueType.Bool => 1,
                ValueType.UInt16 or ValueType.Int16 => 2,
                ValueType.UInt32 or ValueType.Int32 or ValueType.Float32 => 4,
                ValueType.UInt64 or ValueType.Int64 or ValueType.Float64 or ValueType.String => 8, // a string: at least its length
                ValueType.Array => 12,
                _ => throw new InvalidDataException($"'{path}': {what} is an array of value type {(uint)element}, which GGUF does not define: the file is damaged."),
            };
            if (count > (ulong)(stream.Length - Position) / (ulong)size)
                throw Truncated(what);
            int n = (int)count;
            switch (element)
            {
                case ValueType.String:
                    var strings = new string[n];
                    for (int i = 0; i < n; i++) strings[i] = String($"{what}, element {i}");
                    return strings;
                case ValueType.Array:
                    var arrays = new object[n];
                    for (int i = 0; i < n; i++) arrays[i] = Array($"{what}, element {i}");
                    return arrays;
                case ValueType.Bool:
                    return Numbers<byte>(n, what).Select(b => b != 0).ToArray();
                case ValueType.UInt8: return Numbers<byte>(n, what);
                case ValueType.Int8: return Numbers<sbyte>(n, what);
                case ValueType.UInt16: return Numbers<ushort>(n, what);
                case ValueType.Int16: return Numbers<short>(n, what);
                case ValueType.UInt32: return Numbers<uint>(n, what);
                case ValueType.Int32: return Numbers<int>(n, what);
                case ValueType.Float32: return Numbers<float>(n, what);
                case ValueType.UInt64: return Numbers<ulong>(n, what);
                case ValueType.Int64: return Numbers<long>(n, what);
                default: return Numbers<double>(n, what);
            }
        }

        // The file is little-endian, like every machine .NET runs TinyLlm on.
        private T[] Numbers<T>(int count, string what) where T : unmanaged
        {
            var values = new T[count];
            Fill(MemoryMarshal.AsBytes(values.AsSpan()), what);
            return values;
        }

        private ReadOnlySpan<byte> Bytes(int count, string what)
        {
            Fill(_scratch.AsSpan(0, count), what);
            return _scratch.AsSpan(0, count);
        }

        private void Fill(Span<byte> bytes, string what)
        {
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                throw Truncated(what);
            Position += bytes.Length;
        }

        private InvalidDataException Truncated(string what) =>
            new($"'{path}' ends inside {what}: the file is truncated.");
    }
}
