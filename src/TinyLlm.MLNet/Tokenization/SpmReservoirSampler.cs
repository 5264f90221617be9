namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Reservoir sampling of training lines exactly as sentencepiece 0.1.97 does it with <c>--input_sentence_size</c>
/// and <c>--shuffle_input_sentence</c>: a 32-bit Mersenne Twister (<c>std::mt19937</c>) seeded with 12345678 by
/// default, and libstdc++'s (GCC 12) <c>uniform_int_distribution</c> downscaling (Lemire's multiply-and-reject),
/// so the same lines are kept as by spm_train.
/// </summary>
internal sealed class SpmReservoirSampler
{
    private readonly List<string> _sample = new();
    private readonly long _size;
    private readonly MersenneTwister _engine;
    private long _total;

    public SpmReservoirSampler(long size, uint seed)
    {
        _size = size;
        _engine = new MersenneTwister(seed);
    }

    public List<string> Sample => _sample;

    public void Add(string line)
    {
        if (_size == 0) return;
        _total++;
        if (_sample.Count < _size)
        {
            _sample.Add(line);
            return;
        }
        ulong n = UniformBelow((ulong)_total);
        if (n < (ulong)_sample.Count) _sample[(int)n] = line;
    }

    /// <summary>A uniform integer in [0, <paramref name="range"/>) drawn as libstdc++ does from a 32-bit engine.</summary>
    private ulong UniformBelow(ulong range)
    {
        if (range > uint.MaxValue)
            throw new NotSupportedException("Sampling from more than 4,294,967,295 lines is not supported.");
        if (range == (ulong)uint.MaxValue + 1) return _engine.Next();
        uint r = (uint)range;
        ulong product = (ulong)_engine.Next() * r;
        uint low = (uint)product;
        if (low < r)
        {
            uint threshold = (uint)((0x1_0000_0000UL - r) % r); // (2^32 - r) mod r, as -r % r in 32 bits
            while (low < threshold)
            {
                product = (ulong)_engine.Next() * r;
                low = (uint)product;
            }
        }
        return product >> 32;
    }

    /// <summary>MT19937, the standard 32-bit Mersenne Twister.</summary>
    private sealed class MersenneTwister
    {
        private const int N = 624, M = 397;
        private readonly uint[] _state = new uint[N];
        private int _index;

        public MersenneTwister(uint seed)
        {
            _state[0] = seed;
            for (int i = 1; i < N; i++)
                _state[i] = 1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i;
            _index = N;
        }

        public uint Next()
        {
            if (_index >= N) Twist();
            uint y = _state[_index++];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9D2C5680u;
            y ^= (y << 15) & 0xEFC60000u;
            y ^= y >> 18;
            return y;
        }

        private void Twist()
        {
            for (int i = 0; i < N; i++)
            {
                uint y = (_state[i] & 0x80000000u) | (_state[(i + 1) % N] & 0x7FFFFFFFu);
                _state[i] = _state[(i + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908B0DFu : 0u);
            }
            _index = 0;
        }
    }
}
