using Microsoft.ML;
using TinyLlm.MLNet.Stories;

namespace TinyLlm.MLNet;

/// <summary>Loads TinyStories (or any one-story-per-line corpus) as an ML.NET <see cref="IDataView"/>.</summary>
public static class TinyStoriesCatalog
{
    /// <summary>
    /// Loads the stories under <paramref name="path"/> as a lazy <see cref="IDataView"/> with one text column
    /// (<see cref="TinyStoriesOptions.TextColumnName"/>, <c>"Text"</c> by default), one row per story, in file order.
    /// Nothing is read until a cursor moves; every cursor streams the files in constant memory.
    /// </summary>
    /// <param name="catalog">The <c>mlContext.Data</c> catalog.</param>
    /// <param name="path">
    /// A folder of TinyStories shards (<c>data00.json</c> .. <c>data49.json</c>, as extracted by <c>tinyllm download</c>
    /// or written by <c>tinyllm synth</c>), a single <c>.json</c> shard, a <c>.txt</c> file, or a folder of <c>.txt</c>
    /// files with one story per line.
    /// </param>
    /// <param name="options">Which shards and how many stories; defaults read everything.</param>
    /// <returns>The stories; <see cref="IDataView.GetRowCount"/> is null because it is unknown until read.</returns>
    /// <example>
    /// <code>
    /// var mlContext = new MLContext(seed: 0);
    /// IDataView stories = mlContext.Data.LoadTinyStories("TinyStories", new TinyStoriesOptions { ShardCount = 10 });
    /// foreach (var row in mlContext.Data.CreateEnumerable&lt;Story&gt;(stories, reuseRowObject: false).Take(3))
    ///     Console.WriteLine(row.Text);
    /// // class Story { public string Text { get; set; } = ""; }
    /// </code>
    /// </example>
    public static IDataView LoadTinyStories(this DataOperationsCatalog catalog, string path, TinyStoriesOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        options ??= new TinyStoriesOptions();
        return new TinyStoriesDataView(TinyStoriesSource.Resolve(path, options), options.TextColumnName);
    }
}
