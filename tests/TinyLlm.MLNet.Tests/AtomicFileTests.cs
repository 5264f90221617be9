using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Tests;

/// <summary>Every file TinyLlm writes goes through <see cref="AtomicFile"/>: whole or not at all.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    private string _dir = "";

    [TestInitialize]
    public void Create() => _dir = Directory.CreateTempSubdirectory("tinyllm-atomic-").FullName;

    [TestCleanup]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void AFailedWriteLeavesThePreviousFileAndNoTemporaryOne()
    {
        string path = Path.Combine(_dir, "model.bin");
        AtomicFile.WriteAllText(path, "old");
        Assert.ThrowsExactly<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk full");
        }));
        Assert.AreEqual("old", File.ReadAllText(path));
        Assert.IsFalse(File.Exists(AtomicFile.TempPath(path)));
    }

    [TestMethod]
    public void AWriteReplacesTheFileAndMakesItsFolder()
    {
        string path = Path.Combine(_dir, "a", "b", "metrics.csv");
        AtomicFile.WriteAllText(path, "one");
        AtomicFile.WriteAllText(path, "two");
        Assert.AreEqual("two", File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [TestMethod]
    public void APathUnderAFileOrAFolderInTheWayIsNamedAsTheCallerGaveIt()
    {
        string file = Path.Combine(_dir, "ckpt.bin");
        File.WriteAllText(file, "x");
        string under = Path.Combine(file, "out", "model.bin");
        var e = Assert.ThrowsExactly<IOException>(() => AtomicFile.WriteAllText(under, "y"));
        StringAssert.Contains(e.Message, $"Cannot write '{under}': '{file}' is a file, not a folder.");
        Assert.IsFalse(e.Message.Contains(".tmp", StringComparison.Ordinal), e.Message);

        var folder = Assert.ThrowsExactly<IOException>(() => AtomicFile.WriteAllText(_dir, "y"));
        StringAssert.Contains(folder.Message, "it is a folder");
    }
}
