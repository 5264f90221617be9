using System.Runtime.InteropServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Reads and writes llama2.c's version-1 checkpoint (export.py <c>--version 1</c>): the fp32 weights behind a
/// 256-byte header.
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// 256-byte header (see magic "ak42", version 1, the 7 sizes, shared_classifier byte, zero padding); then float32
/// row-major: every layer's attention RMSNorm (dim), every ffn RMSNorm (dim), the final RMSNorm (dim), the token
/// embedding (vocab, dim), every wq (dim, dim), wk (kv_dim, dim), wv, wo (dim, dim), w1 (hidden, dim), w2 (dim,
/// hidden), w3 (hidden, dim); then the classifier (vocab, dim) only if unshared. No RoPE tables.
/// </remarks>
public static class Llama2cV1Checkpoint
{
    /// <summary>Writes <paramref name="weights"/> to <paramref name="path"/> (via a temporary file and a rename).</summary>
    public static void Write(TransformerWeights weights, string path)
    {
        ArgumentNullException.ThrowIfNull(weights);
        AtomicFile.Write(path, s => Write(weights, s));
    }

    /// <summary>Writes <paramref name="weights"/> to <paramref name="stream"/>.</summary>
    public static void Write(TransformerWeights weights, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Llama2cHeader.Write(stream, 1, weights.Config);
        foreach (var (_, values) in FileOrder(weights))
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>Reads a v1 checkpoint file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Wrong magic or version, an inconsistent header, or the wrong size.</exception>
    public static TransformerWeights Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"llama2.c checkpoint '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a v1 checkpoint from <paramref name="stream"/>; <paramref name="name"/> is used in errors.</summary>
    public static TransformerWeights Read(Stream stream, string name)
    {
        var (_, dims, _) = Llama2cHeader.Read(stream, name, expectedVersion: 1);
        var weights = new TransformerWeights(dims);
        var tensors = FileOrder(weights).ToList();
        long expected = Llama2cHeader.Size + sizeof(float) * tensors.Sum(t => (long)t.Values.Length);
        if (stream.CanSeek && stream.Length != expected)
            throw new InvalidDataException($"'{name}' has {stream.Length} bytes but its v1 header ({Llama2cHeader.Describe(dims)}) implies {expected}: the file is truncated or the header does not match the data.");
        foreach (var (tensor, values) in tensors)
        {
            var bytes = MemoryMarshal.AsBytes(values.AsSpan());
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                throw new InvalidDataException($"'{name}' ends inside tensor {tensor}: the file is truncated.");
        }
        return weights;
    }

    /// <summary>The tensors in v1 file order: the norms first, then the matrices, then the classifier if unshared.</summary>
    internal static IEnumerable<(string Name, float[] Values)> FileOrder(TransformerWeights w)
    {
        yield return ("attention_norm.weight", w.AttentionNorm);
        yield return ("ffn_norm.weight", w.FfnNorm);
        yield return ("norm.weight", w.FinalNorm);
        yield return ("tok_embeddings.weight", w.TokenEmbedding);
        yield return ("attention.wq.weight", w.Wq);
        yield return ("attention.wk.weight", w.Wk);
        yield return ("attention.wv.weight", w.Wv);
        yield return ("attention.wo.weight", w.Wo);
        yield return ("feed_forward.w1.weight", w.W1);
        yield return ("feed_forward.w2.weight", w.W2);
        yield return ("feed_forward.w3.weight", w.W3);
        if (!w.Config.SharedClassifier) yield return ("output.weight", w.Classifier);
    }
}
