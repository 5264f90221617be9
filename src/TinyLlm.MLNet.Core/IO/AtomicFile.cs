using System.Text;

namespace TinyLlm.MLNet.IO;

/// <summary>
/// Files written whole or not at all: every file TinyLlm writes (models, checkpoints, shards, manifests, metrics)
/// goes to <c>path.tmp</c>, is flushed to the disk, and is renamed over <c>path</c>. A crash or a full disk leaves the
/// previous file (or none), never half of one, and a failed write removes its temporary file; the temporary files
/// of a killed run are removed by the next run into the folder (<see cref="RemoveStaleTemps"/>).
/// </summary>
internal static class AtomicFile
{
    /// <summary>The temporary name a file is written under before its rename.</summary>
    public static string TempPath(string path) => path + ".tmp";

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; creates the folder if needed.</summary>
    /// <exception cref="IOException">The folder cannot be made (a file stands in its place) or the disk refused the write.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string temp = Prepare(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, asynchronously; creates the folder if needed.</summary>
    /// <exception cref="IOException">The folder cannot be made (a file stands in its place) or the disk refused the write.</exception>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        string temp = Prepare(path);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> as UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Deletes the temporary files a killed run left in <paramref name="folder"/> for the files matching
    /// <paramref name="fileNamePatterns"/> (e.g. <c>ckpt.bin</c>, <c>*.bin</c>): <c>ckpt.bin.tmp</c> and the like, which
    /// no later write of that name would remove. A temporary file another writer holds open (it is written with an
    /// exclusive lock) is left alone.
    /// </summary>
    /// <returns>How many were deleted.</returns>
    public static int RemoveStaleTemps(string folder, params string[] fileNamePatterns)
    {
        if (!Directory.Exists(folder)) return 0;
        int removed = 0;
        foreach (string temp in fileNamePatterns.SelectMany(p => Directory.EnumerateFiles(folder, TempPath(p))).Distinct().ToList())
        {
            try
            {
                using (new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(temp);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // being written right now, or not ours to delete
            }
        }
        return removed;
    }

    /// <summary>Creates <paramref name="folder"/> (and its parents); a file in the way is named in the error.</summary>
    /// <exception cref="IOException">A file stands where the folder or one of its parents would be.</exception>
    public static void CreateFolder(string folder) => CreateFolder(Path.GetFullPath(folder), folder);

    // The folder is made first so that a path under a file fails naming the path the caller gave, not its .tmp.
    private static string Prepare(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"Cannot write '{path}': it is a folder.");
        string? parent = Path.GetDirectoryName(full);
        if (parent is not null) CreateFolder(parent, path);
        return TempPath(path);
    }

    private static void CreateFolder(string fullFolder, string requested)
    {
        for (string? p = fullFolder; p is not null; p = Path.GetDirectoryName(p))
            if (File.Exists(p))
                throw new IOException($"Cannot write '{requested}': '{p}' is a file, not a folder.");
        Directory.CreateDirectory(fullFolder);
    }
}
