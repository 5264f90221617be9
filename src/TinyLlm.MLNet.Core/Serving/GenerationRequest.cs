using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet.Serving;

/// <summary>
/// One request submitted to a <see cref="GenerationScheduler"/>: its text streams out of <see cref="ReadPiecesAsync"/>
/// a piece at a time as it is decoded, and <see cref="Completion"/> gives the whole outcome at the end. Cancelling
/// (<see cref="Cancel"/>, or the token given to <see cref="GenerationScheduler.Submit"/>) frees its slot before the
/// next decoding step.
/// </summary>
public sealed class GenerationRequest
{
    private readonly GenerationScheduler _scheduler;
    private readonly Channel<string> _pieces = Channel.CreateUnbounded<string>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });
    private readonly TaskCompletionSource<GenerationOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StopSequenceFilter _stops;
    private readonly System.Text.StringBuilder _text = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private CancellationTokenRegistration _registration;
    private TimeSpan _queueTime, _firstToken;
    private int _cancelRequested;

    internal GenerationRequest(GenerationScheduler scheduler, SequenceState sequence, SamplingOptions sampling, IReadOnlyList<string> stops)
    {
        _scheduler = scheduler;
        Sequence = sequence;
        Sampling = sampling;
        _stops = new StopSequenceFilter(stops);
    }

    /// <summary>The prompt's length in tokens, BOS included.</summary>
    public int PromptTokens => Sequence.Prompt.Length;

    /// <summary>The sampling options the request runs with (its seed included).</summary>
    public SamplingOptions Sampling { get; }

    /// <summary>
    /// The outcome, once generation ends; canceled if the request was cancelled, faulted if the scheduler failed or
    /// was disposed first.
    /// </summary>
    public Task<GenerationOutcome> Completion => _completion.Task;

    /// <summary>
    /// The generated text, a piece at a time as tokens are decoded (a piece holds whole characters; text that may
    /// begin a stop sequence waits until it is clear that it does not). Ends when generation ends; throws
    /// <see cref="OperationCanceledException"/> if the request is cancelled. One reader.
    /// </summary>
    public async IAsyncEnumerable<string> ReadPiecesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = _pieces.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            while (reader.TryRead(out string? piece))
                yield return piece;
    }

    /// <summary>Stops the request: its slot is freed before the next decoding step (a waiting request leaves the queue now).</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _cancelRequested, 1) == 0) _scheduler.OnCancel(this);
    }

    // ---- the scheduler's side (its thread, or under its lock) ----

    internal SequenceState Sequence { get; }

    internal bool CancelRequested => Volatile.Read(ref _cancelRequested) != 0;

    internal bool IsCompleted => _completion.Task.IsCompleted;

    /// <summary>The slot it runs in, -1 while waiting.</summary>
    internal int Slot { get; set; } = -1;

    /// <summary>Tokens to run before the next sample (the prompt, or a refill window) and how many have run.</summary>
    internal int[] Feed { get; set; } = [];

    internal int Fed { get; set; }

    internal void Watch(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled) _registration = cancellationToken.Register(static r => ((GenerationRequest)r!).Cancel(), this);
    }

    internal void Admitted(int slot)
    {
        Slot = slot;
        Feed = Sequence.Prompt;
        Fed = 0;
        _queueTime = _clock.Elapsed;
    }

    /// <summary>Releases a decoded piece (through the stop sequences); false once a stop sequence ended the text.</summary>
    internal bool Emit(string piece)
    {
        if (_firstToken == TimeSpan.Zero) _firstToken = _clock.Elapsed;
        Release(_stops.Push(piece));
        return !_stops.Stopped;
    }

    internal void Finish(GenerationFinishReason reason)
    {
        if (!_stops.Stopped)
        {
            string rest = Sequence.Flush();
            if (rest.Length > 0) Emit(rest);
        }
        Release(_stops.Flush());
        if (_stops.Stopped) reason = GenerationFinishReason.Stop;
        var outcome = new GenerationOutcome(_text.ToString(), Sequence.Generated.ToArray(), reason, PromptTokens, _queueTime,
            _firstToken == TimeSpan.Zero ? _clock.Elapsed : _firstToken, _clock.Elapsed);
        StopWatching();
        _pieces.Writer.TryComplete();
        _completion.TrySetResult(outcome);
    }

    internal void Cancelled()
    {
        StopWatching();
        _pieces.Writer.TryComplete(new OperationCanceledException("The generation request was cancelled."));
        _completion.TrySetCanceled();
    }

    internal void Fail(Exception error)
    {
        StopWatching();
        _pieces.Writer.TryComplete(error);
        _completion.TrySetException(error);
    }

    // Unregister, not Dispose: Dispose waits for a running callback, and that one may be waiting for the scheduler.
    private void StopWatching() => _registration.Unregister();

    // Text the client may see: it goes out as a piece and into the final text.
    private void Release(string text)
    {
        if (text.Length == 0) return;
        _text.Append(text);
        _pieces.Writer.TryWrite(text);
    }
}
