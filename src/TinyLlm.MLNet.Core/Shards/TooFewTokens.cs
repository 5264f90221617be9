namespace TinyLlm.MLNet.Shards;

/// <summary>
/// The error of a shard (or in-memory segment) too short for one training window. Its message speaks of shards and
/// <c>SequenceLength</c>, the words of the shard loaders; the numbers ride along in <see cref="Exception.Data"/>, so a
/// caller with other words for them (TrainLlama's <c>Segments</c> and <c>Training.MaxSeqLen</c>) can say it in its own.
/// </summary>
internal static class TooFewTokens
{
    private const string Key = "TinyLlm.TooFewTokens";

    /// <summary>The error, carrying the segment index, its token count and the window length asked for.</summary>
    public static InvalidDataException Create(string message, int segment, long tokens, int sequenceLength) =>
        new(message) { Data = { [Key] = (segment, tokens, sequenceLength) } };

    /// <summary>The numbers of an error made by <see cref="Create"/>.</summary>
    public static bool TryRead(Exception e, out int segment, out long tokens, out int sequenceLength)
    {
        (segment, tokens, sequenceLength) = e.Data[Key] is (int s, long t, int q) ? (s, t, q) : (-1, 0L, 0);
        return segment >= 0;
    }
}
