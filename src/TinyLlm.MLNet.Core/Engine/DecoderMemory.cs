namespace TinyLlm.MLNet.Engine;

/// <summary>
/// The memory a decoder allocates up front (the key/value cache of every sequence over the whole context, the
/// attention scores, the RoPE tables, the activations), checked before it is allocated: a model whose context is two
/// billion positions, or a million sequences in one batch, is an error that gives the size asked and the limit, not
/// an overflow deep inside the allocation.
/// </summary>
internal static class DecoderMemory
{
    /// <summary>Bytes a decoder of <paramref name="slots"/> sequences over <paramref name="config"/> allocates.</summary>
    public static decimal Bytes(LlamaConfig config, int slots)
    {
        decimal positions = config.MaxSeqLen;
        decimal perSlot = 2m * config.NLayers * positions * config.KvDim   // keys and values
            + config.NHeads * positions                                    // attention scores
            + 5m * config.Dim + 2m * config.FeedForwardDim + config.VocabSize; // activations and logits
        decimal rope = positions * config.HeadDim;                       // cos and sin tables
        return 4m * (slots * perSlot + rope);
    }

    /// <summary>Throws unless the decoder fits in .NET's arrays and in the memory this process may use.</summary>
    /// <exception cref="InsufficientMemoryException">The decoder would not fit; the message gives both sizes.</exception>
    public static void Check(LlamaConfig config, int slots) => Check(config, slots, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary><see cref="Check(LlamaConfig, int)"/> against <paramref name="available"/> bytes.</summary>
    internal static void Check(LlamaConfig config, int slots, long available)
    {
        decimal cacheValues = (decimal)slots * config.NLayers * config.MaxSeqLen * config.KvDim;
        decimal scores = (decimal)slots * config.NHeads * config.MaxSeqLen;
        decimal bytes = Bytes(config, slots);
        string what = $"Generating {slots:N0} sequence(s) of up to {config.MaxSeqLen:N0} positions (the model's context length) with " +
            $"{config.NLayers} layers of {config.KvDim} key and value channels needs {bytes / 1e9m:N1} GB for the key/value cache and buffers";
        const string fix = "Generate fewer sequences at once, or use a model with a shorter context.";
        if (Math.Max(cacheValues, scores) > Array.MaxLength)
            throw new InsufficientMemoryException(
                $"{what}, in arrays of {Math.Max(cacheValues, scores):N0} values: more than the {Array.MaxLength:N0} a .NET array holds. {fix}");
        if (bytes > available)
            throw new InsufficientMemoryException($"{what}, but this process may use {available / 1e9:N1} GB. {fix}");
    }
}
