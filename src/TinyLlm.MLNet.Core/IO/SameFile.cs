namespace TinyLlm.MLNet.IO;

/// <summary>
/// Whether two paths name one file, so that a command never writes its output over its own input: the same path
/// once symbolic links are resolved, or one file under two names (a hard link), found by locking it exclusively
/// through one name and trying to open it through the other (a lock is per file, not per name, on every system).
/// </summary>
internal static class SameFile
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are the same file or folder.</summary>
    public static bool Check(string a, string b)
    {
        string ra = Resolve(a), rb = Resolve(b);
        if (string.Equals(ra, rb, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            return true;
        if (!File.Exists(ra) || !File.Exists(rb)) return false;
        try
        {
            using var held = new FileStream(ra, FileMode.Open, FileAccess.Read, FileShare.None);
            try
            {
                using var probe = new FileStream(rb, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                return false;
            }
            catch (IOException)
            {
                return true; // the other name is locked too: it is the file we hold
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // someone else holds the first file: the paths differ, as far as can be told
        }
    }

    // The full path with every symbolic link on the way resolved (a file, or a folder of the path).
    private static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        if (Path.GetPathRoot(full) == full) return full; // a drive or the root: no link to follow
        var info = Directory.Exists(full) ? (FileSystemInfo)new DirectoryInfo(full) : new FileInfo(full);
        try
        {
            if (info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target) full = target.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file system that cannot say (Wine's mapped drives, a folder we may not read): the name as it is.
        }
        string? parent = Path.GetDirectoryName(full);
        if (parent is null || parent == full) return full;
        string resolvedParent = Resolve(parent);
        return Path.Combine(resolvedParent, Path.GetFileName(full));
    }
}
