namespace TinyLlm.MLNet.Serving;

/// <summary>Options of <see cref="GenerationScheduler"/>: how many requests generate together and how many may wait.</summary>
public sealed class GenerationSchedulerOptions
{
    /// <summary>
    /// How many requests generate together (the decoder's slots; each holds a key/value cache of the model's context).
    /// Every decoding step advances all of them in one pass over the weights. At least 1; default 16.
    /// </summary>
    public int MaxBatch = 16;

    /// <summary>
    /// How many requests may wait for a free slot; one more is refused with <see cref="SchedulerFullException"/>
    /// (a server answers 429). At least 0; default 64.
    /// </summary>
    public int MaxWaiting = 64;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (MaxBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, $"MaxBatch must be at least 1; it is {MaxBatch}.");
        if (MaxWaiting < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxWaiting), MaxWaiting, $"MaxWaiting must be 0 or more; it is {MaxWaiting}.");
    }

    /// <summary>A copy.</summary>
    public GenerationSchedulerOptions Clone() => (GenerationSchedulerOptions)MemberwiseClone();
}
