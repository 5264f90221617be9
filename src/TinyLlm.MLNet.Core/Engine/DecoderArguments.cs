namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The one check of <see cref="ITokenDecoder"/>'s arguments, shared by every decoder (the .NET engine and the
/// TorchSharp one), so that all backends refuse the same calls, with the same words, before touching any state.
/// </summary>
internal static class DecoderArguments
{
    /// <summary>Checks one <see cref="ITokenDecoder.Forward"/> call: 1 to <paramref name="slotCount"/> triples, distinct slots, ids and positions in range.</summary>
    public static void CheckForward(LlamaConfig config, int slotCount, ReadOnlySpan<int> slots, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
    {
        int n = slots.Length;
        if (n == 0 || n > slotCount || tokens.Length != n || positions.Length != n)
            throw new ArgumentException($"Forward takes 1 to {slotCount} (slot, token, position) triples of equal length; got {slots.Length}, {tokens.Length}, {positions.Length}.");
        for (int i = 0; i < n; i++)
        {
            CheckSlot(slots[i], slotCount, slots[..i]);
            CheckToken(config, tokens[i]);
            if ((uint)positions[i] >= (uint)config.MaxSeqLen)
                throw new ArgumentOutOfRangeException(nameof(positions), $"Position {positions[i]} is outside the context [0, {config.MaxSeqLen}).");
        }
    }

    /// <summary>Checks one <see cref="ITokenDecoder.Prefill"/> call and returns the longest sequence's length.</summary>
    public static int CheckPrefill(LlamaConfig config, int slotCount, ReadOnlySpan<int> slots, ReadOnlySpan<int[]> sequences)
    {
        int n = slots.Length;
        if (n == 0 || n > slotCount || sequences.Length != n)
            throw new ArgumentException($"Prefill takes 1 to {slotCount} (slot, sequence) pairs of equal length; got {slots.Length} and {sequences.Length}.");
        int longest = 0;
        for (int i = 0; i < n; i++)
        {
            CheckSlot(slots[i], slotCount, slots[..i]);
            var sequence = sequences[i];
            if (sequence is null || sequence.Length == 0 || sequence.Length > config.MaxSeqLen)
                throw new ArgumentException($"Each prefilled sequence needs 1 to {config.MaxSeqLen} (the context) tokens; got {sequence?.Length ?? 0}.", nameof(sequences));
            foreach (int token in sequence) CheckToken(config, token);
            longest = Math.Max(longest, sequence.Length);
        }
        return longest;
    }

    /// <summary>
    /// Checks one <see cref="IWindowScorer.Score"/> call: 1 to <paramref name="maxWindows"/> windows of 2 to
    /// max_seq_len + 1 ids in range (a window predicts its ids after the first from the ids before them), and one
    /// output value per window.
    /// </summary>
    public static void CheckWindows(LlamaConfig config, int maxWindows, ReadOnlySpan<int[]> windows, int outputLength)
    {
        if (windows.Length == 0 || windows.Length > maxWindows || outputLength != windows.Length)
            throw new ArgumentException($"Score takes 1 to {maxWindows} windows and one output value per window; got {windows.Length} windows and {outputLength} values.");
        foreach (var window in windows)
        {
            if (window is null || window.Length < 2 || window.Length > config.MaxSeqLen + 1)
                throw new ArgumentException($"Each scored window needs 2 to max_seq_len + 1 = {config.MaxSeqLen + 1} tokens; got {window?.Length ?? 0}.", nameof(windows));
            foreach (int token in window) CheckToken(config, token);
        }
    }

    /// <summary>Checks a slot number against a decoder of <paramref name="slotCount"/> slots.</summary>
    public static void CheckSlot(int slot, int slotCount)
    {
        if ((uint)slot >= (uint)slotCount) throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is outside [0, {slotCount}).");
    }

    private static void CheckSlot(int slot, int slotCount, ReadOnlySpan<int> earlier)
    {
        CheckSlot(slot, slotCount);
        if (earlier.Contains(slot)) throw new ArgumentException($"Slot {slot} appears twice in one call; each sequence advances once per call.", nameof(slot));
    }

    private static void CheckToken(LlamaConfig config, int token)
    {
        if ((uint)token >= (uint)config.VocabSize) throw new ArgumentOutOfRangeException(nameof(token), $"Token id {token} is outside the vocabulary [0, {config.VocabSize}).");
    }
}
