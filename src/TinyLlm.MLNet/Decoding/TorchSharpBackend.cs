using System.Runtime.CompilerServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;
using TorchSharp;

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// This package's side of the one seam with TinyLlm.MLNet.Core (<see cref="ITorchSharpBridge"/>): the TorchSharp
/// generation backend and the reader of training checkpoints, registered when this assembly is loaded.
/// </summary>
internal sealed class TorchSharpBackend : ITorchSharpBridge
{
    // A library module initializer is what is wanted here: any use of this package (TrainLlama, the trainer, the
    // model), or Core's probe for it, makes the backend and the checkpoint reader available, with no call for
    // users to remember.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => TorchSharpBridge.Register(new TorchSharpBackend());

    private readonly Lazy<bool> _cuda = new(() =>
    {
        try
        {
            return torch.cuda.is_available();
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return false; // libtorch itself cannot load here: no CUDA either
        }
    });

    public bool CudaAvailable => _cuda.Value;

    public string? Unsupported(LlamaConfig config) => TorchSharpDecoders.Unsupported(config);

    public ITokenDecoderFactory CreateDecoders(TransformerWeights weights, string device) => new TorchSharpDecoders(weights, device);

    public TransformerWeights ReadCheckpoint(string path)
    {
        using var model = Checkpoint.LoadModel(path);
        return model.ToTransformerWeights();
    }
}
