using System.Formats.Tar;
using System.IO.Compression;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Stories.Download;

/// <summary>
/// Unpacks a <c>.tar.gz</c> into a folder: regular files only, each written to a temporary name and renamed, entries
/// that would land outside the folder refused. A file already there with the entry's size is kept, so an
/// interrupted extraction picks up where it stopped.
/// </summary>
internal static class TarGzExtractor
{
    public static async Task<IReadOnlyList<string>> ExtractAsync(string archive, string dir,
        IProgress<TinyStoriesDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string root = Path.GetFullPath(dir);
        string rootWithSlash = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        var written = new List<string>();
        await using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long total = file.Length;
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        TarEntry? entry;
        while ((entry = await NotGzipTarAsync(archive, () => tar.GetNextEntryAsync(copyData: false, cancellationToken)).ConfigureAwait(false)) is not null)
        {
            string name = entry.Name.Replace('\\', '/');
            if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
            if (name.Length == 0 || name == ".") continue;
            string target = Path.GetFullPath(Path.Combine(root, name));
            if (Path.IsPathRooted(name) || !target.StartsWith(rootWithSlash, StringComparison.Ordinal))
                throw new InvalidDataException(
                    $"'{archive}' has an entry '{entry.Name}' that would be written outside '{dir}'; refusing to extract it.");

            if (entry.EntryType == TarEntryType.Directory)
            {
                Directory.CreateDirectory(target);
                continue;
            }
            // Links, devices and the like have no place in a data set: skip them.
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
                continue;

            progress?.Report(new TinyStoriesDownloadProgress(TinyStoriesDownloadStage.Extracting, file.Position, total, name));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!(File.Exists(target) && new FileInfo(target).Length == entry.Length))
            {
                await AtomicFile.WriteAsync(target, async (output, ct) =>
                {
                    if (entry.DataStream is { } data)
                        await NotGzipTarAsync(archive, async () => { await data.CopyToAsync(output, ct).ConfigureAwait(false); return 0; }).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            written.Add(target);
        }
        if (written.Count == 0)
            throw new InvalidDataException($"'{archive}' holds no files; expected the TinyStories shards data00.json .. data49.json.");
        progress?.Report(new TinyStoriesDownloadProgress(TinyStoriesDownloadStage.Extracting, total, total, null));
        return written;
    }

    /// <summary>Runs one read of the archive, turning the decoders' errors into one clear message.</summary>
    private static async Task<T> NotGzipTarAsync<T>(string archive, Func<ValueTask<T>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException(
                $"'{archive}' is not a valid gzip-compressed tar archive ({e.Message}). Delete it and download again.", e);
        }
    }
}
