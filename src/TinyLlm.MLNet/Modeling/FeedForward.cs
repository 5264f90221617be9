using TinyLlm.MLNet.Engine;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>The SwiGLU feed-forward block: <c>w2(silu(w1 x) * w3 x)</c>, no biases.</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly ForwardOptions _options;
    private readonly Linear w1, w2, w3;
    private readonly Dropout dropout;

    internal FeedForward(LlamaConfig config, ForwardOptions options) : base(nameof(FeedForward))
    {
        _options = options;
        int hidden = config.FeedForwardDim;
        w1 = nn.Linear(config.Dim, hidden, hasBias: false);
        w2 = nn.Linear(hidden, config.Dim, hasBias: false);
        w3 = nn.Linear(config.Dim, hidden, hasBias: false);
        dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        x = _options.ToCompute(x); // once for w1 and w3
        var gate = nn.functional.silu(_options.Linear(x, w1.weight!));          // (bs, seqlen, hidden)
        var up = _options.Linear(x, w3.weight!);
        return dropout.forward(_options.Linear(gate * up, w2.weight!));          // (bs, seqlen, dim)
    }
}
