using System.Text;
using System.Text.Json;

namespace TinyLlm.MLNet.Data;

/// <summary>
/// Streams the <c>story</c> strings out of one TinyStories shard: a JSON array of objects such as
/// <c>{"story": "...", "instruction": {...}, "summary": "...", "source": "GPT-4"}</c>.
/// </summary>
/// <remarks>
/// A <see cref="Utf8JsonReader"/> runs over a buffer that is refilled from the file; its
/// <see cref="JsonReaderState"/> carries over between refills, so a shard of any size is read in constant memory
/// (the buffer only grows when one token is larger than it). Other fields and nested values are skipped token by
/// token, which also works when they span refills. Errors name the file and the absolute byte offset.
/// </remarks>
internal sealed class JsonShardReader : IStoryFileReader
{
    private const int InitialBufferSize = 64 * 1024;

    private enum Expect { ArrayStart, ArrayItem, Property, StoryValue, OtherValue, NestedEnd, Done }

    private readonly string _path;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _start;            // first unread byte in _buffer
    private int _end;              // one past the last valid byte in _buffer
    private long _bufferOffset;    // file offset of _buffer[0]
    private bool _endOfFile;
    private JsonReaderState _state;
    private long _linesBefore;     // newlines before _bufferOffset
    private long _lineStart;       // file offset where the line holding _bufferOffset starts

    private Expect _expect = Expect.ArrayStart;
    private int _nestedDepth;      // depth of the object/array being skipped
    private long _element = -1;    // index of the current array element
    private long _elementOffset;   // file offset of the current element's '{'
    private bool _sawStory;
    private string? _story;

    public JsonShardReader(string path)
    {
        _path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        Refill();
        // Utf8JsonReader rejects a byte order mark; tolerate one as other JSON tools do.
        if (_end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF) _start = 3;
    }

    public bool TryReadNext(bool decode, out string? story)
    {
        story = null;
        while (_expect != Expect.Done)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _endOfFile, _state);
            bool found = false;
            try
            {
                while (!found && _expect != Expect.Done && reader.Read())
                    found = Step(ref reader, decode);
            }
            catch (JsonException e)
            {
                throw Malformed(e);
            }
            _start += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            if (found)
            {
                story = _story;
                _story = null;
                return true;
            }
            if (_expect == Expect.Done) break;
            if (_endOfFile)
                throw new InvalidDataException(
                    $"'{_path}' ends at byte offset {_bufferOffset + _end} before its JSON array is closed; the file looks truncated.");
            Refill();
        }
        return false;
    }

    /// <summary>Consumes one token; true when it completed a story object.</summary>
    private bool Step(ref Utf8JsonReader reader, bool decode)
    {
        switch (_expect)
        {
            case Expect.ArrayStart:
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new InvalidDataException(
                        $"'{_path}' is not a TinyStories shard: expected a JSON array of story objects but found {Describe(reader.TokenType)} at byte offset {Offset(ref reader)}.");
                _expect = Expect.ArrayItem;
                return false;

            case Expect.ArrayItem:
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    _expect = Expect.Done;
                    return false;
                }
                _element++;
                _elementOffset = Offset(ref reader);
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw new InvalidDataException(
                        $"Element {_element} of '{_path}' (byte offset {_elementOffset}) is {Describe(reader.TokenType)}, but a story object like {{\"story\": \"...\"}} was expected.");
                _sawStory = false;
                _expect = Expect.Property;
                return false;

            case Expect.Property:
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    if (!_sawStory)
                        throw new InvalidDataException(
                            $"Element {_element} of '{_path}' (the object at byte offset {_elementOffset}) has no \"story\" field.");
                    _expect = Expect.ArrayItem;
                    return true;
                }
                // The first "story" wins; a repeated one is skipped like any other field.
                _expect = !_sawStory && reader.ValueTextEquals("story"u8) ? Expect.StoryValue : Expect.OtherValue;
                return false;

            case Expect.StoryValue:
                if (reader.TokenType != JsonTokenType.String)
                    throw new InvalidDataException(
                        $"The \"story\" field of element {_element} of '{_path}' (byte offset {Offset(ref reader)}) is {Describe(reader.TokenType)}, not a string.");
                if (decode) _story = DecodeString(ref reader);
                _sawStory = true;
                _expect = Expect.Property;
                return false;

            case Expect.OtherValue:
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    _nestedDepth = reader.CurrentDepth;
                    _expect = Expect.NestedEnd;
                }
                else
                {
                    _expect = Expect.Property;
                }
                return false;

            case Expect.NestedEnd:
                if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == _nestedDepth)
                    _expect = Expect.Property;
                return false;

            default:
                return false;
        }
    }

    private string DecodeString(ref Utf8JsonReader reader)
    {
        // The reader checks JSON syntax, not UTF-8: find the first bad byte ourselves so the error can point at it.
        ReadOnlySpan<byte> raw = reader.ValueSpan;
        int bad = Utf8Validation.FirstInvalidByte(raw);
        if (bad >= 0)
            throw new InvalidDataException(
                $"'{_path}' has invalid UTF-8 at byte offset {Offset(ref reader) + 1 + bad}, in the \"story\" of element {_element}.");
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            // An escape such as a lone "\ud800" surrogate decodes to invalid UTF-16.
            throw new InvalidDataException(
                $"The \"story\" of element {_element} of '{_path}' (byte offset {Offset(ref reader)}) cannot be decoded: {e.Message}", e);
        }
    }

    private long Offset(ref Utf8JsonReader reader) => _bufferOffset + _start + reader.TokenStartIndex;

    private InvalidDataException Malformed(JsonException e)
    {
        // The reader counts lines and positions from the start of the file (its state carries them across
        // refills); turn them into a file offset using the line starts we counted while discarding bytes.
        long line = e.LineNumber ?? 0;
        long lineStart = _lineStart;
        for (int i = 0; i < _end && line > _linesBefore; i++)
        {
            if (_buffer[i] != (byte)'\n') continue;
            line--;
            lineStart = _bufferOffset + i + 1;
        }
        long offset = lineStart + (e.BytePositionInLine ?? 0);
        string reason = e.Message;
        int cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) reason = reason[..cut];
        return new InvalidDataException($"Malformed JSON in '{_path}' at byte offset {offset}: {reason}", e);
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    /// <summary>Keeps the unread bytes, grows the buffer if one token fills it, and reads more of the file.</summary>
    private void Refill()
    {
        if (_start > 0)
        {
            // Remember where lines start in the bytes we drop, for error offsets (a vectorised count, cheap).
            var dropped = _buffer.AsSpan(0, _start);
            int newlines = dropped.Count((byte)'\n');
            if (newlines > 0)
            {
                _linesBefore += newlines;
                _lineStart = _bufferOffset + dropped.LastIndexOf((byte)'\n') + 1;
            }
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _endOfFile = true;
        _end += read;
    }

    public void Dispose() => _stream.Dispose();
}
