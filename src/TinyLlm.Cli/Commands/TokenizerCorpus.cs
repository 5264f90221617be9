namespace TinyLlm.Cli.Commands;

/// <summary>The text a tokenizer is trained on when the corpus is a TinyStories dataset directory.</summary>
internal static class TokenizerCorpus
{
    /// <summary>Stories of the dataset in <paramref name="datasetDir"/>, stripped, as llama2.c's train_vocab writes them.</summary>
    public static IEnumerable<string> FromDataset(string datasetDir, int? shardCount)
    {
        if (!Directory.Exists(datasetDir)) throw new DirectoryNotFoundException($"Dataset directory '{datasetDir}' does not exist.");
        throw new NotSupportedException("Reading TinyStories shards is not available in this build; use --input FILE.");
    }
}
