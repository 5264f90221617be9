namespace TinyLlm.MLNet.Stories;

/// <summary>
/// Which stories <see cref="TinyStoriesReader.ReadStories"/> and <c>mlContext.Data.LoadTinyStories</c> read.
/// </summary>
public sealed class TinyStoriesOptions
{
    /// <summary>
    /// How many shards (files, in name order) to read, starting at <see cref="FirstShard"/>; <see langword="null"/>
    /// reads every remaining shard. The llama2.c tutorial trains its tokenizer on the first 10 shards.
    /// </summary>
    public int? ShardCount;

    /// <summary>Index of the first shard to read, in name order (0 = <c>data00.json</c>).</summary>
    public int FirstShard = 0;

    /// <summary>Stop after this many stories; <see langword="null"/> reads every story of the chosen shards.</summary>
    public long? MaxRows;

    /// <summary>Name of the single text column of the <c>IDataView</c>.</summary>
    public string TextColumnName = "Text";
}
