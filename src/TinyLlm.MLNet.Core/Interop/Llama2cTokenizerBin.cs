using System.Text;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Interop;

/// <summary>
/// Writes and reads llama2.c's <c>tokenizer.bin</c> (what its tokenizer.py exports from a sentencepiece
/// <c>.model</c> and <c>run.c</c> reads next to the checkpoint).
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// uint32 max_token_length; then per token id 0..vocab_size-1: float32 score, int32 byte length, the UTF-8 bytes
/// (no terminator). The piece text has sentencepiece's "▁" replaced by a space; BOS is written as "\n&lt;s&gt;\n" and EOS
/// as "\n&lt;/s&gt;\n", byte pieces literally (<c>&lt;0x0A&gt;</c>). The file does not hold the vocabulary size: run.c takes
/// it from the checkpoint.
/// </remarks>
public static class Llama2cTokenizerBin
{
    /// <summary>The token strings and scores of a tokenizer.bin.</summary>
    /// <param name="MaxTokenLength">The header's longest token length in bytes.</param>
    /// <param name="Tokens">Each token's bytes.</param>
    /// <param name="Scores">Each token's score.</param>
    public sealed record Vocabulary(int MaxTokenLength, IReadOnlyList<byte[]> Tokens, IReadOnlyList<float> Scores);

    /// <summary>Writes the tokenizer.bin of <paramref name="model"/> to <paramref name="path"/> (via a temporary file and a rename).</summary>
    public static void Write(SentencePieceModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tokens = new byte[model.VocabSize][];
        for (int i = 0; i < tokens.Length; i++)
        {
            string piece = i == model.BosId ? "\n<s>\n" : i == model.EosId ? "\n</s>\n" : model.GetPiece(i);
            tokens[i] = Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
        }
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write((uint)tokens.Max(t => t.Length));
            for (int i = 0; i < tokens.Length; i++)
            {
                w.Write(model.GetScore(i));
                w.Write(tokens[i].Length);
                w.Write(tokens[i]);
            }
        });
    }

    /// <summary>Reads the <paramref name="vocabSize"/> tokens of a tokenizer.bin.</summary>
    /// <exception cref="InvalidDataException">The file ends early, a length is out of range, or bytes are left over.</exception>
    public static Vocabulary Read(string path, int vocabSize)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer.bin '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        try
        {
            int max = checked((int)r.ReadUInt32());
            var tokens = new byte[vocabSize][];
            var scores = new float[vocabSize];
            for (int i = 0; i < vocabSize; i++)
            {
                scores[i] = r.ReadSingle();
                int length = r.ReadInt32();
                if (length < 0 || length > max)
                    throw new InvalidDataException($"'{path}': token {i} has length {length}, outside [0, max_token_length {max}].");
                tokens[i] = r.ReadBytes(length);
                if (tokens[i].Length < length) throw new EndOfStreamException();
            }
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw new InvalidDataException($"'{path}' has {r.BaseStream.Length - r.BaseStream.Position} bytes after token {vocabSize - 1}: it holds more than {vocabSize} tokens.");
            return new Vocabulary(max, tokens, scores);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"'{path}' ends before its {vocabSize} tokens: the file is truncated or the vocabulary is smaller.");
        }
    }
}
