using System.IO.Compression;
using Microsoft.ML;
using TinyLlm.MLNet.Bridge;
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
    public void CoreCarriesAnMLNetLoaderAttributeForEveryLoadableTransformer()
    {
        // tools/LoadableClassWeaver writes these after compilation; without them a bare MLContext cannot load a zip.
        var core = typeof(TinyLlmRegistration).Assembly;
        var mlCore = typeof(ICanSaveModel).Assembly;
        var attributeBase = mlCore.GetType("Microsoft.ML.LoadableClassAttributeBase", throwOnError: true)!;
        var loadNames = attributeBase.GetProperty("LoadNames")!;
        var instanceType = attributeBase.GetProperty("InstanceType")!;
        // Instantiated the way ML.NET's ComponentCatalog.RegisterAssembly does it, so the runtime's access check on
        // the internal attribute type (passed by [IgnoresAccessChecksTo]) is part of what is tested.
        var woven = core.GetCustomAttributes(attributeBase, inherit: false)
            .ToDictionary(a => (Type)instanceType.GetValue(a)!, a => ((string[])loadNames.GetValue(a)!).Single());
        var loadable = core.GetTypes()
            .Select(t => (Type: t, Attr: t.GetCustomAttributes(typeof(TinyLlmLoadableAttribute), false).Cast<TinyLlmLoadableAttribute>().SingleOrDefault()))
            .Where(x => x.Attr is not null)
            .ToList();
        Assert.IsGreaterThanOrEqualTo(2, loadable.Count);
        foreach (var (type, attr) in loadable)
        {
            Assert.IsTrue(woven.TryGetValue(type, out string? name), $"{type.Name} has no woven [LoadableClass]");
            Assert.AreEqual(attr!.LoaderSignature, name);
        }
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
        SetFormatVersion(zip, 7);
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

    /// <summary>Rewrites the written and readable format versions of the one saved part in <paramref name="zip"/>.</summary>
    internal static void SetFormatVersion(string zip, uint version)
    {
        using var archive = ZipFile.Open(zip, ZipArchiveMode.Update);
        var entry = archive.Entries.Single(e => e.FullName.EndsWith("Model.key", StringComparison.Ordinal));
        byte[] bytes;
        using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
        // ML.NET's model header: ModelSignature (8 bytes) at 0x40, then ModelVerWritten and ModelVerReadable.
        BitConverter.TryWriteBytes(bytes.AsSpan(0x48), version);
        BitConverter.TryWriteBytes(bytes.AsSpan(0x4C), version);
        entry.Delete();
        using var w = archive.CreateEntry(entry.FullName).Open();
        w.Write(bytes);
    }

    /// <summary>The probe project's own output folder (tests/TinyLlm.MLNet.ProcessProbe/bin/CONFIG/TFM), beside this test's.</summary>
    internal static string ProbeBuildFolder()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = testDir.Name, config = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TinyLlm.MLNet.sln"))) root = root.Parent;
        return Path.Combine(root!.FullName, "tests", "TinyLlm.MLNet.ProcessProbe", "bin", config, tfm);
    }

    /// <summary>Runs the probe program in a new process (its own runtime, its own MLContext).</summary>
    internal static int RunProbe(string mode, string zip, string text, out string output)
    {
        string dll = typeof(BlobTransformer).Assembly.Location;
        return ReferenceTools.Run("dotnet", $"\"{dll}\" {mode} \"{zip}\" \"{text}\"", out output);
    }
}
