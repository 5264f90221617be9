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
    public void TheReadmesCSharpIsAnExcerptOfTheCompiledExample()
    {
        // The solution compiles examples/WholePipeline; the README's C# block must be a verbatim part of it.
        string root = RepoRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        string program = File.ReadAllText(Path.Combine(root, "examples", "WholePipeline", "Program.cs")).ReplaceLineEndings("\n");
        var blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.IsTrue(blocks.Count > 0, "README.md has no C# block");
        foreach (Match block in blocks)
            StringAssert.Contains(program, block.Groups[1].Value.ReplaceLineEndings("\n").TrimEnd(), "README's C# is not in examples/WholePipeline/Program.cs");
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
