using TinyLlm.MLNet.IO;
namespace TinyLlm.MLNet.Stories.Download;

/// <summary>
/// Fetches the TinyStories data set (the <c>TinyStories_all_data.tar.gz</c> archive of 50 JSON shards, ~1.5 GB) and
/// unpacks it so that <c>mlContext.Data.LoadTinyStories(dir)</c> can read it. The download resumes where it stopped;
/// work already done is skipped.
/// </summary>
public static class TinyStoriesDownloader
{
    /// <summary>The archive on Hugging Face that the llama2.c tutorial downloads.</summary>
    public const string DefaultUrl = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories_all_data.tar.gz";

    /// <summary>Written into the folder after a complete extraction; it names the archive and its size.</summary>
    internal const string ExtractedMarker = ".tinystories-extracted";

    /// <summary>
    /// Downloads <paramref name="urlOrPath"/> into <paramref name="dir"/> and extracts its shards there.
    /// </summary>
    /// <remarks>
    /// Steps, each skipped when already done: (1) the archive is fetched into <c>&lt;dir&gt;/&lt;name&gt;.part</c>,
    /// appending to a partial one (HTTP <c>Range</c>, or a seek for a local file; a server that ignores
    /// <c>Range</c> makes it start again), then renamed to <c>&lt;dir&gt;/&lt;name&gt;</c>; (2) the tar entries are
    /// written to temporary names and renamed, entries that would escape <paramref name="dir"/> refused. Nothing
    /// is fetched when <paramref name="dir"/> already holds extracted shards (<c>data00.json</c>, ...) and no
    /// partial archive. The archive is kept, so a later run can check against it.
    /// </remarks>
    /// <param name="urlOrPath">An <c>https://</c> (or <c>http://</c>) URL, a <c>file://</c> URL or a local path of a <c>.tar.gz</c>.</param>
    /// <param name="dir">The folder for the archive and the shards (created if missing).</param>
    /// <param name="progress">Receives bytes downloaded and extracted.</param>
    /// <param name="cancellationToken">Stops the download; run again to resume.</param>
    /// <returns>The shard files in <paramref name="dir"/>, in name order.</returns>
    /// <exception cref="InvalidDataException">The archive is not a gzip-compressed tar, has an entry escaping <paramref name="dir"/>, or holds no <c>.json</c> shard.</exception>
    /// <exception cref="IOException">The server refused the request or the download ended early.</exception>
    /// <exception cref="FileNotFoundException">A local archive does not exist.</exception>
    public static async Task<IReadOnlyList<string>> DownloadAsync(string urlOrPath, string dir,
        IProgress<TinyStoriesDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(urlOrPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        if (!ArchiveFetcher.IsHttp(urlOrPath) && urlOrPath.Contains("://", StringComparison.Ordinal)
            && !urlOrPath.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{urlOrPath}' is not an https://, http:// or file:// URL nor a local path.", nameof(urlOrPath));

        AtomicFile.CreateFolder(dir);
        string name = ArchiveFetcher.FileName(urlOrPath);
        string archive = Path.Combine(dir, name);
        string part = archive + ".part";
        string marker = Path.Combine(dir, ExtractedMarker);

        bool haveArchive = File.Exists(archive);
        if (File.Exists(marker) && haveArchive && await File.ReadAllTextAsync(marker, cancellationToken).ConfigureAwait(false) == MarkerText(archive))
            return Shards(dir, urlOrPath);
        if (!haveArchive && !File.Exists(part) && File.Exists(Path.Combine(dir, "data00.json")))
            return Shards(dir); // Shards extracted by hand or by an earlier run that removed the archive.

        if (!haveArchive)
        {
            bool sameFile = !ArchiveFetcher.IsHttp(urlOrPath) &&
                string.Equals(Path.GetFullPath(ArchiveFetcher.LocalPath(urlOrPath)), Path.GetFullPath(archive), StringComparison.Ordinal);
            if (!sameFile)
            {
                await ArchiveFetcher.FetchAsync(urlOrPath, part, progress, cancellationToken).ConfigureAwait(false);
                CheckGzipMagic(urlOrPath, part);
                File.Move(part, archive, overwrite: true);
            }
        }

        AtomicFile.RemoveStaleTemps(dir, "*.json");
        await TarGzExtractor.ExtractAsync(archive, dir, progress, cancellationToken).ConfigureAwait(false);
        var shards = Shards(dir, urlOrPath);
        AtomicFile.WriteAllText(marker, MarkerText(archive));
        return shards;
    }

    /// <summary>
    /// Refuses a download that is not gzip at all (an HTML error page, a wrong URL) before it takes the archive's
    /// name, so the next run fetches it again instead of failing on it.
    /// </summary>
    private static void CheckGzipMagic(string source, string part)
    {
        Span<byte> head = stackalloc byte[2];
        int read;
        using (var file = File.OpenRead(part)) read = file.ReadAtLeast(head, 2, throwOnEndOfStream: false);
        if (read == 2 && head[0] == 0x1F && head[1] == 0x8B) return;
        File.Delete(part);
        throw new InvalidDataException(
            $"'{source}' is not a gzip-compressed tar archive (it does not start with the gzip signature 1F 8B); expected TinyStories_all_data.tar.gz.");
    }

    private static string MarkerText(string archive) => $"{Path.GetFileName(archive)} {new FileInfo(archive).Length}\n";

    private static IReadOnlyList<string> Shards(string dir) =>
        Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal).ToArray();

    // An archive that unpacks to no story shard is not TinyStories: an error, not "0 shards ready".
    private static IReadOnlyList<string> Shards(string dir, string source)
    {
        var shards = Shards(dir);
        if (shards.Count == 0)
            throw new InvalidDataException(
                $"'{source}' holds no TinyStories shards: extracting it into '{dir}' gave no .json file (data00.json, data01.json, ...). " +
                $"Check the URL; the data set is {DefaultUrl}.");
        return shards;
    }
}
