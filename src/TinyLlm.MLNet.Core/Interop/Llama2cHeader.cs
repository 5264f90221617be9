using System.Buffers.Binary;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// The 256-byte header of llama2.c's versioned checkpoints (export.py <c>--version 1</c> and <c>2</c>): uint32 magic
/// 0x616b3432 ("ak42" read as a little-endian integer), int32 version, the 7 int32 sizes of <c>Config</c> (vocab_size
/// positive), uint8 shared_classifier, then for version 2 an int32 group_size, zero padding to 256 bytes.
/// </summary>
internal static class Llama2cHeader
{
    public const uint Magic = 0x616b3432;
    public const int Size = 256;

    public static void Write(Stream stream, int version, LlamaConfig p, int groupSize = 0)
    {
        var header = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), version);
        int[] sizes = [p.Dim, p.FeedForwardDim, p.NLayers, p.NHeads, p.NKvHeads, p.VocabSize, p.MaxSeqLen];
        for (int i = 0; i < sizes.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8 + 4 * i), sizes[i]);
        header[36] = p.SharedClassifier ? (byte)1 : (byte)0;
        if (version == 2) BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(37), groupSize);
        stream.Write(header);
    }

    /// <summary>Reads and checks the header; <paramref name="expectedVersion"/> 0 accepts 1 and 2.</summary>
    public static (int Version, LlamaConfig Dims, int GroupSize) Read(Stream stream, string name, int expectedVersion = 0)
    {
        var header = new byte[Size];
        if (stream.ReadAtLeast(header, Size, throwOnEndOfStream: false) < Size)
            throw new InvalidDataException($"'{name}' is too short for a llama2.c v1/v2 header ({Size} bytes): the file is truncated.");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != Magic)
            throw new InvalidDataException($"'{name}' has magic 0x{magic:x8}; a llama2.c v1/v2 checkpoint starts with magic 0x{Magic:x8} (\"ak42\").");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
        if (version is not (1 or 2))
            throw new InvalidDataException($"'{name}' has llama2.c checkpoint version {version}; TinyLlm reads versions 0, 1 and 2.");
        if (expectedVersion != 0 && version != expectedVersion)
            throw new InvalidDataException($"'{name}' is a llama2.c version {version} checkpoint; this reader takes version {expectedVersion}.");
        var h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8 + 4 * i));
        byte shared = header[36];
        if (shared > 1) throw new InvalidDataException($"'{name}' has shared_classifier {shared} in its header; it must be 0 or 1.");
        int groupSize = version == 2 ? BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(37)) : 0;
        LlamaConfig dims;
        try
        {
            dims = ConfigOf(h, shared == 1);
            dims.Validate(LlamaConfig.Llama2cName);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{name}' has an invalid llama2.c v{version} header: {e.Message}", e);
        }
        if (version == 2 && (groupSize <= 0 || dims.Dim % groupSize != 0 || dims.FeedForwardDim % groupSize != 0))
            throw new InvalidDataException($"'{name}' has group_size {groupSize} in its v2 header; it must be positive and divide dim ({dims.Dim}) and hidden_dim ({dims.FeedForwardDim}).");
        return (version, dims, groupSize);
    }

    /// <summary>
    /// The model shape of llama2.c's <c>Config</c> fields, in header order: dim, hidden_dim, n_layers, n_heads,
    /// n_kv_heads, vocab_size, seq_len. The header has no field for the RMSNorm epsilon or the RoPE base: llama2.c's
    /// run.c fixes them at 1e-5 and 10000, the defaults.
    /// </summary>
    internal static LlamaConfig ConfigOf(ReadOnlySpan<int> h, bool sharedClassifier) => new()
    {
        Dim = h[0], HiddenDim = h[1], NLayers = h[2], NHeads = h[3], NKvHeads = h[4], VocabSize = h[5], MaxSeqLen = h[6],
        SharedClassifier = sharedClassifier,
    };

    /// <summary>The sizes as the error messages name them.</summary>
    public static string Describe(LlamaConfig d) =>
        $"dim {d.Dim}, hidden_dim {d.FeedForwardDim}, n_layers {d.NLayers}, n_heads {d.NHeads}, n_kv_heads {d.NKvHeads}, vocab_size {d.VocabSize}, seq_len {d.MaxSeqLen}, shared_classifier {(d.SharedClassifier ? 1 : 0)}";
}
