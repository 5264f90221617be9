using System.Runtime.InteropServices;

namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The values of one kind of weight matrix (every layer's copy back to back, rows of a fixed length) in one
/// <see cref="WeightFormat"/>: fp32 values, bf16 bit patterns, or int8 values with one fp32 scale per group of
/// <see cref="GroupSize"/> consecutive values. Groups never straddle rows, because the group size divides the row
/// length. What the matrix-vector kernels read.
/// </summary>
internal sealed class WeightMatrix
{
    private float[]? _float32View;

    private WeightMatrix(WeightFormat format, int length, int groupSize, float[]? f32, ushort[]? bf16, sbyte[]? q, float[]? scales)
    {
        Format = format;
        Length = length;
        GroupSize = groupSize;
        F32 = f32;
        Bf16 = bf16;
        Q = q;
        Scales = scales;
        if (f32 is not null) _float32View = f32;
    }

    public WeightFormat Format { get; }

    /// <summary>Number of weights.</summary>
    public int Length { get; }

    /// <summary>Values per scale (Q8_0 only; 0 otherwise).</summary>
    public int GroupSize { get; }

    /// <summary>fp32 values (Float32).</summary>
    public float[]? F32 { get; }

    /// <summary>bf16 bit patterns (BFloat16).</summary>
    public ushort[]? Bf16 { get; }

    /// <summary>int8 values (Q8_0).</summary>
    public sbyte[]? Q { get; }

    /// <summary>One scale per group (Q8_0).</summary>
    public float[]? Scales { get; }

    /// <summary>Whether a dequantized fp32 copy is held (made by <see cref="Float32View"/>).</summary>
    public bool HasFloat32Copy => F32 is null && _float32View is not null;

    /// <summary>Bytes of storage.</summary>
    public long Bytes => Format switch
    {
        WeightFormat.Float32 => 4L * Length,
        WeightFormat.BFloat16 => 2L * Length,
        _ => Length + 4L * (Length / GroupSize),
    };

    /// <summary>Wraps fp32 values without copying them.</summary>
    public static WeightMatrix Float32(float[] values) => new(WeightFormat.Float32, values.Length, 0, values, null, null, null);

    /// <summary>Zeroed storage of <paramref name="length"/> weights, to be filled by a reader.</summary>
    public static WeightMatrix Allocate(WeightFormat format, int length, int groupSize) => format switch
    {
        WeightFormat.Float32 => Float32(LargeArrays.Allocate<float>(length)),
        WeightFormat.BFloat16 => new(format, length, 0, null, LargeArrays.Allocate<ushort>(length), null, null),
        WeightFormat.Q8_0 => new(format, length, groupSize, null, null, LargeArrays.Allocate<sbyte>(length), new float[length / groupSize]),
        _ => throw new ArgumentOutOfRangeException(nameof(format), $"Unknown weight format {format}."),
    };

    /// <summary>This matrix in <paramref name="format"/> (itself if already so); groups of <paramref name="groupSize"/> for Q8_0.</summary>
    public WeightMatrix Convert(WeightFormat format, int groupSize)
    {
        if (format == Format && (format != WeightFormat.Q8_0 || groupSize == GroupSize)) return this;
        // Unpacked to fp32 without keeping the copy, then packed in chunks across cores.
        float[] values = _float32View ?? Dequantize();
        var packed = Allocate(format, Length, groupSize);
        const int Chunk = 1 << 14;
        int unit = format == WeightFormat.Q8_0 ? groupSize : 1;
        int chunk = Math.Max(unit, Chunk / unit * unit);
        Parallel.For(0, (Length + chunk - 1) / chunk, c =>
        {
            int start = c * chunk, end = Math.Min(Length, start + chunk);
            if (format == WeightFormat.Float32) Array.Copy(values, start, packed.F32!, start, end - start);
            else if (format == WeightFormat.BFloat16)
                for (int i = start; i < end; i++) packed.Bf16![i] = ToBFloat16(values[i]);
            else
                for (int g = start; g < end; g += groupSize) QuantizeGroup(values.AsSpan(g, groupSize), packed.Q!.AsSpan(g, groupSize), out packed.Scales![g / groupSize]);
        });
        return packed;
    }

    /// <summary>
    /// The weights as fp32: the array itself for Float32, otherwise a dequantized copy made on the first call and
    /// kept (so callers that read or write elements see one stable array; writes do not reach the packed values).
    /// </summary>
    public float[] Float32View()
    {
        if (_float32View is { } view) return view;
        Interlocked.CompareExchange(ref _float32View, Dequantize(), null);
        return _float32View!;
    }

    /// <summary>Writes weights [offset, offset + destination.Length) as fp32 into <paramref name="destination"/>.</summary>
    public void Read(long offset, Span<float> destination)
    {
        int start = checked((int)offset);
        switch (Format)
        {
            case WeightFormat.Float32:
                F32.AsSpan(start, destination.Length).CopyTo(destination);
                break;
            case WeightFormat.BFloat16:
                var bits = Bf16.AsSpan(start, destination.Length);
                var wide = MemoryMarshal.Cast<float, uint>(destination);
                for (int i = 0; i < bits.Length; i++) wide[i] = (uint)bits[i] << 16;
                break;
            default:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = Q![start + i] * Scales![(start + i) / GroupSize];
                break;
        }
    }

    /// <summary>Writes the weights as little-endian fp32, a piece at a time (no fp32 copy of the whole matrix is kept).</summary>
    public void WriteFloat32(Stream stream)
    {
        if (F32 is not null)
        {
            stream.Write(MemoryMarshal.AsBytes(F32.AsSpan()));
            return;
        }
        var piece = new float[Math.Min(Length, 1 << 16)];
        for (int start = 0; start < Length; start += piece.Length)
        {
            var values = piece.AsSpan(0, Math.Min(piece.Length, Length - start));
            Read(start, values);
            stream.Write(MemoryMarshal.AsBytes(values));
        }
    }

    private float[] Dequantize()
    {
        var values = new float[Length];
        const int Chunk = 1 << 16;
        Parallel.For(0, (Length + Chunk - 1) / Chunk, c =>
        {
            int start = c * Chunk, count = Math.Min(Length, start + Chunk) - start;
            Read(start, values.AsSpan(start, count));
        });
        return values;
    }

    /// <summary>fp32 to bf16 with round-to-nearest-even (NaN stays NaN).</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40); // keep it a quiet NaN
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>
    /// llama2.c export.py's group quantization: <c>scale = max|w| / 127</c>, <c>q = round(w / scale)</c> with halves to
    /// even (torch.round); an all-zero group has scale 0.
    /// </summary>
    public static void QuantizeGroup(ReadOnlySpan<float> values, Span<sbyte> q, out float scale)
    {
        float max = 0;
        foreach (float v in values) max = Math.Max(max, Math.Abs(v));
        scale = max / 127f;
        for (int i = 0; i < values.Length; i++)
            q[i] = scale == 0 ? (sbyte)0 : (sbyte)MathF.Round(values[i] / scale);
    }
}
