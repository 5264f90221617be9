using System.Runtime.InteropServices;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// The BPE merge loop of sentencepiece (bpe_model_trainer.cc), reproduced step for step so that the learned pieces,
/// their order and scores match <c>spm_train</c>: every word is a row of symbols; each distinct adjacent pair is a
/// candidate symbol that remembers where it occurs; each step merges the most frequent candidate everywhere and
/// creates the new pairs around it. Counts are incremental: a candidate's count is recomputed only after a merge
/// touched one of its positions. As in sentencepiece, the best candidate is looked for among the "active" ones
/// (the top 5% by count, at least 1000, refreshed every 100 merges, plus every pair created since), and equal
/// counts prefer the shorter piece, then the smaller one in code-point order.
/// </summary>
internal sealed class BpeMerger
{
    private const int ActiveRefreshInterval = 100;
    private const int MinActiveSymbols = 1000;
    private const float ActiveRatio = 0.05f;
    // Parallel frequency computation pays off only above this many positions to scan.
    private const long ParallelPositionThreshold = 200_000;

    private sealed class Symbol
    {
        public int Id;
        public Symbol? Left, Right;
        public required string Text;
        public int Length;            // in code points
        public bool IsUnknown;
        public long Key;               // pair key in the cache, or -1 for characters
        public ulong Fingerprint;      // sentencepiece's fingerprint: the code point, or FingerprintCat of the pair
        public long Freq;              // 0 = must be recomputed
        public List<long>? Positions;  // (word << 32 | left << 16 | right), kept sorted
        public bool PositionsSorted = true;
        public bool InCache;
        public bool Active;
        public int ScanStamp = -1;
        public bool IsPair => Left is not null;
    }

    private readonly PieceValidator _validator;
    private readonly int _maxPieceLength;
    private readonly int _threads;
    private readonly List<Symbol> _symbols = new();
    private readonly Dictionary<int, Symbol> _charCache = new();
    private readonly Dictionary<long, Symbol> _pairCache = new();
    private readonly HashSet<long> _invalidPairs = new();
    private int _cacheSize;                    // characters + pairs in the cache (sentencepiece's symbols_cache_.size())
    private readonly StdHashOrder _cacheOrder = new(); // the cache's iteration order in spm_train
    private List<Symbol> _active = new();
    private bool _activeUnsorted;
    private int _scan;

    private readonly int[][] _words;           // symbol ids per position, -1 once merged into its left neighbour
    private readonly long[] _wordFreq;

    /// <summary>Prepares the symbol rows of <paramref name="words"/> (code points, with frequencies).</summary>
    public BpeMerger(IReadOnlyList<(int[] CodePoints, long Freq)> words, IReadOnlyDictionary<int, long> requiredChars,
        SentencePieceBpeOptions options)
    {
        _validator = new PieceValidator(options);
        _maxPieceLength = options.MaxSentencePieceLength;
        _threads = options.EffectiveThreads;
        _words = new int[words.Count][];
        _wordFreq = new long[words.Count];
        for (int w = 0; w < words.Count; w++)
        {
            var cps = words[w].CodePoints;
            if (cps.Length > ushort.MaxValue + 1)
                throw new ArgumentException($"A training word or line has {cps.Length} characters; at most 65536 are supported (lower MaxSentenceLength or keep SplitByWhitespace on).");
            var row = new int[cps.Length];
            for (int i = 0; i < cps.Length; i++) row[i] = CharSymbol(cps[i], requiredChars).Id;
            _words[w] = row;
            _wordFreq[w] = words[w].Freq;
        }
        for (int w = 0; w < _words.Length; w++)
            for (int i = 1; i < _words[w].Length; i++) AddNewPair(w, i - 1, i);
    }

    /// <summary>Learns up to <paramref name="count"/> pieces; returns them in order (fewer if no pair is left).</summary>
    public List<string> Learn(int count, IProgress<SentencePieceTrainingProgress>? progress, CancellationToken cancellation)
    {
        var pieces = new List<string>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pieces.Count < count)
        {
            cancellation.ThrowIfCancellationRequested();
            if (pieces.Count % ActiveRefreshInterval == 0)
            {
                RefreshActive();
                progress?.Report(new("merging", pieces.Count, count));
            }

            var best = FindBest();
            if (best is null) break;

            // The same text can arise from different merge paths ("aa"+"a", "a"+"aa"); keep the first only.
            if (!seen.Add(best.Text))
            {
                Forget(best);
                continue;
            }
            pieces.Add(best.Text);
            Merge(best);
            Forget(best);
        }
        progress?.Report(new("merging", pieces.Count, count));
        return pieces;
    }

    private Symbol CharSymbol(int c, IReadOnlyDictionary<int, long> requiredChars)
    {
        if (_charCache.TryGetValue(c, out var s)) return s;
        s = NewSymbol(char.ConvertFromUtf32(c), 1, null, null, key: -1, fingerprint: (ulong)c);
        s.IsUnknown = c == SentencePieceSymbols.Unknown;
        s.Freq = requiredChars.TryGetValue(c, out long f) ? f : 1;
        _charCache[c] = s;
        return s;
    }

    private Symbol NewSymbol(string text, int length, Symbol? left, Symbol? right, long key, ulong fingerprint)
    {
        var s = new Symbol { Id = _symbols.Count, Text = text, Length = length, Left = left, Right = right, Key = key, Fingerprint = fingerprint, InCache = true };
        _symbols.Add(s);
        _cacheSize++;
        _cacheOrder.Insert(s.Id, fingerprint);
        return s;
    }

    /// <summary>The cached candidate for the pair (left, right), created on first use; null if it may not be a piece.</summary>
    private Symbol? PairSymbol(int leftId, int rightId)
    {
        var left = _symbols[leftId];
        var right = _symbols[rightId];
        if (left.IsUnknown || right.IsUnknown) return null;
        long key = (long)leftId << 32 | (uint)rightId;
        if (_pairCache.TryGetValue(key, out var s)) return s;
        if (_invalidPairs.Contains(key)) return null;

        int length = left.Length + right.Length;
        string text = left.Text + right.Text;
        if (length > _maxPieceLength || !IsValidPiece(text, length))
        {
            _invalidPairs.Add(key);
            return null;
        }
        s = NewSymbol(text, length, left, right, key, StdHashOrder.FingerprintCat(left.Fingerprint, right.Fingerprint));
        _pairCache[key] = s;
        return s;
    }

    private bool IsValidPiece(string text, int length)
    {
        Span<int> cps = stackalloc int[length];
        int n = 0;
        foreach (var rune in text.EnumerateRunes()) cps[n++] = rune.Value;
        return _validator.IsValid(cps[..n]);
    }

    private void AddNewPair(int word, int left, int right)
    {
        if (left < 0 || right < 0) return;
        var s = PairSymbol(_words[word][left], _words[word][right]);
        if (s is null) return;
        if (!s.Active)
        {
            s.Active = true;
            if (_active.Count > 0 && _active[^1].Id > s.Id) _activeUnsorted = true;
            _active.Add(s);
        }
        long pos = (long)word << 32 | (long)left << 16 | (uint)right;
        var positions = s.Positions ??= new List<long>(4);
        if (positions.Count > 0)
        {
            long last = positions[^1];
            if (last == pos) return;
            if (last > pos) s.PositionsSorted = false;
        }
        positions.Add(pos);
    }

    private void ResetFreq(int word, int left, int right, Symbol best)
    {
        if (left < 0 || right < 0) return;
        var s = PairSymbol(_words[word][left], _words[word][right]);
        if (s is not null && s != best) s.Freq = 0;
    }

    /// <summary>
    /// Recounts a candidate whose count was reset: drops positions that no longer hold the pair, and the second of
    /// two overlapping occurrences ("aaa" holds one "aa"), exactly as sentencepiece does.
    /// </summary>
    private void ComputeFreq(Symbol s)
    {
        if (s.Freq > 0) return;
        var positions = s.Positions;
        if (positions is null) return;
        if (!s.PositionsSorted)
        {
            positions.Sort();
            s.PositionsSorted = true;
        }
        var span = CollectionsMarshal.AsSpan(positions);
        int leftId = s.Left!.Id, rightId = s.Right!.Id;
        long freq = 0, previous = -1;
        int kept = 0, prevWord = -1, prevRight = 0;
        foreach (long pos in span)
        {
            if (pos == previous) continue; // duplicates count once (a set in sentencepiece)
            previous = pos;
            int word = (int)(pos >> 32), left = (int)(pos >> 16) & 0xFFFF, right = (int)pos & 0xFFFF;
            var row = _words[word];
            if ((word == prevWord && left == prevRight) || row[left] != leftId || row[right] != rightId)
            {
                prevWord = -1;
                prevRight = 0;
                continue;
            }
            span[kept++] = pos;
            freq += _wordFreq[word];
            prevWord = word;
            prevRight = right;
        }
        positions.RemoveRange(kept, positions.Count - kept);
        s.Freq = freq;
    }

    private void ComputeFreqs(List<Symbol> symbols)
    {
        long work = 0;
        foreach (var s in symbols)
            if (s.Freq == 0 && s.Positions is not null) work += s.Positions.Count;
        if (work < ParallelPositionThreshold || _threads == 1)
        {
            foreach (var s in symbols) ComputeFreq(s);
            return;
        }
        // Each candidate owns its positions and the rows are only read here, so candidates recount independently.
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, symbols.Count, Math.Max(64, symbols.Count / (_threads * 8))),
            new ParallelOptions { MaxDegreeOfParallelism = _threads },
            range => { for (int i = range.Item1; i < range.Item2; i++) ComputeFreq(symbols[i]); });
    }

    /// <summary>
    /// Makes the top 5% (at least 1000) candidates by count the active ones. The candidates are taken in the cache's
    /// iteration order and cut with the same heap selection as sentencepiece's <c>std::partial_sort</c>, so equal
    /// counts at the cut are decided as in spm_train.
    /// </summary>
    private void RefreshActive()
    {
        var pairs = new List<Symbol>();
        foreach (int id in _cacheOrder.InOrder())
        {
            var s = _symbols[id];
            if (s.IsPair) pairs.Add(s);
        }
        ComputeFreqs(pairs);

        int size = Math.Min(Math.Max(MinActiveSymbols, (int)(_cacheSize * ActiveRatio)), pairs.Count);
        foreach (var s in _active) s.Active = false;
        HeapSelect(pairs, size);
        _active = pairs.GetRange(0, size);
        foreach (var s in _active) s.Active = true;
        _activeUnsorted = true;
    }

    // libstdc++'s __heap_select with sentencepiece's comparison (higher count first): afterwards the first
    // `middle` items are the selected ones.
    private static void HeapSelect(List<Symbol> v, int middle)
    {
        if (middle <= 0) return;
        MakeHeap(v, middle);
        for (int i = middle; i < v.Count; i++)
        {
            if (v[i].Freq > v[0].Freq)
            {
                var value = v[i];
                v[i] = v[0];
                AdjustHeap(v, 0, middle, value);
            }
        }
    }

    private static void MakeHeap(List<Symbol> v, int length)
    {
        if (length < 2) return;
        for (int parent = (length - 2) / 2; ; parent--)
        {
            AdjustHeap(v, parent, length, v[parent]);
            if (parent == 0) return;
        }
    }

    private static void AdjustHeap(List<Symbol> v, int hole, int length, Symbol value)
    {
        int top = hole, child = hole;
        while (child < (length - 1) / 2)
        {
            child = 2 * (child + 1);
            if (v[child].Freq > v[child - 1].Freq) child--;
            v[hole] = v[child];
            hole = child;
        }
        if ((length & 1) == 0 && child == (length - 2) / 2)
        {
            child = 2 * (child + 1);
            v[hole] = v[child - 1];
            hole = child - 1;
        }
        int parent = (hole - 1) / 2;
        while (hole > top && v[parent].Freq > value.Freq)
        {
            v[hole] = v[parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        v[hole] = value;
    }

    private Symbol? FindBest()
    {
        _scan++;
        if (_activeUnsorted)
        {
            _active.Sort((a, b) => a.Id.CompareTo(b.Id));
            _activeUnsorted = false;
        }
        // Drop candidates that left the active set; keep each once.
        int kept = 0;
        for (int i = 0; i < _active.Count; i++)
        {
            var s = _active[i];
            if (!s.Active || s.ScanStamp == _scan) continue;
            s.ScanStamp = _scan;
            _active[kept++] = s;
        }
        _active.RemoveRange(kept, _active.Count - kept);
        ComputeFreqs(_active);

        Symbol? best = null;
        foreach (var s in _active)
        {
            if (best is null || s.Freq > best.Freq ||
                (s.Freq == best.Freq && (s.Length < best.Length ||
                    (s.Length == best.Length && CompareCodePoints(s.Text, best.Text) < 0))))
                best = s;
        }
        return best;
    }

    /// <summary>Replaces every counted occurrence of <paramref name="best"/>'s pair by it, creating the new neighbour pairs.</summary>
    private void Merge(Symbol best)
    {
        var positions = best.Positions;
        if (positions is null) return;
        if (!best.PositionsSorted) { positions.Sort(); best.PositionsSorted = true; }
        int count = positions.Count;
        for (int k = 0; k < count; k++)
        {
            long pos = positions[k];
            int word = (int)(pos >> 32), left = (int)(pos >> 16) & 0xFFFF, right = (int)pos & 0xFFFF;
            var row = _words[word];
            if (row[left] < 0) continue; // already merged away when the pair overlaps itself
            int next = NextIndex(row, right);
            int prev = PrevIndex(row, left);

            ResetFreq(word, prev, left, best);
            ResetFreq(word, right, next, best);

            row[left] = best.Id;
            row[right] = -1;

            AddNewPair(word, prev, left);
            AddNewPair(word, left, next);
        }
    }

    private void Forget(Symbol s)
    {
        if (s.InCache)
        {
            s.InCache = false;
            _pairCache.Remove(s.Key);
            _cacheSize--;
            _cacheOrder.Erase(s.Id);
        }
        s.Active = false;
        s.Positions = null;
    }

    private static int NextIndex(int[] row, int index)
    {
        for (int i = index + 1; i < row.Length; i++) if (row[i] >= 0) return i;
        return -1;
    }

    private static int PrevIndex(int[] row, int index)
    {
        for (int i = index - 1; i >= 0; i--) if (row[i] >= 0) return i;
        return -1;
    }

    /// <summary>Orders strings by Unicode code point (= UTF-8 byte order, which sentencepiece compares).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x == y) continue;
            // Surrogates (U+10000 and above) sort after every BMP character in code-point order.
            bool xs = char.IsSurrogate(x), ys = char.IsSurrogate(y);
            if (xs != ys) return xs ? 1 : -1;
            return x.CompareTo(y);
        }
        return a.Length.CompareTo(b.Length);
    }
}
