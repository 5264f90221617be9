namespace TinyLlm.MLNet.Interop;

/// <summary>
/// The element type of a tensor in a GGUF file (ggml's <c>ggml_type</c>, the number stored in the file). TinyLlm
/// reads and writes <see cref="F32"/>, <see cref="F16"/>, <see cref="BF16"/> and <see cref="Q8_0"/>; the other
/// names are here so that an error can say which type a file holds.
/// </summary>
public enum GgmlType : uint
{
    /// <summary>32-bit float.</summary>
    F32 = 0,
    /// <summary>IEEE half precision.</summary>
    F16 = 1,
    /// <summary>4-bit blocks of 32 with an fp16 scale.</summary>
    Q4_0 = 2,
    /// <summary>4-bit blocks of 32 with an fp16 scale and minimum.</summary>
    Q4_1 = 3,
    /// <summary>5-bit blocks of 32 with an fp16 scale.</summary>
    Q5_0 = 6,
    /// <summary>5-bit blocks of 32 with an fp16 scale and minimum.</summary>
    Q5_1 = 7,
    /// <summary>Blocks of 32 int8 values with one fp16 scale (34 bytes a block): value = q * scale.</summary>
    Q8_0 = 8,
    /// <summary>8-bit blocks of 32 with an fp32 scale and sum (activations only).</summary>
    Q8_1 = 9,
    /// <summary>2-bit k-quant super-blocks of 256.</summary>
    Q2_K = 10,
    /// <summary>3-bit k-quant super-blocks of 256.</summary>
    Q3_K = 11,
    /// <summary>4-bit k-quant super-blocks of 256.</summary>
    Q4_K = 12,
    /// <summary>5-bit k-quant super-blocks of 256.</summary>
    Q5_K = 13,
    /// <summary>6-bit k-quant super-blocks of 256.</summary>
    Q6_K = 14,
    /// <summary>8-bit k-quant super-blocks of 256.</summary>
    Q8_K = 15,
    /// <summary>8-bit integer.</summary>
    I8 = 24,
    /// <summary>16-bit integer.</summary>
    I16 = 25,
    /// <summary>32-bit integer.</summary>
    I32 = 26,
    /// <summary>64-bit integer.</summary>
    I64 = 27,
    /// <summary>64-bit float.</summary>
    F64 = 28,
    /// <summary>bfloat16: the upper 16 bits of an fp32.</summary>
    BF16 = 30,
}

/// <summary>Sizes of the <see cref="GgmlType"/>s whose layout TinyLlm knows.</summary>
internal static class GgmlTypes
{
    /// <summary>Values per Q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes per Q8_0 block: an fp16 scale, then 32 int8 values.</summary>
    public const int Q8BlockBytes = 2 + Q8BlockSize;

    /// <summary>(values per block, bytes per block) of <paramref name="type"/>, or null for a layout TinyLlm does not know.</summary>
    public static (int Values, int Bytes)? Block(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.I32 => (1, 4),
        GgmlType.F16 or GgmlType.BF16 or GgmlType.I16 => (1, 2),
        GgmlType.I8 => (1, 1),
        GgmlType.I64 or GgmlType.F64 => (1, 8),
        GgmlType.Q8_0 => (Q8BlockSize, Q8BlockBytes),
        _ => null,
    };

    /// <summary>The type's name and number as an error message shows it: <c>Q4_K (12)</c>.</summary>
    public static string Describe(GgmlType type) =>
        Enum.IsDefined(type) ? $"{type} ({(uint)type})" : $"type {(uint)type}";
}
