namespace TinyLlm.MLNet.Stories.Download;

/// <summary>What <see cref="TinyStoriesDownloader.DownloadAsync"/> is doing.</summary>
public enum TinyStoriesDownloadStage
{
    /// <summary>Fetching (or copying) the archive into <c>&lt;dir&gt;/&lt;name&gt;.part</c>.</summary>
    Downloading,

    /// <summary>Unpacking the shards out of the archive.</summary>
    Extracting,
}

/// <summary>Progress of <see cref="TinyStoriesDownloader.DownloadAsync"/>.</summary>
/// <param name="Stage">Downloading or extracting.</param>
/// <param name="Bytes">Bytes of the archive done so far (downloaded, or read while extracting); a resumed download starts at the bytes it already had.</param>
/// <param name="TotalBytes">Size of the archive, when the server says.</param>
/// <param name="Entry">While extracting: the file being written.</param>
public readonly record struct TinyStoriesDownloadProgress(TinyStoriesDownloadStage Stage, long Bytes, long? TotalBytes, string? Entry);
