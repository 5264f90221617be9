namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// The iteration order of a libstdc++ (GCC 12) <c>std::unordered_map&lt;uint64_t, T&gt;</c> under inserts and erases,
/// simulated over integer node ids. sentencepiece 0.1.97 keeps its candidate symbols in such a map (its bundled
/// <c>absl::flat_hash_map</c> is an alias of <c>std::unordered_map</c>) and refreshes the active candidates from
/// that order, so equal counts at the top-5% cut are broken in this order; reproducing it reproduces
/// <c>spm_train</c>'s pieces exactly, also in the tail where every remaining candidate has count 0.
/// </summary>
internal sealed class StdHashOrder
{
    private const int Nil = -1;
    private const int BeforeBegin = -2; // the list head sentinel, as a bucket's "node before"
    private const int Empty = -3;

    // libstdc++'s prime bucket counts (_Prime_rehash_policy::_M_next_bkt), from 17 up; smaller ones use FastBuckets.
    private static ReadOnlySpan<long> Primes =>
    [
        17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103, 109, 113, 127, 137, 139, 149,
        157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359, 383, 409, 439, 467, 503, 541, 577, 619,
        661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549,
        2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273,
        11113, 12011, 12983, 14033, 15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223,
        35933, 38873, 42043, 45481, 49201, 53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897,
        116731, 126271, 136607, 147793, 159871, 172933, 187091, 202409, 218971, 236897, 256279, 277261, 299951,
        324503, 351061, 379787, 410857, 444487, 480881, 520241, 562841, 608903, 658753, 712697, 771049, 834181,
        902483, 976369, 1056323, 1142821, 1236397, 1337629, 1447153, 1565659, 1693859, 1832561, 1982627, 2144977,
        2320627, 2510653, 2716249, 2938679, 3179303, 3439651, 3721303, 4026031, 4355707, 4712381, 5098259, 5515729,
        5967347, 6456007, 6984629, 7556579, 8175383, 8844859, 9569143, 10352717, 11200489, 12117689, 13109983,
        14183539, 15345007, 16601593, 17961079, 19431899, 21023161, 22744717, 24607243, 26622317, 28802401,
        31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847, 54061849, 58488943, 63278561,
        68460391, 74066549, 80131819, 86693767, 93793069, 101473717, 109783337, 118773397, 128499677, 139022417,
        150406843, 162723577, 176048909, 190465427, 206062531, 222936881, 241193053, 260944219, 282312799,
        305431229, 330442829, 357502601, 386778277, 418451333, 452718089, 489790921, 529899637, 573292817,
        620239453, 671030513, 725980837, 785430967, 849749479, 919334987, 994618837, 1076067617, 1164186217,
        1259520799, 1362662261, 1474249943, 1594975441, 1725587117, 1866894511, 2019773507,
    ];

    private static ReadOnlySpan<byte> FastBuckets => [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];

    private ulong[] _keys = new ulong[1024];
    private int[] _next = new int[1024];
    private int[] _buckets = [Empty];
    private int _head = Nil;
    private long _nextResize;
    private int _count;

    /// <summary>Number of entries.</summary>
    public int Count => _count;

    private int BucketOf(int node) => (int)(_keys[node] % (ulong)_buckets.Length);

    private int NextOf(int prev) => prev == BeforeBegin ? _head : _next[prev];

    private void SetNext(int prev, int value)
    {
        if (prev == BeforeBegin) _head = value; else _next[prev] = value;
    }

    /// <summary>Inserts node <paramref name="node"/> (an id, unique while present) with hash key <paramref name="key"/>.</summary>
    public void Insert(int node, ulong key)
    {
        if (node >= _keys.Length)
        {
            int size = Math.Max(node + 1, _keys.Length * 2);
            Array.Resize(ref _keys, size);
            Array.Resize(ref _next, size);
        }
        _keys[node] = key;
        long rehashTo = NeedRehash(_buckets.Length, _count, 1);
        if (rehashTo > 0) Rehash((int)rehashTo);

        int bucket = BucketOf(node);
        if (_buckets[bucket] != Empty)
        {
            int prev = _buckets[bucket];
            _next[node] = NextOf(prev);
            SetNext(prev, node);
        }
        else
        {
            _next[node] = _head;
            _head = node;
            if (_next[node] != Nil) _buckets[BucketOf(_next[node])] = node;
            _buckets[bucket] = BeforeBegin;
        }
        _count++;
    }

    /// <summary>Erases node <paramref name="node"/>, which must be present.</summary>
    public void Erase(int node)
    {
        int bucket = BucketOf(node);
        int prev = _buckets[bucket];
        while (NextOf(prev) != node) prev = NextOf(prev);
        int after = _next[node];
        if (prev == _buckets[bucket])
        {
            int afterBucket = after != Nil ? BucketOf(after) : 0;
            if (after == Nil || afterBucket != bucket)
            {
                if (after != Nil) _buckets[afterBucket] = _buckets[bucket];
                if (_buckets[bucket] == BeforeBegin) _head = after;
                _buckets[bucket] = Empty;
            }
        }
        else if (after != Nil)
        {
            int afterBucket = BucketOf(after);
            if (afterBucket != bucket) _buckets[afterBucket] = prev;
        }
        SetNext(prev, after);
        _count--;
    }

    /// <summary>Node ids in the map's iteration order.</summary>
    public IEnumerable<int> InOrder()
    {
        for (int n = _head; n != Nil; n = _next[n]) yield return n;
    }

    /// <summary>The bucket count the map grows to, or 0 to stay (libstdc++'s _M_need_rehash, max load factor 1).</summary>
    private long NeedRehash(long buckets, long elements, long inserting)
    {
        if (elements + inserting <= _nextResize) return 0;
        double minBuckets = Math.Max(elements + inserting, _nextResize != 0 ? 0 : 11);
        if (minBuckets >= buckets)
            return NextBucketCount(Math.Max((long)Math.Floor(minBuckets) + 1, buckets * 2));
        _nextResize = (long)Math.Floor((double)buckets);
        return 0;
    }

    private long NextBucketCount(long n)
    {
        if (n < FastBuckets.Length)
        {
            if (n == 0) return 1;
            _nextResize = FastBuckets[(int)n];
            return FastBuckets[(int)n];
        }
        var primes = Primes;
        int i = 0;
        while (i < primes.Length - 1 && primes[i] < n) i++;
        if (primes[i] < n) throw new InvalidOperationException("More candidate pieces than the bucket table covers.");
        _nextResize = primes[i];
        return primes[i];
    }

    private void Rehash(int bucketCount)
    {
        var buckets = new int[bucketCount];
        Array.Fill(buckets, Empty);
        int p = _head;
        _head = Nil;
        int beginBucket = 0;
        while (p != Nil)
        {
            int next = _next[p];
            int bucket = (int)(_keys[p] % (ulong)bucketCount);
            if (buckets[bucket] == Empty)
            {
                _next[p] = _head;
                _head = p;
                buckets[bucket] = BeforeBegin;
                if (_next[p] != Nil) buckets[beginBucket] = p;
                beginBucket = bucket;
            }
            else
            {
                int prev = buckets[bucket];
                _next[p] = NextOf(prev);
                SetNext(prev, p);
            }
            p = next;
        }
        _buckets = buckets;
    }

    /// <summary>sentencepiece's fingerprint of a pair of symbols (Bob Jenkins' 64-bit mix of the two fingerprints).</summary>
    public static ulong FingerprintCat(ulong x, ulong y)
    {
        ulong a = x, b = 0xe08c1d668b756f82, c = y;
        a -= b; a -= c; a ^= c >> 43;
        b -= c; b -= a; b ^= a << 9;
        c -= a; c -= b; c ^= b >> 8;
        a -= b; a -= c; a ^= c >> 38;
        b -= c; b -= a; b ^= a << 23;
        c -= a; c -= b; c ^= b >> 5;
        a -= b; a -= c; a ^= c >> 35;
        b -= c; b -= a; b ^= a << 49;
        c -= a; c -= b; c ^= b >> 11;
        a -= b; a -= c; a ^= c >> 12;
        b -= c; b -= a; b ^= a << 18;
        c -= a; c -= b; c ^= b >> 22;
        return c;
    }
}
