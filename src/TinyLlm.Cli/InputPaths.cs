namespace TinyLlm.Cli;

/// <summary>
/// The checks of a path the user gave on the command line, naming the flag and what is wrong: missing, or a folder
/// where a file is wanted (and the reverse), never "does not exist" for a path that does.
/// </summary>
internal static class InputPaths
{
    /// <summary>Throws unless <paramref name="path"/> is an existing file.</summary>
    public static void RequireFile(string path, string flag, string what)
    {
        if (File.Exists(path)) return;
        if (Directory.Exists(path))
            throw new ArgumentException($"{flag} '{path}' is a folder; it takes {what}.");
        throw new FileNotFoundException($"{flag} '{path}' does not exist; it takes {what}.", path);
    }

    /// <summary>Throws unless <paramref name="path"/> is an existing folder.</summary>
    public static void RequireFolder(string path, string flag, string what)
    {
        if (Directory.Exists(path)) return;
        if (File.Exists(path))
            throw new ArgumentException($"{flag} '{path}' is a file; it takes {what}.");
        throw new DirectoryNotFoundException($"{flag} '{path}' does not exist; it takes {what}.");
    }
}
