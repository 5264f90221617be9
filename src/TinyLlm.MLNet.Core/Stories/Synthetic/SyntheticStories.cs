using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>Progress of <see cref="SyntheticStories.WriteShards"/>.</summary>
/// <param name="StoriesWritten">Stories written so far.</param>
/// <param name="TotalStories">Stories asked for.</param>
/// <param name="BytesWritten">Bytes of JSON written so far.</param>
/// <param name="ShardsWritten">Shard files completed so far.</param>
public readonly record struct SyntheticStoriesProgress(long StoriesWritten, long TotalStories, long BytesWritten, int ShardsWritten);

/// <summary>Which grammar <see cref="SyntheticStories"/> writes with.</summary>
public enum SyntheticTheme
{
    /// <summary>TinyStories-like children's stories ("One day, Lily met a curious owl.").</summary>
    Classic,

    /// <summary>
    /// Robots on far planets, with names and words the classic stories never use ("On the planet Vell, there was a
    /// small robot called Zib."): a second corpus, to fine-tune a model trained on the classic one.
    /// </summary>
    Space,
}

/// <summary>
/// TinyStories-like stories from a seeded grammar built into the library: a data set that needs no download, for
/// tests, demos and quick experiments ("One day, Lily met a curious owl. ..."). Story <c>i</c> depends only on
/// (seed, i), so the output is the same bytes on any machine and any number of cores.
/// </summary>
public static class SyntheticStories
{
    /// <summary>Default stories per shard file: 2,000 stories (about 2 MB), so 20,000 stories make 10 shards.</summary>
    public const int DefaultStoriesPerShard = 2000;

    // Stories generated in parallel per step: large enough to keep every core busy, small for steady progress.
    private const int ChunkSize = 1024;

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Write quotes as \" like the real shards, not \u0022.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The first <paramref name="count"/> stories of the stream seeded with <paramref name="seed"/>, lazily.</summary>
    /// <param name="count">How many stories; 0 or more.</param>
    /// <param name="seed">Seed of the grammar's random choices; the same seed gives the same stories.</param>
    /// <param name="theme">Which grammar: the classic children's stories, or the space stories of another vocabulary.</param>
    public static IEnumerable<string> Generate(int count, int seed, SyntheticTheme theme = SyntheticTheme.Classic)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var story = Grammar(theme);
        return Iterate(count, seed, story);

        static IEnumerable<string> Iterate(int count, int seed, Func<int, long, SyntheticStory> story)
        {
            for (int i = 0; i < count; i++) yield return story(seed, i).Story;
        }
    }

    private static Func<int, long, SyntheticStory> Grammar(SyntheticTheme theme) => theme switch
    {
        SyntheticTheme.Classic => StoryGrammar.Generate,
        SyntheticTheme.Space => SpaceStoryGrammar.Generate,
        _ => throw new ArgumentOutOfRangeException(nameof(theme), theme, "The synthetic theme must be Classic or Space."),
    };

    /// <summary>
    /// Writes <paramref name="stories"/> stories as TinyStories shards <c>data00.json</c>, <c>data01.json</c>, ... in
    /// <paramref name="outDir"/>: JSON arrays of <c>{"story", "instruction": {"prompt:", "words", "features"},
    /// "summary", "source": "synthetic"}</c> objects, the layout of the real data set. Stories are generated on
    /// every core; each shard is written to <c>dataNN.json.tmp</c> and renamed when complete.
    /// </summary>
    /// <param name="outDir">Folder to write into (created if missing). Existing shards of the same names are replaced.</param>
    /// <param name="stories">How many stories, at least 1.</param>
    /// <param name="seed">Seed of the grammar's random choices.</param>
    /// <param name="storiesPerShard">Stories per file, at least 1.</param>
    /// <param name="progress">Receives progress after every chunk of stories.</param>
    /// <param name="cancellationToken">Stops between chunks; the unfinished shard's .tmp file is deleted.</param>
    /// <param name="theme">Which grammar writes the stories.</param>
    /// <returns>The shard paths, in order.</returns>
    public static IReadOnlyList<string> WriteShards(string outDir, int stories, int seed, int storiesPerShard = DefaultStoriesPerShard,
        IProgress<SyntheticStoriesProgress>? progress = null, CancellationToken cancellationToken = default, SyntheticTheme theme = SyntheticTheme.Classic)
    {
        var story = Grammar(theme);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        if (stories < 1)
            throw new ArgumentOutOfRangeException(nameof(stories), stories,
                $"The number of stories must be between 1 and {int.MaxValue}; it was {stories}.");
        if (storiesPerShard < 1)
            throw new ArgumentOutOfRangeException(nameof(storiesPerShard), storiesPerShard,
                $"The number of stories per shard must be between 1 and {int.MaxValue}; it was {storiesPerShard}.");

        int shardCount = (int)((stories + (long)storiesPerShard - 1) / storiesPerShard);
        // At least two digits like the real data (data00..data49), more when needed so names still sort.
        int digits = Math.Max(2, (shardCount - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        var names = Enumerable.Range(0, shardCount)
            .Select(i => "data" + i.ToString("D" + digits, System.Globalization.CultureInfo.InvariantCulture) + ".json").ToArray();
        RefuseStaleShards(outDir, names);
        AtomicFile.CreateFolder(outDir);
        AtomicFile.RemoveStaleTemps(outDir, "*.json");
        var paths = new List<string>(shardCount);
        long written = 0, bytes = 0;
        var chunk = new byte[ChunkSize][];

        for (int shard = 0; shard < shardCount; shard++)
        {
            string path = Path.Combine(outDir, names[shard]);
            long first = (long)shard * storiesPerShard;
            long end = Math.Min(stories, first + storiesPerShard);
            AtomicFile.Write(path, file =>
            {
                file.Write("["u8);
                for (long start = first; start < end; start += ChunkSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int n = (int)Math.Min(ChunkSize, end - start);
                    // Each story's JSON is produced on its own thread from (seed, index) alone: deterministic.
                    Parallel.For(0, n, i => chunk[i] = ToJson(story(seed, start + i)));
                    for (int i = 0; i < n; i++)
                    {
                        file.Write(start + i == first ? "\n"u8 : ",\n"u8);
                        file.Write(chunk[i]);
                        bytes += chunk[i].Length + 2;
                    }
                    written += n;
                    progress?.Report(new SyntheticStoriesProgress(written, stories, bytes, shard));
                }
                file.Write("\n]\n"u8);
                bytes += 3;
            });
            paths.Add(path);
            progress?.Report(new SyntheticStoriesProgress(written, stories, bytes, shard + 1));
        }
        return paths;
    }

    /// <summary>
    /// Other .json files in the folder would be read as shards along with the new ones (an earlier, larger run
    /// leaves data10.json behind a new data00..data02): refuse rather than mix data sets or delete files.
    /// </summary>
    private static void RefuseStaleShards(string outDir, string[] names)
    {
        if (!Directory.Exists(outDir)) return;
        var ours = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        var others = Directory.EnumerateFiles(outDir)
            .Select(Path.GetFileName)
            .Where(name => name!.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !ours.Contains(name))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (others.Length == 0) return;
        string list = string.Join(", ", others.Take(5)) + (others.Length > 5 ? $" and {others.Length - 5} more" : "");
        throw new InvalidOperationException(
            $"The folder '{outDir}' already holds {list}, which would be read as shards along with the {names.Length} new one(s). " +
            "Delete them or write to another folder.");
    }

    private static byte[] ToJson(SyntheticStory story)
    {
        var buffer = new ArrayBufferWriter<byte>(story.Story.Length + 512);
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("story", story.Story);
            json.WriteStartObject("instruction");
            // The real data spells this key with a colon: "prompt:".
            json.WriteString("prompt:", "Write a short story (3-5 paragraphs) which only uses very simple words that a 3 year old child would understand. " +
                $"The story should use the verb \"{story.Words[0]}\", the noun \"{story.Words[1]}\" and the adjective \"{story.Words[2]}\".");
            json.WriteStartArray("words");
            foreach (string word in story.Words) json.WriteStringValue(word);
            json.WriteEndArray();
            json.WriteStartArray("features");
            foreach (string feature in story.Features) json.WriteStringValue(feature);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("summary", story.Summary);
            json.WriteString("source", "synthetic");
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
