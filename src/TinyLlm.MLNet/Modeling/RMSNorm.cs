using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>Root-mean-square layer norm: <c>x / sqrt(mean(x^2) + eps) * weight</c>, computed in fp32 whatever the input type.</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    private readonly Parameter weight; // (dim)

    /// <summary>Creates the norm with a unit weight of size <paramref name="dim"/>.</summary>
    public RMSNorm(int dim, double eps) : base(nameof(RMSNorm))
    {
        _eps = eps;
        weight = new Parameter(torch.ones(dim));
        RegisterComponents();
    }

    /// <summary>The learned per-channel gain.</summary>
    public Parameter Weight => weight;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        // fp32 even under bf16 compute: the mean of squares loses too much in 8 mantissa bits.
        var xf = x.to(ScalarType.Float32);
        var normed = xf * torch.rsqrt(xf.pow(2).mean([-1L], keepdim: true) + _eps);
        return normed.to(x.dtype) * weight;
    }
}
