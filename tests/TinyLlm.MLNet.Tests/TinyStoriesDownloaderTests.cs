using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Stories;
using TinyLlm.MLNet.Stories.Download;
using TinyLlm.MLNet.Stories.Synthetic;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TinyStoriesDownloaderTests
{
    private const string ArchiveName = "TinyStories_all_data.tar.gz";
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "tinystories-download-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>A small TinyStories archive: synthetic shards, tarred and gzipped like the real one.</summary>
    private string BuildArchive(out string[] stories, int count = 600)
    {
        string shards = Path.Combine(_dir, "source-shards");
        SyntheticStories.WriteShards(shards, count, seed: 11, storiesPerShard: 200);
        stories = TinyStoriesReader.ReadStories(shards).ToArray();
        string archive = Path.Combine(_dir, "source", ArchiveName);
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        using var file = File.Create(archive);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (string shard in Directory.GetFiles(shards).Order(StringComparer.Ordinal))
            tar.WriteEntry(shard, Path.GetFileName(shard));
        return archive;
    }

    private static string WriteTarGz(string path, params (string Name, string Text)[] entries)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (name, text) in entries)
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
        return path;
    }

    private static IReadOnlyList<string> Download(string source, string dir, List<TinyStoriesDownloadProgress>? reports = null) =>
        TinyStoriesDownloader.DownloadAsync(source, dir, reports is null ? null : new ListProgress(reports)).GetAwaiter().GetResult();

    private sealed class ListProgress(List<TinyStoriesDownloadProgress> reports) : IProgress<TinyStoriesDownloadProgress>
    {
        public void Report(TinyStoriesDownloadProgress value)
        {
            lock (reports) reports.Add(value);
        }
    }

    private static void AssertNoLeftovers(string dir) =>
        Assert.IsEmpty(Directory.GetFiles(dir).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".part", StringComparison.Ordinal)));

    [TestMethod]
    public void ExtractsALocalArchiveGivenByPathOrFileUrlIntoShardsLoadTinyStoriesReads()
    {
        string archive = BuildArchive(out var stories);
        string byPath = Path.Combine(_dir, "by-path"), byUrl = Path.Combine(_dir, "by-url");

        var shards = Download(archive, byPath);
        Download(new Uri(archive).AbsoluteUri, byUrl);

        CollectionAssert.AreEqual(new[] { "data00.json", "data01.json", "data02.json" }, shards.Select(Path.GetFileName).ToArray());
        var mlContext = new MLContext();
        foreach (string dir in new[] { byPath, byUrl })
        {
            var view = mlContext.Data.LoadTinyStories(dir);
            var loaded = view.GetColumn<ReadOnlyMemory<char>>("Text").Select(t => t.ToString()).ToArray();
            CollectionAssert.AreEqual(stories, loaded);
            CollectionAssert.AreEqual(File.ReadAllBytes(archive), File.ReadAllBytes(Path.Combine(dir, ArchiveName)));
            AssertNoLeftovers(dir);
        }
    }

    [TestMethod]
    public void ResumesATruncatedPartFileFromALocalSource()
    {
        string archive = BuildArchive(out var stories);
        string dir = Path.Combine(_dir, "data");
        Directory.CreateDirectory(dir);
        byte[] bytes = File.ReadAllBytes(archive);
        int have = bytes.Length / 3;
        File.WriteAllBytes(Path.Combine(dir, ArchiveName + ".part"), bytes[..have]);

        var reports = new List<TinyStoriesDownloadProgress>();
        Download(archive, dir, reports);

        var downloads = reports.Where(r => r.Stage == TinyStoriesDownloadStage.Downloading).ToList();
        Assert.AreEqual(have, downloads[0].Bytes, "the download starts where the .part file ends");
        Assert.AreEqual(bytes.Length, downloads[^1].Bytes);
        Assert.AreEqual(bytes.Length, downloads[^1].TotalBytes);
        Assert.IsTrue(reports.Any(r => r.Stage == TinyStoriesDownloadStage.Extracting && r.Entry == "data01.json"));
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(Path.Combine(dir, ArchiveName)));
        CollectionAssert.AreEqual(stories, TinyStoriesReader.ReadStories(dir).ToArray());
        AssertNoLeftovers(dir);
    }

    [TestMethod]
    public void ResumesOverHttpWithRangeAndRestartsWhenTheServerIgnoresIt()
    {
        string archive = BuildArchive(out var stories);
        byte[] bytes = File.ReadAllBytes(archive);
        int have = bytes.Length / 2;

        // A server that honours Range: the .part holds the true first half, only the rest is sent.
        string honoured = Path.Combine(_dir, "honoured");
        Directory.CreateDirectory(honoured);
        File.WriteAllBytes(Path.Combine(honoured, ArchiveName + ".part"), bytes[..have]);
        var ranges = new List<string?>();
        using (var server = new ArchiveServer(bytes, honourRange: true, ranges))
            Download(server.Url, honoured);
        CollectionAssert.AreEqual(new[] { $"bytes={have}-" }, ranges);
        CollectionAssert.AreEqual(stories, TinyStoriesReader.ReadStories(honoured).ToArray());

        // A .part that is already whole (a run stopped before renaming it): the server says 416, nothing is fetched.
        string whole = Path.Combine(_dir, "whole");
        Directory.CreateDirectory(whole);
        File.WriteAllBytes(Path.Combine(whole, ArchiveName + ".part"), bytes);
        ranges.Clear();
        using (var server = new ArchiveServer(bytes, honourRange: true, ranges))
            Download(server.Url, whole);
        CollectionAssert.AreEqual(new[] { $"bytes={bytes.Length}-" }, ranges);
        CollectionAssert.AreEqual(stories, TinyStoriesReader.ReadStories(whole).ToArray());

        // A server that ignores Range answers 200 with the whole file: what the .part held (junk here) is dropped.
        string ignored = Path.Combine(_dir, "ignored");
        Directory.CreateDirectory(ignored);
        File.WriteAllBytes(Path.Combine(ignored, ArchiveName + ".part"), new byte[have]);
        ranges.Clear();
        using (var server = new ArchiveServer(bytes, honourRange: false, ranges))
            Download(server.Url, ignored);
        CollectionAssert.AreEqual(new[] { $"bytes={have}-" }, ranges);
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(Path.Combine(ignored, ArchiveName)));
        CollectionAssert.AreEqual(stories, TinyStoriesReader.ReadStories(ignored).ToArray());
        AssertNoLeftovers(ignored);
    }

    [TestMethod]
    public void SkipsDownloadAndExtractionThatAreAlreadyDone()
    {
        string archive = BuildArchive(out _);
        string dir = Path.Combine(_dir, "data");
        Download(archive, dir);
        var written = File.GetLastWriteTimeUtc(Path.Combine(dir, "data00.json"));

        // The source is gone: a second run must need neither it nor a new extraction.
        File.Delete(archive);
        var reports = new List<TinyStoriesDownloadProgress>();
        var shards = Download(archive, dir, reports);
        Assert.HasCount(3, shards);
        Assert.IsEmpty(reports);
        Assert.AreEqual(written, File.GetLastWriteTimeUtc(Path.Combine(dir, "data00.json")));

        // Shards that are simply there (extracted by hand, archive deleted) are used as they are.
        string byHand = Path.Combine(_dir, "by-hand");
        SyntheticStories.WriteShards(byHand, 5, seed: 1);
        Assert.HasCount(1, Download(archive, byHand));
    }

    [TestMethod]
    public void AnArchiveThatIsNotGzipIsAClearInvalidDataException()
    {
        string notGzip = Path.Combine(_dir, "source", "notes.tar.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(notGzip)!);
        File.WriteAllText(notGzip, "<!DOCTYPE html><p>Not found</p>");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Download(notGzip, Path.Combine(_dir, "a")));
        StringAssert.Contains(e.Message, notGzip);
        StringAssert.Contains(e.Message, "gzip");
        Assert.IsEmpty(Directory.GetFiles(Path.Combine(_dir, "a")), "nothing is kept, so the next run downloads again");

        // Gzip, but not a tar inside.
        string notTar = Path.Combine(_dir, "source", "plain.tar.gz");
        using (var file = File.Create(notTar))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes(new string('x', 5000)));
        e = Assert.ThrowsExactly<InvalidDataException>(() => Download(notTar, Path.Combine(_dir, "b")));
        StringAssert.Contains(e.Message, "plain.tar.gz");
        StringAssert.Contains(e.Message, "tar");
    }

    [TestMethod]
    public void EntriesThatWouldEscapeTheFolderAreRefused()
    {
        string evil = WriteTarGz(Path.Combine(_dir, "evil.tar.gz"), ("data00.json", "[]"), ("../escaped.json", "[]"));
        string dir = Path.Combine(_dir, "data");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Download(evil, dir));
        StringAssert.Contains(e.Message, "../escaped.json");
        StringAssert.Contains(e.Message, "outside");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "escaped.json")));
    }

    [TestMethod]
    public void MissingLocalArchiveIsFileNotFound()
    {
        string missing = Path.Combine(_dir, "nope", ArchiveName);
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => Download(missing, Path.Combine(_dir, "data")));
        StringAssert.Contains(e.Message, missing);
        Assert.ThrowsExactly<ArgumentException>(() => Download("ftp://example.org/a.tar.gz", Path.Combine(_dir, "data")));
    }

    /// <summary>A one-file HTTP server on localhost, with or without Range support.</summary>
    private sealed class ArchiveServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public ArchiveServer(byte[] content, bool honourRange, List<string?> ranges)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            Url = $"http://127.0.0.1:{port}/files/{ArchiveName}";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); }
                    catch (Exception) { return; }
                    string? range = context.Request.Headers["Range"];
                    lock (ranges) ranges.Add(range);
                    int from = 0;
                    if (honourRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
                        from = int.Parse(range["bytes=".Length..].TrimEnd('-'));
                    var response = context.Response;
                    if (from >= content.Length)
                    {
                        response.StatusCode = 416;
                        response.Headers["Content-Range"] = $"bytes */{content.Length}";
                        response.Close();
                        continue;
                    }
                    if (from > 0)
                    {
                        response.StatusCode = 206;
                        response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
                    }
                    response.ContentLength64 = content.Length - from;
                    await response.OutputStream.WriteAsync(content.AsMemory(from));
                    response.Close();
                }
            });
        }

        public string Url { get; }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
