namespace TinyLlm.MLNet.Stories;

/// <summary>Streams the stories of one file, one at a time, without holding the file in memory.</summary>
internal interface IStoryFileReader : IDisposable
{
    /// <summary>
    /// Moves to the next story. When <paramref name="decode"/> is false the story is validated and counted but not
    /// turned into a string (a cursor whose text column is inactive), and <paramref name="story"/> is null.
    /// </summary>
    bool TryReadNext(bool decode, out string? story);
}
