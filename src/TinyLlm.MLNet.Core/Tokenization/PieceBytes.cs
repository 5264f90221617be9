using System.Text;
using PieceType = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Types.SentencePiece.Types.Type;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// How many bytes of text each token id stands for, as SentencePiece decodes it: a normal piece its UTF-8 bytes with
/// <c>▁</c> as one space, a byte-fallback piece one byte, a control or unknown piece none. The space SentencePiece adds
/// in front of a text (its dummy prefix) is not part of the text: the first piece after BOS does not count it. With
/// it, a loss per token becomes bits per byte, a figure that compares models with different tokenizers.
/// </summary>
internal sealed class PieceBytes
{
    private const char Space = '\u2581'; // ▁
    private readonly int[] _bytes;
    private readonly bool[] _startsWithSpace;
    private readonly bool _dummyPrefix;
    private readonly int _bos;

    public PieceBytes(SentencePieceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pieces = model.Proto.Pieces;
        _bytes = new int[pieces.Count];
        _startsWithSpace = new bool[pieces.Count];
        for (int id = 0; id < pieces.Count; id++)
        {
            var p = pieces[id];
            _bytes[id] = p.Type switch
            {
                PieceType.Byte => 1,
                PieceType.Control or PieceType.Unknown or PieceType.Unused => 0,
                _ => Encoding.UTF8.GetByteCount(p.Piece.Replace(Space, ' ')),
            };
            _startsWithSpace[id] = p.Type is PieceType.Normal or PieceType.UserDefined && p.Piece.Length > 0 && p.Piece[0] == Space;
        }
        _dummyPrefix = model.Proto.NormalizerSpec?.AddDummyPrefix ?? true;
        _bos = model.BosId;
    }

    /// <summary>Bytes of text that token <paramref name="id"/> stands for when it follows <paramref name="previous"/>.</summary>
    public int Of(int id, int previous)
    {
        if ((uint)id >= (uint)_bytes.Length) return 0;
        return _dummyPrefix && previous == _bos && _startsWithSpace[id] ? _bytes[id] - 1 : _bytes[id];
    }
}
