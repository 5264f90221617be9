using System.Runtime.CompilerServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;
using TorchSharp;

[assembly: TinyLlm.MLNet.Generation.TorchSharpBridge(typeof(TinyLlm.MLNet.Decoding.TorchSharpBackend))]

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// This package's side of the one seam with TinyLlm.MLNet.Core (<see cref="ITorchSharpBridge"/>): the TorchSharp
/// generation backend, the reader of training checkpoints and the evaluation scorer, named by this assembly's
/// <see cref="TorchSharpBridgeAttribute"/> so that Core's probe finds it.
/// </summary>
internal sealed class TorchSharpBackend : ITorchSharpBridge
{
    // Without a CUDA libtorch there is no GPU to find: answer without loading TorchSharp or libtorch.
    private readonly Lazy<bool> _cuda = new(() => CudaLibtorch.Reachable() && TorchSeesCuda());

    // Kept out of the lambda above: compiling a method that names a TorchSharp type loads the TorchSharp assembly.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TorchSeesCuda()
    {
        try
        {
            return torch.cuda.is_available();
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return false; // libtorch itself cannot load here: no CUDA either
        }
    }

    public bool CudaAvailable => _cuda.Value;

    public string? Unsupported(LlamaConfig config) => TorchSharpDecoders.Unsupported(config);

    public ITokenDecoderFactory CreateDecoders(TransformerWeights weights, string device) => new TorchSharpDecoders(weights, device);

    public TransformerWeights ReadCheckpoint(string path)
    {
        using var model = Checkpoint.LoadModel(path);
        return model.ToTransformerWeights();
    }

    public IWindowScorer CreateScorer(ITokenDecoderFactory decoders, int maxWindows) =>
        decoders is TorchSharpDecoders torchSharp
            ? new TorchSharpWindowScorer(torchSharp.Model, maxWindows)
            : throw new ArgumentException($"The TorchSharp scorer runs on the TorchSharp decoders' model, not on {decoders.Backend} decoders.", nameof(decoders));
}
