using System.Text.RegularExpressions;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class ReadmeTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TinyLlm.MLNet.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("The repository root (TinyLlm.MLNet.sln) is not above the test assembly.");
    }

    [TestMethod]
    public void TheReadmesCSharpIsAnExcerptOfTheCompiledExamples()
    {
        // The solution compiles examples/*; every C# block of the README must be a verbatim part of one of them.
        string root = RepoRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var programs = Directory.GetDirectories(Path.Combine(root, "examples"))
            .Select(d => Path.Combine(d, "Program.cs")).Where(File.Exists)
            .ToDictionary(p => Path.GetFileName(Path.GetDirectoryName(p))!, p => File.ReadAllText(p).ReplaceLineEndings("\n"));
        var blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.IsGreaterThanOrEqualTo(2, blocks.Count, "README.md should show the pipeline and the chat client");
        foreach (Match block in blocks)
        {
            string code = block.Groups[1].Value.ReplaceLineEndings("\n").TrimEnd();
            Assert.IsTrue(programs.Values.Any(p => p.Contains(code, StringComparison.Ordinal)),
                $"README's C# block starting \"{code.Split('\n')[0]}\" is not in any of examples/{{{string.Join(",", programs.Keys)}}}/Program.cs");
        }
    }

    [TestMethod]
    public void TheReadmesTestCommandIsWhatCiRuns()
    {
        string root = RepoRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        string ci = File.ReadAllText(Path.Combine(root, ".ci", "run"));
        StringAssert.Contains(readme, "dotnet test ");
        StringAssert.Matches(ci, new Regex(@"^dotnet test 2>&1", RegexOptions.Multiline));
        StringAssert.Contains(readme, "dotnet run --project src/TinyLlm.Cli -c Release -- quickstart");
    }
}
