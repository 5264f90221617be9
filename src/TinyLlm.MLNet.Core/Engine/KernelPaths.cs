using System.Runtime.Intrinsics;

namespace TinyLlm.MLNet.Engine;

/// <summary>The vector width a kernel of the .NET engine runs at, narrowest first (so paths compare by width).</summary>
internal enum KernelPath
{
    /// <summary>One value at a time: the reference, and what runs where no vector unit is usable.</summary>
    Scalar,

    /// <summary>128-bit vectors through the portable <see cref="System.Runtime.Intrinsics.Vector128"/> API: AdvSimd (NEON) on ARM64, SSE on x64.</summary>
    Vector128,

    /// <summary>256-bit vectors: AVX2 (and FMA) on x64.</summary>
    Avx2,

    /// <summary>512-bit vectors: AVX-512 on x64.</summary>
    Avx512,
}

/// <summary>
/// Which <see cref="KernelPath"/> the engine's kernels take: the widest this machine accelerates, chosen at run time
/// (an Apple or Ampere ARM64 CPU gets <see cref="KernelPath.Vector128"/>; Wine hides AVX-512, so a Windows build run
/// there gets <see cref="KernelPath.Avx2"/>). Tests force a narrower one to check every path against the scalar
/// reference on one machine.
/// </summary>
internal static class KernelPaths
{
    private static KernelPath? _forced;

    /// <summary>The widest path this machine runs.</summary>
    public static KernelPath Best { get; } =
        Vector512.IsHardwareAccelerated ? KernelPath.Avx512
        : Vector256.IsHardwareAccelerated ? KernelPath.Avx2
        : Vector128.IsHardwareAccelerated ? KernelPath.Vector128
        : KernelPath.Scalar;

    /// <summary>The path the kernels take now.</summary>
    public static KernelPath Current => _forced ?? Best;

    /// <summary>Every path this machine can run, widest first.</summary>
    public static IReadOnlyList<KernelPath> Supported { get; } =
        Enum.GetValues<KernelPath>().Where(p => p <= Best).OrderDescending().ToArray();

    /// <summary>
    /// Makes the kernels take <paramref name="path"/> (null: <see cref="Best"/> again) in the whole process, for tests
    /// and benchmarks. Not for use while another thread is generating.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The machine cannot run <paramref name="path"/>.</exception>
    internal static void Force(KernelPath? path)
    {
        if (path > Best)
            throw new ArgumentOutOfRangeException(nameof(path), path, $"This machine's widest kernel path is {Best}.");
        _forced = path;
    }
}
