using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet.Evaluation;

/// <summary>Options of <c>mlContext.LanguageModel.Evaluate</c>: which column to read, how much, and where it runs.</summary>
public sealed class LanguageModelEvaluationOptions
{
    /// <summary>
    /// The text column (one document per row, e.g. a story): each text is stripped of surrounding white space and
    /// encoded BOS first with the model's tokenizer, as <c>pretokenize</c> does, and every token after BOS is predicted.
    /// Bits per byte count the stripped text's UTF-8 bytes. Used when <see cref="TokensColumnName"/> is null.
    /// </summary>
    public string TextColumnName = "Text";

    /// <summary>
    /// A token-id column to evaluate instead of text (a vector of Int32, UInt32, Int64 or UInt16 per row), such as
    /// the <c>Window</c> column of <c>LoadFromTokenShards</c>: every id after a row's first is predicted from the ids
    /// before it. Null (default) reads <see cref="TextColumnName"/>.
    /// </summary>
    public string? TokensColumnName;

    /// <summary>
    /// Stop after the row during which this many tokens have been predicted (rows are never cut, so bits per byte
    /// stay exact); null evaluates every row.
    /// </summary>
    public long? MaxTokens;

    /// <summary>Windows scored together: engine slots, or the batch of one TorchSharp forward pass.</summary>
    public int BatchSize = 8;

    /// <summary>
    /// Where the forward passes run: <see cref="GenerationBackend.Engine"/> (the .NET engine, no libtorch),
    /// <see cref="GenerationBackend.TorchSharp"/> (the TinyLlm.MLNet package; CPU or CUDA) or
    /// <see cref="GenerationBackend.Auto"/> (as generation chooses). Null runs on the model's own generation backend
    /// and device (<c>LlamaGenerationOptions</c>), sharing its decoders.
    /// </summary>
    public GenerationBackend? Backend;

    /// <summary><c>auto</c>, <c>cpu</c> or <c>cuda</c>, with <see cref="Backend"/>; null is <c>auto</c> (or the model's own when <see cref="Backend"/> is null).</summary>
    public string? Device;

    /// <summary>Receives progress after every batch of windows (the ML.NET log gets a line every few seconds too).</summary>
    public IProgress<LanguageModelEvaluationProgress>? Progress;

    internal void Validate()
    {
        if (TokensColumnName is null && string.IsNullOrEmpty(TextColumnName))
            throw new ArgumentException($"Set {nameof(TextColumnName)} (text to encode) or {nameof(TokensColumnName)} (token ids) to the column to evaluate.");
        if (MaxTokens is long m && m < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), m, $"{nameof(MaxTokens)} must be at least 1 (or null for every row); got {m}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"{nameof(BatchSize)} must be at least 1; got {BatchSize}.");
        if (Backend is GenerationBackend b && !Enum.IsDefined(b))
            throw new ArgumentOutOfRangeException(nameof(Backend), b, $"{nameof(Backend)} must be Auto, Engine or TorchSharp; got {b}.");
        if (Device is not null) DecoderBackends.NormalizeDevice(Device);
    }
}
