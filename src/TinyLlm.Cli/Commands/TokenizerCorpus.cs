using TinyLlm.MLNet.Stories;

namespace TinyLlm.Cli.Commands;

/// <summary>The text a tokenizer is trained on when the corpus is a TinyStories dataset directory.</summary>
internal static class TokenizerCorpus
{
    /// <summary>
    /// The stories of the first <paramref name="shardCount"/> shards (all when null), each stripped of surrounding
    /// whitespace, as llama2.c's <c>train_vocab</c> writes them into the text file it gives spm_train.
    /// </summary>
    public static IEnumerable<string> FromDataset(string datasetDir, int? shardCount)
    {
        var stories = TinyStoriesReader.ReadStories(datasetDir, new TinyStoriesOptions { ShardCount = shardCount });
        return stories.Select(s => s.Trim());
    }
}
