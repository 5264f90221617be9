using System.Text;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Corpora for the tokenizer tests: real English from the Debian image's license and copyright texts (the same on
/// CI machines), and a seeded generator of story-like sentences with numbers, punctuation runs and non-Latin words.
/// </summary>
internal static class TokenizerTestCorpus
{
    private static readonly Lazy<string[]> DebianLines = new(() => ReadDebianText(2_000_000));

    /// <summary>About 2 MB of lines of Debian's license and copyright files, in a fixed order.</summary>
    public static string[] Debian
    {
        get
        {
            if (DebianLines.Value.Length < 10_000)
                Assert.Inconclusive("This machine has too little text under /usr/share/doc and /usr/share/common-licenses.");
            return DebianLines.Value;
        }
    }

    private static string[] ReadDebianText(int maxBytes)
    {
        var files = new List<string>();
        if (Directory.Exists("/usr/share/common-licenses"))
            files.AddRange(Directory.GetFiles("/usr/share/common-licenses").Order(StringComparer.Ordinal));
        if (Directory.Exists("/usr/share/doc"))
            files.AddRange(Directory.GetDirectories("/usr/share/doc").Order(StringComparer.Ordinal)
                .Select(d => Path.Combine(d, "copyright")).Where(File.Exists));
        var lines = new List<string>();
        long bytes = 0;
        foreach (var f in files)
        {
            foreach (var line in File.ReadLines(f))
            {
                lines.Add(line);
                bytes += Encoding.UTF8.GetByteCount(line) + 1;
            }
            if (bytes >= maxBytes) break;
        }
        return lines.ToArray();
    }

    /// <summary>Seeded story-like lines.</summary>
    public static string[] Synthetic(int lines, int seed)
    {
        string[] names = ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Zoé", "Jörg"];
        string[] verbs = ["saw", "found", "liked", "wanted", "made", "lost", "gave", "took"];
        string[] things = ["a red ball", "the big tree", "a little cat", "some cake", "the blue sky", "a shiny stone", "her toy", "his kite"];
        string[] tails = [".", "!", "?", "...", " :)", "!!", "."];
        string[] extras = ["", "", "", " It was 3 o'clock.", " She had 12 apples.", " 東京 is far.", " Привет!", " ====", "  (twice)", " 42-17=25"];
        var random = new Random(seed);
        var result = new string[lines];
        for (int i = 0; i < lines; i++)
        {
            var sb = new StringBuilder();
            int sentences = 1 + random.Next(4);
            for (int s = 0; s < sentences; s++)
            {
                if (s > 0) sb.Append(' ');
                sb.Append(names[random.Next(names.Length)]).Append(' ')
                  .Append(verbs[random.Next(verbs.Length)]).Append(' ')
                  .Append(things[random.Next(things.Length)])
                  .Append(tails[random.Next(tails.Length)])
                  .Append(extras[random.Next(extras.Length)]);
            }
            result[i] = sb.ToString();
        }
        return result;
    }

    private static readonly Lazy<string> TempDir = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), "tinyllm-tok-tests", Environment.ProcessId.ToString());
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return dir;
    });

    public static string WriteTemp(string name, IEnumerable<string> lines)
    {
        string dir = TempDir.Value;
        string path = Path.Combine(dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
