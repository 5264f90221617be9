using System.IO.Compression;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using static TinyLlm.MLNet.Tests.InteropTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Nothing corrupt is used: every weight blob TinyLlm writes into a model zip, and the Hugging Face safetensors it
/// exports, carry a SHA-256 that is checked on load; a changed byte is an error naming the file and the part.
/// </summary>
[TestClass]
public sealed class ChecksumTests
{
    [ClassCleanup]
    public static void Cleanup() => DeleteTempDirs();

    private const string Prompt = "Once upon a time";

    private static string SavedZip()
    {
        var ml = new MLContext();
        var options = new LlamaGenerationOptions { Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 8 } };
        using var transformer = new LlamaGenerationTransformer(ml, Random(Tokenizer.VocabSize, shared: true), Tokenizer.ToBytes(), options);
        string dir = TempDir("checksum"), zip = Path.Combine(dir, "model.zip"), spm = Path.Combine(dir, "tok.model");
        Tokenizer.Save(spm);
        ml.Model.Save(ml.Transforms.Text.LoadSentencePiece(spm, "Tokens", "Text").Append(transformer),
            ml.Data.LoadFromEnumerable([new StoryPrompt { Text = Prompt }]).Schema, zip);
        return zip;
    }

    // Rewrites the zip entry whose name ends with /part, with one bit of its decompressed bytes flipped.
    private static string FlipByteInPart(string zip, string part, int offset)
    {
        using var archive = ZipFile.Open(zip, ZipArchiveMode.Update);
        var entry = archive.Entries.Single(e => e.FullName.EndsWith("/" + part, StringComparison.Ordinal));
        byte[] bytes;
        using (var s = entry.Open()) { var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
        bytes[Math.Min(offset, bytes.Length - 1)] ^= 0x10;
        string name = entry.FullName;
        entry.Delete();
        using (var s = archive.CreateEntry(name).Open()) s.Write(bytes);
        return name;
    }

    // ML.NET loads the parts of a TransformerChain through reflection, so a part's error reaches the caller inside a
    // TargetInvocationException; its InnerException is TinyLlm's.
    private static ITransformer Load(string zip)
    {
        var ml = new MLContext();
        ml.ComponentCatalog.RegisterTinyLlm();
        try
        {
            return ml.Model.Load(zip, out _);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    [TestMethod]
    public void AFlippedByteInTheWeightsIsAnErrorNamingTheZipAndThePart()
    {
        string zip = SavedZip();
        Assert.IsNotNull(Load(zip)); // the intact zip loads
        FlipByteInPart(zip, "weights.bin", 5_000);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Load(zip));
        StringAssert.Contains(e.Message, $"The model zip '{zip}' is damaged");
        StringAssert.Contains(e.Message, "part 'weights.bin'");
        StringAssert.Contains(e.Message, "SHA-256");

        // The command line says the same, on standard error.
        var run = Cli.Capture("generate", "--model", zip, "--prompt", Prompt);
        Assert.AreEqual(1, run.ExitCode, run.All);
        Assert.AreEqual("", run.Out);
        StringAssert.Contains(run.Error, "part 'weights.bin'");
    }

    [TestMethod]
    public void AFlippedByteInEitherTokenizerIsAnError()
    {
        foreach (string part in new[] { "tokenizer.model", "spm.model" })
        {
            string zip = SavedZip();
            FlipByteInPart(zip, part, 100);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => Load(zip), part);
            StringAssert.Contains(e.Message, $"part '{part}'");
        }
    }

    [TestMethod]
    public void ADamagedCompressedByteIsAnErrorNamingThePartToo()
    {
        string zip = SavedZip();
        byte[] bytes = File.ReadAllBytes(zip);
        // The local header of weights.bin: signature, then the compressed data after the name and extra field.
        byte[] name = "weights.bin"u8.ToArray();
        int at = -1;
        for (int i = 0; i + 30 < bytes.Length && at < 0; i++)
        {
            if (bytes[i] != 0x50 || bytes[i + 1] != 0x4B || bytes[i + 2] != 3 || bytes[i + 3] != 4) continue;
            int nameLength = BitConverter.ToUInt16(bytes, i + 26), extra = BitConverter.ToUInt16(bytes, i + 28);
            if (bytes.AsSpan(i + 30, nameLength).EndsWith(name)) at = i + 30 + nameLength + extra;
        }
        Assert.IsGreaterThan(0, at);
        bytes[at + 2_000] ^= 0x10;
        File.WriteAllBytes(zip, bytes);
        var e = Assert.Throws<Exception>(() => Load(zip));
        StringAssert.Contains(e.Message, "weights.bin", e.ToString());
        StringAssert.Contains(e.Message, zip, e.ToString());
    }

    [TestMethod]
    public void AZipFromBeforeChecksumsStillLoads()
    {
        string zip = SavedZip();
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
            foreach (var entry in archive.Entries.Where(e => e.FullName.EndsWith(".sha256", StringComparison.Ordinal)).ToList())
                entry.Delete();
        var loaded = (Load(zip) as IEnumerable<ITransformer>)!.OfType<LlamaGenerationTransformer>().Single();
        Assert.IsFalse(string.IsNullOrEmpty(loaded.GenerateBatch([Prompt])[0]));
    }

    [TestMethod]
    public void AnExportedSafetensorsFileCarriesItsChecksum()
    {
        string dir = Path.Combine(TempDir("hf-checksum"), "model");
        ModelExporter.Export(Random(Tokenizer.VocabSize, shared: false), ModelExportFormat.HuggingFace, dir, Tokenizer);
        string file = Path.Combine(dir, "model.safetensors");
        Assert.AreEqual(64, SafetensorsFile.Open(file).Metadata[SafetensorsFile.ChecksumKey].Length);
        HuggingFaceLlama.Import(dir);

        using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length - 1_000;
            int b = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(b ^ 0x10));
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => HuggingFaceLlama.Import(dir));
        StringAssert.Contains(e.Message, $"'{file}' is damaged");
        StringAssert.Contains(e.Message, SafetensorsFile.ChecksumKey);
    }
}
