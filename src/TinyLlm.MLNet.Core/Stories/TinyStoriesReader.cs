namespace TinyLlm.MLNet.Stories;

/// <summary>Streams stories from TinyStories shards or a plain-text corpus, in file order, in constant memory.</summary>
public static class TinyStoriesReader
{
    /// <summary>
    /// Reads the stories under <paramref name="path"/> lazily, one at a time.
    /// </summary>
    /// <param name="path">
    /// A folder of TinyStories shards (<c>data00.json</c> .. <c>data49.json</c>, read in name order; each a JSON array
    /// of objects with a <c>story</c> string), a single <c>.json</c> shard, a <c>.txt</c> file, or a folder of
    /// <c>.txt</c> files with one story per line (blank lines skipped).
    /// </param>
    /// <param name="options">Which shards and how many stories; defaults read everything.</param>
    /// <returns>The stories. The path and options are checked now; file contents as they are read.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist, or the folder holds no shards.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its allowed range.</exception>
    /// <exception cref="InvalidDataException">While enumerating: malformed JSON, a missing <c>story</c>, bad UTF-8.</exception>
    public static IEnumerable<string> ReadStories(string path, TinyStoriesOptions? options = null)
    {
        var source = TinyStoriesSource.Resolve(path, options ?? new TinyStoriesOptions());
        return source.Read(decode: true)!;
    }
}
