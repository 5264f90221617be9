using System.Runtime.CompilerServices;

namespace TinyLlm.MLNet.Engine;

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
    // The posted job. A worker reads it seqlock-style: _generation is odd while the caller is posting and even
    // once the job, its chunk count and the ticket are all in place, so a worker never pairs one job's delegate
    // with another's chunk count.
    private Action<int, int>? _job;
    private int _chunks;
    private int _done;
    private int _generation;
    // (generation << 32) | next unclaimed chunk: claiming a chunk is one compare-exchange that also checks the
    // chunk belongs to the job the claimer read, so a worker still finishing an old job cannot take (and lose) a
    // chunk of the next one.
    private long _ticket;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every product of every token: no tier-0 code
    public void Run(Action<int, int> job, int chunks)
    {
        if (_threads == 1 || chunks == 1 || !_gate.TryEnter())
        {
            for (int c = 0; c < chunks; c++) job(c, chunks);
            return;
        }
        try
        {
            int posting = _generation + 1; // only the gate holder writes _generation
            Volatile.Write(ref _generation, posting);
            _job = job;
            _chunks = chunks;
            Volatile.Write(ref _done, 0);
            int generation = posting + 1;
            Volatile.Write(ref _ticket, (long)generation << 32);
            Volatile.Write(ref _generation, generation);
            int sleepers = Volatile.Read(ref _sleeping);
            if (sleepers > 0) _wake.Release(sleepers);
            Claim(generation, job, chunks);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < chunks) spin.SpinOnce(sleep1Threshold: -1);
            _job = null;
        }
        finally
        {
            _gate.Exit();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every product of every token: no tier-0 code
    private void Claim(int generation, Action<int, int> job, int chunks)
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            int chunk = (int)(ticket & 0xFFFF_FFFF);
            if ((int)(ticket >> 32) != generation || chunk >= chunks) return;
            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket) continue;
            job(chunk, chunks);
            Interlocked.Increment(ref _done);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every product of every token: no tier-0 code
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
            int generation = Volatile.Read(ref _generation);
            if ((generation & 1) != 0) continue; // being posted: look again
            var job = Volatile.Read(ref _job);
            int chunks = Volatile.Read(ref _chunks);
            if (Volatile.Read(ref _generation) != generation) continue;
            seen = generation;
            if (job is not null) Claim(generation, job, chunks);
        }
    }
}
