using System.Runtime.InteropServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Reads and writes llama2.c's version-2 checkpoint (export.py <c>--version 2</c>, what <c>runq.c</c> reads):
/// the matrices quantized to symmetric int8 in groups ("Q8_0"), the RMSNorm weights kept in fp32.
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// 256-byte header (magic "ak42", version 2, the 7 sizes, shared_classifier byte, int32 group_size at byte 37, zero
/// padding); then float32: every attention RMSNorm, every ffn RMSNorm, the final RMSNorm; then for each quantized
/// tensor, its int8 values followed by its float32 scales (one per group of group_size values): the token embedding,
/// then wq of layer 0, 1, ..., wk of every layer, wv, wo, w1, w2, w3, and the classifier only if unshared.
/// A value is <c>q * scale</c> with <c>scale = max|w| / 127</c> over its group and <c>q = round(w / scale)</c>.
/// Reading keeps the int8 values and scales (<see cref="WeightFormat.Q8_0"/> storage, what the engine runs, as
/// runq.c does); their fp32 views are the dequantized values, not the originals.
/// </remarks>
public static class Llama2cQ8Checkpoint
{
    /// <summary>The group size export.py starts from.</summary>
    public const int DefaultGroupSize = 64;

    /// <summary>
    /// The group size used for <paramref name="dims"/>: <paramref name="requested"/> halved until it divides both dim
    /// and hidden_dim (export.py backs off the same way; runq.c also quantizes hidden_dim-long activations).
    /// </summary>
    public static int FitGroupSize(LlamaConfig dims, int requested = DefaultGroupSize)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (requested < 1) throw new ArgumentOutOfRangeException(nameof(requested), $"The Q8 group size must be at least 1; it was {requested}.");
        int g = requested;
        while (dims.Dim % g != 0 || dims.FeedForwardDim % g != 0) g /= 2;
        return g;
    }

    /// <summary>Quantizes and writes <paramref name="weights"/> to <paramref name="path"/> (via a temporary file and a rename).</summary>
    /// <returns>The group size used (see <see cref="FitGroupSize"/>).</returns>
    public static int Write(TransformerWeights weights, string path, int groupSize = DefaultGroupSize)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int g = FitGroupSize(weights.Config, groupSize);
        AtomicFile.Write(path, s => Write(weights, s, g));
        return g;
    }

    /// <summary>
    /// Quantizes and writes <paramref name="weights"/> to <paramref name="stream"/> with exactly
    /// <paramref name="groupSize"/>. Weights already stored as Q8_0 with that group size are written as they are.
    /// </summary>
    public static void Write(TransformerWeights weights, Stream stream, int groupSize)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (groupSize < 1 || weights.Config.Dim % groupSize != 0 || weights.Config.HiddenDim % groupSize != 0)
            throw new ArgumentOutOfRangeException(nameof(groupSize), $"The Q8 group size {groupSize} must divide dim ({weights.Config.Dim}) and hidden_dim ({weights.Config.HiddenDim}).");
        var quantized = weights.Convert(WeightFormat.Q8_0, groupSize);
        Llama2cHeader.Write(stream, 2, weights.Config, groupSize);
        foreach (var norm in new[] { weights.AttentionNorm, weights.FfnNorm, weights.FinalNorm })
            stream.Write(MemoryMarshal.AsBytes(norm.AsSpan()));
        foreach (var (_, matrix, offset, length) in QuantizedTensors(quantized))
        {
            stream.Write(MemoryMarshal.AsBytes(matrix.Q.AsSpan(checked((int)offset), length)));
            stream.Write(MemoryMarshal.AsBytes(matrix.Scales.AsSpan(checked((int)(offset / groupSize)), length / groupSize)));
        }
    }

    /// <summary>
    /// Reads a v2 checkpoint file. The weights stay quantized (<see cref="WeightFormat.Q8_0"/> with the file's group
    /// size): the engine runs them as they are, and their fp32 array properties give the dequantized values.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Wrong magic or version, an inconsistent header, or the wrong size.</exception>
    public static TransformerWeights Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"llama2.c checkpoint '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a v2 checkpoint from <paramref name="stream"/> (kept quantized); <paramref name="name"/> is used in errors.</summary>
    public static TransformerWeights Read(Stream stream, string name)
    {
        var (_, dims, g) = Llama2cHeader.Read(stream, name, expectedVersion: 2);
        var weights = TransformerWeights.Allocate(dims, WeightFormat.Q8_0, g);
        var tensors = QuantizedTensors(weights).ToList();
        long expected = Llama2cHeader.Size + sizeof(float) * (2L * dims.NLayers * dims.Dim + dims.Dim)
            + tensors.Sum(t => t.Length + sizeof(float) * (t.Length / g));
        if (stream.CanSeek && stream.Length != expected)
            throw new InvalidDataException($"'{name}' has {stream.Length} bytes but its v2 header ({Llama2cHeader.Describe(dims)}, group_size {g}) implies {expected}: the file is truncated or the header does not match the data.");
        foreach (var (tensor, norm) in new[] { ("attention_norm.weight", weights.AttentionNorm), ("ffn_norm.weight", weights.FfnNorm), ("norm.weight", weights.FinalNorm) })
            ReadExactly(stream, MemoryMarshal.AsBytes(norm.AsSpan()), name, tensor);
        foreach (var (tensor, matrix, offset, length) in tensors)
        {
            ReadExactly(stream, MemoryMarshal.AsBytes(matrix.Q.AsSpan(checked((int)offset), length)), name, tensor);
            ReadExactly(stream, MemoryMarshal.AsBytes(matrix.Scales.AsSpan(checked((int)(offset / g)), length / g)), name, tensor + " scales");
        }
        return weights;
    }

    private static void ReadExactly(Stream stream, Span<byte> bytes, string name, string tensor)
    {
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw new InvalidDataException($"'{name}' ends inside tensor {tensor}: the file is truncated.");
    }

    /// <summary>The quantized tensors in file order, each a slice of one stored matrix (one slice per layer).</summary>
    private static IEnumerable<(string Name, WeightMatrix Matrix, long Offset, int Length)> QuantizedTensors(TransformerWeights w)
    {
        yield return ("tok_embeddings.weight", w.EmbeddingMatrix, 0, w.EmbeddingMatrix.Length);
        var stacks = new[] { ("attention.wq.weight", w.WqMatrix), ("attention.wk.weight", w.WkMatrix), ("attention.wv.weight", w.WvMatrix), ("attention.wo.weight", w.WoMatrix),
                             ("feed_forward.w1.weight", w.W1Matrix), ("feed_forward.w2.weight", w.W2Matrix), ("feed_forward.w3.weight", w.W3Matrix) };
        int layers = w.Config.NLayers;
        foreach (var (name, matrix) in stacks)
        {
            int each = matrix.Length / layers;
            for (int l = 0; l < layers; l++) yield return ($"layers.{l}.{name}", matrix, (long)l * each, each);
        }
        if (!w.Config.SharedClassifier) yield return ("output.weight", w.ClassifierMatrix, 0, w.ClassifierMatrix.Length);
    }
}
