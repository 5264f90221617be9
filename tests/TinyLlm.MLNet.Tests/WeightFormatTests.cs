using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TinyLlm.MLNet.Tests.InteropTestModels;
using static TinyLlm.MLNet.Tests.KernelTestValues;

namespace TinyLlm.MLNet.Tests;

/// <summary>The engine's weight storage formats: bf16 and Q8_0 kernels, conversions, v2 files, options.</summary>
[TestClass]
public sealed class WeightFormatTests
{
    [ClassCleanup]
    public static void Cleanup() => InteropTestModels.DeleteTempDirs();

    private static readonly int[] Prompt = Enumerable.Range(0, 24).Select(i => (i * 37 + 5) % 96).ToArray();

    /// <summary>Logits of every position of <see cref="Prompt"/>, one after the other with the cache.</summary>
    private static float[][] Logits(TransformerWeights weights)
    {
        var engine = new InferenceEngine(weights);
        return Prompt.Select((t, pos) => engine.Forward(t, pos).ToArray()).ToArray();
    }

    /// <summary>The largest difference over all positions, relative to the largest logit magnitude.</summary>
    private static double RelativeDifference(float[][] expected, float[][] actual)
    {
        double scale = expected.Max(p => p.Max(MathF.Abs)), diff = 0;
        for (int p = 0; p < expected.Length; p++)
            for (int i = 0; i < expected[p].Length; i++) diff = Math.Max(diff, Math.Abs(expected[p][i] - actual[p][i]));
        return diff / scale;
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Bf16EngineEqualsTheFp32EngineOnBf16RoundedWeightsAndIsCloseToTheOriginal(bool shared)
    {
        var original = Random(96, shared);
        var bf16 = original.Convert(WeightFormat.BFloat16);
        Assert.AreEqual(WeightFormat.BFloat16, bf16.Format);
        var rounded = bf16.Convert(WeightFormat.Float32);
        // every weight is exactly representable in bf16: its lower 16 bits are zero
        Assert.IsTrue(rounded.Wq.All(v => (BitConverter.SingleToUInt32Bits(v) & 0xFFFF) == 0));
        Assert.AreEqual(original.Wq[5], rounded.Wq[5], MathF.Abs(original.Wq[5]) / 256);

        var expected = Logits(rounded);
        double exact = RelativeDifference(expected, Logits(bf16));
        Assert.IsTrue(exact < 1e-5, $"bf16 engine vs fp32 engine on the rounded weights: {exact:E2}");
        // bf16 keeps 8 significant bits (relative rounding error up to 2^-9 per weight)
        double close = RelativeDifference(Logits(original), Logits(bf16));
        Assert.IsTrue(close < 2e-2, $"bf16 vs fp32 on the original weights: {close:E2}");
        Assert.IsTrue(close > 0, "rounding to bf16 should change the logits a little");
        Assert.AreEqual(original.StorageBytes - (original.StorageBytes - 4L * (original.AttentionNorm.Length * 2 + original.FinalNorm.Length)) / 2, bf16.StorageBytes);
    }

    [TestMethod]
    public void Q8LogitsAreCloseToFp32AndConversionIsIdempotent()
    {
        var original = Random(96, shared: false);
        var q8 = original.Convert(WeightFormat.Q8_0, 16);
        Assert.AreEqual(16, q8.GroupSize);
        Assert.AreSame(q8, q8.Convert(WeightFormat.Q8_0, 16));
        Assert.AreSame(original, original.Convert(WeightFormat.Float32));
        // int8 weights and int8 activations, each with up to half a step (max/254) of error per value; this random
        // model (uniform weights, 2 layers) amplifies weight errors: bf16 (2^-9 per weight) gives about 1.3e-2, the
        // Q8_0 weights alone about 2.5e-2, weights and activations together about 3.6e-2
        double diff = RelativeDifference(Logits(original), Logits(q8));
        double weightsOnly = RelativeDifference(Logits(original), Logits(q8.Convert(WeightFormat.Float32)));
        Assert.IsTrue(diff < 6e-2, $"Q8_0 vs fp32: {diff:E2} (weights only {weightsOnly:E2}, bf16 {RelativeDifference(Logits(original), Logits(original.Convert(WeightFormat.BFloat16))):E2})");
        Assert.IsTrue(diff > 0);
        // dequantized weights quantize back to the same int8 values
        var again = q8.Convert(WeightFormat.Float32).Convert(WeightFormat.Q8_0, 16);
        CollectionAssert.AreEqual(q8.W2Matrix.Q, again.W2Matrix.Q);
        Assert.IsTrue(q8.StorageBytes * 3 < original.StorageBytes, $"{q8.StorageBytes} vs {original.StorageBytes} bytes");
    }

    // runq.c's math written out plainly: quantize x per group (round half away from zero), then per row and group
    // the integer dot product times the weight scale times the input scale.
    private static float[] Q8Reference(float[] w, int rows, int cols, float[] x, int gs)
    {
        var qx = new int[cols];
        var sx = new float[cols / gs];
        for (int g = 0; g < cols / gs; g++)
        {
            float max = 0;
            for (int i = g * gs; i < (g + 1) * gs; i++) max = Math.Max(max, Math.Abs(x[i]));
            sx[g] = max / 127f;
            for (int i = g * gs; i < (g + 1) * gs; i++) qx[i] = sx[g] == 0 ? 0 : (int)MathF.Round(x[i] / sx[g], MidpointRounding.AwayFromZero);
        }
        var y = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int g = 0; g < cols / gs; g++)
            {
                float max = 0;
                for (int i = 0; i < gs; i++) max = Math.Max(max, Math.Abs(w[r * cols + g * gs + i]));
                float sw = max / 127f;
                long dot = 0;
                for (int i = g * gs; i < (g + 1) * gs; i++)
                    dot += (sw == 0 ? 0 : (int)MathF.Round(w[r * cols + i] / sw)) * qx[i];
                sum += (double)dot * sw * sx[g];
            }
            y[r] = (float)sum;
        }
        return y;
    }


    [TestMethod]
    [DataRow(64, 256, DisplayName = "groups of 64 (AVX-512 path)")]
    [DataRow(32, 96, DisplayName = "groups of 32")]
    [DataRow(16, 176, DisplayName = "groups of 16 (AVX2 path)")]
    [DataRow(8, 40, DisplayName = "groups of 8 (scalar)")]
    public void Q8MatVecEqualsAScalarReferenceOfTheSameMath(int gs, int cols)
    {
        const int rows = 39; // not a multiple of the 4-row block
        float[] w = RandomValues(2 * rows * cols, 1);
        Array.Clear(w, rows * cols + cols, gs); // an all-zero group: scale 0
        float[] x = RandomValues(2 * cols, 2);
        Array.Clear(x, 0, gs);
        var q8 = WeightMatrix.Float32(w).Convert(WeightFormat.Q8_0, gs);
        // the second matrix of the stack (offset rows * cols), two inputs in one call
        float[] expected0 = Q8Reference(w[(rows * cols)..], rows, cols, x[..cols], gs);
        float[] expected1 = Q8Reference(w[(rows * cols)..], rows, cols, x[cols..], gs);
        var matVec = new MatVec(maxBatch: 2, maxCols: cols);
        var y = new float[3 * rows];
        matVec.Begin(x, cols, [0, cols]);
        matVec.Add(y, q8, (long)rows * cols, rows, [0, 2 * rows]);
        matVec.Run();
        AssertClose(expected0, y[..rows], 1e-5, "input 0");
        AssertClose(expected1, y[(2 * rows)..], 1e-5, "input 1");

        // each kernel by itself, on the same quantized input
        var xq = new short[cols];
        var xs = new float[cols];
        MatVecKernels.QuantizeInput(x.AsSpan(0, cols), gs, xq, xs.AsSpan(0, cols / gs));
        var kernels = new List<(string, Func<float[], int>)>
        {
            ("scalar", o => { MatVecKernels.Q8Scalar(o, q8.Q!, q8.Scales!, gs, (long)rows * cols, xq, xs, cols, 0, 0, 0, rows); return rows; }),
        };
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && gs % 16 == 0)
            kernels.Add(("avx2", o => MatVecKernels.Q8Avx2(o, q8.Q!, q8.Scales!, gs, (long)rows * cols, xq, xs, cols, 0, 0, 0, rows)));
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && gs % 32 == 0)
            kernels.Add(("avx512", o => MatVecKernels.Q8Avx512(o, q8.Q!, q8.Scales!, gs, (long)rows * cols, xq, xs, cols, 0, 0, 0, rows)));
        foreach (var (name, kernel) in kernels)
        {
            var o = new float[rows];
            int done = kernel(o);
            Assert.AreEqual(name == "scalar" ? rows : 36, done, name);
            AssertClose(expected0[..done], o[..done], 1e-5, name);
        }
    }

    [TestMethod]
    [DataRow(64)]
    [DataRow(176)]
    [DataRow(40)]
    public void Bf16MatVecEqualsFp32MatVecOnTheRoundedWeights(int cols)
    {
        const int rows = 23;
        float[] w = RandomValues(rows * cols, 3), x = RandomValues(cols, 4);
        var bf16 = WeightMatrix.Float32(w).Convert(WeightFormat.BFloat16, 0);
        float[] rounded = bf16.Convert(WeightFormat.Float32, 0).F32!;
        var expected = new float[rows];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < cols; i++) expected[r] += rounded[r * cols + i] * x[i];
        var y = new float[rows];
        new MatVec().Multiply(y, bf16, 0, x, rows, cols);
        AssertClose(expected, y, 1e-5, "matvec");
        var kernels = new List<(string, Func<float[], int>)> { ("scalar", o => { MatVecKernels.Bf16Scalar(o, bf16.Bf16!, 0, x, cols, 0, 0, 0, rows); return rows; }) };
        if (cols % 16 == 0) kernels.Add(("vector256", o => MatVecKernels.Bf16Vector256(o, bf16.Bf16!, 0, x, cols, 0, 0, 0, rows)));
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && cols % 32 == 0)
            kernels.Add(("vector512", o => MatVecKernels.Bf16Vector512(o, bf16.Bf16!, 0, x, cols, 0, 0, 0, rows)));
        foreach (var (name, kernel) in kernels)
        {
            var o = new float[rows];
            int done = kernel(o);
            AssertClose(expected[..done], o[..done], 1e-5, name);
        }
        Assert.AreEqual((ushort)0x3F80, WeightMatrix.ToBFloat16(1.00390625f), "a tie rounds to even");
        Assert.AreEqual((ushort)0x3F82, WeightMatrix.ToBFloat16(1.01171875f), "a tie rounds to even (up)");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void V2FileLoadsQuantizedAndRunsLikeTheDequantizedFileQuantizedAgain(bool shared)
    {
        var w = Random(96, shared);
        string path = Path.Combine(TempDir("q8engine"), "model-q8.bin");
        Assert.AreEqual(16, Llama2cQ8Checkpoint.Write(w, path));
        var loaded = GenerationModelLoader.ReadWeights(path);
        Assert.AreEqual(WeightFormat.Q8_0, loaded.Format);
        Assert.AreEqual(16, loaded.GroupSize);
        var quantizedAgain = loaded.Convert(WeightFormat.Float32).Convert(WeightFormat.Q8_0, 16);
        Assert.AreNotSame(loaded, quantizedAgain);
        double diff = RelativeDifference(Logits(quantizedAgain), Logits(loaded));
        Assert.IsTrue(diff < 1e-5, $"v2 file as loaded vs dequantized then quantized: {diff:E2}");

        // as a v0 file, the quantized weights are their fp32 values
        using (var fromQ8 = new MemoryStream())
        using (var fromFp32 = new MemoryStream())
        {
            Llama2cCheckpoint.Write(loaded, fromQ8);
            Llama2cCheckpoint.Write(loaded.Convert(WeightFormat.Float32), fromFp32);
            CollectionAssert.AreEqual(fromFp32.ToArray(), fromQ8.ToArray());
            Assert.IsFalse(loaded.W1Matrix.HasFloat32Copy);
        }

        // writing the loaded weights again gives the same file byte for byte
        string again = Path.Combine(TempDir("q8engine"), "again.bin");
        Llama2cQ8Checkpoint.Write(loaded, again, 64);
        CollectionAssert.AreEqual(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    private static TransformerWeights PeakedWeights()
    {
        torch.manual_seed(3);
        using var model = new LlamaModel(new LlamaConfig { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 128, MultipleOf = 16, MaxSeqLen = 128 });
        var weights = model.ToTransformerWeights();
        // Larger weights than the N(0, 0.02) init give peaked logits, so greedy choices are not near-ties.
        foreach (var (_, values) in weights.InFileOrder())
            for (int i = 0; i < values.Length; i++) values[i] *= 25f;
        Array.Fill(weights.AttentionNorm, 1f);
        Array.Fill(weights.FfnNorm, 1f);
        Array.Fill(weights.FinalNorm, 1f);
        return weights;
    }

    private static int[] GreedyWithCache(TransformerWeights weights, int count)
    {
        var engine = new InferenceEngine(weights);
        var sampler = new Sampler(weights.Config.VocabSize, new SamplingOptions { Temperature = 0 });
        var ids = new List<int> { 1 };
        for (int i = 0; i < count; i++) ids.Add(sampler.Sample(engine.Forward(ids[^1], ids.Count - 1)));
        return ids.ToArray();
    }

    [TestMethod]
    [DataRow(WeightFormat.BFloat16)]
    [DataRow(WeightFormat.Q8_0)]
    public void GreedyWithTheCacheEqualsGreedyWithoutItFor100Tokens(WeightFormat format)
    {
        var weights = PeakedWeights().Convert(format, 16);
        int[] cached = GreedyWithCache(weights, 100);
        Assert.IsTrue(cached.Distinct().Count() > 5, "the check is weak if greedy decoding repeats one token");
        var uncached = new List<int> { 1 };
        if (format == WeightFormat.BFloat16)
        {
            // The tutorial's loop on the TorchSharp model with the bf16-rounded weights: the whole sequence at every step.
            using var model = weights.Convert(WeightFormat.Float32).ToLlamaModel();
            model.eval();
            using var noGrad = torch.no_grad();
            for (int i = 0; i < 100; i++)
            {
                using var scope = torch.NewDisposeScope();
                var all = model.forward(torch.tensor(uncached.Select(t => (long)t).ToArray(), [1, uncached.Count]));
                uncached.Add((int)all[0, -1].argmax().item<long>());
            }
        }
        else
        {
            // Q8_0 also quantizes activations, which the TorchSharp model does not: recompute every step from an
            // empty cache with a fresh engine instead.
            var sampler = new Sampler(weights.Config.VocabSize, new SamplingOptions { Temperature = 0 });
            for (int i = 0; i < 100; i++)
            {
                var fresh = new InferenceEngine(weights);
                ReadOnlySpan<float> logits = default;
                for (int pos = 0; pos < uncached.Count; pos++) logits = fresh.Forward(uncached[pos], pos);
                uncached.Add(sampler.Sample(logits));
            }
        }
        CollectionAssert.AreEqual(uncached.ToArray(), cached);
    }

    [TestMethod]
    public void TheGenerationOptionPicksTheStorageAndSurvivesTheModelZip()
    {
        var ml = new MLContext();
        var options = new LlamaGenerationOptions { WeightFormat = WeightFormat.Q8_0, Sampling = new SamplingOptions { Temperature = 0, MaxNewTokens = 30 } };
        var transformer = new LlamaGenerationTransformer(ml, Random(Tokenizer.VocabSize, shared: true), Tokenizer.ToBytes(), options);
        // 64 does not divide hidden_dim 176: halved to 16
        Assert.AreEqual(WeightFormat.Q8_0, transformer.Generator.Weights.Format);
        Assert.AreEqual(16, transformer.Generator.Weights.GroupSize);
        string q8Text = transformer.GenerateBatch(["Once upon a time"])[0];
        var bf16 = transformer.WithOptions(new LlamaGenerationOptions { WeightFormat = WeightFormat.BFloat16, Sampling = options.Sampling });
        Assert.AreEqual(WeightFormat.BFloat16, bf16.Generator.Weights.Format);

        string zip = Path.Combine(TempDir("q8zip"), "model.zip");
        var data = ml.Data.LoadFromEnumerable([new StoryPrompt { Text = "Once upon a time" }]);
        ml.Model.Save(transformer, data.Schema, zip);
        Assert.IsFalse(transformer.Generator.Weights.WqMatrix.HasFloat32Copy, "saving dequantizes piece by piece, keeping no fp32 copy");
        var ml2 = new MLContext();
        ml2.ComponentCatalog.RegisterTinyLlm();
        var model = ml2.Model.Load(zip, out _);
        var loaded = (model as IEnumerable<ITransformer> ?? [model]).OfType<LlamaGenerationTransformer>().Single();
        Assert.AreEqual(WeightFormat.Q8_0, loaded.Options.WeightFormat);
        Assert.AreEqual(WeightFormat.Q8_0, loaded.Generator.Weights.Format);
        Assert.AreEqual(q8Text, loaded.GenerateBatch(["Once upon a time"])[0]);

        // weights that came quantized (a v2 file) with no format option run quantized after the round trip too
        var fromV2 = new LlamaGenerationTransformer(ml, Random(Tokenizer.VocabSize, shared: true).Convert(WeightFormat.Q8_0, 16), Tokenizer.ToBytes(),
            new LlamaGenerationOptions { Sampling = options.Sampling });
        Assert.IsNull(fromV2.Options.WeightFormat);
        ml.Model.Save(fromV2, data.Schema, zip);
        model = ml2.Model.Load(zip, out _);
        loaded = (model as IEnumerable<ITransformer> ?? [model]).OfType<LlamaGenerationTransformer>().Single();
        Assert.AreEqual(WeightFormat.Q8_0, loaded.Generator.Weights.Format);
        Assert.AreEqual(16, loaded.Generator.Weights.GroupSize);
        Assert.AreEqual(fromV2.GenerateBatch(["Once upon a time"])[0], loaded.GenerateBatch(["Once upon a time"])[0]);
    }

    [TestMethod]
    public void UnsupportedStorageAndMismatchedShapesAreClearErrors()
    {
        var w = Random(96, shared: true);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => w.Convert(WeightFormat.Q8_0, 48));
        StringAssert.Contains(e.Message, "group size 48");
        StringAssert.Contains(e.Message, "dim (64)");
        StringAssert.Contains(e.Message, "hidden_dim (176)");
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => w.Convert(WeightFormat.Q8_0, 0));
        StringAssert.Contains(e.Message, "group size 0");
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => w.Convert((WeightFormat)7));
        StringAssert.Contains(e.Message, "Weight format 7");
        var ml = new MLContext();
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LlamaGenerationTransformer(ml, Random(Tokenizer.VocabSize, shared: true), Tokenizer.ToBytes(),
            new LlamaGenerationOptions { WeightFormat = WeightFormat.Q8_0, QuantizationGroupSize = 0 }));
        StringAssert.Contains(e.Message, "QuantizationGroupSize");

        // a v2 file whose header disagrees with its data (one layer more than written)
        string path = Path.Combine(TempDir("q8bad"), "model-q8.bin");
        Llama2cQ8Checkpoint.Write(w, path);
        byte[] bytes = File.ReadAllBytes(path);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 2 * 4), 3);
        File.WriteAllBytes(path, bytes);
        var bad = Assert.ThrowsExactly<InvalidDataException>(() => GenerationModelLoader.ReadWeights(path));
        StringAssert.Contains(bad.Message, "n_layers 3");
        StringAssert.Contains(bad.Message, "implies");
    }

    [TestMethod]
    public void GenerateCommandRunsTheRequestedStorage()
    {
        string dir = TempDir("q8cli");
        var weights = Random(Tokenizer.VocabSize, shared: true);
        // BOS and EOS get logit 0 (their embedding rows, tied to the classifier, are zero), so greedy decoding runs
        // the whole budget and the formats' small differences have room to change the text
        Array.Clear(weights.TokenEmbedding, Tokenizer.BosId * 64, 64);
        Array.Clear(weights.TokenEmbedding, Tokenizer.EosId * 64, 64);
        string model = Path.Combine(dir, "model.bin"), tok = Path.Combine(dir, "tok.model");
        Llama2cCheckpoint.Write(weights, model);
        Tokenizer.Save(tok);
        const string Prompt = "Once upon a time";
        // 150 tokens past a 64-position context: the window slides, as it did before stopping at the context was the default
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 150, SlideContextWindow = true };
        var texts = new List<string>();
        foreach (var (flag, format, group) in new[] { ("f32", WeightFormat.Float32, 0), ("bf16", WeightFormat.BFloat16, 0), ("q8_0", WeightFormat.Q8_0, 16) })
        {
            var (code, output, _) = Cli.Capture("generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--prompt", Prompt,
                "--temperature", "0", "--max-new-tokens", "150", "--slide-context-window", "--weights", flag);
            Assert.AreEqual(0, code, output);
            string expected = Prompt + new TextGenerator(weights.Convert(format, group), Tokenizer).Generate(Prompt, greedy).Text;
            Assert.AreEqual(expected, output.TrimEnd('\n', '\r'), flag);
            texts.Add(expected);
        }
        Assert.AreEqual(3, texts.Distinct().Count(), $"{texts.Distinct().Count()}: the formats should give different greedy text here, or the check is weak");
        Assert.AreEqual(1, Cli.Capture("generate", "--checkpoint", model, "--tokenizer-model-path", tok, "--weights", "q4").ExitCode);
    }
}
