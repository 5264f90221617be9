using System.Runtime.CompilerServices;
using TorchSharp;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Makes the TorchSharp generation backend available to TinyLlm.MLNet.Core (whose
/// <see cref="DecoderBackends"/> has no TorchSharp reference) once this assembly is loaded.
/// </summary>
internal static class TorchSharpBackendRegistration
{
    // As for checkpoints (CheckpointReaderRegistration): loading the package is enough, no call to remember.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => DecoderBackends.TorchSharp = new Backend();

    private sealed class Backend : ITorchSharpDecoders
    {
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

        public string? Unsupported(ModelDimensions dims) => TorchSharpDecoders.Unsupported(dims);

        public ITokenDecoderFactory Create(TransformerWeights weights, string device) => new TorchSharpDecoders(weights, device);
    }
}
