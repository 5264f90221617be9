namespace TinyLlm.MLNet.Evaluation;

/// <summary>Progress of an evaluation, reported after every batch of windows.</summary>
/// <param name="Tokens">Tokens predicted so far.</param>
/// <param name="Rows">Rows read so far.</param>
/// <param name="CrossEntropy">Mean cross-entropy (nats per token) so far.</param>
/// <param name="Elapsed">Time since the evaluation started.</param>
public readonly record struct LanguageModelEvaluationProgress(long Tokens, long Rows, double CrossEntropy, TimeSpan Elapsed)
{
    /// <summary>Predicted tokens per second so far.</summary>
    public double TokensPerSecond => Tokens / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
