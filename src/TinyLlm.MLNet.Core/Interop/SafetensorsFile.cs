using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): uint64 little-endian header length N, N bytes of JSON
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>, then the raw
/// little-endian tensor bytes, offsets relative to the end of the header. Reading converts F32, F16 and BF16 to fp32.
/// </summary>
/// <remarks>
/// Written here on System.Text.Json: TorchSharp.PyBridge reads and writes safetensors, but only to and from TorchSharp
/// tensors, and our weights are plain float arrays.
/// </remarks>
public sealed class SafetensorsFile
{
    /// <summary>One tensor's entry in the header.</summary>
    /// <param name="Name">Tensor name.</param>
    /// <param name="DType">Element type as the format spells it (F32, F16, BF16, I64, ...).</param>
    /// <param name="Shape">Dimensions.</param>
    /// <param name="Begin">First byte, relative to the data section.</param>
    /// <param name="End">One past the last byte.</param>
    public sealed record TensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
    {
        /// <summary>Number of elements.</summary>
        public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    }

    private readonly long _dataStart;

    private SafetensorsFile(string path, long dataStart, Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads and checks the header of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The header is truncated, not JSON, or a tensor's offsets do not fit its shape and dtype or the file.</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"'{path}' is too short for a safetensors header length (8 bytes).");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(stream.Length - 8) || headerLength > 100_000_000)
            throw new InvalidDataException($"'{path}' declares a {headerLength}-byte safetensors header but has only {stream.Length - 8} bytes after the length: truncated or not safetensors.");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        long dataLength = stream.Length - dataStart;
        var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var m in property.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var e = property.Value;
                string dtype = e.GetProperty("dtype").GetString() ?? "";
                long[] shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                long[] offsets = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw new InvalidDataException($"'{path}': tensor '{property.Name}' has data_offsets [{string.Join(", ", offsets)}] outside the {dataLength}-byte data section: the file is truncated or damaged.");
                var info = new TensorInfo(property.Name, dtype, shape, offsets[0], offsets[1]);
                int size = ElementSize(dtype);
                if (size > 0 && info.ElementCount * size != info.End - info.Begin)
                    throw new InvalidDataException($"'{path}': tensor '{property.Name}' has {info.End - info.Begin} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {info.ElementCount * size}.");
                tensors[property.Name] = info;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{path}' has a malformed safetensors header: {e.Message}", e);
        }
        return new SafetensorsFile(path, dataStart, tensors, metadata);
    }

    /// <summary>
    /// The <c>__metadata__</c> key under which TinyLlm's writer records the lower-case hex SHA-256 of the data section
    /// (every tensor's bytes), so that a damaged export is refused on import. Files from elsewhere lack it.
    /// </summary>
    public const string ChecksumKey = "tinyllm.sha256";

    /// <summary>
    /// Checks the data section against the SHA-256 recorded under <see cref="ChecksumKey"/>; does nothing for a file
    /// without one (written by another tool).
    /// </summary>
    /// <exception cref="InvalidDataException">The tensor bytes are not those the writer recorded: the file is damaged.</exception>
    public void VerifyChecksum()
    {
        if (!Metadata.TryGetValue(ChecksumKey, out string? expected)) return;
        using var stream = File.OpenRead(Path);
        stream.Position = _dataStart;
        string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"'{Path}' is damaged: the SHA-256 of its tensor data is {actual}, but its metadata ({ChecksumKey}) records {expected}. Export or download it again.");
    }

    /// <summary>Reads tensor <paramref name="name"/> into <paramref name="destination"/> as fp32 (from F32, F16 or BF16).</summary>
    /// <exception cref="InvalidDataException">The tensor is missing, of another element count, or of another dtype.</exception>
    public void ReadAsSingle(string name, Span<float> destination)
    {
        if (!Tensors.TryGetValue(name, out var info))
            throw new InvalidDataException($"'{Path}' has no tensor '{name}'.");
        if (info.ElementCount != destination.Length)
            throw new InvalidDataException($"'{Path}': tensor '{name}' has {info.ElementCount} elements; {destination.Length} were expected.");
        using var stream = File.OpenRead(Path);
        stream.Position = _dataStart + info.Begin;
        switch (info.DType)
        {
            case "F32":
                stream.ReadExactly(MemoryMarshal.AsBytes(destination));
                break;
            case "F16":
            case "BF16":
                var half = new ushort[destination.Length];
                stream.ReadExactly(MemoryMarshal.AsBytes(half.AsSpan()));
                if (info.DType == "F16")
                    for (int i = 0; i < half.Length; i++) destination[i] = (float)BitConverter.UInt16BitsToHalf(half[i]);
                else
                    // bf16 is the upper half of an fp32
                    for (int i = 0; i < half.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(half[i] << 16);
                break;
            default:
                throw new InvalidDataException($"'{Path}': tensor '{name}' has dtype {info.DType}; TinyLlm reads F32, F16 and BF16 weights.");
        }
    }

    /// <summary>A tensor to write: its name, shape, and <paramref name="Length"/> floats of <paramref name="Values"/> from <paramref name="Offset"/>.</summary>
    /// <param name="Name">Tensor name.</param>
    /// <param name="Shape">Dimensions; their product must be <paramref name="Length"/>.</param>
    /// <param name="Values">Source array.</param>
    /// <param name="Offset">First element in <paramref name="Values"/>.</param>
    /// <param name="Length">Number of elements.</param>
    public sealed record TensorData(string Name, long[] Shape, float[] Values, long Offset, long Length);

    /// <summary>
    /// Writes F32 <paramref name="tensors"/> (in the order given) to <paramref name="path"/> via a temporary file and a
    /// rename, with the SHA-256 of the tensor data in the metadata (<see cref="ChecksumKey"/>).
    /// </summary>
    public static void WriteSingle(string path, IReadOnlyList<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var dataHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in tensors)
            dataHash.AppendData(MemoryMarshal.AsBytes(t.Values.AsSpan(checked((int)t.Offset), checked((int)t.Length))));
        var allMetadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ChecksumKey] = Convert.ToHexStringLower(dataHash.GetHashAndReset()),
        };
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            foreach (var (key, value) in allMetadata) writer.WriteString(key, value);
            writer.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                if (t.Shape.Aggregate(1L, (a, b) => a * b) != t.Length)
                    throw new ArgumentException($"Tensor '{t.Name}' has {t.Length} values but shape [{string.Join(", ", t.Shape)}].", nameof(tensors));
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", "F32");
                writer.WriteStartArray("shape");
                foreach (long d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + 4 * t.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += 4 * t.Length;
            }
            writer.WriteEndObject();
        }
        var json = buffer.ToArray();
        // pad the header with spaces to 8 bytes, as the reference writer does, so the data is aligned
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var t in tensors)
                stream.Write(MemoryMarshal.AsBytes(t.Values.AsSpan(checked((int)t.Offset), checked((int)t.Length))));
        });
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };
}
