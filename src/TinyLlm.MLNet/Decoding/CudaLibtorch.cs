using System.Runtime.InteropServices;

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// Whether a CUDA build of libtorch is within this application's reach at all, asked before libtorch is loaded:
/// TorchSharp looks for <c>torch_cuda</c> by name beside its assembly, in the application's native folders and then
/// where the system looks, and so does this probe. With the CPU package (this repository's default) there is none,
/// so device <c>auto</c> settles on the CPU without loading the 460 MB libtorch, which a one-off
/// <c>tinyllm generate</c> on the .NET engine would otherwise pay for (about a third of its start-up).
/// </summary>
internal static class CudaLibtorch
{
    private const string LibraryName = "torch_cuda";

    /// <summary>True when a <c>torch_cuda</c> library can be loaded (then libtorch must be asked whether a GPU is visible).</summary>
    public static bool Reachable()
    {
        if (OperatingSystem.IsMacOS()) return false; // libtorch has no CUDA build for macOS
        // Found, it loads its dependencies (libtorch itself): fine, TorchSharp is about to load them anyway.
        if (!NativeLibrary.TryLoad(LibraryName, typeof(CudaLibtorch).Assembly, null, out nint handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
