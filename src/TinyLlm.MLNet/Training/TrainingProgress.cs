namespace TinyLlm.MLNet.Training;

/// <summary>What a <see cref="TrainingProgress"/> report is about.</summary>
public enum TrainingEvent
{
    /// <summary>An optimizer step finished (reported every <c>log_interval</c> iterations).</summary>
    Step,

    /// <summary>An evaluation finished: <see cref="TrainingProgress.TrainLoss"/> and <see cref="TrainingProgress.ValLoss"/> are set.</summary>
    Eval,

    /// <summary>A checkpoint was written to <see cref="TrainingProgress.CheckpointPath"/>.</summary>
    Checkpoint,

    /// <summary>
    /// A choice the trainer made about how it runs, in <see cref="TrainingProgress.Message"/>: libtorch's CPU threads
    /// and wait policy, and the peak FLOP/s that MFU is measured against.
    /// </summary>
    Setting,
}

/// <summary>One progress report of <see cref="LlamaTrainer"/>.</summary>
/// <param name="Event">What happened.</param>
/// <param name="Iter">The iteration (optimizer step) it concerns.</param>
/// <param name="MaxIters">The last iteration of the run.</param>
/// <param name="Loss">Mean training loss of the step's micro-batches (<see cref="TrainingEvent.Step"/>), else NaN.</param>
/// <param name="LearningRate">The learning rate of the step.</param>
/// <param name="StepMilliseconds">Wall time of the step.</param>
/// <param name="TokensPerSecond">Training tokens per second of the step.</param>
/// <param name="Mfu">Model FLOPs utilization, smoothed: achieved FLOP/s over the device's peak (<see cref="PeakFlops"/>); -1 until step 5 or when the peak is unknown.</param>
/// <param name="TrainLoss">Estimated training loss (<see cref="TrainingEvent.Eval"/>), else NaN.</param>
/// <param name="ValLoss">Estimated validation loss (<see cref="TrainingEvent.Eval"/>), else NaN.</param>
/// <param name="CheckpointPath">The checkpoint written (<see cref="TrainingEvent.Checkpoint"/>), else null.</param>
/// <param name="FlopsPerSecond">Model FLOP/s achieved by the step (6N + 12 L H Q T per token, as llama2.c counts), else NaN.</param>
/// <param name="Message">The sentence of a <see cref="TrainingEvent.Setting"/> report, else null.</param>
public sealed record TrainingProgress(
    TrainingEvent Event,
    long Iter,
    long MaxIters,
    double Loss,
    double LearningRate,
    double StepMilliseconds,
    double TokensPerSecond,
    double Mfu,
    double TrainLoss = double.NaN,
    double ValLoss = double.NaN,
    string? CheckpointPath = null,
    double FlopsPerSecond = double.NaN,
    string? Message = null);
