namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>
/// A small SplitMix64 generator. Each story gets its own stream derived from (seed, story index), so stories can
/// be generated on any number of threads and still come out byte-identical, on any .NET version
/// (<see cref="Random"/>'s sequence is not promised across versions).
/// </summary>
internal struct StoryRandom
{
    private ulong _state;

    public StoryRandom(int seed, long index)
    {
        _state = Mix((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ Mix((ulong)index + 0xD1B54A32D192ED03UL));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, <paramref name="n"/>).</summary>
    public int Next(int n) => (int)((NextUInt64() >> 33) * (ulong)n >> 31);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => (NextUInt64() >> 11) * (1.0 / (1UL << 53)) < p;

    /// <summary>One element of <paramref name="items"/>, uniformly.</summary>
    public T Pick<T>(T[] items) => items[Next(items.Length)];

    /// <summary>One element of <paramref name="items"/> other than <paramref name="not"/> (when there is one).</summary>
    public T PickOther<T>(T[] items, T not) where T : notnull
    {
        for (int tries = 0; tries < 8; tries++)
        {
            T item = Pick(items);
            if (!item.Equals(not)) return item;
        }
        return Pick(items);
    }
}
