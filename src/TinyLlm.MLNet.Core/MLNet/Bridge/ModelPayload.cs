namespace TinyLlm.MLNet.Bridge;

/// <summary>What a transformer writes when saved into an ML.NET model zip.</summary>
internal sealed class ModelPayloadWriter
{
    private readonly Action<string, Action<Stream>> _saveStream;

    internal ModelPayloadWriter(BinaryWriter writer, Action<string, Action<Stream>> saveStream)
    {
        Writer = writer;
        _saveStream = saveStream;
    }

    /// <summary>The transformer's main stream: small fields (options, column names, shapes).</summary>
    public BinaryWriter Writer { get; }

    /// <summary>
    /// Writes a named entry beside the main stream, for large blobs (weights, tokenizer models), and its SHA-256 as the
    /// entry <c>name.sha256</c> (see <see cref="PartChecksum"/>).
    /// </summary>
    public void SaveStream(string name, Action<Stream> write)
    {
        byte[] hash = [];
        _saveStream(name, stream => hash = PartChecksum.Write(stream, write));
        _saveStream(name + PartChecksum.Suffix, stream => stream.Write(hash));
    }
}

/// <summary>What a transformer reads back when loaded from an ML.NET model zip.</summary>
internal sealed class ModelPayloadReader
{
    private readonly Func<string, Action<Stream>, bool> _tryLoadStream;

    internal ModelPayloadReader(BinaryReader reader, uint version, string loaderSignature, Func<string, Action<Stream>, bool> tryLoadStream, string? zipPath = null)
    {
        Reader = reader;
        Version = version;
        LoaderSignature = loaderSignature;
        _tryLoadStream = tryLoadStream;
        ZipName = zipPath is null ? "The model zip" : $"The model zip '{zipPath}'";
    }

    /// <summary>"The model zip 'path'" when ML.NET read it from a file, else "The model zip": how errors name it.</summary>
    public string ZipName { get; }

    /// <summary>The transformer's main stream, positioned at its first field.</summary>
    public BinaryReader Reader { get; }

    /// <summary>The format version the model was written with.</summary>
    public uint Version { get; }

    /// <summary>The loader signature of the transformer being read (for error messages).</summary>
    public string LoaderSignature { get; }

    /// <summary>Reads a named entry written by <see cref="ModelPayloadWriter.SaveStream"/>, checked against its checksum.</summary>
    /// <exception cref="FormatException">The model zip lacks the entry.</exception>
    /// <exception cref="InvalidDataException">The entry does not match the checksum saved with it: the zip is damaged.</exception>
    public void LoadStream(string name, Action<Stream> read)
    {
        if (!TryLoadStream(name, read))
            throw new FormatException($"{ZipName} is missing the part '{name}' of '{LoaderSignature}'; it is incomplete or was written by another version.");
    }

    /// <summary>Reads a named entry if the model has it, checked against its checksum when one was saved.</summary>
    /// <exception cref="InvalidDataException">The entry does not match the checksum saved with it: the zip is damaged.</exception>
    public bool TryLoadStream(string name, Action<Stream> read)
    {
        byte[]? expected = null;
        _tryLoadStream(name + PartChecksum.Suffix, stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            expected = buffer.ToArray();
        });
        if (expected is null) return _tryLoadStream(name, read); // a zip from before checksums
        if (expected.Length != 32)
            throw Damaged(name, $"its checksum part '{name}{PartChecksum.Suffix}' holds {expected.Length} bytes instead of 32", null);
        return _tryLoadStream(name, stream => PartChecksum.Read(stream, expected, read, (why, inner) => Damaged(name, why, inner)));
    }

    private InvalidDataException Damaged(string name, string why, Exception? inner) =>
        new($"{ZipName} is damaged: part '{name}' of '{LoaderSignature}' does not match what was saved ({why}). Save or download the model again.", inner);
}
