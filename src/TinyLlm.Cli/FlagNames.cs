using System.CommandLine;
using System.Text.RegularExpressions;

namespace TinyLlm.Cli;

/// <summary>
/// Rewrites a library error in the words of the command line: the library names its options as C# does
/// (<c>NHeads</c>, <c>TrainingOptions.MaxNewTokens</c>), the user typed flags (<c>--n-heads</c>). Each option of the
/// command that failed maps its flag's PascalCase form back to the flag, so no command keeps its own table.
/// </summary>
internal static class FlagNames
{
    // Library names that are not the PascalCase of the flag that sets them.
    private static readonly Dictionary<string, string[]> Aliases = new()
    {
        ["--num-shards"] = ["ShardCount"],
        ["--max-seq-len"] = ["SequenceLength"],
    };

    /// <summary><paramref name="message"/> with every C# option name of <paramref name="command"/> replaced by its flag.</summary>
    public static string Translate(Command command, string message)
    {
        foreach (var option in command.Options)
        {
            if (!option.Name.StartsWith("--", StringComparison.Ordinal)) continue;
            var names = new List<string> { Pascal(option.Name) };
            if (Aliases.TryGetValue(option.Name, out var more)) names.AddRange(more);
            foreach (string name in names)
            {
                // "NHeads", "TrainingOptions.NHeads" (any options class): the whole word only.
                message = Regex.Replace(message, $@"(?<![\w.-])(?:[A-Z]\w*Options\.)?{Regex.Escape(name)}(?![\w-])", option.Name);
            }
        }
        return message;
    }

    /// <summary><c>--n-kv-heads</c> gives <c>NKvHeads</c>.</summary>
    public static string Pascal(string flag) =>
        string.Concat(flag.TrimStart('-').Split('-', StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
}
