namespace TinyLlm.MLNet.Shards;

/// <summary>
/// Training batches from a folder of memory-mapped <c>.bin</c> shards (llama2.c's <c>PretokDataset</c> semantics:
/// validation = shard 0, training = the rest). Windows are read from the page cache; nothing is loaded up front.
/// </summary>
public sealed class TokenShardBatchSource : TokenWindowBatchSource, IDisposable
{
    private readonly MappedTokenFile[] _files;

    private TokenShardBatchSource(MappedTokenFile[] files, string directory, TokenShardManifest? manifest, TokenWindowOptions options)
        : base(files.Select(f => (ReadOnlyMemory<ushort>)f.Memory).ToArray(), files.Select(f => f.Path).ToArray(), options)
    {
        _files = files;
        Directory = directory;
        Manifest = manifest;
        Tokenizer = manifest?.Tokenizer;
    }

    /// <summary>The shard folder.</summary>
    public string Directory { get; }

    /// <summary>The folder's manifest, or null for shards made elsewhere (e.g. by llama2.c).</summary>
    public TokenShardManifest? Manifest { get; }

    /// <summary>Shard file paths in split order (index = shard number in <see cref="TokenWindowOptions.ValidationShards"/>).</summary>
    public IReadOnlyList<string> ShardPaths => _files.Select(f => f.Path).ToArray();

    /// <summary>
    /// Opens every <c>.bin</c> of <paramref name="directory"/> (file-name order). When the folder has a manifest, each
    /// file's length is checked against it, the run that wrote it must have finished (unless
    /// <paramref name="allowIncompleteShards"/>), and, given <paramref name="tokenizerModelPath"/>, so is the tokenizer.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No shards, an unfinished set, an odd-length or truncated shard, another tokenizer, or a shard too small for one window.</exception>
    public static TokenShardBatchSource Open(string directory, TokenWindowOptions? options = null, string? tokenizerModelPath = null, bool allowIncompleteShards = false)
    {
        options ??= new TokenWindowOptions();
        string[] paths = TokenShardFormat.ListShards(directory);
        var manifest = TokenShardManifest.Load(directory);
        string? expected = null;
        if (tokenizerModelPath is not null)
        {
            if (!File.Exists(tokenizerModelPath))
                throw new FileNotFoundException($"Tokenizer model '{tokenizerModelPath}' does not exist.", tokenizerModelPath);
            expected = TokenShardManifest.HashTokenizer(File.ReadAllBytes(tokenizerModelPath));
            if (manifest is null)
                throw new InvalidDataException($"Shard folder '{directory}' has no {TokenShardManifest.FileName}, so its tokenizer cannot be checked; pretokenize it again with this tool or pass no tokenizer.");
        }
        manifest?.Verify(directory, paths, expected, allowIncompleteShards);

        var files = new List<MappedTokenFile>();
        try
        {
            foreach (string p in paths) files.Add(new MappedTokenFile(p));
            return new TokenShardBatchSource(files.ToArray(), directory, manifest, options);
        }
        catch
        {
            foreach (var f in files) ((IDisposable)f).Dispose();
            throw;
        }
    }

    /// <summary>Unmaps the shards; spans handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        foreach (var f in _files) ((IDisposable)f).Dispose();
    }
}
