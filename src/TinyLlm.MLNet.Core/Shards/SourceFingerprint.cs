using System.Security.Cryptography;
using System.Text;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// What a shard was made from, as its manifest entry records it (<see cref="TokenShardEntry.SourceSize"/>,
/// <see cref="TokenShardEntry.SourceModified"/>, <see cref="TokenShardEntry.SourceHash"/>): a source file's size, its
/// modification time and the SHA-256 of its bytes, or, for stories held in memory (an <c>IDataView</c>), the size
/// and SHA-256 of their text. A re-run keeps a shard only while its source is the same.
/// </summary>
internal sealed class SourceFingerprint
{
    private readonly Func<string> _hash;
    private string? _computed;

    private SourceFingerprint(long size, DateTime? modified, Func<string> hash)
    {
        Size = size;
        Modified = modified;
        _hash = hash;
    }

    /// <summary>Bytes of the source file, or of the stories' UTF-8 text.</summary>
    public long Size { get; }

    /// <summary>The file's last write time (UTC); null for stories in memory.</summary>
    public DateTime? Modified { get; }

    /// <summary>Lower-case hex SHA-256 of the content, computed on first use.</summary>
    public string Hash => _computed ??= _hash();

    /// <summary>The file at <paramref name="path"/> as it is now.</summary>
    public static SourceFingerprint OfFile(string path)
    {
        var info = new FileInfo(path);
        return new SourceFingerprint(info.Length, info.LastWriteTimeUtc, () =>
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }

    /// <summary>Stories held in memory: their UTF-8 text, each ended by a zero byte so that boundaries count.</summary>
    public static SourceFingerprint OfStories(IReadOnlyList<string> stories)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        foreach (string story in stories)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(story ?? "");
            hash.AppendData(bytes);
            hash.AppendData([0]);
            size += bytes.Length;
        }
        string hex = Convert.ToHexStringLower(hash.GetHashAndReset());
        return new SourceFingerprint(size, null, () => hex);
    }

    /// <summary>Token rows held in memory: their ids as little-endian int32, each row preceded by its length.</summary>
    public static SourceFingerprint OfTokens(IReadOnlyList<int[]> rows)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        Span<byte> number = stackalloc byte[4];
        foreach (int[] row in rows)
        {
            BitConverter.TryWriteBytes(number, row.Length);
            hash.AppendData(number);
            foreach (int id in row)
            {
                BitConverter.TryWriteBytes(number, id);
                hash.AppendData(number);
            }
            size += 4L * row.Length;
        }
        string hex = Convert.ToHexStringLower(hash.GetHashAndReset());
        return new SourceFingerprint(size, null, () => hex);
    }

    /// <summary>
    /// Whether <paramref name="entry"/> was made from this source. A file of the same size and modification time is
    /// taken as unchanged without reading it (as make and rsync do); otherwise the content hash decides, so a file
    /// touched or copied without change keeps its shard. An entry without a fingerprint (a manifest written before
    /// they were recorded) never matches.
    /// </summary>
    public bool Matches(TokenShardEntry entry)
    {
        if (entry.SourceHash is null || entry.SourceSize != Size) return false;
        if (Modified is not null && entry.SourceModified == Modified) return true;
        return string.Equals(entry.SourceHash, Hash, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Records this source in <paramref name="entry"/>.</summary>
    public void WriteTo(TokenShardEntry entry)
    {
        entry.SourceSize = Size;
        entry.SourceModified = Modified;
        entry.SourceHash = Hash;
    }
}
