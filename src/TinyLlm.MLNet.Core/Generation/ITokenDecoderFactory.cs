namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Makes <see cref="ITokenDecoder"/>s over one model on one backend and device: the weights are placed once (on the
/// GPU, for TorchSharp on CUDA), and each decoder adds only its own key/value cache.
/// </summary>
public interface ITokenDecoderFactory
{
    /// <summary>The backend the decoders run on: <see cref="GenerationBackend.Engine"/> or <see cref="GenerationBackend.TorchSharp"/>.</summary>
    GenerationBackend Backend { get; }

    /// <summary>The device the decoders run on: <c>cpu</c> or <c>cuda</c>.</summary>
    string Device { get; }

    /// <summary>A new decoder with room for <paramref name="slots"/> sequences.</summary>
    ITokenDecoder Create(int slots);
}
