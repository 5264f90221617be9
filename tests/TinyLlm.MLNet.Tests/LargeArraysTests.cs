using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Tests;

/// <summary>Weight storage prepared for a one-go read is an ordinary zeroed array of the asked length, whatever the kernel does with the advice.</summary>
[TestClass]
public sealed class LargeArraysTests
{
    [TestMethod]
    public void ArraysOfEverySizeAreZeroedAndWritable()
    {
        foreach (int length in new[] { 0, 1, 1000, 16 << 10, (16 << 10) + 1, 3 << 20, (5 << 20) + 7 })
        {
            var floats = LargeArrays.Allocate<float>(length);
            var bytes = LargeArrays.Allocate<sbyte>(length);
            Assert.AreEqual(length, floats.Length);
            Assert.AreEqual(length, bytes.Length);
            Assert.IsTrue(floats.All(v => v == 0) && bytes.All(v => v == 0), $"length {length} not zeroed");
            if (length == 0) continue;
            floats[0] = floats[^1] = 1f;
            bytes[^1] = -1;
            Assert.AreEqual(length == 1 ? 1f : 2f, floats.Sum(), $"length {length}");
        }
    }
}
