using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Interop;

/// <summary>Writes a model in another project's format; <c>Generation.GenerationModelLoader.ReadWeights</c> reads them all back.</summary>
public static class ModelExporter
{
    /// <summary>The command-line names of the formats, as <c>tinyllm export --format</c> takes them.</summary>
    public static IReadOnlyDictionary<string, ModelExportFormat> FormatNames { get; } = new Dictionary<string, ModelExportFormat>(StringComparer.OrdinalIgnoreCase)
    {
        ["llama2c"] = ModelExportFormat.Llama2c,
        ["llama2c-v0"] = ModelExportFormat.Llama2c,
        ["llama2c-v1"] = ModelExportFormat.Llama2cV1,
        ["llama2c-q8"] = ModelExportFormat.Llama2cQ8,
        ["llama2c-v2"] = ModelExportFormat.Llama2cQ8,
        ["hf"] = ModelExportFormat.HuggingFace,
        ["huggingface"] = ModelExportFormat.HuggingFace,
        ["gguf"] = ModelExportFormat.Gguf,
    };

    /// <summary>The format named <paramref name="name"/> (see <see cref="FormatNames"/>).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static ModelExportFormat ParseFormat(string name) =>
        FormatNames.TryGetValue(name ?? "", out var format) ? format
            : throw new ArgumentException($"--format '{name}' is not a known export format; use one of: {string.Join(", ", FormatNames.Keys)}.");

    /// <summary>
    /// Writes <paramref name="weights"/> to <paramref name="outPath"/> (a file, or a folder for
    /// <see cref="ModelExportFormat.HuggingFace"/>), each file through a temporary file and a rename.
    /// </summary>
    /// <param name="weights">The model.</param>
    /// <param name="format">The format.</param>
    /// <param name="outPath">Target file or folder.</param>
    /// <param name="tokenizer">For the Hugging Face folder: written as tokenizer.model (and its BOS/EOS ids used). For GGUF
    /// (required): embedded as the file's vocabulary.</param>
    /// <param name="groupSize">For Q8: the group size to start from (halved until it divides dim and hidden_dim).</param>
    /// <param name="ggufWeights">For GGUF: the type of the weight matrices (F32, F16, BF16 or Q8_0); null keeps the
    /// weights' own storage (see <see cref="GgufLlama.Write"/>).</param>
    public static void Export(TransformerWeights weights, ModelExportFormat format, string outPath, SentencePieceModel? tokenizer = null,
        int groupSize = Llama2cQ8Checkpoint.DefaultGroupSize, GgmlType? ggufWeights = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(outPath);
        if (ggufWeights is not null && format != ModelExportFormat.Gguf)
            throw new ArgumentException($"A weight type ({ggufWeights}) applies to the GGUF format only; the {format} format has its own storage.", nameof(ggufWeights));
        if (format != ModelExportFormat.HuggingFace && Directory.Exists(outPath))
            throw new ArgumentException($"--out '{outPath}' is a folder; the {format} format is one file.");
        switch (format)
        {
            case ModelExportFormat.Llama2c: Llama2cCheckpoint.Write(weights, outPath); break;
            case ModelExportFormat.Llama2cV1: Llama2cV1Checkpoint.Write(weights, outPath); break;
            case ModelExportFormat.Llama2cQ8: Llama2cQ8Checkpoint.Write(weights, outPath, groupSize); break;
            case ModelExportFormat.HuggingFace: HuggingFaceLlama.Export(weights, outPath, tokenizer); break;
            case ModelExportFormat.Gguf:
                GgufLlama.Write(weights, tokenizer ?? throw new ArgumentException("A GGUF file carries its vocabulary: give the tokenizer .model (--tokenizer-model-path) to export GGUF.", nameof(tokenizer)),
                    outPath, ggufWeights);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(format), $"Unknown export format {format}.");
        }
    }
}
