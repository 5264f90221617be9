namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Seeded permutations of window indices. A small explicit generator (SplitMix64) rather than <see cref="Random"/>
/// so that the order is documented and stays the same across .NET versions.
/// </summary>
internal static class WindowPermutation
{
    /// <summary>A permutation of <c>0..count-1</c> that depends only on (<paramref name="seed"/>, <paramref name="stream"/>, <paramref name="epoch"/>).</summary>
    public static int[] Create(int count, long seed, long stream, long epoch)
    {
        var perm = new int[count];
        for (int i = 0; i < count; i++) perm[i] = i;
        ulong state = Mix((ulong)seed) ^ Mix((ulong)stream * 0x9E3779B97F4A7C15UL + 1) ^ Mix((ulong)epoch * 0xD1B54A32D192ED03UL + 2);
        // Fisher-Yates from the end; j is drawn without modulo bias by a 64x64->128 multiply (Lemire).
        for (int i = count - 1; i > 0; i--)
        {
            ulong r = Next(ref state);
            int j = (int)(((UInt128)r * (ulong)(i + 1)) >> 64);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
