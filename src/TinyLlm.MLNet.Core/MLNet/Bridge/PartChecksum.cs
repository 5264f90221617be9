using System.Security.Cryptography;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// The SHA-256 of each blob a transformer saves into a model zip (weights, tokenizer), stored beside it as the part
/// <c>name.sha256</c> and checked when the part is read back: a zip with one byte changed inside the weights is an
/// error naming the file and the part, never a model that generates garbage. Zips written before checksums were
/// stored have no <c>.sha256</c> parts and are read as they are.
/// </summary>
internal static class PartChecksum
{
    /// <summary>The suffix of the part holding a blob's checksum.</summary>
    public const string Suffix = ".sha256";

    /// <summary>Runs <paramref name="write"/> on a stream that hashes what passes through; returns the SHA-256.</summary>
    public static byte[] Write(Stream target, Action<Stream> write)
    {
        using var hashing = new HashingStream(target);
        write(hashing);
        return hashing.Finish();
    }

    /// <summary>
    /// Runs <paramref name="read"/> on a stream that hashes what passes through, reads whatever it left, and compares
    /// the SHA-256 with <paramref name="expected"/>. A damaged part is reported as such even when the reader failed
    /// first on its garbage.
    /// </summary>
    /// <exception cref="InvalidDataException">The part's bytes do not match the checksum, or cannot be decompressed.</exception>
    public static void Read(Stream source, byte[] expected, Action<Stream> read, Func<string, Exception?, Exception> damaged)
    {
        using var hashing = new HashingStream(source);
        Exception? readerError = null;
        try
        {
            read(hashing);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or IOException)
        {
            readerError = e;
        }
        byte[] actual;
        try
        {
            hashing.CopyTo(Stream.Null);
            actual = hashing.Finish();
        }
        catch (InvalidDataException e)
        {
            throw damaged($"its compressed bytes cannot be decompressed ({e.Message})", e);
        }
        if (!actual.AsSpan().SequenceEqual(expected))
            throw damaged($"its SHA-256 is {Convert.ToHexStringLower(actual)}, but the checksum saved with it is {Convert.ToHexStringLower(expected)}", readerError);
        if (readerError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(readerError).Throw();
    }

    /// <summary>A forward-only stream over another that feeds every byte read or written into a SHA-256.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _position;

        public byte[] Finish() => _hash.GetHashAndReset();

        public override bool CanRead => inner.CanRead;
        public override bool CanWrite => inner.CanWrite;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            _hash.AppendData(buffer[..n]);
            _position += n;
            return n;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            _hash.AppendData(buffer);
            _position += buffer.Length;
        }

        public override void Flush() => inner.Flush();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
