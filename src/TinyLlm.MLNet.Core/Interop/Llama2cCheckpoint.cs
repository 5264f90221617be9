using System.Runtime.InteropServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Reads and writes llama2.c's "v0" checkpoint, the file <c>run.c</c> reads.
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: unshared classifier), seq_len;
/// then float32 row-major: token embedding (vocab, dim); every layer's attention RMSNorm (dim); every wq (dim, dim);
/// every wk (kv_dim, dim); every wv; every wo (dim, dim); every ffn RMSNorm; every w1 (hidden, dim); every w2
/// (dim, hidden); every w3 (hidden, dim); final RMSNorm (dim); RoPE cos table (seq_len, head_size/2); RoPE sin
/// table; the classifier (vocab, dim) only if unshared.
/// </remarks>
public static class Llama2cCheckpoint
{
    private const int HeaderBytes = 7 * sizeof(int);

    /// <summary>Writes <paramref name="weights"/> to <paramref name="path"/> (via a temporary file and a rename).</summary>
    public static void Write(TransformerWeights weights, string path)
    {
        AtomicFile.Write(path, stream => Write(weights, stream));
    }

    /// <summary>Writes <paramref name="weights"/> to <paramref name="stream"/>.</summary>
    public static void Write(TransformerWeights weights, Stream stream)
    {
        var p = weights.Config;
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        foreach (int v in new[] { p.Dim, p.FeedForwardDim, p.NLayers, p.NHeads, p.NKvHeads, p.SharedClassifier ? p.VocabSize : -p.VocabSize, p.MaxSeqLen })
            writer.Write(v);
        writer.Flush();
        // bf16 and Q8_0 matrices are written as their fp32 values, dequantized a piece at a time
        foreach (var (_, matrix, norm) in weights.StoredInFileOrder())
        {
            if (matrix is not null) matrix.WriteFloat32(stream);
            else stream.Write(MemoryMarshal.AsBytes(norm.AsSpan()));
        }
        var (cos, sin) = InferenceEngine.RotaryTables(p);
        stream.Write(MemoryMarshal.AsBytes(cos.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(sin.AsSpan()));
        if (!p.SharedClassifier) weights.ClassifierMatrix.WriteFloat32(stream);
    }

    /// <summary>Reads a v0 checkpoint file.</summary>
    /// <exception cref="InvalidDataException">The header is inconsistent or the file is not the size it implies.</exception>
    public static TransformerWeights Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"llama2.c checkpoint '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a v0 checkpoint from <paramref name="stream"/>; <paramref name="name"/> is used in errors.</summary>
    public static TransformerWeights Read(Stream stream, string name)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes)
            throw new InvalidDataException($"'{name}' is too short for a llama2.c checkpoint header ({HeaderBytes} bytes).");
        var h = MemoryMarshal.Cast<byte, int>(header);
        if (BitConverter.ToUInt32(header) == 0x616b3432)
            throw new InvalidDataException($"'{name}' is a llama2.c v1+ file (magic 'ak42'); this reader takes the v0 layout.");
        LlamaConfig dims;
        try
        {
            dims = Llama2cHeader.ConfigOf([h[0], h[1], h[2], h[3], h[4], Math.Abs(h[5]), h[6]], sharedClassifier: h[5] > 0);
            dims.Validate(LlamaConfig.Llama2cName);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{name}' has an invalid llama2.c header: {e.Message}", e);
        }
        var weights = new TransformerWeights(dims);
        long expected = HeaderBytes + sizeof(float) * (weights.InFileOrder().Sum(t => (long)t.Values.Length)
            + 2L * dims.MaxSeqLen * (dims.HeadDim / 2) + (dims.SharedClassifier ? 0 : weights.Classifier.Length));
        if (stream.CanSeek && stream.Length != expected)
            throw new InvalidDataException($"'{name}' has {stream.Length} bytes but its header (dim {dims.Dim}, hidden_dim {dims.FeedForwardDim}, n_layers {dims.NLayers}, n_heads {dims.NHeads}, n_kv_heads {dims.NKvHeads}, vocab_size {dims.VocabSize}, seq_len {dims.MaxSeqLen}) implies {expected}: truncated, or not a v0 checkpoint.");
        foreach (var (tensor, values) in weights.InFileOrder())
            ReadFloats(stream, values, name, tensor);
        var skip = new float[dims.MaxSeqLen * (dims.HeadDim / 2)];
        ReadFloats(stream, skip, name, "freq_cis_real");
        ReadFloats(stream, skip, name, "freq_cis_imag");
        if (!dims.SharedClassifier) ReadFloats(stream, weights.Classifier, name, "output.weight");
        return weights;
    }

    private static void ReadFloats(Stream stream, float[] values, string name, string tensor)
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw new InvalidDataException($"'{name}' ends inside tensor {tensor}: the file is truncated.");
    }
}
