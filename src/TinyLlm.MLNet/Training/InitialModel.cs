using System.Text;
using Microsoft.ML;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// The model a fine-tuning run starts from (train.py's <c>init_from</c> set to a model instead of <c>scratch</c> or
/// <c>resume</c>): its weights, where they came from, and, when the source carries it, its tokenizer. The run takes
/// its shape (and, for untied models, its separate classifier) from these weights; it starts a new optimizer,
/// learning-rate schedule and iteration count.
/// </summary>
public sealed class InitialModel
{
    /// <summary>The formats <see cref="Read"/> reads, as one phrase for messages.</summary>
    public const string ReadableFormats =
        "an ML.NET model zip saved by TinyLlm, a TinyLlm training checkpoint (ckpt.bin), a llama2.c model file (v0 model.bin, v1, or v2 Q8_0), "
        + "a Hugging Face Llama folder (config.json + model.safetensors) or a GGUF file of the llama architecture";

    private InitialModel(TransformerWeights weights, string description, string? path, byte[]? tokenizerModel, TokenizerFingerprint? tokenizer)
    {
        Weights = weights;
        Description = description;
        Path = path;
        TokenizerModel = tokenizerModel;
        Tokenizer = tokenizer ?? (tokenizerModel is null
            ? new TokenizerFingerprint(weights.Config.VocabSize, null)
            : TokenizerFingerprint.Of(SentencePieceModel.FromBytes(tokenizerModel, $"the tokenizer of {description}")));
        if (Tokenizer.VocabSize != weights.Config.VocabSize)
            throw new InvalidDataException($"The tokenizer of {description} has {Tokenizer.VocabSize:N0} pieces but its model's vocabulary has {weights.Config.VocabSize:N0}.");
    }

    /// <summary>The weights (in their stored format; bf16 and Q8_0 are dequantized to fp32 for training).</summary>
    public TransformerWeights Weights { get; }

    /// <summary>Names the model in messages and logs, e.g. <c>the initial model 'stories15M.bin'</c>.</summary>
    public string Description { get; }

    /// <summary>The file or folder it was read from, or null for a model handed over in memory.</summary>
    public string? Path { get; }

    /// <summary>The SentencePiece <c>.model</c> bytes of its tokenizer, when the source carries them (a zip, a fitted transformer, a Hugging Face folder with tokenizer.model).</summary>
    public byte[]? TokenizerModel { get; }

    /// <summary>Its vocabulary: the size always, the pieces' fingerprint when the source carries the tokenizer (or a checkpoint recorded it).</summary>
    public TokenizerFingerprint Tokenizer { get; }

    /// <summary>
    /// The model of a fitted TinyLlm generation transformer, or of the last one in a chain (such as a zip loaded with
    /// <c>mlContext.Model.Load</c>), with its tokenizer.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> holds no TinyLlm model.</exception>
    public static InitialModel From(ITransformer model)
    {
        var llama = GenerationStage.Require(model, "The initial model");
        return new InitialModel(llama.Generator.Weights, "the initial model (a fitted TinyLlm model)", null, llama.TokenizerModel.ToArray(), null);
    }

    /// <summary>Weights held in memory, with the <c>.model</c> bytes of their tokenizer when known.</summary>
    public static InitialModel From(TransformerWeights weights, byte[]? tokenizerModel = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return new InitialModel(weights, "the initial model (weights in memory)", null, tokenizerModel, null);
    }

    /// <summary>
    /// Reads the model at <paramref name="path"/>: an ML.NET zip (weights and tokenizer of its TinyLlm stage), a
    /// training checkpoint (with the tokenizer fingerprint it recorded), or any file or folder
    /// <see cref="GenerationModelLoader.ReadWeights"/> reads (llama2.c v0/v1/v2, a Hugging Face folder, whose
    /// <c>tokenizer.model</c> is taken when present; a GGUF file, whose embedded vocabulary is taken).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is none of these formats or is damaged: one message naming the file, the formats and what failed.</exception>
    public static InitialModel Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string description = $"the initial model '{path}'";
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"The initial model '{path}' (InitFrom) does not exist: no such file or folder.", path);
        try
        {
            if (Directory.Exists(path))
            {
                string tokenizer = System.IO.Path.Combine(path, "tokenizer.model");
                return new InitialModel(GenerationModelLoader.ReadWeights(path), description, path, File.Exists(tokenizer) ? File.ReadAllBytes(tokenizer) : null, null);
            }
            string magic = Magic(path);
            if (magic.StartsWith("PK\u0003\u0004", StringComparison.Ordinal)) return ReadZip(path, description);
            if (magic == "TLLMCKPT")
            {
                var checkpoint = Checkpoint.Read(path);
                using var model = checkpoint.CreateModel();
                return new InitialModel(model.ToTransformerWeights(), description, path, null, checkpoint.Tokenizer);
            }
            if (GgufLlama.IsGguf(path))
            {
                // a GGUF file embeds its vocabulary: the run takes it as the model's tokenizer
                var (weights, tokenizer) = GgufLlama.Read(path);
                return new InitialModel(weights, description, path, tokenizer.ToBytes(), null);
            }
            return new InitialModel(GenerationModelLoader.ReadWeights(path), description, path, null, null);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or InvalidOperationException
                                      or NotSupportedException or IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"Cannot fine-tune from '{path}' (InitFrom): it is not a model TinyLlm can read. TinyLlm reads {ReadableFormats}; reading it failed: {e.Message}", e);
        }
    }

    private static InitialModel ReadZip(string path, string description)
    {
        var ml = new MLContext();
        var loaded = ml.Model.Load(path, out _);
        try
        {
            var generation = GenerationStage.Find(loaded)
                ?? throw new InvalidDataException("the ML.NET zip holds no TinyLlm model (a TrainLlama or LoadLlama stage).");
            return new InitialModel(generation.Generator.Weights, description, path, generation.TokenizerModel.ToArray(), null);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    private static string Magic(string path)
    {
        Span<byte> magic = stackalloc byte[8];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        return Encoding.Latin1.GetString(magic[..read]);
    }

    /// <summary>The sentence a log or an error uses for a model stored as bf16 or Q8_0, or null for fp32.</summary>
    internal string? DequantizationNote() => Weights.Format == WeightFormat.Float32 ? null
        : $"{Description} stores its weights as {Weights.Format}{(Weights.Format == WeightFormat.Q8_0 ? $" (groups of {Weights.GroupSize})" : "")}: they are dequantized to fp32 for training, and the fine-tuned model is saved in fp32";

    /// <summary>A model of these weights for training (on the CPU), tied or untied as they are.</summary>
    internal LlamaModel CreateModel(double dropout) => Weights.ToLlamaModel(dropout);
}
