using System.Text;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Builds a <see cref="LlamaGenerationTransformer"/> from files on disk, the tutorial's inference flow: a training
/// checkpoint (<c>ckpt.bin</c> from <c>tinyllm train</c>), a llama2.c model file (v0 <c>model.bin</c>, v1, or v2 Q8_0)
/// or a Hugging Face Llama model folder, plus the tokenizer's <c>.model</c>.
/// </summary>
public static class GenerationModelLoader
{
    private const string CheckpointMagic = "TLLMCKPT";

    /// <summary>
    /// Reads the weights at <paramref name="path"/>, detecting the format: a folder (or its config.json or a
    /// .safetensors file in it) is a Hugging Face Llama model; a file starting "TLLMCKPT" is our training checkpoint;
    /// magic "GGUF" is a GGUF file of the llama architecture (see <see cref="GgufLlama.ReadWeights(string)"/>); magic
    /// "ak42" is a llama2.c v1 (fp32) or v2 file (kept as Q8_0, see <see cref="WeightFormat"/>); anything else is read
    /// as llama2.c v0.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file or folder at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is none of these, or is damaged; the message names the field.</exception>
    public static TransformerWeights ReadWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) return HuggingFaceLlama.Import(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"There is no model file or folder at '{path}'.", path);
        string fileName = Path.GetFileName(path);
        if (fileName == "config.json" || fileName.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || fileName == "model.safetensors.index.json")
            return HuggingFaceLlama.Import(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Span<byte> magic = stackalloc byte[8];
        using (var stream = File.OpenRead(path))
            _ = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (Encoding.ASCII.GetString(magic) == CheckpointMagic)
            return ReadCheckpoint(path);
        if (GgufFile.HasMagic(magic))
            return GgufLlama.ReadWeights(path);
        if (magic[0] == (byte)'P' && magic[1] == (byte)'K' && magic[2] == 3 && magic[3] == 4)
            throw new InvalidDataException(
                $"'{path}' is a zip file, not a model file: an ML.NET model zip is loaded with mlContext.Model.Load (or `tinyllm generate --model`).");
        if (BitConverter.ToUInt32(magic) == 0x616b3432)
        {
            int version = BitConverter.ToInt32(magic[4..]);
            return version == 2 ? Llama2cQ8Checkpoint.Read(path) : Llama2cV1Checkpoint.Read(path);
        }
        return Llama2cCheckpoint.Read(path);
    }

    // A training checkpoint holds a TorchSharp state dictionary, so only the TinyLlm.MLNet package reads it. Without
    // that package this is an error, never a quiet read of some other file.
    private static TransformerWeights ReadCheckpoint(string path) =>
        TorchSharpBridge.Require($"Reading the TinyLlm training checkpoint '{path}'",
            "give the llama2.c model.bin the trainer writes beside the checkpoint, or a file made by `tinyllm export`.").ReadCheckpoint(path);

    /// <summary>
    /// A generation transformer over the model at <paramref name="modelPath"/> and the tokenizer at
    /// <paramref name="tokenizerModelPath"/>, which may be null for a GGUF file (its embedded vocabulary is used; when
    /// both are given they must match).
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ArgumentException">No tokenizer for a model file without one, a tokenizer that differs from the GGUF's vocabulary, or a vocabulary size that differs from the model's.</exception>
    public static LlamaGenerationTransformer Load(IHostEnvironment env, string modelPath, string? tokenizerModelPath, LlamaGenerationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath) && !Directory.Exists(modelPath))
            throw new FileNotFoundException($"There is no model file or folder at '{modelPath}'.", modelPath);
        if (tokenizerModelPath is not null && !File.Exists(tokenizerModelPath))
            throw new FileNotFoundException($"There is no tokenizer model at '{tokenizerModelPath}'.", tokenizerModelPath);
        if (!GgufLlama.IsGguf(modelPath))
        {
            if (tokenizerModelPath is null)
                throw new ArgumentException($"'{modelPath}' carries no vocabulary (only a GGUF file does): give the tokenizer .model it was trained with.", nameof(tokenizerModelPath));
            // The tokenizer first, by its path: a wrong file there is named before the (larger) model is read.
            var tokenizer = SentencePieceModel.Load(tokenizerModelPath);
            return new LlamaGenerationTransformer(env, ReadWeights(modelPath), tokenizer.ToBytes(), options);
        }
        var (weights, embedded) = GgufLlama.ReadModel(modelPath, requireTokenizer: tokenizerModelPath is null);
        if (tokenizerModelPath is null)
            return new LlamaGenerationTransformer(env, weights, embedded!.ToBytes(), options);
        var given = SentencePieceModel.Load(tokenizerModelPath);
        if (embedded is not null) GgufVocabulary.CheckSame(embedded, given, modelPath, tokenizerModelPath);
        return new LlamaGenerationTransformer(env, weights, given.ToBytes(), options);
    }

    /// <summary>
    /// The generation stage of an ML.NET model zip saved by a TinyLlm pipeline (its last
    /// <see cref="LlamaGenerationTransformer"/>), loaded with <paramref name="mlContext"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="zipPath"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a model zip, is damaged, or holds no TinyLlm generation stage.</exception>
    public static LlamaGenerationTransformer LoadZip(MLContext mlContext, string zipPath)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (!File.Exists(zipPath)) throw new FileNotFoundException($"Model zip '{zipPath}' does not exist.", zipPath);
        ITransformer loaded;
        try
        {
            loaded = mlContext.Model.Load(zipPath, out _);
        }
        catch (Exception thrown) when (LoaderErrors.Unwrap(thrown) is var e && e is InvalidDataException or FormatException or InvalidOperationException or NotSupportedException
                                           or IOException and not FileNotFoundException && !e.Message.Contains(zipPath, StringComparison.Ordinal))
        {
            // ML.NET's own words ("Failed to open a zip archive", "Could not load legacy format model") name no file.
            throw new InvalidDataException($"'{zipPath}' is not a TinyLlm model zip ({e.Message.TrimEnd('.')}): a model zip is one saved by mlContext.Model.Save or `tinyllm quickstart`.", e);
        }
        return (loaded as IEnumerable<ITransformer> ?? [loaded]).OfType<LlamaGenerationTransformer>().LastOrDefault()
            ?? throw new InvalidDataException($"Model zip '{zipPath}' holds no TinyLlm generation stage (TrainLlama or LoadLlama).");
    }

    /// <summary>True when <paramref name="path"/> is a file that starts like a zip archive (an ML.NET model), false for anything else.</summary>
    public static bool IsZip(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\u0003\u0004"u8);
    }
}
