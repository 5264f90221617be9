namespace TinyLlm.MLNet.Shards;

/// <summary>
/// The shard file format, llama2.c's: token ids as raw little-endian uint16, no header, every story BOS-first
/// with no EOS, concatenated. Also the folder conventions (<c>dataNN.bin</c>, the manifest).
/// </summary>
public static class TokenShardFormat
{
    /// <summary>File extension of a shard.</summary>
    public const string Extension = ".bin";

    /// <summary>Largest vocabulary a uint16 shard can hold (ids 0 to 65,535).</summary>
    public const int MaxVocabSize = 65_536;

    /// <summary>The folder llama2.c writes shards of a <paramref name="vocabSize"/> tokenizer into: <c>tok{vocabSize}</c>.</summary>
    public static string ShardFolderName(int vocabSize) => $"tok{vocabSize}";

    /// <summary>The shard files of <paramref name="directory"/> in ordinal file-name order (<c>data00.bin</c>, <c>data01.bin</c>, ...).</summary>
    public static string[] ListShards(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Shard folder '{directory}' does not exist; run `tinyllm pretokenize` or SaveAsTokenShards first.");
        var files = Directory.GetFiles(directory, "*" + Extension);
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length == 0)
            throw new InvalidDataException($"Shard folder '{directory}' holds no {Extension} shards; run `tinyllm pretokenize` or SaveAsTokenShards first.");
        return files;
    }

    internal static void CheckVocabSize(int vocabSize, string what)
    {
        if (vocabSize > MaxVocabSize)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"{what} has a vocabulary of {vocabSize:N0} tokens, but uint16 shards hold ids 0 to {MaxVocabSize - 1:N0}: the vocabulary must be at most {MaxVocabSize:N0}.");
    }

    internal static void CheckLength(string path, long bytes)
    {
        if (bytes % 2 != 0)
            throw new InvalidDataException($"Shard '{path}' is {bytes:N0} bytes long, an odd length: a shard is uint16 tokens, so it is truncated or not a shard.");
    }
}
