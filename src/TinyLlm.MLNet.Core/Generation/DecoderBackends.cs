using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Turns the <see cref="GenerationBackend"/> and device options into the decoders that generation runs on. The .NET
/// engine is always here; the TorchSharp backend lives in the TinyLlm.MLNet package (Core has no TorchSharp), which
/// registers it when loaded.
/// </summary>
public static class DecoderBackends
{
    /// <summary>
    /// The decoders for <paramref name="weights"/> on <paramref name="backend"/> and <paramref name="device"/>
    /// (<c>auto</c>, <c>cpu</c> or <c>cuda</c>). Auto picks TorchSharp on CUDA when the TinyLlm.MLNet package is
    /// present, a GPU is visible and the model fits the TorchSharp model (today every shape does), and the
    /// .NET engine otherwise; device <c>auto</c> is <c>cuda</c> when visible, else <c>cpu</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown device, the engine asked to run on CUDA, or weights the TorchSharp model cannot hold.</exception>
    /// <exception cref="InvalidOperationException">TorchSharp asked for without the TinyLlm.MLNet package, or CUDA asked for and not available.</exception>
    public static ITokenDecoderFactory Select(TransformerWeights weights, GenerationBackend backend = GenerationBackend.Auto, string? device = "auto")
    {
        ArgumentNullException.ThrowIfNull(weights);
        string dev = NormalizeDevice(device);
        switch (backend)
        {
            case GenerationBackend.Engine:
                if (dev == "cuda")
                    throw new ArgumentException("The generation backend Engine (TinyLlm's .NET engine) runs on the CPU only; device 'cuda' needs backend TorchSharp (or Auto), or use device cpu.", nameof(device));
                return new EngineDecoders(weights);
            case GenerationBackend.TorchSharp:
                return TorchSharpDecoders(weights, dev);
            case GenerationBackend.Auto:
                if (dev == "cpu") return new EngineDecoders(weights);
                if (dev == "cuda") return TorchSharpDecoders(weights, dev);
                // CUDA first: without a GPU the answer is the engine, and TorchSharp (and libtorch) stay unloaded.
                var torch = TorchSharpBridge.Find();
                return torch is not null && torch.CudaAvailable && torch.Unsupported(weights.Config) is null
                    ? torch.CreateDecoders(weights, "cuda")
                    : new EngineDecoders(weights);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), $"The generation backend must be Auto, Engine or TorchSharp; got {backend}.");
        }
    }

    /// <summary><c>auto</c>, <c>cpu</c> or <c>cuda</c> (trimmed, lower case; empty is <c>auto</c>).</summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static string NormalizeDevice(string? device)
    {
        string name = (device ?? "").Trim().ToLowerInvariant();
        return name switch
        {
            "" or "auto" => "auto",
            "cpu" or "cuda" => name,
            _ => throw new ArgumentException($"The generation device must be auto, cpu or cuda; got '{device}'.", nameof(device)),
        };
    }

    private static ITokenDecoderFactory TorchSharpDecoders(TransformerWeights weights, string device)
    {
        var torch = TorchSharpBridge.Require("The generation backend TorchSharp", "choose backend Engine (device cpu).");
        if (torch.Unsupported(weights.Config) is { } why)
            throw new ArgumentException($"The generation backend TorchSharp cannot run this model: {why} Choose backend Engine or Auto.", nameof(weights));
        // device cuda without CUDA: the TorchSharp package says what is missing (the CUDA libtorch, or a GPU and driver).
        return torch.CreateDecoders(weights, device == "auto" ? (torch.CudaAvailable ? "cuda" : "cpu") : device);
    }

    /// <summary>The .NET engine: each decoder is an <see cref="InferenceEngine"/> over the shared weights.</summary>
    private sealed class EngineDecoders(TransformerWeights weights) : ITokenDecoderFactory
    {
        public GenerationBackend Backend => GenerationBackend.Engine;

        public string Device => "cpu";

        public ITokenDecoder Create(int slots) => new InferenceEngine(weights, slots);

        // The engine keeps no state beyond the shared (managed) weights: nothing to release.
        public void Dispose()
        {
        }
    }
}
