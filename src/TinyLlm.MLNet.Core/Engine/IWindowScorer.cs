namespace TinyLlm.MLNet.Engine;

/// <summary>
/// What evaluating a language model needs from a forward pass: for each window of token ids, the negative
/// log-likelihood of every id after the first given the ids before it (the training loss, summed instead of
/// averaged). The .NET engine scores position by position through its key/value cache with the windows in separate
/// slots (<see cref="DecoderWindowScorer"/>); the TorchSharp model scores each batch of windows in one forward pass.
/// Not thread-safe.
/// </summary>
internal interface IWindowScorer : IDisposable
{
    /// <summary>The model's sizes.</summary>
    LlamaConfig Config { get; }

    /// <summary>How many windows one <see cref="Score"/> call takes at most.</summary>
    int MaxWindows { get; }

    /// <summary>
    /// Sets <c>nll[i]</c> to the summed negative log-likelihood, in nats, of ids <c>1 .. n-1</c> of
    /// <c>windows[i]</c> (2 to max_seq_len + 1 ids), each given the ids before it in the window.
    /// </summary>
    void Score(ReadOnlySpan<int[]> windows, Span<double> nll);
}
