namespace TinyLlm.MLNet.Tokenization;

/// <summary>Progress of a tokenizer training run, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Stage">What is being done: <c>"reading"</c> (lines read, total unknown) or <c>"merging"</c> (pieces learned of <paramref name="Total"/>).</param>
/// <param name="Done">Units done so far.</param>
/// <param name="Total">Units in all, or 0 when unknown.</param>
public readonly record struct SentencePieceTrainingProgress(string Stage, long Done, long Total);
