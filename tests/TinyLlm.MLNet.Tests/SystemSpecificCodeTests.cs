using System.Text.RegularExpressions;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Code that only one system has (a libc function, /proc, Unix file modes, POSIX signals) sits in a file that checks
/// the system first, so Windows and macOS take their own defined way instead of failing at run time.
/// </summary>
[TestClass]
public sealed class SystemSpecificCodeTests
{
    private static readonly Regex SystemSpecific = new(@"\[(DllImport|LibraryImport)\(|""/proc/|""/sys/|UnixFileMode|PosixSignalRegistration|""/dev/shm");

    [TestMethod]
    public void EverySystemSpecificCallSitsBehindAnOperatingSystemCheck()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent ?? throw new InvalidOperationException("repository root not found");
        var files = Directory.EnumerateFiles(Path.Combine(root.FullName, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => SystemSpecific.IsMatch(File.ReadAllText(f))).ToArray();
        Assert.IsNotEmpty(files, "malloc_trim (Training/NativeMemory.cs) should be found");
        var unchecked_ = files.Where(f => !File.ReadAllText(f).Contains("OperatingSystem.Is", StringComparison.Ordinal)).ToArray();
        Assert.IsEmpty(unchecked_, "system-specific calls without an OperatingSystem check: " + string.Join(", ", unchecked_));
    }
}
