namespace TinyLlm.MLNet.Training;

/// <summary>
/// When a training step hands freed libtorch memory back to the system (<see cref="NativeMemory.Trim"/>). Trimming
/// after every step kept resident memory flat but made the next step fault every page back in, and page faults are
/// dear on a virtual machine: seed model on the 2-core VM, 6 steps, interleaved, trimming every step against this
/// policy: fp32 292-335 against 620-822 tokens/s, bf16 417-455 against 967-1,108, with 10-15 s of system CPU time
/// against 4-6 s (docs/benchmarks.md). So the heap is trimmed only when the resident set has grown well past the
/// size the first steps settled at (glibc's heap creeping up with fragmentation, 1.0 to 2.1 GB untrimmed in an
/// earlier probe), which bounds memory (peak ~0.1 GB above trimming every step) at no measurable cost.
/// </summary>
internal sealed class HeapTrimPolicy
{
    private const int SettleSteps = 3;
    private const long MinHeadroom = 256L << 20;
    private int _steps;
    private long _limit;

    /// <summary>Called after each training step: trims when the resident set exceeds the limit.</summary>
    public void AfterStep()
    {
        long resident = Environment.WorkingSet;
        if (++_steps <= SettleSteps)
        {
            _limit = Math.Max(_limit, Limit(resident));
            return;
        }
        if (resident <= _limit) return;
        NativeMemory.Trim();
        _limit = Math.Max(_limit, Limit(Environment.WorkingSet)); // what trimming cannot return is the working set
    }

    private static long Limit(long resident) => resident + Math.Max(resident / 4, MinHeadroom);
}
