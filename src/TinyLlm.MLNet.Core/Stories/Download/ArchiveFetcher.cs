using System.Net;
using System.Net.Http.Headers;

namespace TinyLlm.MLNet.Stories.Download;

/// <summary>
/// Brings an archive into a local file, resuming a partial one: over HTTP(S) with a <c>Range</c> request (starting
/// again if the server ignores it), from a local path or <c>file://</c> URL by seeking the source.
/// </summary>
internal static class ArchiveFetcher
{
    private const int CopyBufferSize = 1 << 20;

    private static readonly Lazy<HttpClient> Http = new(() =>
    {
        var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None });
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("TinyLlm.MLNet", "1.0"));
        return client;
    });

    /// <summary>True for http:// and https:// sources.</summary>
    public static bool IsHttp(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The local path of a plain path or <c>file://</c> URL.</summary>
    public static string LocalPath(string source) =>
        source.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(source).LocalPath : source;

    /// <summary>The file name the archive is stored under: the last segment of the URL or path.</summary>
    public static string FileName(string source)
    {
        string name = IsHttp(source) ? Path.GetFileName(new Uri(source).AbsolutePath) : Path.GetFileName(LocalPath(source));
        return string.IsNullOrEmpty(name) ? "TinyStories_all_data.tar.gz" : name;
    }

    /// <summary>
    /// Completes <paramref name="partPath"/> from <paramref name="source"/>, appending to what it already holds.
    /// </summary>
    public static async Task FetchAsync(string source, string partPath, IProgress<TinyStoriesDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (IsHttp(source)) await FetchHttpAsync(source, partPath, progress, cancellationToken).ConfigureAwait(false);
        else await FetchFileAsync(LocalPath(source), partPath, progress, cancellationToken).ConfigureAwait(false);
    }

    private static async Task FetchFileAsync(string path, string partPath, IProgress<TinyStoriesDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The TinyStories archive '{path}' does not exist.", path);
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long total = source.Length;
        await using var part = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        // Resume: keep what the .part already holds (unless it is longer than the source, then start again).
        long have = part.Length <= total ? part.Length : 0;
        part.SetLength(have);
        part.Position = have;
        source.Position = have;
        await CopyAsync(source, part, have, total, progress, cancellationToken).ConfigureAwait(false);
    }

    private static async Task FetchHttpAsync(string url, string partPath, IProgress<TinyStoriesDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        long have = File.Exists(partPath) ? new FileInfo(partPath).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try
        {
            response = await Http.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new IOException(
                $"Could not download '{url}': {e.Message}. Check the network connection, or pass a local copy of the archive (a path or file:// URL).", e);
        }
        using var _ = response;

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // Asking past the end: the .part is already whole if it has exactly the server's length.
            long? size = response.Content.Headers.ContentRange?.Length;
            if (size == have) return;
            File.Delete(partPath);
            await FetchHttpAsync(url, partPath, progress, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (!response.IsSuccessStatusCode)
            throw new IOException($"Downloading '{url}' failed: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");

        bool resumed = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
        if (!resumed) have = 0; // The server ignored the Range header (200 OK): start again from byte 0.
        long? length = response.Content.Headers.ContentLength;
        long? total = resumed ? response.Content.Headers.ContentRange?.Length ?? (length is { } l ? have + l : null) : length;

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var part = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        part.SetLength(have);
        part.Position = have;
        try
        {
            await CopyAsync(body, part, have, total, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            // What arrived stays in the .part file for the next run.
            throw new IOException($"Downloading '{url}' was interrupted at {part.Length:N0} bytes ({e.Message}); run the command again to resume.", e);
        }
        if (total is { } expected && part.Length != expected)
            throw new IOException(
                $"Downloading '{url}' stopped at {part.Length:N0} of {expected:N0} bytes; run the command again to resume.");
    }

    private static async Task CopyAsync(Stream source, Stream destination, long done, long? total,
        IProgress<TinyStoriesDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[CopyBufferSize];
        progress?.Report(new TinyStoriesDownloadProgress(TinyStoriesDownloadStage.Downloading, done, total, null));
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            done += read;
            progress?.Report(new TinyStoriesDownloadProgress(TinyStoriesDownloadStage.Downloading, done, total, null));
        }
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
