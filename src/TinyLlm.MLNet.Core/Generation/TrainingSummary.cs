namespace TinyLlm.MLNet.Generation;

/// <summary>
/// What the training run that produced a model reported: on a <see cref="LlamaGenerationTransformer"/> fitted by
/// <c>TrainLlama</c> (its <see cref="LlamaGenerationTransformer.Training"/>). A model loaded from a file or a zip has none.
/// </summary>
public sealed record TrainingSummary
{
    /// <summary>Optimizer steps the run performed.</summary>
    public long Iterations { get; init; }

    /// <summary>The best validation loss of the run's evaluations.</summary>
    public double BestValLoss { get; init; }

    /// <summary>The mean training loss of every step, in order.</summary>
    public IReadOnlyList<double> Losses { get; init; } = [];

    /// <summary>The last step's training loss (NaN when no step ran).</summary>
    public double FinalTrainLoss => Losses.Count > 0 ? Losses[^1] : double.NaN;

    /// <summary>Tokens trained on.</summary>
    public long Tokens { get; init; }

    /// <summary>Wall time of the training loop, evaluations and checkpoints included.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The run's average speed: <see cref="Tokens"/> over <see cref="Duration"/>.</summary>
    public double TokensPerSecond => Tokens / Math.Max(Duration.TotalSeconds, 1e-9);

    /// <summary>The last checkpoint written (with <c>TrainingOptions.OutDir</c> set), else null.</summary>
    public string? CheckpointPath { get; init; }
}
