using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// <c>manifest.json</c> beside the shards: which tokenizer made them, what each was made from (the source's size,
/// modification time and SHA-256), how many tokens and stories each holds, and whether the run that wrote them
/// finished. A re-run skips the shards whose source is unchanged, re-encodes those whose source changed and removes
/// those whose source is gone; a reader rejects shards made with another tokenizer, truncated files and (unless asked)
/// a set whose run did not finish.
/// </summary>
public sealed class TokenShardManifest
{
    /// <summary>File name of the manifest inside a shard folder.</summary>
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Version of this manifest layout.</summary>
    public int FormatVersion { get; set; } = 1;

    /// <summary>Lower-case hex SHA-256 of the tokenizer <c>.model</c> bytes the shards were encoded with.</summary>
    public string TokenizerSha256 { get; set; } = "";

    /// <summary>Vocabulary size of that tokenizer.</summary>
    public int VocabSize { get; set; }

    /// <summary>
    /// SHA-256 of that tokenizer's pieces (<see cref="TokenizerFingerprint.PiecesSha256"/>): what a model fine-tuned
    /// on these shards must share. Null for shards written before it was recorded, or from ids without a tokenizer.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenizerPiecesSha256 { get; set; }

    /// <summary>The tokenizer of the shards as a fingerprint, or null when the manifest does not know its vocabulary.</summary>
    [JsonIgnore]
    public TokenizerFingerprint? Tokenizer => VocabSize > 0 ? new TokenizerFingerprint(VocabSize, TokenizerPiecesSha256) : null;

    /// <summary>
    /// True when the last run that wrote the folder finished every input; false while a run is under way, or after one
    /// stopped early (killed, cancelled, failed); null in manifests written before this was recorded.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Complete { get; set; }

    /// <summary>The finished shards, in file-name order.</summary>
    public List<TokenShardEntry> Shards { get; set; } = [];

    /// <summary>The entry for shard file <paramref name="fileName"/> (a name, not a path), or null.</summary>
    public TokenShardEntry? Find(string fileName) => Shards.FirstOrDefault(s => s.File == fileName);

    /// <summary>Lower-case hex SHA-256 of <paramref name="modelBytes"/>, as recorded in <see cref="TokenizerSha256"/>.</summary>
    public static string HashTokenizer(ReadOnlySpan<byte> modelBytes) => Convert.ToHexStringLower(SHA256.HashData(modelBytes));

    /// <summary>Reads the manifest of <paramref name="directory"/>, or returns null when there is none.</summary>
    public static TokenShardManifest? Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<TokenShardManifest>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"Shard manifest '{path}' is empty; delete it to rebuild the shards.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Shard manifest '{path}' is not valid JSON ({e.Message}); delete it to rebuild the shards.", e);
        }
    }

    /// <summary>Writes the manifest into <paramref name="directory"/> under a temporary name, then renames it.</summary>
    public void Save(string directory)
    {
        Shards.Sort((a, b) => string.CompareOrdinal(a.File, b.File));
        string path = Path.Combine(directory, FileName);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));
    }

    /// <summary>
    /// Checks that the shards <paramref name="files"/> of <paramref name="directory"/> agree with this manifest:
    /// the run finished (unless <paramref name="allowIncomplete"/>), the tokenizer (when
    /// <paramref name="expectedTokenizerSha256"/> is given) and every file's length.
    /// </summary>
    internal void Verify(string directory, IEnumerable<string> files, string? expectedTokenizerSha256, bool allowIncomplete = false)
    {
        string path = Path.Combine(directory, FileName);
        if (Complete == false && !allowIncomplete)
            throw new InvalidDataException(
                $"Shard folder '{directory}' is incomplete: the pretokenize run that wrote it did not finish (manifest '{path}' lists {Shards.Count} finished shard(s)). " +
                "Run `tinyllm pretokenize` (or SaveAsTokenShards) again to finish it, or set AllowIncompleteShards to train on the shards that are there.");
        if (expectedTokenizerSha256 is not null && !string.Equals(expectedTokenizerSha256, TokenizerSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"The shards in '{directory}' were made with another tokenizer: manifest '{path}' names tokenizer SHA-256 {TokenizerSha256}, " +
                $"but the given tokenizer's is {expectedTokenizerSha256}. Pretokenize again with this tokenizer (or pass the one they were made with).");
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            var entry = Find(name)
                ?? throw new InvalidDataException($"Shard '{file}' is not listed in manifest '{path}': it was not finished or comes from elsewhere; delete it or pretokenize again.");
            long bytes = new FileInfo(file).Length;
            TokenShardFormat.CheckLength(file, bytes);
            if (bytes != entry.Tokens * 2)
                throw new InvalidDataException(
                    $"Shard '{file}' is {bytes:N0} bytes, but manifest '{path}' records {entry.Tokens:N0} tokens ({entry.Tokens * 2:N0} bytes): the file is truncated or was changed; pretokenize again.");
        }
    }
}

/// <summary>One finished shard in a <see cref="TokenShardManifest"/>.</summary>
public sealed class TokenShardEntry
{
    /// <summary>File name of the shard, e.g. <c>data00.bin</c>.</summary>
    public string File { get; set; } = "";

    /// <summary>Name of the input it was made from, e.g. <c>data00.json</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Source { get; set; }

    /// <summary>Size in bytes of the source (the file, or the UTF-8 text of stories given in memory); null if unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? SourceSize { get; set; }

    /// <summary>Last write time (UTC) of the source file when the shard was made; null for stories given in memory.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? SourceModified { get; set; }

    /// <summary>Lower-case hex SHA-256 of the source's bytes (or of the stories' text); null if unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SourceHash { get; set; }

    /// <summary>Number of tokens in the shard (its length in bytes is twice this).</summary>
    public long Tokens { get; set; }

    /// <summary>Number of stories encoded into the shard (one BOS each).</summary>
    public long Stories { get; set; }
}
