using TinyLlm.MLNet.Decoding;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;
using TorchSharp;
using static TinyLlm.MLNet.Tests.GenerationTestModels;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The one seam between Core and the TorchSharp package (<see cref="ITorchSharpBridge"/>), who owns what holds
/// native memory, and the one argument check that every decoder shares.
/// </summary>
[TestClass]
public sealed class TorchSharpSeamTests
{
    private static readonly LlamaConfig Small = new() { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 64, MultipleOf = 16, MaxSeqLen = 16 };

    [TestMethod]
    public void TheProbeFindsTheTorchSharpBackendThatTheAssemblyNames()
    {
        var bridge = TorchSharpBridge.Probe();
        Assert.IsInstanceOfType<TorchSharpBackend>(bridge);
        Assert.IsInstanceOfType<TorchSharpBackend>(TorchSharpBridge.Find());
    }

    [TestMethod]
    public void ATrainingCheckpointReadsAsTheWeightsItHolds()
    {
        string dir = Directory.CreateTempSubdirectory("tinyllm-seam-").FullName;
        try
        {
            torch.manual_seed(5);
            using var model = new LlamaModel(Small);
            string ckpt = Path.Combine(dir, Checkpoint.FileName);
            Checkpoint.Capture(model, null, 0, 1e9, new TrainingOptions()).Write(ckpt);
            var expected = model.ToTransformerWeights();
            var read = GenerationModelLoader.ReadWeights(ckpt);
            Assert.AreEqual(expected.Config, read.Config);
            CollectionAssert.AreEqual(expected.Wq, read.Wq);
            CollectionAssert.AreEqual(expected.TokenEmbedding, read.TokenEmbedding);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void WithoutTheTorchSharpPackageACheckpointIsAnErrorNotTheModelBinBesideIt()
    {
        string dir = Directory.CreateTempSubdirectory("tinyllm-seam-").FullName;
        try
        {
            torch.manual_seed(6);
            using var model = new LlamaModel(Small);
            string ckpt = Path.Combine(dir, Checkpoint.FileName), bin = Path.Combine(dir, "model.bin");
            Checkpoint.Capture(model, null, 0, 1e9, new TrainingOptions()).Write(ckpt);
            Llama2cCheckpoint.Write(model.ToTransformerWeights(), bin);

            // The probe's own build references TinyLlm.MLNet.Core only.
            string probe = Path.Combine(ModelPersistenceTests.ProbeBuildFolder(), "TinyLlm.MLNet.ProcessProbe.dll");
            Assert.IsFalse(File.Exists(Path.Combine(Path.GetDirectoryName(probe)!, "TinyLlm.MLNet.dll")));
            int code = ReferenceTools.Run("dotnet", $"\"{probe}\" weights \"{ckpt}\"", out string output);
            Assert.AreEqual(1, code, output);
            StringAssert.Contains(output, "needs the TinyLlm.MLNet package (TorchSharp)");
            StringAssert.Contains(output, "model.bin");
            code = ReferenceTools.Run("dotnet", $"\"{probe}\" weights \"{bin}\"", out output);
            Assert.AreEqual(0, code, output);
            StringAssert.Contains(output, "dim 32");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void DecodersOwnTheModelTheyMadeAndLeaveABorrowedOneAlone()
    {
        var weights = RandomWeights(vocab: 64, seqLen: 16, scale: 1f);
        var owning = new TorchSharpDecoders(weights, "cpu");
        var madeWeight = owning.Model.parameters().First();
        owning.Dispose();
        Assert.IsTrue(madeWeight.IsInvalid, "the model the factory made is disposed with it");

        using var model = weights.ToLlamaModel();
        new TorchSharpDecoders(model).Dispose();
        Assert.IsFalse(model.parameters().First().IsInvalid, "a borrowed model stays usable");
    }

    [TestMethod]
    public void AGeneratorReleasesTheBackendItSetUpButNotOneItWasGiven()
    {
        var weights = RandomWeights(vocab: Tokenizer.VocabSize, seqLen: 16, scale: 1f);
        var generator = new TextGenerator(weights, Tokenizer, GenerationBackend.TorchSharp, "cpu");
        var ownWeight = ((TorchSharpDecoders)generator.Decoders).Model.parameters().First();
        generator.Dispose();
        Assert.IsTrue(ownWeight.IsInvalid);

        using var given = new TorchSharpDecoders(weights, "cpu");
        new TextGenerator(weights, Tokenizer, given).Dispose();
        Assert.IsFalse(given.Model.parameters().First().IsInvalid);
    }

    [TestMethod]
    public void EveryDecoderRefusesTheSameCallsWithTheSameWords()
    {
        var weights = RandomWeights(vocab: 64, seqLen: 16, scale: 1f);
        using var engine = new InferenceEngine(weights, slots: 2);
        using var factory = new TorchSharpDecoders(weights, "cpu");
        using var torchDecoder = factory.Create(2);
        var bad = new (string What, Action<ITokenDecoder> Call)[]
        {
            ("no triple", d => d.Forward([], [], [])),
            ("lengths differ", d => d.Forward([0], [1, 2], [0])),
            ("a repeated slot", d => d.Forward([1, 1], [1, 2], [0, 0])),
            ("a slot past the end", d => d.Forward([2], [1], [0])),
            ("a token outside the vocabulary", d => d.Forward([0], [64], [0])),
            ("a position past the context", d => d.Forward([0], [1], [16])),
            ("an empty prefill", d => d.Prefill([0], [Array.Empty<int>()])),
            ("a prefill longer than the context", d => d.Prefill([0], [new int[17]])),
            ("a prefill with a repeated slot", d => d.Prefill([0, 0], [[1], [2]])),
            ("a prefill with a bad token", d => d.Prefill([0], [[1, -1]])),
            ("logits of a slot past the end", d => d.Logits(5).ToArray()),
        };
        foreach (var (what, call) in bad)
        {
            var fromEngine = Assert.Throws<ArgumentException>(() => call(engine), what);
            var fromTorch = Assert.Throws<ArgumentException>(() => call(torchDecoder), what);
            Assert.AreEqual(fromEngine.GetType(), fromTorch.GetType(), what);
            Assert.AreEqual(fromEngine.Message, fromTorch.Message, what);
        }
    }
}
