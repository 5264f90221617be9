using System.Text;

namespace TinyLlm.MLNet.IO;

/// <summary>
/// Files written whole or not at all: every file TinyLlm writes (models, checkpoints, shards, manifests, metrics)
/// goes to <c>path.tmp</c>, is flushed to the disk, and is renamed over <c>path</c>. A crash or a full disk leaves the
/// previous file (or none), never half of one, and a failed write removes its temporary file.
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

    // The folder is made first so that a path under a file fails naming the path the caller gave, not its .tmp.
    private static string Prepare(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"Cannot write '{path}': it is a folder.");
        string? parent = Path.GetDirectoryName(full);
        if (parent is not null)
        {
            for (string? p = parent; p is not null; p = Path.GetDirectoryName(p))
                if (File.Exists(p))
                    throw new IOException($"Cannot write '{path}': '{p}' is a file, not a folder.");
            Directory.CreateDirectory(parent);
        }
        return TempPath(path);
    }
}
