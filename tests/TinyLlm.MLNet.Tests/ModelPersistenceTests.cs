using System.IO.Compression;
using Microsoft.ML;
using TinyLlm.MLNet.MLNet;
using TinyLlm.MLNet.ProcessProbe;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class ModelPersistenceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void MLNetInternalsUsedByTheBridgeAreWhereTheyWere()
    {
        // Fails with a message naming the moved member if Microsoft.ML changes its internals.
        ModelPersistence.VerifyInternals();
    }

    [TestMethod]
    public void BlobSurvivesSaveAndLoadInThisProcess()
    {
        var (zip, expected) = SaveBlobModel();
        var ml = new MLContext(seed: 2);
        ml.ComponentCatalog.RegisterTinyLlm();
        ModelPersistence.Register(ml.ComponentCatalog, typeof(BlobTransformer).Assembly);
        ModelPersistence.Register(ml.ComponentCatalog, typeof(BlobTransformer).Assembly); // idempotent
        var model = ml.Model.Load(zip, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull("Text"));
        var engine = ml.Model.CreatePredictionEngine<ProbeInput, ProbeOutput>(model);
        Assert.AreEqual(expected, engine.Predict(new ProbeInput { Text = "hello" }).Echo);

        // The lazy IDataView path gives the same.
        var data = ml.Data.LoadFromEnumerable([new ProbeInput { Text = "a" }, new ProbeInput { Text = "hello" }]);
        var rows = ml.Data.CreateEnumerable<ProbeOutput>(model.Transform(data), reuseRowObject: false).ToArray();
        Assert.AreEqual(expected, rows[1].Echo);
        StringAssert.StartsWith(rows[0].Echo, "a|");
    }

    [TestMethod]
    public void BlobSurvivesSaveAndLoadInAFreshProcess()
    {
        var (zip, expected) = SaveBlobModel();
        int code = RunProbe("blob", zip, "hello", out string output);
        Assert.AreEqual(0, code, output);
        Assert.AreEqual(expected, output.Trim());
    }

    [TestMethod]
    public void LoadWithoutRegistrationFailsAsMLNetReportsIt()
    {
        var (zip, _) = SaveBlobModel();
        int code = RunProbe("blob-unregistered", zip, "hello", out string output);
        Assert.AreEqual(1, code, output);
        StringAssert.Contains(output, "Couldn't load model");
    }

    [TestMethod]
    public void MissingPartGivesAClearError()
    {
        var (zip, _) = SaveBlobModel();
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
            archive.Entries.Single(e => e.FullName.EndsWith("blob.bin", StringComparison.Ordinal)).Delete();
        var ml = new MLContext();
        ml.ComponentCatalog.RegisterTinyLlm();
        ModelPersistence.Register(ml.ComponentCatalog, typeof(BlobTransformer).Assembly);
        var e = Assert.ThrowsExactly<FormatException>(() => ml.Model.Load(zip, out _));
        StringAssert.Contains(e.Message, "blob.bin");
        StringAssert.Contains(e.Message, "TinyLlmTestBlob");
    }

    [TestMethod]
    public void APartFromANewerFormatVersionSaysSo()
    {
        var (zip, _) = SaveBlobModel();
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("Model.key", StringComparison.Ordinal));
            byte[] bytes;
            using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
            // ML.NET's model header: ModelSignature (8 bytes) at 0x40, then ModelVerWritten and ModelVerReadable.
            BitConverter.TryWriteBytes(bytes.AsSpan(0x48), 7u);
            BitConverter.TryWriteBytes(bytes.AsSpan(0x4C), 7u);
            entry.Delete();
            using var w = archive.CreateEntry(entry.FullName).Open();
            w.Write(bytes);
        }
        var ml = new MLContext();
        ml.ComponentCatalog.RegisterTinyLlm();
        ModelPersistence.Register(ml.ComponentCatalog, typeof(BlobTransformer).Assembly);
        var e = Assert.ThrowsExactly<FormatException>(() => ml.Model.Load(zip, out _));
        StringAssert.Contains(e.Message, "newer TinyLlm.MLNet");
        StringAssert.Contains(e.Message, "TinyLlmTestBlob");
    }

    [TestMethod]
    public void SchemaErrorsUseMLNetWording()
    {
        var ml = new MLContext();
        var transformer = new BlobTransformer(ml, [1, 2, 3], inputColumn: "Prompt");
        var data = ml.Data.LoadFromEnumerable([new ProbeInput { Text = "x" }]);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(data));
        StringAssert.Contains(e.Message, "Could not find input column 'Prompt'");
    }

    private (string Zip, string Expected) SaveBlobModel()
    {
        var blob = new byte[100_000];
        new Random(42).NextBytes(blob);
        var ml = new MLContext(seed: 1);
        var transformer = new BlobTransformer(ml, blob);
        var data = ml.Data.LoadFromEnumerable([new ProbeInput { Text = "hello" }]);
        string dir = Directory.CreateTempSubdirectory("tinyllm-persist-").FullName;
        string zip = Path.Combine(dir, "model.zip");
        ml.Model.Save(transformer, data.Schema, zip);
        return (zip, "hello|" + transformer.Signature);
    }

    /// <summary>Runs the probe program in a new process (its own runtime, its own MLContext).</summary>
    internal static int RunProbe(string mode, string zip, string text, out string output)
    {
        string dll = typeof(BlobTransformer).Assembly.Location;
        return ReferenceTools.Run("dotnet", $"\"{dll}\" {mode} \"{zip}\" \"{text}\"", out output);
    }
}
