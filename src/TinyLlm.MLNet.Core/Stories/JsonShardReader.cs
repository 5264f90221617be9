using System.Text.Json;

namespace TinyLlm.MLNet.Stories;

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
    private enum Expect { ArrayStart, ArrayItem, Property, StoryValue, OtherValue, NestedEnd, Done }

    private readonly string _path;
    private readonly FileByteWindow _file;
    private readonly FileByteWindow.DroppedBytes _countLines;
    private JsonReaderState _state;
    private long _linesBefore;     // newlines before the buffer's first byte
    private long _lineStart;       // file offset where the line holding the buffer's first byte starts

    private Expect _expect = Expect.ArrayStart;
    private int _nestedDepth;      // depth of the object/array being skipped
    private long _element = -1;    // index of the current array element
    private long _elementOffset;   // file offset of the current element's '{'
    private bool _sawStory;
    private string? _story;

    public JsonShardReader(string path)
    {
        _path = path;
        // Utf8JsonReader rejects a byte order mark; the window skips one, as other JSON tools do.
        _file = new FileByteWindow(path);
        _countLines = CountLines;
    }

    public bool TryReadNext(bool decode, out string? story)
    {
        story = null;
        while (_expect != Expect.Done)
        {
            var reader = new Utf8JsonReader(_file.Unread, _file.EndOfFile, _state);
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
            _file.Advance((int)reader.BytesConsumed);
            _state = reader.CurrentState;
            if (found)
            {
                story = _story;
                _story = null;
                return true;
            }
            if (_expect == Expect.Done) break;
            if (_file.EndOfFile)
                throw new InvalidDataException(
                    $"'{_path}' ends at byte offset {_file.ReadPosition} before its JSON array is closed; the file looks truncated.");
            _file.Refill(_countLines);
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
            // A story written on Windows may hold "\r\n" escapes: read it as the same story with "\n".
            return LineEndings.ToLf(reader.GetString()!);
        }
        catch (InvalidOperationException e)
        {
            // An escape such as a lone "\ud800" surrogate decodes to invalid UTF-16.
            throw new InvalidDataException(
                $"The \"story\" of element {_element} of '{_path}' (byte offset {Offset(ref reader)}) cannot be decoded: {e.Message}", e);
        }
    }

    private long Offset(ref Utf8JsonReader reader) => _file.Position + reader.TokenStartIndex;

    private InvalidDataException Malformed(JsonException e)
    {
        // The reader counts lines and positions from the start of the file (its state carries them across
        // refills); turn them into a file offset using the line starts we counted while discarding bytes.
        long line = e.LineNumber ?? 0;
        long lineStart = _lineStart;
        var buffered = _file.Buffered;
        for (int i = 0; i < buffered.Length && line > _linesBefore; i++)
        {
            if (buffered[i] != (byte)'\n') continue;
            line--;
            lineStart = _file.BufferOffset + i + 1;
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

    // Remembers where lines start in the bytes a refill drops, for error offsets (a vectorised count, cheap).
    private void CountLines(ReadOnlySpan<byte> dropped, long fileOffset)
    {
        int newlines = dropped.Count((byte)'\n');
        if (newlines == 0) return;
        _linesBefore += newlines;
        _lineStart = fileOffset + dropped.LastIndexOf((byte)'\n') + 1;
    }

    public void Dispose() => _file.Dispose();
}
