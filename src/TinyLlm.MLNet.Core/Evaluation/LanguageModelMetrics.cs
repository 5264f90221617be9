namespace TinyLlm.MLNet.Evaluation;

/// <summary>
/// How well a language model predicts a data set, as <c>mlContext.LanguageModel.Evaluate</c> returns it (ML.NET's
/// <c>RegressionMetrics</c> for language models): the mean cross-entropy of every predicted token, its perplexity,
/// and bits per byte of text, which compares models whose tokenizers differ.
/// </summary>
public sealed class LanguageModelMetrics
{
    internal LanguageModelMetrics(double totalNegativeLogLikelihood, long tokenCount, long byteCount, long rowCount, long windowCount)
    {
        TotalNegativeLogLikelihood = totalNegativeLogLikelihood;
        TokenCount = tokenCount;
        ByteCount = byteCount;
        RowCount = rowCount;
        WindowCount = windowCount;
    }

    /// <summary>
    /// Mean cross-entropy in nats per predicted token: <c>-ln p(token | the tokens before it)</c> averaged over
    /// <see cref="TokenCount"/> tokens. On the same windows it is the trainer's validation loss.
    /// </summary>
    public double CrossEntropy => TotalNegativeLogLikelihood / TokenCount;

    /// <summary><c>exp(CrossEntropy)</c>: the number of equally likely tokens the model is, on average, choosing between.</summary>
    public double Perplexity => Math.Exp(CrossEntropy);

    /// <summary>
    /// Bits per byte of text: the total negative log-likelihood in bits over the UTF-8 bytes the predicted tokens
    /// stand for (<see cref="ByteCount"/>). Independent of the tokenizer, so models with different vocabularies
    /// compare. NaN when the byte count is unknown (token ids evaluated without their tokenizer).
    /// </summary>
    public double BitsPerByte => ByteCount > 0 ? TotalNegativeLogLikelihood / Math.Log(2) / ByteCount : double.NaN;

    /// <summary>The summed negative log-likelihood of every predicted token, in nats.</summary>
    public double TotalNegativeLogLikelihood { get; }

    /// <summary>Number of predicted tokens (every token of a row after its first, BOS for text).</summary>
    public long TokenCount { get; }

    /// <summary>UTF-8 bytes of text those tokens stand for: the texts' own bytes, or for token ids the bytes their pieces decode to; 0 when unknown.</summary>
    public long ByteCount { get; }

    /// <summary>Number of rows (texts or token sequences) evaluated.</summary>
    public long RowCount { get; }

    /// <summary>Number of windows of at most max_seq_len + 1 tokens the rows were cut into.</summary>
    public long WindowCount { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"cross-entropy {CrossEntropy:F4} nats/token, perplexity {Perplexity:F3}, "
        + (ByteCount > 0 ? $"{BitsPerByte:F4} bits/byte, " : "")
        + $"{TokenCount:N0} tokens" + (ByteCount > 0 ? $" ({ByteCount:N0} bytes)" : "") + $" in {RowCount:N0} rows";
}
