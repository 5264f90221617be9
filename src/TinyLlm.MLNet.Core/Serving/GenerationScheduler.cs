using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet.Serving;

/// <summary>
/// Continuous batching: many concurrent requests share one decoder with <see cref="GenerationSchedulerOptions.MaxBatch"/>
/// slots, and every decoding step advances all of them in one pass over the weights. A request that arrives while
/// others are generating takes a free slot between two steps (or waits, up to
/// <see cref="GenerationSchedulerOptions.MaxWaiting"/> requests), and leaves when it is done or cancelled, freeing its
/// slot for the next. Thread-safe: submit from any thread; one background thread runs the steps.
/// </summary>
/// <remarks>
/// <para>
/// A newly admitted request's prompt runs one token per step, in the same forward pass as the other requests' new
/// tokens (on the CPU a pass costs about the same for one sequence or several, since it is bound by reading the
/// weights), so the requests already generating never stall for a long prompt.
/// </para>
/// <para>
/// A request's tokens never depend on what else runs: each is sampled by its own <see cref="Sampler"/> (its seed
/// alone decides the draws), and the .NET engine computes a slot's logits to the same bits whatever the other slots
/// hold. A request therefore gets exactly the text <see cref="TextGenerator.Generate"/> gives for the same prompt and
/// options (the one difference: a prompt longer than the context is refused here, where the library crops it). On
/// the TorchSharp backend the logits of a batch can differ from those of one sequence in the last bits.
/// </para>
/// </remarks>
public sealed class GenerationScheduler : IDisposable
{
    private readonly TextGenerator _generator;
    private readonly GenerationSchedulerOptions _options;
    private readonly ITokenDecoder _decoder;
    private readonly Lock _gate = new();
    private readonly LinkedList<GenerationRequest> _waiting = new();
    private readonly GenerationRequest?[] _slots;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly int[] _stepSlots, _stepTokens, _stepPositions;
    private int _occupied;
    private long _generatedTokens;
    private bool _disposed;

    /// <summary>Creates a scheduler over <paramref name="generator"/>'s model and starts its thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The generator's backend is not available (see <see cref="DecoderBackends.Select"/>).</exception>
    public GenerationScheduler(TextGenerator generator, GenerationSchedulerOptions? options = null)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _options = options?.Clone() ?? new GenerationSchedulerOptions();
        _options.Validate();
        int slots = _options.MaxBatch;
        _decoder = generator.CreateDecoder(slots);
        _slots = new GenerationRequest?[slots];
        _stepSlots = new int[slots];
        _stepTokens = new int[slots];
        _stepPositions = new int[slots];
        _thread = new Thread(Run) { IsBackground = true, Name = "TinyLlm generation scheduler" };
        _thread.Start();
    }

    /// <summary>The generator (model and tokenizer) requests run on.</summary>
    public TextGenerator Generator => _generator;

    /// <summary>How many requests generate together.</summary>
    public int MaxBatch => _options.MaxBatch;

    /// <summary>How many requests may wait for a slot.</summary>
    public int MaxWaiting => _options.MaxWaiting;

    /// <summary>The model's context length: a prompt may have at most one token less (BOS included).</summary>
    public int ContextLength => _generator.Weights.Config.MaxSeqLen;

    /// <summary>Requests generating now.</summary>
    public int Active
    {
        get { lock (_gate) return _occupied; }
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Tokens generated since the scheduler started, all requests together.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>
    /// Queues a request to continue <paramref name="prompt"/> (encoded with BOS first) as <paramref name="sampling"/> says,
    /// stopping early at the first of <paramref name="stopSequences"/> (the text is cut before it).
    /// </summary>
    /// <param name="prompt">The text to continue.</param>
    /// <param name="sampling">Temperature, top-k, top-p, seed and token budget (copied).</param>
    /// <param name="stopSequences">Texts that end generation where they appear; null or empty for none.</param>
    /// <param name="cancellationToken">Cancels the request (its slot is freed before the next step).</param>
    /// <exception cref="ArgumentOutOfRangeException">A sampling option is out of range (named).</exception>
    /// <exception cref="ArgumentException">A stop sequence is empty.</exception>
    /// <exception cref="PromptTooLongException">The prompt leaves no room in the context for a new token.</exception>
    /// <exception cref="SchedulerFullException">Every slot is busy and <see cref="MaxWaiting"/> requests already wait.</exception>
    public GenerationRequest Submit(string prompt, SamplingOptions sampling, IReadOnlyList<string>? stopSequences = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(sampling);
        var options = sampling.Clone();
        options.Validate();
        string[] stops = stopSequences?.ToArray() ?? [];
        if (stops.Any(string.IsNullOrEmpty))
            throw new ArgumentException("A stop sequence must not be empty.", nameof(stopSequences));
        int[] ids = _generator.Tokenizer.Encode(prompt, addBeginningOfSentence: true, addEndOfSentence: false).ToArray();
        if (ids.Length > ContextLength - 1) throw new PromptTooLongException(ids.Length, ContextLength, nameof(prompt));

        var request = new GenerationRequest(this, _generator.StartSequence(ids, options), options, stops);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_waiting.Count - (_slots.Length - _occupied) >= _options.MaxWaiting)
                throw new SchedulerFullException(_options.MaxBatch, _options.MaxWaiting);
            _waiting.AddLast(request);
            _wake.Set();
        }
        request.Watch(cancellationToken);
        return request;
    }

    /// <summary>Stops the thread; requests still waiting or generating fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _wake.Set();
        }
        _thread.Join();
        var gone = new ObjectDisposedException(nameof(GenerationScheduler), "The generation scheduler was disposed before the request finished.");
        foreach (var request in _waiting) request.Fail(gone);
        _waiting.Clear();
        for (int slot = 0; slot < _slots.Length; slot++) _slots[slot]?.Fail(gone);
        _decoder.Dispose();
        _wake.Dispose();
    }

    /// <summary>A request asked to stop: one still waiting leaves the queue now; a running one at the next step.</summary>
    internal void OnCancel(GenerationRequest request)
    {
        bool dequeued;
        lock (_gate)
        {
            dequeued = request.Slot < 0 && _waiting.Remove(request);
            _wake.Set();
        }
        if (dequeued) request.Cancelled();
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_disposed) return;
                Admit();
                if (_occupied == 0) _wake.Reset();
            }
            if (Volatile.Read(ref _occupied) == 0)
            {
                _wake.Wait();
                continue;
            }
            try
            {
                Step();
            }
            catch (Exception e)
            {
                // A failed forward pass (a GPU out of memory, say) fails the requests it was running, each with the
                // exception; the scheduler goes on, and the next requests start their slots afresh.
                for (int slot = 0; slot < _slots.Length; slot++)
                    if (_slots[slot] is { } request)
                    {
                        Release(slot);
                        request.Fail(e);
                    }
            }
        }
    }

    // Under the lock: waiting requests take the free slots, in order of arrival.
    private void Admit()
    {
        for (int slot = 0; slot < _slots.Length && _waiting.First is not null; slot++)
        {
            if (_slots[slot] is not null) continue;
            var request = _waiting.First.Value;
            _waiting.RemoveFirst();
            request.Admitted(slot);
            _slots[slot] = request;
            _occupied++;
        }
    }

    // One decoding step: every request samples its next token from its slot's logits (or runs the next token of its
    // prompt), then one forward pass runs all of their tokens.
    private void Step()
    {
        int n = 0;
        for (int slot = 0; slot < _slots.Length; slot++)
        {
            var request = _slots[slot];
            if (request is null) continue;
            if (request.CancelRequested)
            {
                Release(slot);
                request.Cancelled();
                continue;
            }
            if (request.Fed < request.Feed.Length)
            {
                Feed(request, ref n);
                continue;
            }
            var sequence = request.Sequence;
            var step = sequence.Advance(_decoder.Logits(slot), out string piece);
            if (step != SequenceStep.Ended) Interlocked.Increment(ref _generatedTokens);
            bool open = step == SequenceStep.Ended || request.Emit(piece);
            if (!open || step is SequenceStep.Ended or SequenceStep.BudgetSpent or SequenceStep.ContextFull)
            {
                Release(slot);
                request.Finish(step is SequenceStep.BudgetSpent or SequenceStep.ContextFull ? GenerationFinishReason.Length : GenerationFinishReason.Stop);
                continue;
            }
            if (step == SequenceStep.Refill)
            {
                request.Feed = sequence.Window;
                request.Fed = 0;
                Feed(request, ref n);
                continue;
            }
            Add(ref n, slot, sequence.NextToken, sequence.NextPosition);
        }
        if (n > 0)
            _decoder.Forward(new ReadOnlySpan<int>(_stepSlots, 0, n), new ReadOnlySpan<int>(_stepTokens, 0, n), new ReadOnlySpan<int>(_stepPositions, 0, n));
    }

    // The next token of a request's prompt (or refill window) joins this step, at its position.
    private void Feed(GenerationRequest request, ref int n)
    {
        int position = request.Fed++;
        Add(ref n, request.Slot, request.Feed[position], position);
    }

    private void Add(ref int n, int slot, int token, int position)
    {
        _stepSlots[n] = slot;
        _stepTokens[n] = token;
        _stepPositions[n++] = position;
    }

    private void Release(int slot)
    {
        lock (_gate)
        {
            _slots[slot] = null;
            _occupied--;
        }
    }
}
