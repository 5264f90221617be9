namespace TinyLlm.MLNet.Stories;

/// <summary>
/// The files a TinyStories path stands for, resolved and checked up front so that a bad path or option fails
/// when the data is opened, not halfway through training.
/// </summary>
internal sealed class TinyStoriesSource
{
    private TinyStoriesSource(string path, IReadOnlyList<string> files, long? maxRows)
    {
        Path = path;
        Files = files;
        MaxRows = maxRows;
    }

    /// <summary>The path the user gave.</summary>
    public string Path { get; }

    /// <summary>The files to read, in order (already cut to FirstShard/ShardCount).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>At most this many stories; null for all.</summary>
    public long? MaxRows { get; }

    /// <summary>Resolves <paramref name="path"/> to its shard files and validates <paramref name="options"/>.</summary>
    public static TinyStoriesSource Resolve(string path, TinyStoriesOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.TextColumnName))
            throw new ArgumentException("TinyStoriesOptions.TextColumnName must be a non-empty column name.", nameof(options));
        if (options.MaxRows is < 0)
            throw new ArgumentOutOfRangeException(nameof(options),
                $"TinyStoriesOptions.MaxRows is {options.MaxRows}; it must be null (all stories) or 0 or more.");

        string[] all = ListFiles(path);
        int count = all.Length;
        if (options.FirstShard < 0 || options.FirstShard >= count)
            throw new ArgumentOutOfRangeException(nameof(options),
                $"TinyStoriesOptions.FirstShard is {options.FirstShard}, but '{path}' has {count} shard(s): it must be between 0 and {count - 1}.");
        int left = count - options.FirstShard;
        if (options.ShardCount is { } shards && (shards < 1 || shards > left))
            throw new ArgumentOutOfRangeException(nameof(options),
                $"TinyStoriesOptions.ShardCount is {shards}, but '{path}' has {left} shard(s){(options.FirstShard > 0 ? $" from FirstShard {options.FirstShard}" : "")}: it must be between 1 and {left}, or null for all of them.");

        var files = all.Skip(options.FirstShard).Take(options.ShardCount ?? left).ToArray();
        return new TinyStoriesSource(path, files, options.MaxRows);
    }

    /// <summary>Streams the stories; with <paramref name="decode"/> false they are counted and checked but null.</summary>
    public IEnumerable<string?> Read(bool decode)
    {
        long rows = 0;
        if (MaxRows == 0) yield break;
        foreach (string file in Files)
        {
            using IStoryFileReader reader = Open(file);
            while (reader.TryReadNext(decode, out string? story))
            {
                yield return story;
                if (++rows == MaxRows) yield break;
            }
        }
    }

    private static IStoryFileReader Open(string file) =>
        IsJson(file) ? new JsonShardReader(file) : new TextLineReader(file);

    private static bool IsJson(string file) => file.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    private static bool IsText(string file) => file.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

    private static string[] ListFiles(string path)
    {
        if (File.Exists(path))
        {
            if (IsJson(path) || IsText(path)) return [path];
            throw new ArgumentException(
                $"'{path}' is neither a TinyStories shard (.json) nor a text corpus (.txt, one story per line). " +
                "For the downloaded .tar.gz archive run `tinyllm download`, which extracts it.", nameof(path));
        }
        if (!Directory.Exists(path))
        {
            if (IsJson(path) || IsText(path))
                throw new FileNotFoundException($"The stories file '{path}' does not exist.", path);
            throw new DirectoryNotFoundException(
                $"The TinyStories folder '{path}' does not exist. Create it with `tinyllm download --dir {path}` " +
                $"(the real data) or `tinyllm synth --out {path}` (synthetic stories), or pass a .json/.txt file.");
        }

        // Shards are read in name order: data00.json, data01.json, ... (ordinal, so it is the same on every OS).
        string[] json = Directory.EnumerateFiles(path).Where(IsJson).Order(StringComparer.Ordinal).ToArray();
        if (json.Length > 0) return json;
        string[] text = Directory.EnumerateFiles(path).Where(IsText).Order(StringComparer.Ordinal).ToArray();
        if (text.Length > 0) return text;
        throw new FileNotFoundException(
            $"The folder '{path}' has no stories: expected TinyStories shards named data00.json, data01.json, ... " +
            "(JSON arrays of objects with a \"story\" field) or plain-text .txt files with one story per line.");
    }
}
