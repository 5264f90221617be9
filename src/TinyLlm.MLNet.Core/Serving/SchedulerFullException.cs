namespace TinyLlm.MLNet.Serving;

/// <summary>Every slot of a <see cref="GenerationScheduler"/> is busy and as many requests as allowed are already waiting.</summary>
public sealed class SchedulerFullException : InvalidOperationException
{
    /// <summary>Creates the exception for a scheduler with <paramref name="maxBatch"/> slots and <paramref name="maxWaiting"/> waiting requests.</summary>
    public SchedulerFullException(int maxBatch, int maxWaiting)
        : base($"All {maxBatch} generation slots are busy and {maxWaiting} requests are already waiting (the limit); try again shortly.")
    {
    }
}
