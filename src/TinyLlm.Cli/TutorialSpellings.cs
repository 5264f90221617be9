namespace TinyLlm.Cli;

/// <summary>
/// Accepts the llama2.c tutorial's flag spellings (<c>--vocab_size=4096</c>) as well as ours (<c>--vocab-size 4096</c>).
/// </summary>
internal static class TutorialSpellings
{
    /// <summary>Rewrites <c>--a_b=v</c> to <c>--a-b</c>, <c>v</c>; other arguments pass through unchanged.</summary>
    public static string[] Rewrite(string[] args)
    {
        var result = new List<string>(args.Length);
        foreach (var arg in args)
        {
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                result.Add(arg);
                continue;
            }
            int eq = arg.IndexOf('=');
            string name = eq < 0 ? arg : arg[..eq];
            result.Add("--" + name[2..].Replace('_', '-'));
            if (eq >= 0) result.Add(arg[(eq + 1)..]);
        }
        return result.ToArray();
    }
}
