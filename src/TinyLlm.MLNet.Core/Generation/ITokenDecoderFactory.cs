using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Makes <see cref="ITokenDecoder"/>s over one model on one backend and device: the weights are placed once (on the
/// GPU, for TorchSharp on CUDA), and each decoder adds only its own key/value cache. Disposing the factory releases
/// the model it placed (GPU memory, for TorchSharp); decoders it made must not be used afterwards.
/// </summary>
public interface ITokenDecoderFactory : IDisposable
{
    /// <summary>The backend the decoders run on: <see cref="GenerationBackend.Engine"/> or <see cref="GenerationBackend.TorchSharp"/>.</summary>
    GenerationBackend Backend { get; }

    /// <summary>The device the decoders run on: <c>cpu</c> or <c>cuda</c>.</summary>
    string Device { get; }

    /// <summary>A new decoder with room for <paramref name="slots"/> sequences.</summary>
    ITokenDecoder Create(int slots);
}
