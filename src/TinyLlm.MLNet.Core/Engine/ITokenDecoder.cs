namespace TinyLlm.MLNet.Engine;

/// <summary>
/// What the text generator (<c>Generation.TextGenerator</c>) needs from a forward pass: several sequences (slots), each with its own key/value
/// cache, advanced together one token at a time, and the next-token logits of each. Implemented by the pure .NET
/// <see cref="InferenceEngine"/> and, in the TinyLlm.MLNet package, by a TorchSharp decoder (CPU or CUDA). Not
/// thread-safe: one decoder per thread.
/// </summary>
public interface ITokenDecoder : IDisposable
{
    /// <summary>The model's sizes.</summary>
    LlamaConfig Config { get; }

    /// <summary>How many sequences the decoder holds.</summary>
    int Slots { get; }

    /// <summary>
    /// Runs, for each i, token <c>tokens[i]</c> at position <c>positions[i]</c> of the sequence in slot
    /// <c>slots[i]</c> (distinct slots; every earlier position of that sequence must have been run), all in one pass.
    /// </summary>
    void Forward(ReadOnlySpan<int> slots, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions);

    /// <summary>
    /// Starts sequence <c>sequences[i]</c> afresh in slot <c>slots[i]</c>: runs its tokens at positions 0, 1, ...,
    /// replacing whatever the slot held (this is also how a slot is reset for reuse). Afterwards
    /// <see cref="Logits"/> of the slot are the logits after the sequence's last token.
    /// </summary>
    void Prefill(ReadOnlySpan<int> slots, ReadOnlySpan<int[]> sequences);

    /// <summary>The logits computed for <paramref name="slot"/> by the last call that ran it; overwritten by the next call.</summary>
    ReadOnlySpan<float> Logits(int slot);
}
