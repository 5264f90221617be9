using TinyLlm.MLNet.Tokenization;
using PieceType = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Types.SentencePiece.Types.Type;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// A SentencePiece vocabulary as GGUF stores it (<c>tokenizer.ggml.model = "llama"</c>, what llama.cpp's SPM
/// tokenizer reads): the pieces, their scores and types (GGUF's token types are sentencepiece's piece types:
/// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the special ids and the two normalizer flags.
/// </summary>
internal static class GgufVocabulary
{
    public const string ModelKey = "tokenizer.ggml.model";

    /// <summary>Throws <see cref="ArgumentException"/> when llama.cpp could not use <paramref name="tokenizer"/> as it is.</summary>
    public static void CheckExportable(SentencePieceModel tokenizer)
    {
        if (!tokenizer.HasIdentityNormalizer)
            throw new ArgumentException("The tokenizer normalizes text with rules (a precompiled character map, e.g. nmt_nfkc) that llama.cpp's SentencePiece tokenizer does not apply: text would encode differently there. GGUF export needs an identity-normalized tokenizer, as `tinyllm train-tokenizer` makes.");
        if (MissingBytePiece(id => tokenizer.GetPiece(id), id => tokenizer.GetPieceType(id), tokenizer.VocabSize) is string missing)
            throw new ArgumentException($"The tokenizer has no byte piece {missing}: llama.cpp's SentencePiece tokenizer falls back to the 256 byte pieces <0x00>..<0xFF> for characters outside the vocabulary, so a GGUF export needs a tokenizer trained with byte fallback (SentencePieceBpeOptions.ByteFallback).");
    }

    /// <summary>Adds the tokenizer.ggml.* keys of <paramref name="tokenizer"/>.</summary>
    public static void Write(GgufWriter writer, SentencePieceModel tokenizer)
    {
        int n = tokenizer.VocabSize;
        writer.Add(ModelKey, "llama");
        writer.Add("tokenizer.ggml.tokens", Enumerable.Range(0, n).Select(tokenizer.GetPiece).ToArray());
        writer.Add("tokenizer.ggml.scores", Enumerable.Range(0, n).Select(tokenizer.GetScore).ToArray());
        writer.Add("tokenizer.ggml.token_type", Enumerable.Range(0, n).Select(id => (int)tokenizer.GetPieceType(id)).ToArray());
        if (tokenizer.BosId >= 0) writer.Add("tokenizer.ggml.bos_token_id", (uint)tokenizer.BosId);
        if (tokenizer.EosId >= 0) writer.Add("tokenizer.ggml.eos_token_id", (uint)tokenizer.EosId);
        if (tokenizer.UnkId >= 0) writer.Add("tokenizer.ggml.unknown_token_id", (uint)tokenizer.UnkId);
        writer.Add("tokenizer.ggml.add_bos_token", tokenizer.BosId >= 0);
        writer.Add("tokenizer.ggml.add_eos_token", false);
        writer.Add("tokenizer.ggml.add_space_prefix", tokenizer.AddsDummyPrefix);
        // llama.cpp's SentencePiece tokenizer keeps every space; the key records how our tokenizer was trained, so
        // that importing the file gives back the same tokenizer.
        writer.Add("tokenizer.ggml.remove_extra_whitespaces", tokenizer.RemovesExtraWhitespaces);
    }

    /// <summary>Whether <paramref name="file"/> carries a vocabulary (<c>tokenizer.ggml.model</c>).</summary>
    public static bool IsPresent(GgufFile file) => file.Metadata.ContainsKey(ModelKey);

    /// <summary>The tokenizer the file's vocabulary describes, checked to have <paramref name="vocabSize"/> pieces.</summary>
    /// <exception cref="InvalidDataException">No vocabulary, another tokenizer kind, inconsistent arrays, or no byte pieces.</exception>
    public static SentencePieceModel Read(GgufFile file, int vocabSize)
    {
        string p = file.Path;
        string? model = file.String(ModelKey, required: false);
        if (model is null)
            throw new InvalidDataException($"'{p}' has no {ModelKey}: it carries no vocabulary. Give the tokenizer .model the model was trained with.");
        if (model != "llama")
            throw new InvalidDataException($"'{p}' has {ModelKey} \"{model}\"; TinyLlm's tokenizer is SentencePiece BPE with byte fallback ({ModelKey} \"llama\"), not {Kind(model)}.");
        string[] tokens = file.Array<string>("tokenizer.ggml.tokens", "strings")!;
        if (tokens.Length != vocabSize)
            throw new InvalidDataException($"'{p}' has {tokens.Length} tokenizer.ggml.tokens but its token embedding has {vocabSize} rows.");
        float[] scores = file.Array<float>("tokenizer.ggml.scores", "float32", required: false) ?? new float[tokens.Length];
        int[] types = file.Array<int>("tokenizer.ggml.token_type", "int32", required: false) ?? Enumerable.Repeat((int)PieceType.Normal, tokens.Length).ToArray();
        if (scores.Length != tokens.Length || types.Length != tokens.Length)
            throw new InvalidDataException($"'{p}' has {tokens.Length} tokenizer.ggml.tokens but {scores.Length} scores and {types.Length} token types; they must match one for one.");
        var pieces = new (string, float, PieceType)[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            if (types[i] is < 1 or > 6)
                throw new InvalidDataException($"'{p}': token {i} ('{tokens[i]}') has token type {types[i]}; GGUF's SentencePiece token types are 1 to 6.");
            if (tokens[i].Length == 0)
                throw new InvalidDataException($"'{p}': token {i} is empty.");
            pieces[i] = (tokens[i], scores[i], (PieceType)types[i]);
        }
        if (MissingBytePiece(id => tokens[id], id => (PieceType)types[id], tokens.Length) is string missing)
            throw new InvalidDataException($"'{p}' has no byte piece {missing} (token type 6, BYTE) in its vocabulary: TinyLlm's tokenizer, like llama.cpp's, falls back to the 256 byte pieces <0x00>..<0xFF> for characters outside the vocabulary.");
        int Id(string key, int fallback)
        {
            long id = file.Integer(key, required: false) ?? fallback;
            if (id < -1 || id >= tokens.Length)
                throw new InvalidDataException($"'{p}' has {key} = {id}, outside the vocabulary [0, {tokens.Length}).");
            return (int)id;
        }
        // llama.cpp's defaults for a "llama" vocabulary when the keys are absent
        return SentencePieceModel.FromPieces(pieces,
            unkId: Id("tokenizer.ggml.unknown_token_id", 0),
            bosId: Id("tokenizer.ggml.bos_token_id", 1),
            eosId: Id("tokenizer.ggml.eos_token_id", 2),
            padId: Id("tokenizer.ggml.padding_token_id", -1),
            addDummyPrefix: file.Bool("tokenizer.ggml.add_space_prefix") ?? true,
            removeExtraWhitespaces: file.Bool("tokenizer.ggml.remove_extra_whitespaces") ?? false,
            source: $"the vocabulary of '{p}'");
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first difference between the vocabulary embedded in
    /// <paramref name="ggufPath"/> and the tokenizer at <paramref name="modelPath"/>.
    /// </summary>
    public static void CheckSame(SentencePieceModel embedded, SentencePieceModel given, string ggufPath, string modelPath)
    {
        string Differs(string what) =>
            $"The tokenizer '{modelPath}' does not match the vocabulary embedded in '{ggufPath}': {what}. Leave out the tokenizer to use the embedded one.";
        if (embedded.VocabSize != given.VocabSize)
            throw new ArgumentException(Differs($"{given.VocabSize} pieces here, {embedded.VocabSize} there"));
        for (int id = 0; id < given.VocabSize; id++)
        {
            if (embedded.GetPiece(id) != given.GetPiece(id))
                throw new ArgumentException(Differs($"piece {id} is '{given.GetPiece(id)}' here and '{embedded.GetPiece(id)}' there"));
            if (BitConverter.SingleToInt32Bits(embedded.GetScore(id)) != BitConverter.SingleToInt32Bits(given.GetScore(id)))
                throw new ArgumentException(Differs($"piece {id} ('{given.GetPiece(id)}') has score {given.GetScore(id)} here and {embedded.GetScore(id)} there"));
            if (embedded.GetPieceType(id) != given.GetPieceType(id))
                throw new ArgumentException(Differs($"piece {id} ('{given.GetPiece(id)}') is of type {given.GetPieceType(id)} here and {embedded.GetPieceType(id)} there"));
        }
        if ((embedded.BosId, embedded.EosId, embedded.UnkId) != (given.BosId, given.EosId, given.UnkId))
            throw new ArgumentException(Differs($"BOS/EOS/UNK ids are {given.BosId}/{given.EosId}/{given.UnkId} here and {embedded.BosId}/{embedded.EosId}/{embedded.UnkId} there"));
        if ((embedded.AddsDummyPrefix, embedded.RemovesExtraWhitespaces) != (given.AddsDummyPrefix, given.RemovesExtraWhitespaces))
            throw new ArgumentException(Differs($"add_dummy_prefix/remove_extra_whitespaces are {given.AddsDummyPrefix}/{given.RemovesExtraWhitespaces} here and {embedded.AddsDummyPrefix}/{embedded.RemovesExtraWhitespaces} there"));
    }

    // The first of <0x00>..<0xFF> that is not a piece of type BYTE, or null.
    private static string? MissingBytePiece(Func<int, string> piece, Func<int, PieceType> type, int count)
    {
        var bytePieces = new HashSet<string>(StringComparer.Ordinal);
        for (int id = 0; id < count; id++)
            if (type(id) == PieceType.Byte) bytePieces.Add(piece(id));
        for (int b = 0; b < 256; b++)
        {
            string name = $"<0x{b:X2}>";
            if (!bytePieces.Contains(name)) return name;
        }
        return null;
    }

    private static string Kind(string model) => model switch
    {
        "gpt2" => "byte-level BPE (gpt2)",
        "bert" => "WordPiece (bert)",
        "t5" => "Unigram (t5)",
        _ => $"\"{model}\"",
    };
}
