using TinyLlm.MLNet.Training;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Tests;

/// <summary>The MFU yardstick: a given peak wins, a CPU's is measured, and figures print with their unit.</summary>
[TestClass]
public sealed class PeakFlopsTests
{
    [TestMethod]
    public void AGivenPeakIsUsedAsItIs()
    {
        var peak = PeakFlops.For(CPU, ScalarType.Float32, 2.5e12);
        Assert.IsNotNull(peak);
        Assert.AreEqual(2.5e12, peak.FlopsPerSecond);
        Assert.AreEqual("2.5 TFLOP/s (given)", peak.ToString());
    }

    [TestMethod]
    public void ACpuPeakIsMeasuredInTheRunsComputeType()
    {
        foreach (var (type, name) in new[] { (ScalarType.Float32, "float32"), (ScalarType.BFloat16, "bfloat16") })
        {
            var peak = PeakFlops.For(CPU, type, null);
            Assert.IsNotNull(peak);
            Assert.IsTrue(double.IsFinite(peak.FlopsPerSecond) && peak.FlopsPerSecond > 0, $"{peak}");
            StringAssert.Contains(peak.Source, $"measured: 1024x1024 {name} matmul");
        }
    }

    [TestMethod]
    public void FiguresPrintWithTheirUnit()
    {
        Assert.AreEqual("135 GFLOP/s", PeakFlops.Format(135e9));
        Assert.AreEqual("1.25 TFLOP/s", PeakFlops.Format(1.25e12));
        Assert.AreEqual("0.5 GFLOP/s", PeakFlops.Format(0.5e9));
    }
}
