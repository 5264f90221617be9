namespace TinyLlm.MLNet.Generation;

/// <summary>
/// A small pool of threads that share one piece of work, split into chunks, with almost no start-up cost: for the
/// many short matrix-vector products of batch-1 decoding (tens of microseconds each, where
/// <see cref="Parallel.For(int, int, Action{int})"/> costs as much as the work). The caller claims chunks too, so
/// when the workers are slow to wake (a busy machine) it simply does more of the work itself instead of waiting.
/// Workers spin briefly for the next job, then sleep. One job runs at a time: a caller that finds the pool busy
/// runs its job alone, so engines on several threads stay correct.
/// </summary>
internal sealed class RowWorkers
{
    /// <summary>The process-wide pool, one thread per core besides the caller's.</summary>
    public static readonly RowWorkers Shared = new(Environment.ProcessorCount);

    private readonly int _threads;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private Action<int, int>? _job;
    private int _chunks;
    private int _next;
    private int _done;
    private int _generation;
    private int _sleeping;

    private RowWorkers(int threads)
    {
        _threads = Math.Max(1, threads);
        for (int i = 1; i < _threads; i++)
            new Thread(Work) { IsBackground = true, Name = $"TinyLlm decode worker {i}" }.Start();
    }

    /// <summary>The threads that share a job (the caller's included).</summary>
    public int Threads => _threads;

    /// <summary>How many chunks a job should have: a few per thread, so that the load evens out.</summary>
    public int SuggestedChunks => _threads == 1 ? 1 : 4 * _threads;

    /// <summary>Runs <paramref name="job"/>(chunk, chunks) for every chunk; returns when all are done.</summary>
    public void Run(Action<int, int> job, int chunks)
    {
        if (_threads == 1 || chunks == 1 || !_gate.TryEnter())
        {
            for (int c = 0; c < chunks; c++) job(c, chunks);
            return;
        }
        try
        {
            _job = job;
            _chunks = chunks;
            Volatile.Write(ref _done, 0);
            Volatile.Write(ref _next, 0);
            Interlocked.Increment(ref _generation);
            int sleepers = Volatile.Read(ref _sleeping);
            if (sleepers > 0) _wake.Release(sleepers);
            Claim(job, chunks);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < chunks) spin.SpinOnce(sleep1Threshold: -1);
            _job = null;
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void Claim(Action<int, int> job, int chunks)
    {
        int c;
        while ((c = Interlocked.Increment(ref _next) - 1) < chunks)
        {
            job(c, chunks);
            Interlocked.Increment(ref _done);
        }
    }

    private void Work()
    {
        int seen = 0;
        while (true)
        {
            // Spin a little for the next job: the next product of the same token follows within microseconds.
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && spins++ < 2_000) Thread.SpinWait(30);
            if (Volatile.Read(ref _generation) == seen)
            {
                Interlocked.Increment(ref _sleeping);
                while (Volatile.Read(ref _generation) == seen) _wake.Wait(1);
                Interlocked.Decrement(ref _sleeping);
            }
            seen = Volatile.Read(ref _generation);
            var job = _job;
            if (job is not null) Claim(job, _chunks);
        }
    }
}
