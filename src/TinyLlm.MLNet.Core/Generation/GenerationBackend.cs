using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>Which implementation runs the forward passes of generation.</summary>
public enum GenerationBackend
{
    /// <summary>TorchSharp on CUDA when the TinyLlm.MLNet package (TorchSharp) is present and a GPU is visible; otherwise the .NET engine.</summary>
    Auto = 0,

    /// <summary>The pure .NET <see cref="InferenceEngine"/> on the CPU (no native libraries).</summary>
    Engine = 1,

    /// <summary>The TorchSharp model with a key/value cache on the chosen device; needs the TinyLlm.MLNet package.</summary>
    TorchSharp = 2,
}
