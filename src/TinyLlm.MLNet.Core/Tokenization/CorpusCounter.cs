using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>What reading the corpus produced: each distinct word with its count, and what was skipped.</summary>
internal sealed class WordCounts
{
    public required Dictionary<string, long> Words { get; init; }
    public long LinesRead { get; init; }
    public long LinesUsed { get; init; }
    public long TooLongLines { get; init; }
}

/// <summary>
/// Reads training lines, normalizes them and counts words (whitespace-split pieces of lines) on every core. Only
/// distinct words and their counts are kept, so memory grows with the vocabulary of the corpus, not its size;
/// sampling (<see cref="SentencePieceBpeOptions.InputSentenceSize"/>) bounds it further.
/// </summary>
internal static class CorpusCounter
{
    private const int ChunkChars = 1 << 20;

    public static WordCounts Count(IEnumerable<string> texts, SentencePieceBpeOptions options, IEnumerable<string> specialPieces,
        IProgress<SentencePieceTrainingProgress>? progress, CancellationToken cancellation)
    {
        var specials = specialPieces.ToArray();
        long linesRead = 0, tooLong = 0, used = 0;

        // Lines that pass sentencepiece's filters: not empty, not too long, not holding the reserved unknown mark.
        IEnumerable<string> Lines()
        {
            foreach (var text in texts)
            {
                if (text is null) continue;
                int start = 0;
                while (start <= text.Length)
                {
                    // A line ends at "\n", "\r\n" or a lone "\r": a corpus saved on Windows trains like its LF copy.
                    int nl = text.AsSpan(start).IndexOfAny('\n', '\r');
                    if (nl >= 0) nl += start;
                    int end = nl < 0 ? text.Length : nl;
                    if (end > start || nl >= 0)
                    {
                        var line = text.AsSpan(start, end - start);
                        linesRead++;
                        if ((linesRead & 0xFFFF) == 0) progress?.Report(new("reading", linesRead, 0));
                        if (!line.IsEmpty)
                        {
                            if (Utf8Length(line, options.MaxSentenceLength) > options.MaxSentenceLength) tooLong++;
                            else if (line.IndexOf(SentencePieceSymbols.UnknownChar) < 0)
                                yield return start == 0 && end == text.Length ? text : line.ToString();
                        }
                    }
                    if (nl < 0) break;
                    start = nl + (text[nl] == '\r' && nl + 1 < text.Length && text[nl + 1] == '\n' ? 2 : 1);
                }
            }
        }

        IEnumerable<string> selected = Lines();
        if (options.InputSentenceSize > 0)
            selected = options.ShuffleInputSentence ? Reservoir(Lines(), options.InputSentenceSize, options.Seed) : Lines().Take(checked((int)options.InputSentenceSize));

        var words = CountParallel(selected, options, specials, options.EffectiveThreads, ref used, cancellation);
        progress?.Report(new("reading", linesRead, linesRead));
        return new WordCounts { Words = words, LinesRead = linesRead, LinesUsed = used, TooLongLines = tooLong };
    }

    /// <summary>UTF-8 length of <paramref name="line"/>, stopping early once it is surely above <paramref name="limit"/>.</summary>
    private static long Utf8Length(ReadOnlySpan<char> line, int limit)
    {
        if (line.Length > limit) return line.Length; // every UTF-16 unit is at least one byte
        if ((long)line.Length * 3 <= limit) return line.Length; // at most 3 bytes per unit: surely within
        return System.Text.Encoding.UTF8.GetByteCount(line);
    }

    /// <summary>A uniform sample of <paramref name="size"/> lines, the same lines spm_train keeps for the same seed.</summary>
    private static List<string> Reservoir(IEnumerable<string> lines, long size, int seed)
    {
        var sampler = new SpmReservoirSampler(size, unchecked((uint)seed));
        foreach (var line in lines) sampler.Add(line);
        return sampler.Sample;
    }

    private static Dictionary<string, long> CountParallel(IEnumerable<string> lines, SentencePieceBpeOptions options,
        string[] specials, int threads, ref long used, CancellationToken cancellation)
    {
        // One reader batches lines into chunks; workers normalize and count into their own dictionaries.
        using var queue = new BlockingCollection<List<string>>(boundedCapacity: threads * 2);
        var partials = new Dictionary<string, long>[threads];
        long usedLines = 0;
        var workers = new Task[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = Task.Factory.StartNew(() =>
            {
                var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
                var normalizer = new SentenceNormalizer(options, specials);
                var buffer = new List<char>(256);
                long localUsed = 0;
                foreach (var chunk in queue.GetConsumingEnumerable(cancellation))
                {
                    foreach (var line in chunk)
                    {
                        normalizer.Normalize(line, buffer);
                        if (buffer.Count == 0) continue;
                        localUsed++;
                        var text = CollectionsMarshal.AsSpan(buffer);
                        if (options.SplitByWhitespace)
                            WordSplitter.Split(text, options.AllowWhitespaceOnlyPieces, ref lookup, static (ref Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> l, ReadOnlySpan<char> w) => Add(l, w));
                        else
                            Add(lookup, text);
                    }
                }
                partials[id] = counts;
                Interlocked.Add(ref usedLines, localUsed);
            }, cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        try
        {
            var chunk = new List<string>();
            long chars = 0;
            foreach (var line in lines)
            {
                cancellation.ThrowIfCancellationRequested();
                chunk.Add(line);
                chars += line.Length;
                if (chars >= ChunkChars)
                {
                    queue.Add(chunk, cancellation);
                    chunk = new List<string>();
                    chars = 0;
                }
            }
            if (chunk.Count > 0) queue.Add(chunk, cancellation);
        }
        finally
        {
            queue.CompleteAdding();
        }
        Task.WaitAll(workers);
        used = usedLines;

        // Merge into the largest partial.
        var merged = partials.MaxBy(p => p.Count)!;
        foreach (var p in partials)
        {
            if (ReferenceEquals(p, merged)) continue;
            foreach (var (word, n) in p)
                CollectionsMarshal.GetValueRefOrAddDefault(merged, word, out _) += n;
        }
        return merged;
    }

    private static void Add(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<char> word)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(lookup, word, out _)++;
    }
}
