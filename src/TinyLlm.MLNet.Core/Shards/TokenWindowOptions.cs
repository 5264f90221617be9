namespace TinyLlm.MLNet.Shards;

/// <summary>
/// How a token stream is cut into training windows and split, shared by every <see cref="TokenWindowBatchSource"/>.
/// </summary>
/// <remarks>
/// Reference semantics (llama2.c's <c>PretokDataset</c>): a shard of <c>n</c> tokens gives <c>n / SequenceLength - 1</c>
/// windows of <c>SequenceLength + 1</c> tokens starting at <c>ix * SequenceLength</c>; the input is the first
/// <c>SequenceLength</c> tokens of a window and the target the last <c>SequenceLength</c>.
/// </remarks>
public class TokenWindowOptions
{
    /// <summary>Tokens per input row (the model's context length, llama2.c's <c>max_seq_len</c>).</summary>
    public int SequenceLength = 256;

    /// <summary>Indices of the shards (in file-name order) that form the validation split; every other shard is training data.</summary>
    public int[] ValidationShards = [0];

    /// <summary>Whether batches visit windows in a seeded random order (a new permutation each epoch) rather than in file order.</summary>
    public bool Shuffle = true;

    /// <summary>Seed of the window permutations: the same seed gives the same batches.</summary>
    public int Seed = 1337;

    internal void Validate()
    {
        if (SequenceLength < 1)
            throw new ArgumentOutOfRangeException(nameof(SequenceLength), SequenceLength, $"{nameof(SequenceLength)} must be at least 1.");
        if (ValidationShards is null)
            throw new ArgumentNullException(nameof(ValidationShards), $"{nameof(ValidationShards)} must be an array (empty for no validation split).");
    }
}
