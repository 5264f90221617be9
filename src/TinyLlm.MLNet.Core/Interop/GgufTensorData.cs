using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Tensor data between the engine's <see cref="WeightMatrix"/> storage and GGUF's element types: F32, F16, BF16
/// and Q8_0 (blocks of 32 int8 values after one fp16 scale). Writing converts from any storage; reading keeps
/// Q8_0 as Q8_0 and BF16 as BF16 when the target is stored so, and widens everything else to fp32.
/// </summary>
internal static class GgufTensorData
{
    private const int Chunk = 1 << 16; // values converted at a time: a multiple of the Q8_0 block

    /// <summary>Writes weights [offset, offset + count) of <paramref name="matrix"/> as <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">A weight outside fp16's range (F16, or a Q8_0 scale).</exception>
    public static void Write(Stream stream, WeightMatrix matrix, long offset, int count, GgmlType type, string name)
    {
        int start = checked((int)offset);
        if (type == GgmlType.F32 && matrix.F32 is { } f32)
        {
            stream.Write(MemoryMarshal.AsBytes(f32.AsSpan(start, count)));
            return;
        }
        if (type == GgmlType.BF16 && matrix.Bf16 is { } bf16)
        {
            stream.Write(MemoryMarshal.AsBytes(bf16.AsSpan(start, count)));
            return;
        }
        if (type == GgmlType.Q8_0 && TryWriteQ8AsStored(stream, matrix, start, count)) return;
        var values = new float[Math.Min(Chunk, count)];
        var bytes = new byte[values.Length * 4];
        for (int done = 0; done < count; done += values.Length)
        {
            var piece = values.AsSpan(0, Math.Min(values.Length, count - done));
            matrix.Read(start + done, piece);
            stream.Write(bytes.AsSpan(0, Encode(piece, type, bytes, name)));
        }
    }

    /// <summary>Writes fp32 values (an RMSNorm weight) as F32.</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> values) => stream.Write(MemoryMarshal.AsBytes(values));

    // fp32 values as type into bytes; returns the byte count.
    private static int Encode(ReadOnlySpan<float> values, GgmlType type, Span<byte> bytes, string name)
    {
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(bytes);
                return values.Length * 4;
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < values.Length; i++)
                {
                    halves[i] = (Half)values[i];
                    if (Half.IsInfinity(halves[i]) && float.IsFinite(values[i]))
                        throw new ArgumentException($"Tensor '{name}' holds the weight {values[i]}, outside fp16's range (±65504); export it as f32, bf16 or q8_0.");
                }
                return values.Length * 2;
            case GgmlType.BF16:
                var words = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < values.Length; i++) words[i] = WeightMatrix.ToBFloat16(values[i]);
                return values.Length * 2;
            case GgmlType.Q8_0:
                int blocks = values.Length / GgmlTypes.Q8BlockSize;
                for (int b = 0; b < blocks; b++)
                    QuantizeBlock(values.Slice(b * GgmlTypes.Q8BlockSize, GgmlTypes.Q8BlockSize), bytes.Slice(b * GgmlTypes.Q8BlockBytes, GgmlTypes.Q8BlockBytes), name);
                return blocks * GgmlTypes.Q8BlockBytes;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), $"TinyLlm does not write tensors of type {GgmlTypes.Describe(type)}.");
        }
    }

    /// <summary>
    /// ggml's Q8_0 quantization of one block of 32: <c>scale = max|x| / 127</c>, stored as fp16, and
    /// <c>q = round(x / scale)</c> (computed as <c>x * (1 / scale)</c>, halves away from zero); an all-zero block has
    /// scale 0. A weight reads back as <c>q * (float)scale_fp16</c>.
    /// </summary>
    internal static void QuantizeBlock(ReadOnlySpan<float> x, Span<byte> block, string name)
    {
        float max = 0;
        foreach (float v in x) max = Math.Max(max, Math.Abs(v));
        float scale = max / 127f;
        float inverse = scale != 0 ? 1f / scale : 0f;
        var stored = (Half)scale;
        if (Half.IsInfinity(stored) || float.IsNaN(max))
            throw new ArgumentException($"Tensor '{name}' holds a weight of magnitude {max}, whose Q8_0 scale does not fit fp16; export it as f32 or bf16.");
        BinaryPrimitives.WriteHalfLittleEndian(block, stored);
        var q = MemoryMarshal.Cast<byte, sbyte>(block[2..]);
        for (int i = 0; i < x.Length; i++) q[i] = (sbyte)MathF.Round(x[i] * inverse, MidpointRounding.AwayFromZero);
    }

    // Weights already quantized in blocks of 32 whose scales are fp16 values (read from a GGUF Q8_0 tensor, or
    // quantized for one) are written as they are, so a GGUF Q8_0 model survives import and export unchanged.
    private static bool TryWriteQ8AsStored(Stream stream, WeightMatrix matrix, int start, int count)
    {
        const int g = GgmlTypes.Q8BlockSize;
        if (matrix.Format != WeightFormat.Q8_0 || matrix.GroupSize != g || start % g != 0) return false;
        var scales = matrix.Scales.AsSpan(start / g, count / g);
        foreach (float s in scales)
            if ((float)(Half)s != s) return false;
        var block = new byte[GgmlTypes.Q8BlockBytes];
        for (int b = 0; b < scales.Length; b++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)scales[b]);
            MemoryMarshal.AsBytes(matrix.Q.AsSpan(start + b * g, g)).CopyTo(block.AsSpan(2));
            stream.Write(block);
        }
        return true;
    }

    /// <summary>
    /// Reads <paramref name="tensor"/> into weights [offset, ..) of <paramref name="matrix"/>: as it is into a
    /// matrix stored in the same way (F32, BF16, Q8_0 in groups of 32), widened to fp32 into a Float32 matrix.
    /// </summary>
    public static void Read(GgufFile file, GgufTensorInfo tensor, WeightMatrix matrix, long offset)
    {
        int start = checked((int)offset), count = checked((int)tensor.ElementCount);
        switch (matrix.Format, tensor.Type)
        {
            case (WeightFormat.Float32, _):
                Read(file, tensor, matrix.F32.AsSpan(start, count));
                break;
            case (WeightFormat.BFloat16, GgmlType.BF16):
                file.ReadTensor(tensor, MemoryMarshal.AsBytes(matrix.Bf16.AsSpan(start, count)));
                break;
            case (WeightFormat.Q8_0, GgmlType.Q8_0) when matrix.GroupSize == GgmlTypes.Q8BlockSize:
                var bytes = ReadAll(file, tensor);
                const int g = GgmlTypes.Q8BlockSize;
                for (int b = 0; b < count / g; b++)
                {
                    var block = bytes.AsSpan(b * GgmlTypes.Q8BlockBytes, GgmlTypes.Q8BlockBytes);
                    matrix.Scales![start / g + b] = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    MemoryMarshal.Cast<byte, sbyte>(block[2..]).CopyTo(matrix.Q.AsSpan(start + b * g, g));
                }
                break;
            default:
                throw new InvalidOperationException($"Tensor '{tensor.Name}' of type {tensor.Type} cannot be read into {matrix.Format} storage.");
        }
    }

    /// <summary>Reads an F32, F16, BF16 or Q8_0 tensor as fp32 values.</summary>
    public static void Read(GgufFile file, GgufTensorInfo tensor, Span<float> destination)
    {
        if (tensor.Type == GgmlType.F32)
        {
            file.ReadTensor(tensor, MemoryMarshal.AsBytes(destination));
            return;
        }
        var bytes = ReadAll(file, tensor);
        switch (tensor.Type)
        {
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)halves[i];
                break;
            case GgmlType.BF16:
                var words = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < destination.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(words[i] << 16);
                break;
            case GgmlType.Q8_0:
                const int g = GgmlTypes.Q8BlockSize;
                for (int b = 0; b < destination.Length / g; b++)
                {
                    var block = bytes.AsSpan(b * GgmlTypes.Q8BlockBytes, GgmlTypes.Q8BlockBytes);
                    float scale = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    var q = MemoryMarshal.Cast<byte, sbyte>(block[2..]);
                    for (int i = 0; i < g; i++) destination[b * g + i] = q[i] * scale;
                }
                break;
            default:
                throw new InvalidOperationException($"Tensor '{tensor.Name}' has type {GgmlTypes.Describe(tensor.Type)}, which TinyLlm does not read.");
        }
    }

    private static byte[] ReadAll(GgufFile file, GgufTensorInfo tensor)
    {
        var bytes = new byte[checked((int)tensor.ByteCount!.Value)];
        file.ReadTensor(tensor, bytes);
        return bytes;
    }
}
