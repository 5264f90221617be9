using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Turns a growing list of ids into text increments. SentencePiece decoding is a concatenation of pieces
/// except at the very start (the dummy-prefix space is dropped), so the prompt is decoded with the
/// continuation and its text subtracted; an increment ending in an incomplete UTF-8 sequence (U+FFFD from
/// byte-fallback pieces) waits for the next token.
/// </summary>
internal sealed class IncrementalDetokenizer
{
    private readonly SentencePieceModel _tokenizer;
    private readonly List<int> _ids;
    private readonly int _promptTextLength;
    private int _emitted;

    public IncrementalDetokenizer(SentencePieceModel tokenizer, int[] promptIds)
    {
        _tokenizer = tokenizer;
        _ids = new List<int>(promptIds);
        _promptTextLength = tokenizer.Decode(promptIds).Length;
    }

    public string Text { get; private set; } = "";

    public string Append(int id)
    {
        _ids.Add(id);
        string full = _tokenizer.Decode(_ids);
        Text = full.Length >= _promptTextLength ? full[_promptTextLength..] : "";
        if (Text.EndsWith('\uFFFD')) return "";
        return Flush();
    }

    public string Flush()
    {
        string piece = Text[Math.Min(_emitted, Text.Length)..];
        _emitted = Text.Length;
        return piece;
    }
}
