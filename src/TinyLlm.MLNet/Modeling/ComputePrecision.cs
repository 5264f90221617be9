using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// How the forward pass computes, shared by every module of one model. TorchSharp has no autocast, so the model
/// casts by hand: weights stay fp32 (the master copy the optimizer updates) and each matrix product runs on
/// copies cast to <see cref="Compute"/>. The casts are differentiable, so gradients arrive in fp32. Norms, RoPE,
/// the residual stream and the loss stay fp32.
/// </summary>
internal sealed class ForwardOptions
{
    /// <summary>Type of the matrix products and attention (Float32 or BFloat16).</summary>
    public ScalarType Compute = ScalarType.Float32;

    /// <summary>Attention through libtorch's fused <c>scaled_dot_product_attention</c> (true) or the explicit formula.</summary>
    public bool UseScaledDotProductAttention = true;

    /// <summary><paramref name="x"/> in the compute type (itself when already so).</summary>
    public Tensor ToCompute(Tensor x) => x.dtype == Compute ? x : x.to(Compute);

    /// <summary><c>x @ weight.T</c> in the compute type (no cast when already that type).</summary>
    public Tensor Linear(Tensor x, Tensor weight) =>
        nn.functional.linear(x.dtype == Compute ? x : x.to(Compute), weight.dtype == Compute ? weight : weight.to(Compute));
}
