using System.Reflection;
using System.Runtime.CompilerServices;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// The TorchSharp half of TinyLlm (the TinyLlm.MLNet package) as Core sees it: the one seam between the two
/// assemblies. Core has no TorchSharp reference; TinyLlm.MLNet registers its implementation from a module
/// initializer, and <see cref="TorchSharpBridge.Find"/> loads that assembly when the application ships it.
/// </summary>
internal interface ITorchSharpBridge
{
    /// <summary>Whether libtorch sees a CUDA device (false when libtorch cannot be loaded at all).</summary>
    bool CudaAvailable { get; }

    /// <summary>Why the TorchSharp model cannot hold a model of this shape (a sentence), or null when it can.</summary>
    string? Unsupported(LlamaConfig config);

    /// <summary>Decoders over <paramref name="weights"/> on <paramref name="device"/> (<c>cpu</c> or <c>cuda</c>); the factory owns its model.</summary>
    ITokenDecoderFactory CreateDecoders(TransformerWeights weights, string device);

    /// <summary>Reads the weights of a TinyLlm training checkpoint (<c>ckpt.bin</c>, a TorchSharp state dictionary).</summary>
    TransformerWeights ReadCheckpoint(string path);
}

/// <summary>Finds the <see cref="ITorchSharpBridge"/>: registered once, found by one probe.</summary>
internal static class TorchSharpBridge
{
    /// <summary>The assembly that implements the bridge.</summary>
    internal const string AssemblyName = "TinyLlm.MLNet";

    private static readonly Lock Gate = new();
    private static ITorchSharpBridge? _bridge;
    private static bool _probed;

    /// <summary>Called once, by TinyLlm.MLNet's module initializer.</summary>
    internal static void Register(ITorchSharpBridge bridge)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        lock (Gate) _bridge ??= bridge;
    }

    /// <summary>
    /// The bridge, or null in an application without the TinyLlm.MLNet package. Whether the package has been
    /// touched yet does not matter: the first look loads the assembly if the application ships it, which runs its
    /// module initializer.
    /// </summary>
    internal static ITorchSharpBridge? Find()
    {
        lock (Gate)
        {
            if (_bridge is not null || _probed) return _bridge;
            _probed = true;
        }
        try
        {
            var assembly = Assembly.Load(new AssemblyName(AssemblyName));
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            // A serving app with Core alone: the .NET engine is the only backend.
        }
        lock (Gate) return _bridge;
    }

    /// <summary>The bridge, or an error saying that <paramref name="what"/> needs the TinyLlm.MLNet package and what to do instead.</summary>
    /// <exception cref="InvalidOperationException">The application does not ship the TinyLlm.MLNet package.</exception>
    internal static ITorchSharpBridge Require(string what, string instead) =>
        Find() ?? throw new InvalidOperationException(
            $"{what} needs the TinyLlm.MLNet package (TorchSharp), which this application does not load: reference the TinyLlm.MLNet package, or {instead}");
}
