using TinyLlm.MLNet.Stories;

namespace TinyLlm.MLNet.Shards;

public sealed partial class TokenShardInput
{
    /// <summary>
    /// One input per TinyStories JSON shard of <paramref name="datasetDirectory"/> (<c>data00.json</c> gives
    /// <c>data00.bin</c>), in file-name order, each read with <see cref="TinyStoriesReader"/> when it is encoded. The
    /// manifest records each file's size, modification time and SHA-256: a re-run re-encodes a shard whose file
    /// changed and removes one whose file is gone.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no <c>.json</c> shards.</exception>
    public static IReadOnlyList<TokenShardInput> FromTinyStoriesFolder(string datasetDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetDirectory);
        if (File.Exists(datasetDirectory))
            throw new ArgumentException($"Dataset folder '{datasetDirectory}' is a file; give the folder that holds the TinyStories shards (data00.json, data01.json, ...).", nameof(datasetDirectory));
        if (!Directory.Exists(datasetDirectory))
            throw new DirectoryNotFoundException($"Dataset folder '{datasetDirectory}' does not exist; download TinyStories into it or write synthetic stories with `tinyllm synth --out {datasetDirectory}`.");
        var files = Directory.GetFiles(datasetDirectory, "*.json");
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length == 0)
            throw new FileNotFoundException($"Dataset folder '{datasetDirectory}' holds no TinyStories shards (data00.json, data01.json, ...).", datasetDirectory);
        return files.Select(f => new TokenShardInput(Path.GetFileNameWithoutExtension(f), Path.GetFileName(f),
            () => TinyStoriesReader.ReadStories(f), null, new FileInfo(f).Length, () => SourceFingerprint.OfFile(f))).ToArray();
    }
}
