using System.Globalization;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Tokenization.Proto;
using PieceType = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Types.SentencePiece.Types.Type;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// A SentencePiece BPE model: the <c>ModelProto</c> that <c>spm_train</c> writes as <c>.model</c>. Encoding and
/// decoding go through Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/> over these bytes.
/// </summary>
public sealed class SentencePieceModel
{
    private readonly ModelProto _proto;
    private readonly byte[] _bytes;

    // Our identity normalizer, used when the model asks for exactly what it implements (escaped spaces, prefix
    // whitespace, no precompiled rules); null otherwise, and Microsoft.ML.Tokenizers normalizes.
    private readonly SentenceNormalizer? _normalizer;
    private readonly Lazy<SentencePieceTokenizer> _bareTokenizer;
    [ThreadStatic] private static List<char>? _normalizedBuffer;

    internal SentencePieceModel(ModelProto proto, IReadOnlyList<string> warnings)
    {
        _proto = proto;
        _bytes = proto.ToByteArray();
        Warnings = warnings;
        var n = proto.NormalizerSpec;
        bool identity = n is null || (n.PrecompiledCharsmap.IsEmpty && n.EscapeWhitespaces && !(proto.TrainerSpec?.TreatWhitespaceAsSuffix ?? false));
        if (identity && !HasUserDefinedPieces(proto))
            _normalizer = new SentenceNormalizer(new SentencePieceBpeOptions
            {
                AddDummyPrefix = n?.AddDummyPrefix ?? true,
                RemoveExtraWhitespaces = n?.RemoveExtraWhitespaces ?? true,
            }, []);
        _bareTokenizer = new(() => CreateTokenizer(false, false), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    // User-defined pieces are matched by Microsoft.ML.Tokenizers' normalizer; leave normalization to it then.
    private static bool HasUserDefinedPieces(ModelProto proto) =>
        proto.Pieces.Any(p => p.Type == ModelProto.Types.SentencePiece.Types.Type.UserDefined);

    /// <summary>Problems worth telling the user about that did not stop training (e.g. a vocabulary too large for uint16 shards).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Number of pieces (ids are 0 to VocabSize - 1).</summary>
    public int VocabSize => _proto.Pieces.Count;

    /// <summary>Id of the beginning-of-sentence piece, or -1.</summary>
    public int BosId => _proto.TrainerSpec?.BosId ?? 1;

    /// <summary>Id of the end-of-sentence piece, or -1.</summary>
    public int EosId => _proto.TrainerSpec?.EosId ?? 2;

    /// <summary>Id of the unknown piece, or -1.</summary>
    public int UnkId => _proto.TrainerSpec?.UnkId ?? 0;

    /// <summary>The text of piece <paramref name="id"/> (spaces appear as <c>▁</c>).</summary>
    public string GetPiece(int id) => _proto.Pieces[id].Piece;

    /// <summary>The score of piece <paramref name="id"/> (merge rank, negated; 0 for special pieces).</summary>
    public float GetScore(int id) => _proto.Pieces[id].Score;

    /// <summary>The kind of piece <paramref name="id"/> (normal, unknown, control, user-defined, unused or byte).</summary>
    internal PieceType GetPieceType(int id) => _proto.Pieces[id].Type;

    /// <summary>Whether the normalizer puts a <c>▁</c> before the text (sentencepiece's add_dummy_prefix).</summary>
    internal bool AddsDummyPrefix => _proto.NormalizerSpec?.AddDummyPrefix ?? true;

    /// <summary>Whether the normalizer drops leading, trailing and repeated spaces (remove_extra_whitespaces).</summary>
    internal bool RemovesExtraWhitespaces => _proto.NormalizerSpec?.RemoveExtraWhitespaces ?? true;

    /// <summary>Whether the normalizer only escapes spaces (no precompiled character map such as nmt_nfkc's).</summary>
    internal bool HasIdentityNormalizer => _normalizer is not null;

    /// <summary>
    /// A BPE model of the given pieces (id order), with sentencepiece's identity normalizer: what a vocabulary stored
    /// elsewhere (a GGUF file) describes. Byte fallback is on when the pieces include byte pieces.
    /// </summary>
    /// <exception cref="InvalidDataException">Microsoft.ML.Tokenizers cannot use the result; <paramref name="source"/> names it.</exception>
    internal static SentencePieceModel FromPieces(IReadOnlyList<(string Piece, float Score, PieceType Type)> pieces,
        int unkId, int bosId, int eosId, int padId, bool addDummyPrefix, bool removeExtraWhitespaces, string source)
    {
        string PieceOr(int id, string fallback) => id >= 0 && id < pieces.Count ? pieces[id].Piece : fallback;
        var proto = new ModelProto
        {
            TrainerSpec = new TrainerSpec
            {
                ModelType = TrainerSpec.Types.ModelType.Bpe,
                VocabSize = pieces.Count,
                ByteFallback = pieces.Any(p => p.Type == PieceType.Byte),
                UnkId = unkId,
                BosId = bosId,
                EosId = eosId,
                PadId = padId,
                UnkPiece = PieceOr(unkId, "<unk>"),
                BosPiece = PieceOr(bosId, "<s>"),
                EosPiece = PieceOr(eosId, "</s>"),
                PadPiece = PieceOr(padId, "<pad>"),
            },
            NormalizerSpec = new NormalizerSpec
            {
                Name = "identity",
                PrecompiledCharsmap = ByteString.Empty,
                AddDummyPrefix = addDummyPrefix,
                RemoveExtraWhitespaces = removeExtraWhitespaces,
                EscapeWhitespaces = true,
            },
        };
        foreach (var (piece, score, type) in pieces)
            proto.Pieces.Add(new ModelProto.Types.SentencePiece { Piece = piece, Score = score, Type = type });
        return FromBytes(proto.ToByteArray(), source);
    }

    /// <summary>The parsed <c>ModelProto</c> (read only: piece types and normalizer settings).</summary>
    internal ModelProto Proto => _proto;

    /// <summary>The serialized <c>ModelProto</c>, exactly the bytes of the <c>.model</c> file.</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>The <c>.vocab</c> text: one line per piece, piece, tab, score, as <c>spm_train</c> writes it.</summary>
    public string ToVocabText()
    {
        var sb = new StringBuilder();
        foreach (var p in _proto.Pieces)
            sb.Append(p.Piece).Append('\t').Append(FormatScore(p.Score)).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Writes <paramref name="modelPath"/> (the model) and the same path with extension <c>.vocab</c>, each through a
    /// temporary file renamed into place. The <c>.vocab</c> (a listing for people) goes first and the <c>.model</c>
    /// (what every reader uses) last, so a <c>.model</c> is never newer than its listing; a run killed between the two
    /// renames leaves the previous <c>.model</c> beside the new listing, which <see cref="VocabMatches"/> detects.
    /// </summary>
    public void Save(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        AtomicFile.WriteAllText(Path.ChangeExtension(modelPath, ".vocab"), ToVocabText());
        AtomicFile.WriteAllBytes(modelPath, _bytes);
    }

    /// <summary>Whether the <c>.vocab</c> beside <paramref name="modelPath"/> lists exactly this model's pieces.</summary>
    public bool VocabMatches(string modelPath)
    {
        string vocab = Path.ChangeExtension(modelPath, ".vocab");
        return File.Exists(vocab) && File.ReadAllText(vocab) == ToVocabText();
    }

    /// <summary>
    /// Encodes <paramref name="text"/> to ids as <c>spm_encode</c> does: sentencepiece's identity normalization
    /// (done here), then Microsoft.ML.Tokenizers' BPE encoding. Prefer this to calling the
    /// <see cref="CreateTokenizer"/> tokenizer directly: Microsoft.ML.Tokenizers 2.0.1's normalizer returns nothing for
    /// a text that is one character once spaces are trimmed (e.g. <c>"a"</c> or <c>" ."</c>) and encodes a
    /// whitespace-only text as <c>▁</c> where sentencepiece gives no ids.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="addBeginningOfSentence">Put the BOS id first.</param>
    /// <param name="addEndOfSentence">Put the EOS id last.</param>
    public IReadOnlyList<int> Encode(ReadOnlySpan<char> text, bool addBeginningOfSentence = true, bool addEndOfSentence = false)
    {
        var tokenizer = _bareTokenizer.Value;
        if (_normalizer is null) return tokenizer.EncodeToIds(text, addBeginningOfSentence, addEndOfSentence);
        var normalized = _normalizedBuffer ??= new List<char>(256);
        _normalizer.Normalize(text, normalized);
        var ids = normalized.Count == 0
            ? new List<int>(2)
            : new List<int>(tokenizer.EncodeToIds(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(normalized),
                addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false));
        if (addBeginningOfSentence && BosId >= 0) ids.Insert(0, BosId);
        if (addEndOfSentence && EosId >= 0) ids.Add(EosId);
        return ids;
    }

    /// <summary>The text as the encoder sees it: normalized, spaces escaped as <c>▁</c>, dummy prefix added.</summary>
    internal string Normalize(string text)
    {
        if (_normalizer is null) return _bareTokenizer.Value.Normalizer?.Normalize(text) ?? text;
        var normalized = _normalizedBuffer ??= new List<char>(256);
        _normalizer.Normalize(text, normalized);
        return new string(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(normalized));
    }

    /// <summary>Decodes ids to text (special pieces dropped, byte pieces joined into characters).</summary>
    public string Decode(IEnumerable<int> ids) => _bareTokenizer.Value.Decode(ids);

    /// <summary>A Microsoft.ML.Tokenizers tokenizer over this model (see <see cref="Encode"/> for a known issue of its normalizer).</summary>
    /// <param name="addBeginningOfSentence">Put the BOS id first when encoding.</param>
    /// <param name="addEndOfSentence">Put the EOS id last when encoding.</param>
    public SentencePieceTokenizer CreateTokenizer(bool addBeginningOfSentence = true, bool addEndOfSentence = false)
    {
        using var stream = new MemoryStream(_bytes, writable: false);
        return SentencePieceTokenizer.Create(stream, addBeginningOfSentence, addEndOfSentence);
    }

    /// <summary>Reads a <c>.model</c> file (ours or one trained by sentencepiece itself).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a sentencepiece model, or not a BPE one.</exception>
    public static SentencePieceModel Load(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (Directory.Exists(modelPath)) throw new ArgumentException($"Tokenizer model '{modelPath}' is a folder; give the .model file.", nameof(modelPath));
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"Tokenizer model '{modelPath}' does not exist.", modelPath);
        return FromBytes(File.ReadAllBytes(modelPath), modelPath);
    }

    /// <summary>Reads a model from its bytes; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a sentencepiece BPE model.</exception>
    public static SentencePieceModel FromBytes(byte[] bytes, string source = "model")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{source}' is not a sentencepiece model (it does not parse as a ModelProto: {e.Message}).", e);
        }
        if (proto.Pieces.Count == 0 || proto.TrainerSpec is null)
            throw new InvalidDataException($"'{source}' is not a sentencepiece model: it holds no pieces or no trainer spec.");
        if (proto.TrainerSpec.ModelType != TrainerSpec.Types.ModelType.Bpe)
            throw new InvalidDataException($"'{source}' is a sentencepiece {proto.TrainerSpec.ModelType} model; only BPE models are supported.");
        for (int i = 0; i < proto.Pieces.Count; i++)
            if (string.IsNullOrEmpty(proto.Pieces[i].Piece))
                throw new InvalidDataException($"'{source}' is not a valid sentencepiece model: piece {i} is empty.");
        var model = new SentencePieceModel(proto, []);
        try
        {
            model.CreateTokenizer();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"'{source}' cannot be used by Microsoft.ML.Tokenizers: {e.Message}", e);
        }
        return model;
    }

    /// <summary>The score as C++'s ostream prints a float (6 significant digits; negative zero as "-0").</summary>
    internal static string FormatScore(float score)
    {
        if (score == MathF.Floor(score) && MathF.Abs(score) < 1e6f)
            return (float.IsNegative(score) && score == 0 ? "-0" : ((long)score).ToString(CultureInfo.InvariantCulture));
        return score.ToString("G6", CultureInfo.InvariantCulture).Replace("E+0", "e+0").Replace("E-0", "e-0").Replace("E", "e");
    }
}
