using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// The token embedding table, a row lookup (<c>index_select</c>) into a weight that <see cref="LlamaModel"/> shares
/// with its output projection (weight tying), or, for an untied model, a table of its own.
/// </summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    private Parameter? weight; // (vocab_size, dim), shared with output.weight unless the model is untied

    internal TokenEmbedding() : base(nameof(TokenEmbedding))
    {
        RegisterComponents();
    }

    /// <summary>The table, <c>(vocab_size, dim)</c>.</summary>
    public Parameter Weight => weight ?? throw new InvalidOperationException("The token embedding is not tied to an output weight.");

    /// <summary>Gives the embedding a table of its own (an untied model: the output projection has another).</summary>
    internal void Own(Parameter table) => Tie(table);

    /// <summary>Makes <paramref name="shared"/> this table (null unties it, as the model does around a device move).</summary>
    internal void Tie(Parameter? shared)
    {
        weight = shared;
        ConditionallyRegisterParameter(nameof(weight), shared);
    }

    /// <summary>Looks up <paramref name="tokens"/> <c>(batch, seq)</c> of int64 ids; returns <c>(batch, seq, dim)</c>.</summary>
    public override Tensor forward(Tensor tokens)
    {
        var table = Weight;
        return table.index_select(0, tokens.reshape(-1)).view(tokens.shape[0], tokens.shape[1], table.shape[1]);
    }
}
