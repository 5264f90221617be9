using TinyLlm.MLNet.Tokenization.Proto;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Trains a SentencePiece BPE model the way <c>spm_train --model_type=bpe</c> (sentencepiece 0.1.97) does, from
/// lines of text, and returns the model that <c>spm_encode</c>, Python sentencepiece and Microsoft.ML.Tokenizers
/// load.
/// </summary>
public static class SentencePieceBpeTrainer
{
    /// <summary>Largest vocabulary whose ids fit the uint16 token shards.</summary>
    public const int MaxShardVocabSize = 65536;

    /// <summary>
    /// Trains on <paramref name="texts"/>: each string is one or more lines, as in a text file given to
    /// <c>spm_train</c>; lines end at <c>'\n'</c>, <c>"\r\n"</c> or a lone <c>'\r'</c> (spm_train would keep the
    /// <c>'\r'</c> as a character of the line; a corpus saved on Windows trains here like its LF copy).
    /// </summary>
    /// <param name="texts">The corpus. Read once, in order.</param>
    /// <param name="options">Training options; null for the tutorial's defaults.</param>
    /// <param name="progress">Receives progress while reading and merging.</param>
    /// <param name="cancellation">Stops training.</param>
    /// <returns>The trained model.</returns>
    /// <exception cref="ArgumentException">An option is out of range, or the vocabulary is too small or too large for the corpus.</exception>
    /// <exception cref="InvalidDataException">The corpus holds no usable line.</exception>
    public static SentencePieceModel Train(IEnumerable<string> texts, SentencePieceBpeOptions? options = null,
        IProgress<SentencePieceTrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options = (options ?? new SentencePieceBpeOptions()).Clone();
        var warnings = CheckOptions(options).ToList();
        var meta = MetaPieces.Build(options);
        if (meta.Count > options.VocabSize)
            throw new ArgumentException($"VocabSize {options.VocabSize} is smaller than the {meta.Count} special and byte pieces alone; use a larger VocabSize.", nameof(options.VocabSize));

        // 1. Distinct words with counts.
        var corpus = CorpusCounter.Count(texts, options, meta.Values.Select(m => m.Piece), progress, cancellation);
        if (corpus.Words.Count == 0)
            throw new InvalidDataException(corpus.LinesRead == 0
                ? "The training corpus is empty: no line of text was read."
                : $"The training corpus has no usable line: {corpus.LinesRead} lines were read, {corpus.TooLongLines} were longer than MaxSentenceLength ({options.MaxSentenceLength} bytes) and the rest were empty or held the reserved character U+2585.");
        if (corpus.TooLongLines > 0)
            warnings.Add($"{corpus.TooLongLines} lines longer than MaxSentenceLength ({options.MaxSentenceLength} bytes) were skipped.");

        // 2. Characters that must be in the vocabulary: the most frequent ones up to CharacterCoverage.
        var required = RequiredChars(corpus.Words, (float)options.CharacterCoverage);
        int minimum = meta.Count + required.Count;
        if (minimum > options.VocabSize)
            throw new ArgumentException(
                $"VocabSize {options.VocabSize} is too small for this corpus: it needs at least {minimum} " +
                $"({meta.Count} special and byte pieces + {required.Count} characters); use VocabSize >= {minimum} or lower CharacterCoverage.",
                nameof(options.VocabSize));

        // 3. Merges.
        var words = PrepareWords(corpus.Words, required);
        var merger = new BpeMerger(words, required, options);
        int merges = options.VocabSize - minimum;
        var learned = merger.Learn(merges, progress, cancellation);
        if (learned.Count < merges)
            throw new ArgumentException(
                $"VocabSize {options.VocabSize} is too large for this corpus: only {minimum + learned.Count} pieces can be made from it; use VocabSize <= {minimum + learned.Count}.",
                nameof(options.VocabSize));

        // 4. Pieces in id order: specials at their ids, then merges, then required characters (most frequent first).
        var pieces = new List<(string Piece, float Score)>(learned.Count + required.Count);
        foreach (var p in learned) pieces.Add((p, -(float)pieces.Count));
        foreach (var (c, _) in SortedByCount(required)) pieces.Add((char.ConvertFromUtf32(c), -(float)pieces.Count));

        var proto = new ModelProto
        {
            TrainerSpec = SpecOf(options),
            NormalizerSpec = new NormalizerSpec
            {
                Name = options.NormalizationRuleName,
                PrecompiledCharsmap = Google.Protobuf.ByteString.Empty,
                AddDummyPrefix = options.AddDummyPrefix,
                RemoveExtraWhitespaces = options.RemoveExtraWhitespaces,
                NormalizationRuleTsv = "",
            },
        };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int next = 0;
        for (int id = 0; id < options.VocabSize; id++)
        {
            var piece = new ModelProto.Types.SentencePiece();
            if (meta.TryGetValue(id, out var m))
            {
                piece.Piece = m.Piece;
                piece.Type = m.Type;
                piece.Score = 0;
            }
            else
            {
                piece.Piece = pieces[next].Piece;
                piece.Score = pieces[next].Score;
                next++;
            }
            if (!seen.Add(piece.Piece))
                throw new ArgumentException($"The piece '{piece.Piece}' would be in the vocabulary twice (a special symbol equals a learned piece or character).", nameof(options.UserDefinedSymbols));
            proto.Pieces.Add(piece);
        }
        return new SentencePieceModel(proto, warnings);
    }

    /// <summary>
    /// Reads a text file as <c>spm_train</c> does: UTF-8, in blocks of whole lines (cut at <c>'\n'</c>) for
    /// <see cref="Train"/>, which ends lines at <c>"\r\n"</c> and a lone <c>'\r'</c> too.
    /// </summary>
    /// <param name="path">The corpus file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<string> ReadCorpusFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Corpus file '{path}' does not exist.", path);
        return Read();

        IEnumerable<string> Read()
        {
            using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
            var buffer = new char[1 << 20];
            var carry = new System.Text.StringBuilder();
            int n;
            while ((n = reader.ReadBlock(buffer, 0, buffer.Length)) > 0)
            {
                int lastNewline = Array.LastIndexOf(buffer, '\n', n - 1, n);
                if (lastNewline < 0)
                {
                    carry.Append(buffer, 0, n);
                    continue;
                }
                carry.Append(buffer, 0, lastNewline);
                yield return carry.ToString();
                carry.Clear();
                carry.Append(buffer, lastNewline + 1, n - lastNewline - 1);
            }
            if (carry.Length > 0) yield return carry.ToString();
        }
    }

    /// <summary>
    /// Checks <paramref name="o"/> before any text is read and returns warnings about legal but risky values
    /// (a vocabulary larger than uint16 shards hold).
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of its allowed range.</exception>
    public static IReadOnlyList<string> CheckOptions(SentencePieceBpeOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var warnings = new List<string>();
        static void Range(bool ok, string name, object value, string allowed)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}; it must be {allowed}.");
        }
        Range(o.VocabSize > 0, nameof(o.VocabSize), o.VocabSize, "positive");
        Range(o.CharacterCoverage >= 0.98 && o.CharacterCoverage <= 1.0, nameof(o.CharacterCoverage), o.CharacterCoverage, "between 0.98 and 1.0");
        Range(o.MaxSentencePieceLength >= 1 && o.MaxSentencePieceLength <= 512, nameof(o.MaxSentencePieceLength), o.MaxSentencePieceLength, "between 1 and 512");
        Range(o.MaxSentenceLength >= 10 && o.MaxSentenceLength <= 65535, nameof(o.MaxSentenceLength), o.MaxSentenceLength, "between 10 and 65535 bytes");
        Range(o.InputSentenceSize == 0 || (o.InputSentenceSize > 100 && o.InputSentenceSize <= int.MaxValue), nameof(o.InputSentenceSize), o.InputSentenceSize, "0 (all lines) or more than 100");
        Range(o.NumThreads >= 0 && o.NumThreads <= 1024, nameof(o.NumThreads), o.NumThreads, "between 0 (all cores) and 1024");
        if (o.NormalizationRuleName != "identity")
            throw new ArgumentException($"NormalizationRuleName is '{o.NormalizationRuleName}'; only 'identity' is supported.", nameof(o.NormalizationRuleName));
        ArgumentNullException.ThrowIfNull(o.UserDefinedSymbols, nameof(o.UserDefinedSymbols));
        ArgumentNullException.ThrowIfNull(o.ControlSymbols, nameof(o.ControlSymbols));
        ArgumentNullException.ThrowIfNull(o.UnkSurface, nameof(o.UnkSurface));
        if (o.VocabSize > MaxShardVocabSize)
            warnings.Add($"VocabSize {o.VocabSize} is larger than {MaxShardVocabSize}: token ids will not fit the uint16 shards that pretokenization writes.");
        MetaPieces.Build(o);
        return warnings;
    }

    /// <summary>Characters by count, most frequent first, ties by code point (sentencepiece's Sorted()).</summary>
    private static IEnumerable<KeyValuePair<int, long>> SortedByCount(IReadOnlyDictionary<int, long> counts) =>
        counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key);

    private static Dictionary<int, long> RequiredChars(Dictionary<string, long> words, float coverage)
    {
        var counts = new Dictionary<int, long>();
        long all = 0;
        foreach (var (word, n) in words)
        {
            foreach (var rune in word.EnumerateRunes())
            {
                int c = rune.Value;
                if (c == 0) continue; // NUL never counts (sentencepiece skips it)
                counts[c] = counts.GetValueOrDefault(c) + n;
                all += n;
            }
        }
        var required = new Dictionary<int, long>();
        long accumulated = 0;
        foreach (var (c, n) in SortedByCount(counts))
        {
            // float, as in sentencepiece: with coverage 1.0 a character seen once in ~30M can fall outside.
            float covered = (float)(1.0 * accumulated / all);
            if (covered >= coverage) break;
            accumulated += n;
            if (c == SentencePieceSymbols.Boundary) continue; // tab: never a required character
            required[c] = n;
        }
        return required;
    }

    /// <summary>Words as code points, characters outside <paramref name="required"/> replaced by the unknown mark, most frequent first.</summary>
    private static List<(int[] CodePoints, long Freq)> PrepareWords(Dictionary<string, long> words, Dictionary<int, long> required)
    {
        var merged = new Dictionary<string, (int[] CodePoints, long Freq)>(words.Count, StringComparer.Ordinal);
        var buffer = new List<int>();
        var sb = new System.Text.StringBuilder();
        foreach (var (word, n) in words)
        {
            buffer.Clear();
            bool replaced = false;
            foreach (var rune in word.EnumerateRunes())
            {
                if (required.ContainsKey(rune.Value)) buffer.Add(rune.Value);
                else { buffer.Add(SentencePieceSymbols.Unknown); replaced = true; }
            }
            string key = word;
            if (replaced)
            {
                sb.Clear();
                foreach (int c in buffer) sb.Append(char.ConvertFromUtf32(c));
                key = sb.ToString();
            }
            if (merged.TryGetValue(key, out var existing)) merged[key] = (existing.CodePoints, existing.Freq + n);
            else merged[key] = (buffer.ToArray(), n);
        }
        var list = merged.Select(kv => (kv.Key, kv.Value.CodePoints, kv.Value.Freq)).ToList();
        list.Sort((a, b) => a.Freq != b.Freq ? b.Freq.CompareTo(a.Freq) : BpeMerger.CompareCodePoints(a.Key, b.Key));
        return list.Select(x => (x.CodePoints, x.Freq)).ToList();
    }

    private static TrainerSpec SpecOf(SentencePieceBpeOptions o)
    {
        var spec = new TrainerSpec
        {
            ModelPrefix = "",
            ModelType = TrainerSpec.Types.ModelType.Bpe,
            VocabSize = o.VocabSize,
            SelfTestSampleSize = 0,
            InputFormat = "text",
            CharacterCoverage = (float)o.CharacterCoverage,
            InputSentenceSize = (ulong)o.InputSentenceSize,
            SeedSentencepieceSize = 1000000,
            ShrinkingFactor = 0.75f,
            NumThreads = o.EffectiveThreads,
            NumSubIterations = 2,
            MaxSentenceLength = o.MaxSentenceLength,
            ShuffleInputSentence = o.ShuffleInputSentence,
            MaxSentencepieceLength = o.MaxSentencePieceLength,
            SplitByUnicodeScript = o.SplitByUnicodeScript,
            SplitByWhitespace = o.SplitByWhitespace,
            SplitByNumber = o.SplitByNumber,
            TreatWhitespaceAsSuffix = false,
            SplitDigits = o.SplitDigits,
            AllowWhitespaceOnlyPieces = o.AllowWhitespaceOnlyPieces,
            VocabularyOutputPieceScore = true,
            HardVocabLimit = true,
            UseAllVocab = false,
            ByteFallback = o.ByteFallback,
            RequiredChars = "",
            UnkId = o.UnkId,
            BosId = o.BosId,
            EosId = o.EosId,
            PadId = o.PadId,
            UnkSurface = o.UnkSurface,
            UnkPiece = o.UnkPiece,
            BosPiece = o.BosPiece,
            EosPiece = o.EosPiece,
            PadPiece = o.PadPiece,
            TrainExtremelyLargeCorpus = false,
            EnableDifferentialPrivacy = false,
            DifferentialPrivacyNoiseLevel = 0,
            DifferentialPrivacyClippingThreshold = 0,
        };
        spec.ControlSymbols.Add(o.ControlSymbols);
        spec.UserDefinedSymbols.Add(o.UserDefinedSymbols);
        return spec;
    }
}
