using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Which vocabulary a model or a set of token ids belongs to: its size and a SHA-256 of its pieces in id order.
/// Two tokenizers with the same pieces give the same ids whatever else their <c>.model</c> files hold (trainer
/// settings, scores), so the pieces, not the file's bytes, are what a model and its data must share. Recorded in
/// the shard manifest and in training checkpoints; fine-tuning refuses data whose fingerprint differs from the
/// initial model's.
/// </summary>
/// <param name="VocabSize">Number of pieces (token ids 0 to VocabSize - 1).</param>
/// <param name="PiecesSha256">Lower-case hex SHA-256 of the pieces (see <see cref="Of(IEnumerable{string})"/>), or null when only the size is known.</param>
public sealed record TokenizerFingerprint(
    [property: JsonPropertyName("vocab_size")] int VocabSize,
    [property: JsonPropertyName("pieces_sha256")] string? PiecesSha256)
{
    /// <summary>The fingerprint of a SentencePiece model's vocabulary.</summary>
    public static TokenizerFingerprint Of(SentencePieceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Of(Enumerable.Range(0, model.VocabSize).Select(model.GetPiece));
    }

    /// <summary>
    /// The fingerprint of <paramref name="pieces"/> (id order): SHA-256 over each piece as a little-endian int32 byte
    /// length followed by its UTF-8 bytes, so no two vocabularies hash the same input.
    /// </summary>
    public static TokenizerFingerprint Of(IEnumerable<string> pieces)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        int count = 0;
        foreach (string piece in pieces)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(piece);
            BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
            hash.AppendData(length);
            hash.AppendData(utf8);
            count++;
        }
        return new TokenizerFingerprint(count, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Why ids made with <paramref name="data"/> cannot feed a model of this vocabulary (a sentence naming both), or null
    /// when they can: the sizes must be equal, and the pieces too when both sides know them.
    /// </summary>
    /// <param name="data">The tokenizer of the data.</param>
    /// <param name="modelName">Names the model in the sentence, e.g. "the initial model 'stories15M.bin'".</param>
    /// <param name="dataName">Names the data in the sentence, e.g. "the data in 'data/tok4096'".</param>
    public string? Mismatch(TokenizerFingerprint data, string modelName, string dataName)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.VocabSize != VocabSize)
            return $"{modelName} has a vocabulary of {VocabSize:N0} tokens but {dataName} was tokenized with a vocabulary of {data.VocabSize:N0}.";
        if (PiecesSha256 is not null && data.PiecesSha256 is not null && !string.Equals(PiecesSha256, data.PiecesSha256, StringComparison.OrdinalIgnoreCase))
            return $"{modelName} and {dataName} both have {VocabSize:N0} tokens but not the same pieces (tokenizer fingerprints {Short(PiecesSha256)} and {Short(data.PiecesSha256)}): they come from different tokenizers.";
        return null;
    }

    /// <summary>The first 12 hex digits, enough to tell fingerprints apart in a message.</summary>
    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;

    /// <inheritdoc/>
    public override string ToString() => PiecesSha256 is null ? $"{VocabSize} tokens" : $"{VocabSize} tokens, pieces {Short(PiecesSha256)}";
}
