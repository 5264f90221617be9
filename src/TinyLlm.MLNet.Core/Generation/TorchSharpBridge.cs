using System.Reflection;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// The TorchSharp half of TinyLlm (the TinyLlm.MLNet package) as Core sees it: the one seam between the two
/// assemblies. Core has no TorchSharp reference; TinyLlm.MLNet names its implementation in an assembly attribute,
/// and <see cref="TorchSharpBridge.Find"/> loads that assembly when the application ships it.
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

    /// <summary>
    /// Scores windows of up to <paramref name="maxWindows"/> at a time with one forward pass of the model that
    /// <paramref name="decoders"/> (made by <see cref="CreateDecoders"/>) holds; the model stays the factory's.
    /// </summary>
    IWindowScorer CreateScorer(ITokenDecoderFactory decoders, int maxWindows);
}

/// <summary>
/// Names the class that implements <see cref="ITorchSharpBridge"/> in the TinyLlm.MLNet assembly: the one
/// registration, read by the one probe (<see cref="TorchSharpBridge.Find"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class TorchSharpBridgeAttribute(Type implementation) : Attribute
{
    /// <summary>A class with a public parameterless constructor that implements <see cref="ITorchSharpBridge"/>.</summary>
    public Type Implementation { get; } = implementation;
}

/// <summary>
/// Finds the <see cref="ITorchSharpBridge"/>: the TinyLlm.MLNet assembly names its implementation in a
/// <see cref="TorchSharpBridgeAttribute"/>, and the first look loads that assembly if the application ships it.
/// Whether anything has touched the package before makes no difference.
/// </summary>
internal static class TorchSharpBridge
{
    /// <summary>The assembly that implements the bridge.</summary>
    internal const string AssemblyName = "TinyLlm.MLNet";

    private static readonly Lazy<ITorchSharpBridge?> Found = new(Probe);

    /// <summary>The bridge, or null in an application without the TinyLlm.MLNet package.</summary>
    internal static ITorchSharpBridge? Find() => Found.Value;

    /// <summary>Loads the TinyLlm.MLNet assembly (when the application ships it) and makes the bridge it names.</summary>
    internal static ITorchSharpBridge? Probe()
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(AssemblyName));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return null; // a serving app with Core alone: the .NET engine is the only backend
        }
        var named = assembly.GetCustomAttribute<TorchSharpBridgeAttribute>()
            ?? throw new InvalidOperationException($"The {AssemblyName} assembly ({assembly.Location}) names no TorchSharp bridge; it does not match this TinyLlm.MLNet.Core ({typeof(TorchSharpBridge).Assembly.GetName().Version}).");
        return (ITorchSharpBridge)Activator.CreateInstance(named.Implementation)!;
    }

    /// <summary>The bridge, or an error saying that <paramref name="what"/> needs the TinyLlm.MLNet package and what to do instead.</summary>
    /// <exception cref="InvalidOperationException">The application does not ship the TinyLlm.MLNet package.</exception>
    internal static ITorchSharpBridge Require(string what, string instead) =>
        Find() ?? throw new InvalidOperationException(
            $"{what} needs the TinyLlm.MLNet package (TorchSharp), which this application does not load: reference the TinyLlm.MLNet package, or {instead}");
}
