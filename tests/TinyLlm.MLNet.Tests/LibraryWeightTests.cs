using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// An app that trains through TrainLlama carries TorchSharp and libtorch, not a plotting stack: the loss curve is
/// drawn by the tinyllm command (ScottPlot and SkiaSharp's natives were 164 MB of a trainer app's 688 MB).
/// </summary>
[TestClass]
public sealed class LibraryWeightTests
{
    [TestMethod]
    public void TheTrainingLibraryReferencesNoPlottingLibrary()
    {
        string[] references = typeof(LlamaTrainer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        CollectionAssert.Contains(references, "TorchSharp");
        foreach (string heavy in new[] { "ScottPlot", "SkiaSharp", "HarfBuzzSharp" })
            Assert.IsFalse(references.Any(r => r.StartsWith(heavy, StringComparison.Ordinal)), $"TinyLlm.MLNet references {heavy}");
    }
}
