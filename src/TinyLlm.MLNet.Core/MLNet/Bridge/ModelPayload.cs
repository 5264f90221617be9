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

    /// <summary>Writes a named entry beside the main stream, for large blobs (weights, tokenizer models).</summary>
    public void SaveStream(string name, Action<Stream> write) => _saveStream(name, write);
}

/// <summary>What a transformer reads back when loaded from an ML.NET model zip.</summary>
internal sealed class ModelPayloadReader
{
    private readonly Func<string, Action<Stream>, bool> _tryLoadStream;

    internal ModelPayloadReader(BinaryReader reader, uint version, string loaderSignature, Func<string, Action<Stream>, bool> tryLoadStream)
    {
        Reader = reader;
        Version = version;
        LoaderSignature = loaderSignature;
        _tryLoadStream = tryLoadStream;
    }

    /// <summary>The transformer's main stream, positioned at its first field.</summary>
    public BinaryReader Reader { get; }

    /// <summary>The format version the model was written with.</summary>
    public uint Version { get; }

    /// <summary>The loader signature of the transformer being read (for error messages).</summary>
    public string LoaderSignature { get; }

    /// <summary>Reads a named entry written by <see cref="ModelPayloadWriter.SaveStream"/>.</summary>
    /// <exception cref="FormatException">The model zip lacks the entry.</exception>
    public void LoadStream(string name, Action<Stream> read)
    {
        if (!_tryLoadStream(name, read))
            throw new FormatException($"The model zip is missing the part '{name}' of '{LoaderSignature}'; it is incomplete or was written by another version.");
    }

    /// <summary>Reads a named entry if the model has it.</summary>
    public bool TryLoadStream(string name, Action<Stream> read) => _tryLoadStream(name, read);
}
