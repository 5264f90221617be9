using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;

namespace TinyLlm.MLNet.Training;

/// <summary>The outcome of <see cref="LlamaTrainer.Fit"/>.</summary>
public sealed class TrainingResult
{
    /// <summary>The trained model (the weights after the last step, on the training device). The caller owns and disposes it.</summary>
    public required LlamaModel Model { get; init; }

    /// <summary>The next iteration number (max_iters + 1 after a full run).</summary>
    public required long IterNum { get; init; }

    /// <summary>The best validation loss seen.</summary>
    public required double BestValLoss { get; init; }

    /// <summary>The last checkpoint written by this run, or null if none was.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Mean training loss of every iteration this run performed, indexed from <see cref="FirstIter"/>.</summary>
    public required IReadOnlyList<double> Losses { get; init; }

    /// <summary>The iteration of <c>Losses[0]</c> (0, or the resumed iteration).</summary>
    public required long FirstIter { get; init; }

    /// <summary>Tokens this run trained on (optimizer steps x gradient accumulation x batch x sequence length).</summary>
    public long Tokens { get; init; }

    /// <summary>Wall time of this run's training loop, evaluations and checkpoints included.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The run's average speed: <see cref="Tokens"/> over <see cref="Duration"/> (not any one step's rate).</summary>
    public double TokensPerSecond => Tokens / Math.Max(Duration.TotalSeconds, 1e-9);

    /// <summary>What <see cref="LlamaGenerationTransformer.Training"/> of a transformer fitted on this run reports.</summary>
    public TrainingSummary ToSummary() => new()
    {
        Iterations = IterNum - FirstIter,
        BestValLoss = BestValLoss,
        Losses = Losses,
        Tokens = Tokens,
        Duration = Duration,
        CheckpointPath = CheckpointPath,
    };

    /// <summary>The peak FLOP/s that MFU was measured against, and where it came from; null when unknown (a GPU not in the table).</summary>
    public PeakFlops? Peak { get; init; }

    /// <summary>Model FLOPs per trained token: 6N + 12 L H Q T.</summary>
    public double FlopsPerToken { get; init; }
}
