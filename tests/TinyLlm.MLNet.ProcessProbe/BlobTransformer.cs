using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.ProcessProbe;

/// <summary>
/// A transformer that carries an opaque binary blob, for the persistence tests: it appends to each input text
/// the blob's length and FNV-1a hash, so scoring proves the blob survived a save and a load.
/// </summary>
[TinyLlmLoadable("TinyLlmTestBlob", "TLBLOBTR", 1)]
public sealed class BlobTransformer : RowMappingTransformer
{
    private readonly string _input;
    private readonly string _output;

    public BlobTransformer(IHostEnvironment env, byte[] blob, string outputColumn = "Echo", string inputColumn = "Text") : base(env)
    {
        Blob = blob;
        _input = inputColumn;
        _output = outputColumn;
    }

    public byte[] Blob { get; }

    public string Signature => $"{Blob.Length}:{Fnv1a(Blob):x16}";

    private protected override IReadOnlyList<string> InputColumnNames => [_input];

    private protected override IReadOnlyList<(string Name, DataViewType Type)> OutputColumns => [(_output, TextDataViewType.Instance)];

    private protected override void CheckInputSchema(DataViewSchema inputSchema) => SchemaErrors.RequireText(inputSchema, _input);

    private protected override Delegate MakeGetter(DataViewRow input, int outputIndex)
    {
        var text = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[_input]);
        ReadOnlyMemory<char> buffer = default;
        string signature = Signature;
        return (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
        {
            text(ref buffer);
            value = $"{buffer}|{signature}".AsMemory();
        });
    }

    private protected override void SaveModel(ModelPayloadWriter writer)
    {
        writer.Writer.Write(_input);
        writer.Writer.Write(_output);
        writer.SaveStream("blob.bin", s => s.Write(Blob));
    }

    internal static BlobTransformer Load(IHostEnvironment env, ModelPayloadReader reader)
    {
        string input = reader.Reader.ReadString();
        string output = reader.Reader.ReadString();
        byte[] blob = [];
        reader.LoadStream("blob.bin", s =>
        {
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            blob = ms.ToArray();
        });
        return new BlobTransformer(env, blob, output, input);
    }

    private static ulong Fnv1a(byte[] data)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in data) h = (h ^ b) * 1099511628211UL;
        return h;
    }
}
