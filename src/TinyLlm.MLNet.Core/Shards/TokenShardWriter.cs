using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Pretokenizes stories into llama2.c shards: each story is stripped of surrounding whitespace (Python's
/// <c>str.strip()</c>), encoded with BOS first and no EOS, and the ids of a shard are concatenated and written as raw
/// little-endian uint16, byte for byte what llama2.c's <c>pretokenize</c> writes for the same ids.
/// </summary>
/// <remarks>
/// Shards are encoded a few at a time and stories within a shard on all cores; the output does not depend on the
/// thread count. Each shard is written to <c>name.bin.tmp</c> and renamed, then recorded in
/// <see cref="TokenShardManifest"/> with a fingerprint of its source, so a killed run resumes by skipping what the
/// manifest lists, and a source changed since is encoded again.
/// </remarks>
public sealed class TokenShardWriter
{
    private readonly StoryEncoder? _encoder;
    private readonly TokenShardWriterOptions _options;

    /// <summary>A writer that encodes with the SentencePiece model at <paramref name="tokenizerModelPath"/>.</summary>
    public TokenShardWriter(string tokenizerModelPath, TokenShardWriterOptions? options = null)
        : this(ReadModel(tokenizerModelPath), tokenizerModelPath, options)
    {
    }

    /// <summary>A writer that encodes with the SentencePiece model held in <paramref name="modelBytes"/>.</summary>
    public TokenShardWriter(byte[] modelBytes, TokenShardWriterOptions? options = null)
        : this(modelBytes, "the tokenizer model", options)
    {
    }

    private TokenShardWriter(byte[] modelBytes, string modelName, TokenShardWriterOptions? options)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        _options = options ?? new TokenShardWriterOptions();
        SentencePieceModel model;
        SentencePieceTokenizer tokenizer;
        try
        {
            model = SentencePieceModel.FromBytes(modelBytes, modelName);
            // The tokenizer keeps no per-call state (ArrayPool buffers and locals only), so one instance serves all threads.
            tokenizer = model.CreateTokenizer(addBeginningOfSentence: true, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not InvalidDataException)
        {
            throw new InvalidDataException($"{modelName} is not a SentencePiece .model file ({e.Message}).", e);
        }
        VocabSize = tokenizer.Vocabulary.Count;
        TokenShardFormat.CheckVocabSize(VocabSize, $"Tokenizer '{modelName}'");
        TokenizerSha256 = TokenShardManifest.HashTokenizer(modelBytes);
        TokenizerPiecesSha256 = TokenizerFingerprint.Of(model).PiecesSha256;
        _encoder = new StoryEncoder(model, tokenizer, _options.MemoizeWords);
    }

    /// <summary>A writer of already-encoded tokens, recording <paramref name="tokenizerSha256"/> and <paramref name="vocabSize"/> (0 if unknown) in the manifest.</summary>
    internal TokenShardWriter(string tokenizerSha256, int vocabSize, TokenShardWriterOptions? options)
    {
        _options = options ?? new TokenShardWriterOptions();
        TokenShardFormat.CheckVocabSize(vocabSize, "The tokens");
        VocabSize = vocabSize;
        TokenizerSha256 = tokenizerSha256;
    }

    /// <summary>Vocabulary size of the tokenizer.</summary>
    public int VocabSize { get; }

    /// <summary>SHA-256 of the tokenizer model, as recorded in the manifest.</summary>
    public string TokenizerSha256 { get; }

    /// <summary>SHA-256 of the tokenizer's pieces (<see cref="TokenizerFingerprint"/>), as recorded in the manifest; null without a tokenizer.</summary>
    public string? TokenizerPiecesSha256 { get; }

    /// <summary>
    /// Writes one <c>.bin</c> per input into <paramref name="outputDirectory"/> (created if absent) and returns the updated
    /// manifest. A shard the manifest lists as finished with this tokenizer is skipped while its source is unchanged;
    /// one whose source changed is encoded again, and one whose recorded source is no longer among the inputs is
    /// deleted (<see cref="TokenShardProgress.ShardsReencoded"/>, <see cref="TokenShardProgress.ShardsRemoved"/>). The
    /// manifest says the set is complete only once every input is written.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder's manifest names another tokenizer and <see cref="TokenShardWriterOptions.Overwrite"/> is off.</exception>
    public TokenShardManifest Write(IEnumerable<TokenShardInput> inputs, string outputDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        AtomicFile.CreateFolder(outputDirectory);
        AtomicFile.RemoveStaleTemps(outputDirectory, "*" + TokenShardFormat.Extension, TokenShardManifest.FileName);
        var manifest = OpenManifest(outputDirectory);
        var list = inputs as IReadOnlyCollection<TokenShardInput>;
        var run = new RunState(list?.Count ?? -1, _options.Progress);
        // Until the last input is written the folder is not a finished set: a reader refuses it unless asked.
        manifest.Complete = false;
        manifest.Save(outputDirectory);

        HashSet<string> written;
        try
        {
            written = WriteAll(inputs, outputDirectory, manifest, run, cancellationToken);
        }
        catch (AggregateException e)
        {
            // Surface the first shard's own error (a bad JSON line, a full disk), not the wrapper.
            ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
            throw;
        }
        RemoveShardsOfGoneSources(manifest, written, outputDirectory, run);
        lock (manifest)
        {
            manifest.Complete = true;
            manifest.Save(outputDirectory);
        }
        return manifest;
    }

    private HashSet<string> WriteAll(IEnumerable<TokenShardInput> inputs, string outputDirectory, TokenShardManifest manifest, RunState run, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Parallel.ForEach(
            inputs,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.ShardsInParallel), CancellationToken = cancellationToken },
            input =>
            {
                string fileName = input.Name + TokenShardFormat.Extension;
                lock (seen)
                {
                    if (!seen.Add(fileName))
                        throw new ArgumentException($"Two input shards are both named '{input.Name}'; shard names must be unique.", nameof(inputs));
                }
                string path = Path.Combine(outputDirectory, fileName);
                TokenShardEntry? done;
                lock (manifest) done = manifest.Find(fileName);
                var source = input.Fingerprint?.Invoke();
                if (!_options.Overwrite && done is not null && File.Exists(path) && new FileInfo(path).Length == done.Tokens * 2)
                {
                    // Inputs without a fingerprint are kept by name, as before fingerprints were recorded.
                    if (source is null || source.Matches(done))
                    {
                        if (source is not null && done.SourceModified != source.Modified)
                            lock (manifest) source.WriteTo(done); // touched, not changed: remember the new time
                        run.Skipped();
                        return;
                    }
                    run.Reencoding();
                }

                var entry = WriteShard(input, path, run, cancellationToken);
                source?.WriteTo(entry);
                lock (manifest)
                {
                    manifest.Shards.RemoveAll(s => s.File == fileName);
                    manifest.Shards.Add(entry);
                    manifest.Save(outputDirectory);
                }
                run.Finished();
            });
        return seen;
    }

    // A shard made from a source (a file, or rows of an IDataView) that is no longer among the inputs is stale: a
    // reader would train on stories that are gone.
    private static void RemoveShardsOfGoneSources(TokenShardManifest manifest, HashSet<string> written, string outputDirectory, RunState run)
    {
        foreach (var gone in manifest.Shards.Where(s => s.SourceHash is not null && !written.Contains(s.File)).ToList())
        {
            File.Delete(Path.Combine(outputDirectory, gone.File));
            manifest.Shards.Remove(gone);
            manifest.Save(outputDirectory);
            run.Removed();
        }
    }

    /// <summary>Encodes one story as llama2.c does: <c>[BOS] + encode(story.strip())</c>.</summary>
    public int[] EncodeStory(string story)
    {
        var ids = new List<ushort>();
        EncodeStory(story, ids);
        return ids.Select(i => (int)i).ToArray();
    }

    private void EncodeStory(string story, List<ushort> output) =>
        (_encoder ?? throw new InvalidOperationException("This writer has no tokenizer; it writes already-encoded tokens only.")).Encode(story, output);

    /// <summary>Whether this writer memoizes word encodings (see <see cref="TokenShardWriterOptions.MemoizeWords"/>).</summary>
    public bool MemoizesWords => _encoder?.MemoizesWords ?? false;

    private TokenShardEntry WriteShard(TokenShardInput input, string path, RunState run, CancellationToken ct)
    {
        ushort[][] chunks;
        long stories;
        if (input.Stories is not null)
        {
            var texts = input.Stories().ToList();
            stories = texts.Count;
            chunks = EncodeInParallel(texts, run, ct);
        }
        else
        {
            var rows = input.Tokens!().ToList();
            stories = rows.Count;
            chunks = [Concatenate(rows, input.Name)];
            run.Encoded(0, chunks[0].Length, stories);
        }

        long tokens = 0;
        AtomicFile.Write(path, file =>
        {
            foreach (var chunk in chunks)
            {
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(chunk, chunk);
                file.Write(MemoryMarshal.AsBytes(chunk.AsSpan()));
                tokens += chunk.Length;
            }
        });
        return new TokenShardEntry { File = Path.GetFileName(path), Source = input.Source, Tokens = tokens, Stories = stories };
    }

    /// <summary>Encodes stories in chunks on all cores; chunk order is story order, so the output is deterministic.</summary>
    private ushort[][] EncodeInParallel(List<string> texts, RunState run, CancellationToken ct)
    {
        int threads = _options.MaxDegreeOfParallelism > 0 ? _options.MaxDegreeOfParallelism : Environment.ProcessorCount;
        int chunkSize = Math.Clamp(texts.Count / (threads * 8), 16, 2048);
        int chunkCount = (texts.Count + chunkSize - 1) / chunkSize;
        var chunks = new ushort[chunkCount][];
        Parallel.For(0, chunkCount, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct }, c =>
        {
            int from = c * chunkSize, to = Math.Min(texts.Count, from + chunkSize);
            var ids = new List<ushort>((to - from) * 256);
            long bytes = 0;
            for (int i = from; i < to; i++)
            {
                EncodeStory(texts[i], ids);
                bytes += Encoding.UTF8.GetByteCount(texts[i] ?? "");
            }
            chunks[c] = ids.ToArray();
            run.Encoded(bytes, ids.Count, to - from);
        });
        return chunks;
    }

    private static ushort[] Concatenate(List<int[]> rows, string shard)
    {
        var all = new ushort[rows.Sum(r => (long)r.Length)];
        long k = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            foreach (int id in rows[r])
            {
                if ((uint)id >= TokenShardFormat.MaxVocabSize)
                    throw new InvalidDataException($"Story {r} of shard '{shard}' holds token id {id}, outside the uint16 range 0 to {TokenShardFormat.MaxVocabSize - 1}.");
                all[k++] = (ushort)id;
            }
        }
        return all;
    }

    private TokenShardManifest OpenManifest(string directory)
    {
        var existing = TokenShardManifest.Load(directory);
        if (existing is not null && !_options.Overwrite && (existing.TokenizerSha256 != TokenizerSha256 || existing.VocabSize != VocabSize))
            throw new InvalidDataException(
                $"Shard folder '{directory}' holds shards made with another tokenizer: its manifest names tokenizer SHA-256 {existing.TokenizerSha256} " +
                $"(vocabulary {existing.VocabSize}), this one is {TokenizerSha256} (vocabulary {VocabSize}). Use another folder or overwrite them.");
        if (existing is null || _options.Overwrite)
            return new TokenShardManifest { TokenizerSha256 = TokenizerSha256, VocabSize = VocabSize, TokenizerPiecesSha256 = TokenizerPiecesSha256 };
        existing.TokenizerPiecesSha256 ??= TokenizerPiecesSha256; // a manifest from before the fingerprint was recorded
        return existing;
    }

    private static byte[] ReadModel(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Tokenizer model '{path}' does not exist; train one with `tinyllm train-tokenizer` first.", path);
        return File.ReadAllBytes(path);
    }

    /// <summary>Thread-safe counters behind the progress reports.</summary>
    private sealed class RunState(int shardsTotal, IProgress<TokenShardProgress>? progress)
    {
        private long _bytes, _tokens, _stories;
        private int _done, _skipped, _reencoded, _removed;

        public void Encoded(long bytes, long tokens, long stories)
        {
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Add(ref _tokens, tokens);
            Interlocked.Add(ref _stories, stories);
            Report();
        }

        public void Finished()
        {
            Interlocked.Increment(ref _done);
            Report();
        }

        public void Skipped()
        {
            Interlocked.Increment(ref _skipped);
            Interlocked.Increment(ref _done);
            Report();
        }

        public void Reencoding() => Interlocked.Increment(ref _reencoded);

        public void Removed()
        {
            Interlocked.Increment(ref _removed);
            Report();
        }

        // One report at a time, each read after the last: the counts a receiver sees never go back (two workers
        // reading the counters unlocked could deliver the older figures last, and the last report must be the total).
        private readonly Lock _gate = new();

        private void Report()
        {
            if (progress is null) return;
            lock (_gate)
            {
                progress.Report(new TokenShardProgress(
                    Interlocked.Read(ref _bytes), Interlocked.Read(ref _tokens), Interlocked.Read(ref _stories), Volatile.Read(ref _done), Volatile.Read(ref _skipped), shardsTotal)
                {
                    ShardsReencoded = Volatile.Read(ref _reencoded),
                    ShardsRemoved = Volatile.Read(ref _removed),
                });
            }
        }
    }
}
