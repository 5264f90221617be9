using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Maps a text column to a variable-length vector of Int32 token ids with a SentencePiece BPE model, encoding
/// through Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/>. Lazy: ids are computed as rows are read.
/// Saved inside the ML.NET model zip with the <c>.model</c> bytes embedded.
/// </summary>
[TinyLlmLoadable(loaderSignature: LoaderSignature, modelSignature: "TLSPMTOK", version: 1)]
public sealed class SentencePieceTokenizerTransformer : RowMappingTransformer
{
    internal const string LoaderSignature = "TinyLlmSpmTokenizer";

    private readonly string _input;
    private readonly string _output;
    private readonly SentencePieceTokenizer _tokenizer;

    internal SentencePieceTokenizerTransformer(IHostEnvironment env, SentencePieceModel model, string outputColumnName,
        string inputColumnName, bool addBeginningOfSentence, bool addEndOfSentence) : base(env)
    {
        Model = model;
        _output = outputColumnName;
        _input = inputColumnName;
        AddBeginningOfSentence = addBeginningOfSentence;
        AddEndOfSentence = addEndOfSentence;
        _tokenizer = model.CreateTokenizer(addBeginningOfSentence, addEndOfSentence);
    }

    /// <summary>The SentencePiece model.</summary>
    public SentencePieceModel Model { get; }

    /// <summary>
    /// The Microsoft.ML.Tokenizers tokenizer over the model (BOS/EOS as configured). The transformer encodes through
    /// <see cref="SentencePieceModel.Encode"/>, which normalizes first to avoid a Microsoft.ML.Tokenizers 2.0.1 bug
    /// with one-character texts.
    /// </summary>
    public Tokenizer Tokenizer => _tokenizer;

    /// <summary>The <c>.model</c> file's bytes (a sentencepiece <c>ModelProto</c>).</summary>
    public byte[] GetModelBytes() => Model.ToBytes();

    /// <summary>Name of the text column read.</summary>
    public string InputColumnName => _input;

    /// <summary>Name of the token-id column added.</summary>
    public string OutputColumnName => _output;

    /// <summary>Whether the BOS id is put first.</summary>
    public bool AddBeginningOfSentence { get; }

    /// <summary>Whether the EOS id is put last.</summary>
    public bool AddEndOfSentence { get; }

    /// <summary>Encodes one text the way the transformer does (<c>\r\n</c> and a lone <c>\r</c> read as <c>\n</c>).</summary>
    public IReadOnlyList<int> Encode(string text) => Encode(Model, text.AsSpan(), AddBeginningOfSentence, AddEndOfSentence);

    // Windows line endings read as LF, as the story readers, the BPE trainer and the pretokenizer read them: a text
    // saved on Windows gives the ids of its LF copy, and '\r' never reaches the tokenizer as a character.
    private static IReadOnlyList<int> Encode(SentencePieceModel model, ReadOnlySpan<char> text, bool bos, bool eos) =>
        text.Contains('\r') ? model.Encode(text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n'), bos, eos)
                            : model.Encode(text, bos, eos);

    /// <summary>Decodes ids back to text (special pieces are dropped).</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids);

    private protected override IReadOnlyList<string> InputColumnNames => [_input];

    private protected override IReadOnlyList<(string Name, DataViewType Type)> OutputColumns =>
        [(_output, new VectorDataViewType(NumberDataViewType.Int32))];

    private protected override DataViewSchema.Annotations? OutputAnnotations(int outputIndex) =>
        TokenizerAnnotations.Create(Model.ToBytes(), _input);

    private protected override void CheckInputSchema(DataViewSchema inputSchema) => SchemaErrors.RequireText(inputSchema, _input);

    private protected override Delegate MakeGetter(DataViewRow input, int outputIndex)
    {
        var text = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[_input]);
        ReadOnlyMemory<char> buffer = default;
        var model = Model;
        bool bos = AddBeginningOfSentence, eos = AddEndOfSentence;
        return (ValueGetter<VBuffer<int>>)((ref VBuffer<int> value) =>
        {
            text(ref buffer);
            var ids = Encode(model, buffer.Span, bos, eos);
            var editor = VBufferEditor.Create(ref value, ids.Count);
            for (int i = 0; i < ids.Count; i++) editor.Values[i] = ids[i];
            value = editor.Commit();
        });
    }

    // *** Binary format ***
    // string: input column name
    // string: output column name
    // bool: add BOS
    // bool: add EOS
    // stream "spm.model": the sentencepiece ModelProto bytes
    private protected override void SaveModel(ModelPayloadWriter writer)
    {
        writer.Writer.Write(_input);
        writer.Writer.Write(_output);
        writer.Writer.Write(AddBeginningOfSentence);
        writer.Writer.Write(AddEndOfSentence);
        var bytes = Model.ToBytes();
        writer.SaveStream("spm.model", s => s.Write(bytes));
    }

    internal static SentencePieceTokenizerTransformer Load(IHostEnvironment env, ModelPayloadReader reader)
    {
        string input = reader.Reader.ReadString();
        string output = reader.Reader.ReadString();
        bool bos = reader.Reader.ReadBoolean();
        bool eos = reader.Reader.ReadBoolean();
        byte[] bytes = [];
        reader.LoadStream("spm.model", s =>
        {
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            bytes = ms.ToArray();
        });
        var model = SentencePieceModel.FromBytes(bytes, $"{LoaderSignature}/spm.model");
        return new SentencePieceTokenizerTransformer(env, model, output, input, bos, eos);
    }
}
