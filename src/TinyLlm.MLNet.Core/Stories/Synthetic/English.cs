namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>The bits of English morphology the grammar needs: articles, capitals, plurals.</summary>
internal static class English
{
    // Words that start with a vowel letter but a consonant sound ("a unicorn").
    private static readonly HashSet<string> ConsonantSoundU = ["unicorn", "uniform", "ukulele", "unicycle", "useful", "usual"];

    // Words that start with a silent h ("an honest dog").
    private static readonly HashSet<string> VowelSoundH = ["honest", "hour", "honor"];

    /// <summary>"a" or "an" for the phrase that follows.</summary>
    public static string Article(string phrase)
    {
        int space = phrase.IndexOf(' ');
        string first = space < 0 ? phrase : phrase[..space];
        if (ConsonantSoundU.Contains(first)) return "a";
        if (VowelSoundH.Contains(first)) return "an";
        return "aeiouAEIOU".Contains(first[0]) ? "an" : "a";
    }

    /// <summary>The phrase with its indefinite article: "an owl", "a red ball".</summary>
    public static string A(string phrase) => Article(phrase) + " " + phrase;

    /// <summary>First letter upper case (sentence starts: "The dog", "She").</summary>
    public static string Cap(string text) =>
        text.Length == 0 || char.IsUpper(text[0]) ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static readonly Dictionary<string, string> IrregularPlurals = new()
    {
        ["mouse"] = "mice", ["sheep"] = "sheep", ["fish"] = "fish", ["goose"] = "geese", ["deer"] = "deer",
        ["wolf"] = "wolves", ["moose"] = "moose", ["octopus"] = "octopuses",
    };

    /// <summary>The plural of a noun: dogs, foxes, puppies, mice.</summary>
    public static string Plural(string noun)
    {
        if (IrregularPlurals.TryGetValue(noun, out string? plural)) return plural;
        if (noun.EndsWith('s') || noun.EndsWith('x') || noun.EndsWith("ch", StringComparison.Ordinal) || noun.EndsWith("sh", StringComparison.Ordinal))
            return noun + "es";
        if (noun.Length > 1 && noun[^1] == 'y' && !"aeiou".Contains(noun[^2])) return noun[..^1] + "ies";
        return noun + "s";
    }

    /// <summary>"a, b and c".</summary>
    public static string List(string a, string b, string c) => $"{a}, {b} and {c}";
}
