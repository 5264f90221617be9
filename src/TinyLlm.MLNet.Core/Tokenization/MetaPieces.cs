using PieceType = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Types.SentencePiece.Types.Type;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// The pieces with fixed ids that training does not learn: unknown, BOS, EOS, padding, control and user-defined
/// symbols, and the 256 byte pieces, placed as sentencepiece places them (trainer_interface.cc, InitMetaPieces).
/// </summary>
internal static class MetaPieces
{
    public static SortedDictionary<int, (string Piece, PieceType Type)> Build(SentencePieceBpeOptions o)
    {
        var meta = new SortedDictionary<int, (string Piece, PieceType Type)>();
        bool hasUnk = false;
        void InsertId(int id, string piece, string option)
        {
            if (id < 0) return;
            if (id >= o.VocabSize)
                throw new ArgumentException($"{option} is {id}, but ids must be below VocabSize ({o.VocabSize}).", option);
            if (meta.ContainsKey(id))
                throw new ArgumentException($"{option} is {id}, which is already the id of '{meta[id].Piece}'; special pieces need distinct ids.", option);
            if (hasUnk && piece == o.UnkPiece)
                throw new ArgumentException($"{option}'s piece '{piece}' is the same text as UnkPiece; special pieces need distinct texts.", option);
            if (piece == o.UnkPiece) hasUnk = true;
            meta[id] = (piece, piece == o.UnkPiece ? PieceType.Unknown : PieceType.Control);
        }

        if (o.UnkId < 0) throw new ArgumentException($"UnkId is {o.UnkId}; the unknown piece must have an id (0 to VocabSize - 1).", nameof(o.UnkId));
        foreach (var (piece, name) in new[] { (o.UnkPiece, "UnkPiece"), (o.BosPiece, "BosPiece"), (o.EosPiece, "EosPiece"), (o.PadPiece, "PadPiece") })
            if (string.IsNullOrEmpty(piece)) throw new ArgumentException($"{name} must not be empty.", name);
        InsertId(o.UnkId, o.UnkPiece, nameof(o.UnkId));
        InsertId(o.BosId, o.BosPiece, nameof(o.BosId));
        InsertId(o.EosId, o.EosPiece, nameof(o.EosId));
        InsertId(o.PadId, o.PadPiece, nameof(o.PadId));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        int next = 0;
        void InsertSymbol(string piece, PieceType type, string option)
        {
            if (string.IsNullOrEmpty(piece)) throw new ArgumentException($"{option} holds an empty symbol.", option);
            if (!seen.Add(piece)) throw new ArgumentException($"'{piece}' is defined twice (in ControlSymbols, UserDefinedSymbols or as a byte piece).", option);
            if (piece == o.UnkPiece) throw new ArgumentException($"'{piece}' is the unknown piece and must not be listed in {option}.", option);
            if (piece == o.BosPiece && o.BosId >= 0) meta[o.BosId] = (piece, type);
            else if (piece == o.EosPiece && o.EosId >= 0) meta[o.EosId] = (piece, type);
            else if (piece == o.PadPiece && o.PadId >= 0) meta[o.PadId] = (piece, type);
            else
            {
                while (meta.ContainsKey(next)) next++;
                meta[next] = (piece, type);
            }
        }
        foreach (var s in o.ControlSymbols) InsertSymbol(s, PieceType.Control, nameof(o.ControlSymbols));
        foreach (var s in o.UserDefinedSymbols) InsertSymbol(s, PieceType.UserDefined, nameof(o.UserDefinedSymbols));
        if (o.ByteFallback)
            for (int b = 0; b < 256; b++) InsertSymbol(SentencePieceSymbols.BytePiece(b), PieceType.Byte, nameof(o.ByteFallback));
        return meta;
    }
}
