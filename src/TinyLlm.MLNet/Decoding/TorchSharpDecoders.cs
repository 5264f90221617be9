using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// The TorchSharp generation backend: one <see cref="LlamaModel"/> holding the weights on a device, and a
/// <see cref="TorchSharpDecoder"/> (its own key/value cache) per <see cref="Create"/>. Built from weights, it owns
/// the model it makes and disposes it; built over a model, it borrows that model and leaves it to the caller.
/// </summary>
public sealed class TorchSharpDecoders : ITokenDecoderFactory
{
    private readonly bool _ownsModel;

    /// <summary>Puts <paramref name="weights"/> into a <see cref="LlamaModel"/> on <paramref name="device"/> (auto, cpu, cuda or cuda:N).</summary>
    /// <param name="weights">The model's weights (fp32, copied).</param>
    /// <param name="device">Where the model and the caches live.</param>
    /// <param name="compute">
    /// Type of the matrix products and of the key/value cache: Float32 (default; the same tokens as the .NET engine) or
    /// BFloat16 (faster on GPUs with bf16 units; logits then differ from fp32 by about 1%, so sampled tokens can too).
    /// </param>
    /// <exception cref="ArgumentException">An unknown device or compute type.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and is not available.</exception>
    public TorchSharpDecoders(TransformerWeights weights, string device = "auto", ScalarType compute = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (Unsupported(weights.Config) is { } why) throw new ArgumentException(why, nameof(weights));
        var target = DeviceSelection.ResolveDevice(device);
        if (target.type == DeviceType.CPU) DecoderMemory.Check(weights.Config, 1);
        var model = weights.ToLlamaModel();
        model.ComputeType = compute;
        Model = target.type == DeviceType.CPU ? model : model.to(target);
        Model.eval();
        _ownsModel = true;
    }

    /// <summary>Decoders over <paramref name="model"/> as it is (its device and compute type); the model stays the caller's (borrowed, not disposed).</summary>
    public TorchSharpDecoders(LlamaModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Model.eval();
    }

    /// <summary>The model the decoders run.</summary>
    public LlamaModel Model { get; }

    /// <inheritdoc/>
    public GenerationBackend Backend => GenerationBackend.TorchSharp;

    /// <inheritdoc/>
    public string Device => Model.Device.type == DeviceType.CUDA ? "cuda" : "cpu";

    /// <inheritdoc/>
    public ITokenDecoder Create(int slots) => new TorchSharpDecoder(Model, slots);

    /// <summary>Why <see cref="LlamaModel"/> cannot hold a model of this shape (a sentence), or null when it can.</summary>
    public static string? Unsupported(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return null; // every shape the engine runs, tied or untied, any RoPE base and norm epsilon
    }

    /// <summary>Disposes the model when this factory made it (see the constructors); a borrowed model is left alone.</summary>
    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}
