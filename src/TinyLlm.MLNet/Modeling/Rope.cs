using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// Rotary position embeddings: channel pairs (x[2i], x[2i+1]) of each query and key head are rotated by the angle
/// <c>pos * theta^(-2i/headDim)</c>, as in llama2.c (interleaved pairs, not the two-halves layout).
/// </summary>
public static class Rope
{
    /// <summary>The default base of the rotation frequencies.</summary>
    public const double DefaultTheta = 10000.0;

    /// <summary>Cosine and sine tables, each <c>(end, headDim / 2)</c> in fp32.</summary>
    public static (Tensor Cos, Tensor Sin) PrecomputeFrequencies(int headDim, int end, double theta = DefaultTheta)
    {
        using var scope = torch.NewDisposeScope();
        var exponents = torch.arange(0, headDim, 2, dtype: ScalarType.Float32)[..(headDim / 2)] / headDim;
        var freqs = 1.0f / torch.pow(theta, exponents);                           // (hd/2)
        var t = torch.arange(end, dtype: ScalarType.Float32);                   // (end)
        var angles = torch.outer(t, freqs);                                      // (end, hd/2)
        return (torch.cos(angles).MoveToOuterDisposeScope(), torch.sin(angles).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates <paramref name="x"/> of shape <c>(batch, seq, heads, headDim)</c> by the tables' rows for its
    /// positions: <c>(seq, headDim / 2)</c> when every batch row sits at positions 0..seq-1, or
    /// <c>(batch, seq, headDim / 2)</c> when each row has its own positions (decoding with a cache). Computed in fp32;
    /// returns the input's type.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long b = x.shape[0], t = x.shape[1], h = x.shape[2], hd = x.shape[3];
        var pairs = x.to(ScalarType.Float32).reshape(b, t, h, hd / 2, 2);
        var re = pairs.select(-1, 0);                                            // (b, t, h, hd/2)
        var im = pairs.select(-1, 1);
        var c = cos.unsqueeze(-2);                                               // broadcast over heads
        var s = sin.unsqueeze(-2);
        var outRe = re * c - im * s;
        var outIm = re * s + im * c;
        var rotated = torch.stack([outRe, outIm], dim: -1).flatten(3);          // (b, t, h, hd)
        return rotated.to(x.dtype);
    }
}
