using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Stories;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TinyStoriesReaderTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "tinystories-reader-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private sealed class Story
    {
        public string Text { get; set; } = "";
    }

    /// <summary>A shard in the real format: story plus an instruction object with nested arrays, summary, source.</summary>
    private static string WriteShard(string path, IEnumerable<string> stories)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartArray();
        int i = 0;
        foreach (string story in stories)
        {
            json.WriteStartObject();
            // Put other fields before and after "story", with brackets and quotes inside strings.
            if (i % 2 == 0) json.WriteString("summary", "A \"tricky\" {summary} with [brackets] and story: \\ ");
            json.WriteString("story", story);
            json.WriteStartObject("instruction");
            json.WriteString("prompt:", "Write a story. {\"story\": \"not this one\"}");
            json.WriteStartArray("words");
            json.WriteStringValue("dog");
            json.WriteStartObject();
            json.WriteString("story", "nested, not a story");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteStartArray("features");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteNumber("index", i);
            json.WriteNull("nothing");
            json.WriteString("source", "GPT-4");
            json.WriteEndObject();
            i++;
        }
        json.WriteEndArray();
        return path;
    }

    private static string[] MakeStories(int count, int seed, int maxLength = 300)
    {
        var random = new Random(seed);
        var stories = new string[count];
        for (int i = 0; i < count; i++)
        {
            var text = new StringBuilder($"Story {i}: Once upon a time, \"Lily\" said \\hi\\ to a café owner 😀.");
            int extra = random.Next(maxLength);
            for (int j = 0; j < extra; j++) text.Append((char)('a' + random.Next(26)));
            stories[i] = text.ToString();
        }
        return stories;
    }

    [TestMethod]
    public void ReadsTheStoryFieldOfEveryShardInNameOrder()
    {
        WriteShard(Path.Combine(_dir, "data01.json"), ["third", "fourth"]);
        WriteShard(Path.Combine(_dir, "data00.json"), ["first", "second"]);
        WriteShard(Path.Combine(_dir, "data02.json"), []);
        File.WriteAllText(Path.Combine(_dir, "notes.md"), "not a shard");

        CollectionAssert.AreEqual(new[] { "first", "second", "third", "fourth" }, TinyStoriesReader.ReadStories(_dir).ToArray());
    }

    [TestMethod]
    public void StreamsValuesThatSpanBufferRefillsExactlyLikeSystemTextJson()
    {
        // Enough data to refill the 64 KB buffer many times, with one story bigger than the buffer.
        var stories = MakeStories(2000, seed: 1).ToList();
        stories.Insert(700, new string('x', 200_000) + " end");
        string shard = WriteShard(Path.Combine(_dir, "data00.json"), stories);

        using var document = JsonDocument.Parse(File.ReadAllBytes(shard));
        var expected = document.RootElement.EnumerateArray().Select(e => e.GetProperty("story").GetString()).ToArray();
        CollectionAssert.AreEqual(expected, TinyStoriesReader.ReadStories(shard).ToArray());
        CollectionAssert.AreEqual(stories, expected);
    }

    [TestMethod]
    public void ShardOptionsPickTheShardsAndMaxRowsStopsEarly()
    {
        for (int s = 0; s < 5; s++)
            WriteShard(Path.Combine(_dir, $"data{s:D2}.json"), [$"s{s}a", $"s{s}b"]);

        CollectionAssert.AreEqual(new[] { "s1a", "s1b", "s2a", "s2b" },
            TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { FirstShard = 1, ShardCount = 2 }).ToArray());
        CollectionAssert.AreEqual(new[] { "s3a", "s3b", "s4a", "s4b" },
            TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { FirstShard = 3 }).ToArray());
        CollectionAssert.AreEqual(new[] { "s0a", "s0b", "s1a" },
            TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { MaxRows = 3 }).ToArray());
        Assert.AreEqual(0, TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { MaxRows = 0 }).Count());
    }

    [TestMethod]
    public void ReadsPlainTextOneStoryPerLineSkippingBlankLines()
    {
        File.WriteAllText(Path.Combine(_dir, "b.txt"), "Third story.\r\n\r\n   \nFourth story, no newline at end");
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "\uFEFFFirst story.\nSecond story with café.\n\n");

        CollectionAssert.AreEqual(
            new[] { "First story.", "Second story with café.", "Third story.", "Fourth story, no newline at end" },
            TinyStoriesReader.ReadStories(_dir).ToArray());
        CollectionAssert.AreEqual(new[] { "Third story.", "Fourth story, no newline at end" },
            TinyStoriesReader.ReadStories(Path.Combine(_dir, "b.txt")).ToArray());
    }

    [TestMethod]
    public void LongTextLinesSpanningRefillsAreKeptWhole()
    {
        var lines = MakeStories(3000, seed: 2, maxLength: 2000);
        lines[10] = new string('y', 150_000);
        string file = Path.Combine(_dir, "corpus.txt");
        File.WriteAllLines(file, lines);
        CollectionAssert.AreEqual(lines, TinyStoriesReader.ReadStories(file).ToArray());
    }

    [TestMethod]
    public void DataViewIsALazyTextColumnThatMLNetCanRead()
    {
        WriteShard(Path.Combine(_dir, "data00.json"), ["one", "two"]);
        WriteShard(Path.Combine(_dir, "data01.json"), ["three"]);
        var mlContext = new MLContext(seed: 0);

        IDataView view = mlContext.Data.LoadTinyStories(_dir);
        Assert.AreEqual(1, view.Schema.Count);
        Assert.AreEqual("Text", view.Schema[0].Name);
        Assert.AreEqual(TextDataViewType.Instance, view.Schema[0].Type);
        Assert.IsNull(view.GetRowCount());
        Assert.IsFalse(view.CanShuffle);

        var rows = mlContext.Data.CreateEnumerable<Story>(view, reuseRowObject: false).Select(s => s.Text).ToArray();
        CollectionAssert.AreEqual(new[] { "one", "two", "three" }, rows);

        var preview = view.Preview(maxRows: 2);
        Assert.AreEqual(2, preview.RowView.Length);
        Assert.AreEqual("two", preview.ColumnView[0].Values[1].ToString());

        var taken = mlContext.Data.TakeRows(view, 2);
        Assert.AreEqual(2, mlContext.Data.CreateEnumerable<Story>(taken, reuseRowObject: true).Count());

        // A transform downstream reads the column like any text column.
        var tokens = mlContext.Transforms.Text.TokenizeIntoWords("Words", "Text").Fit(view).Transform(view);
        Assert.AreEqual(3, tokens.Preview().RowView.Length);
    }

    [TestMethod]
    public void CursorHonoursActiveColumnsPositionAndRowIds()
    {
        WriteShard(Path.Combine(_dir, "data00.json"), ["a", "b", "c"]);
        var view = new MLContext().Data.LoadTinyStories(_dir, new TinyStoriesOptions { TextColumnName = "Story" });
        var column = view.Schema["Story"];

        using (var cursor = view.GetRowCursor(view.Schema))
        {
            Assert.IsTrue(cursor.IsColumnActive(column));
            var getText = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            var getId = cursor.GetIdGetter();
            Assert.AreEqual(-1, cursor.Position);
            ReadOnlyMemory<char> text = default;
            Assert.ThrowsExactly<InvalidOperationException>(() => getText(ref text));
            var ids = new List<DataViewRowId>();
            var texts = new List<string>();
            while (cursor.MoveNext())
            {
                Assert.AreEqual(texts.Count, cursor.Position);
                Assert.AreEqual(0, cursor.Batch);
                getText(ref text);
                texts.Add(text.ToString());
                DataViewRowId id = default;
                getId(ref id);
                ids.Add(id);
            }
            CollectionAssert.AreEqual(new[] { "a", "b", "c" }, texts);
            Assert.AreEqual(3, ids.Distinct().Count());
            Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<float>(column));
        }

        using (var cursor = view.GetRowCursor([]))
        {
            Assert.IsFalse(cursor.IsColumnActive(column));
            Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<ReadOnlyMemory<char>>(column));
            int rows = 0;
            while (cursor.MoveNext()) rows++;
            Assert.AreEqual(3, rows);
        }
        var set = view.GetRowCursorSet(view.Schema, 4);
        Assert.HasCount(1, set);
        set[0].Dispose();
    }

    [TestMethod]
    public void LoadingChecksThePathEagerlyButReadsNothing()
    {
        string shard = Path.Combine(_dir, "data00.json");
        File.WriteAllText(shard, "[{\"story\": 1}]");
        var view = new MLContext().Data.LoadTinyStories(_dir);
        _ = TinyStoriesReader.ReadStories(_dir);
        // Only reading it finds the bad value.
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(_dir).ToList());
        StringAssert.Contains(e.Message, "\"story\" field of element 0");
        StringAssert.Contains(e.Message, "not a string");
        Assert.IsNotNull(view);
    }

    [TestMethod]
    public void MissingFolderIsDirectoryNotFoundNamingIt()
    {
        string missing = Path.Combine(_dir, "TinyStories");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => new MLContext().Data.LoadTinyStories(missing));
        StringAssert.Contains(e.Message, missing);
        StringAssert.Contains(e.Message, "tinyllm download");
        Assert.ThrowsExactly<FileNotFoundException>(() => TinyStoriesReader.ReadStories(Path.Combine(_dir, "x.json")));
    }

    [TestMethod]
    public void FolderWithoutShardsSaysWhichFilesWereExpected()
    {
        File.WriteAllText(Path.Combine(_dir, "readme.md"), "hello");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => TinyStoriesReader.ReadStories(_dir));
        StringAssert.Contains(e.Message, _dir);
        StringAssert.Contains(e.Message, "data00.json");
        StringAssert.Contains(e.Message, ".txt");
    }

    [TestMethod]
    public void MalformedJsonNamesFileAndByteOffset()
    {
        string shard = Path.Combine(_dir, "data00.json");
        // The bad byte sits past the first buffer refill, at a known offset.
        string good = string.Join(",", Enumerable.Range(0, 2000).Select(i => $"{{\"story\": \"story number {i:D5} here\"}}"));
        string text = "[" + good + ",{\"story\": \"ok\" \"oops\": 1}]";
        File.WriteAllText(shard, text);
        long offset = Encoding.UTF8.GetByteCount(text[..text.IndexOf("\"oops\"", StringComparison.Ordinal)]);
        Assert.IsGreaterThan(64 * 1024, offset);

        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(_dir).ToList());
        StringAssert.Contains(e.Message, shard);
        StringAssert.Contains(e.Message, $"byte offset {offset}");
        StringAssert.StartsWith(e.Message, "Malformed JSON");
    }

    [TestMethod]
    public void MalformedJsonOnALaterLineStillGivesTheFileOffset()
    {
        string shard = Path.Combine(_dir, "data00.json");
        string text = "[\n  {\"story\": \"a\"},\n  {\"story\": \"b\"},\n  {\"story\": tru}\n]";
        File.WriteAllText(shard, text);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        // The reader points at the byte where the literal goes wrong: the "}" after "tru".
        int expected = text.IndexOf("tru}", StringComparison.Ordinal) + 3;
        StringAssert.Contains(e.Message, $"byte offset {expected}");
    }

    [TestMethod]
    public void TruncatedShardSaysSo()
    {
        string shard = Path.Combine(_dir, "data00.json");
        File.WriteAllText(shard, "[{\"story\": \"a\"}, {\"story\": \"b\"");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        StringAssert.Contains(e.Message, shard);
    }

    [TestMethod]
    public void ObjectWithoutStoryNamesElementAndOffset()
    {
        string shard = Path.Combine(_dir, "data00.json");
        string text = "[{\"story\": \"a\"}, {\"summary\": \"no story\", \"words\": {\"story\": \"nested\"}}]";
        File.WriteAllText(shard, text);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        StringAssert.Contains(e.Message, shard);
        StringAssert.Contains(e.Message, "Element 1");
        StringAssert.Contains(e.Message, $"byte offset {text.IndexOf("{\"summary", StringComparison.Ordinal)}");
        StringAssert.Contains(e.Message, "no \"story\" field");

        File.WriteAllText(shard, "[{\"story\": \"a\"}, \"just a string\"]");
        e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        StringAssert.Contains(e.Message, "Element 1");

        File.WriteAllText(shard, "{\"story\": \"a\"}");
        e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        StringAssert.Contains(e.Message, "not a TinyStories shard");
    }

    [TestMethod]
    public void InvalidUtf8NamesFileAndByteOffset()
    {
        string shard = Path.Combine(_dir, "data00.json");
        byte[] prefix = Encoding.UTF8.GetBytes("[{\"story\": \"good\"}, {\"story\": \"caf");
        byte[] bytes = [.. prefix, 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}]")];
        File.WriteAllBytes(shard, bytes);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(shard).ToList());
        StringAssert.Contains(e.Message, shard);
        StringAssert.Contains(e.Message, "UTF-8");
        StringAssert.Contains(e.Message, $"byte offset {prefix.Length}");

        string text = Path.Combine(_dir, "corpus.txt");
        byte[] line = Encoding.UTF8.GetBytes("fine line\nbad ");
        File.WriteAllBytes(text, [.. line, 0xFF, (byte)'\n']);
        e = Assert.ThrowsExactly<InvalidDataException>(() => TinyStoriesReader.ReadStories(text).ToList());
        StringAssert.Contains(e.Message, text);
        StringAssert.Contains(e.Message, $"byte offset {line.Length}");
        StringAssert.Contains(e.Message, "line 2");
    }

    [TestMethod]
    public void ShardOptionsOutOfRangeSayTheAllowedRange()
    {
        for (int s = 0; s < 3; s++) WriteShard(Path.Combine(_dir, $"data{s:D2}.json"), ["x"]);

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { FirstShard = 3 }));
        StringAssert.Contains(e.Message, "FirstShard is 3");
        StringAssert.Contains(e.Message, "between 0 and 2");

        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => new MLContext().Data.LoadTinyStories(_dir, new TinyStoriesOptions { FirstShard = 1, ShardCount = 5 }));
        StringAssert.Contains(e.Message, "ShardCount is 5");
        StringAssert.Contains(e.Message, "between 1 and 2");

        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { ShardCount = 0 }));
        StringAssert.Contains(e.Message, "between 1 and 3");

        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => TinyStoriesReader.ReadStories(_dir, new TinyStoriesOptions { MaxRows = -1 }));
        StringAssert.Contains(e.Message, "MaxRows");
    }
}
