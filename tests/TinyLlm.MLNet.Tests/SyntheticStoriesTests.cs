using System.Text.Json;
using System.Text.RegularExpressions;
using TinyLlm.MLNet.Stories;
using TinyLlm.MLNet.Stories.Synthetic;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed partial class SyntheticStoriesTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "synthetic-stories-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    // 5,000 stories take well under a second; shared by the corpus-level tests.
    private static readonly Lazy<string[]> Corpus = new(() => SyntheticStories.Generate(5000, seed: 42).ToArray());

    [GeneratedRegex("[a-z]+")]
    private static partial Regex Word();

    [TestMethod]
    public void SameSeedGivesSameStoriesAndOtherSeedsDiffer()
    {
        var first = SyntheticStories.Generate(200, seed: 7).ToArray();
        CollectionAssert.AreEqual(first, SyntheticStories.Generate(200, seed: 7).ToArray());
        var other = SyntheticStories.Generate(200, seed: 8).ToArray();
        Assert.IsLessThan(5, first.Zip(other).Count(pair => pair.First == pair.Second));
        Assert.IsGreaterThan(190, first.Distinct().Count());
    }

    [TestMethod]
    public void WriteShardsIsByteIdenticalForTheSameSeedAndDiffersForAnother()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b"), c = Path.Combine(_dir, "c");
        var shards = SyntheticStories.WriteShards(a, stories: 2500, seed: 3, storiesPerShard: 1000);
        SyntheticStories.WriteShards(b, stories: 2500, seed: 3, storiesPerShard: 1000);
        SyntheticStories.WriteShards(c, stories: 2500, seed: 4, storiesPerShard: 1000);

        CollectionAssert.AreEqual(new[] { "data00.json", "data01.json", "data02.json" }, shards.Select(Path.GetFileName).ToArray());
        CollectionAssert.AreEqual(shards.ToArray(), Directory.GetFiles(a).Order(StringComparer.Ordinal).ToArray(), "no .tmp files are left");
        foreach (string shard in shards)
        {
            string name = Path.GetFileName(shard);
            CollectionAssert.AreEqual(File.ReadAllBytes(shard), File.ReadAllBytes(Path.Combine(b, name)));
            CollectionAssert.AreNotEqual(File.ReadAllBytes(shard), File.ReadAllBytes(Path.Combine(c, name)));
        }
    }

    [TestMethod]
    public void ShardsHoldTheGeneratedStoriesWhateverTheShardSize()
    {
        SyntheticStories.WriteShards(Path.Combine(_dir, "small"), stories: 95, seed: 5, storiesPerShard: 7);
        SyntheticStories.WriteShards(Path.Combine(_dir, "one"), stories: 95, seed: 5, storiesPerShard: 1000);

        var expected = SyntheticStories.Generate(95, seed: 5).ToArray();
        Assert.HasCount(14, Directory.GetFiles(Path.Combine(_dir, "small")));
        CollectionAssert.AreEqual(expected, TinyStoriesReader.ReadStories(Path.Combine(_dir, "small")).ToArray());
        CollectionAssert.AreEqual(expected, TinyStoriesReader.ReadStories(Path.Combine(_dir, "one")).ToArray());
    }

    [TestMethod]
    public void ShardsUseTheTinyStoriesRecordLayout()
    {
        var shards = SyntheticStories.WriteShards(_dir, stories: 30, seed: 1);
        using var document = JsonDocument.Parse(File.ReadAllBytes(shards[0]));
        Assert.AreEqual(JsonValueKind.Array, document.RootElement.ValueKind);
        Assert.AreEqual(30, document.RootElement.GetArrayLength());
        foreach (var record in document.RootElement.EnumerateArray())
        {
            Assert.IsFalse(string.IsNullOrWhiteSpace(record.GetProperty("story").GetString()));
            Assert.AreEqual("synthetic", record.GetProperty("source").GetString());
            Assert.IsFalse(string.IsNullOrWhiteSpace(record.GetProperty("summary").GetString()));
            var instruction = record.GetProperty("instruction");
            Assert.AreEqual(3, instruction.GetProperty("words").GetArrayLength());
            Assert.AreEqual(JsonValueKind.Array, instruction.GetProperty("features").ValueKind);
            StringAssert.Contains(instruction.GetProperty("prompt:").GetString(), instruction.GetProperty("words")[1].GetString());
        }
        // Quotes are escaped as \" (like the real shards), not \u0022.
        string text = File.ReadAllText(shards[0]);
        StringAssert.Contains(text, "\\\"");
        Assert.DoesNotContain("\\u0022", text);
    }

    [TestMethod]
    public void CorpusHasAtLeast1500DistinctWords()
    {
        var words = new HashSet<string>();
        foreach (string story in Corpus.Value)
            foreach (Match match in Word().Matches(story.ToLowerInvariant()))
                words.Add(match.Value);
        Assert.IsGreaterThanOrEqualTo(1500, words.Count, $"{words.Count} distinct words");
    }

    [TestMethod]
    public void StoriesHaveTinyStoriesLengthsOpeningsAndNames()
    {
        var stories = Corpus.Value;
        var lengths = stories.Select(s => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length).ToArray();
        Assert.IsTrue(lengths.All(n => n is >= 80 and <= 300), $"lengths {lengths.Min()}..{lengths.Max()}");
        Assert.IsTrue(lengths.Average() is >= 120 and <= 220, $"mean length {lengths.Average():F0}");

        Assert.IsGreaterThan(0.6, stories.Count(s => s.StartsWith("Once upon a time", StringComparison.Ordinal)) / (double)stories.Length);
        Assert.IsGreaterThan(0.4, stories.Count(s => s.Contains("One day, ", StringComparison.Ordinal) && s.Contains(" met ", StringComparison.Ordinal)) / (double)stories.Length);
        Assert.IsGreaterThan(0.02, stories.Count(s => s.Contains("One day, Lily met a", StringComparison.Ordinal)) / (double)stories.Length);
        foreach (string name in new[] { "Lily", "Tom", "Ben", "Mia", "Sue", "Max" })
            Assert.IsTrue(stories.Any(s => s.Contains(name + " ", StringComparison.Ordinal)), name);
        Assert.IsGreaterThan(0.8, stories.Count(s => s.Contains('"')) / (double)stories.Length, "most stories have dialogue");
    }

    [TestMethod]
    public void SentencesAreCapitalisedAndArticlesAgree()
    {
        var lowerAfterStop = new Regex(@"[.!?] [a-z]");
        var aBeforeVowel = new Regex(@"\b[Aa] (?!uni|use|usu)[aeiou]\w*");
        var anBeforeConsonant = new Regex(@"\b[Aa]n (?!hon|hou)[^aeiou\s]\w*");
        foreach (string story in Corpus.Value)
        {
            Assert.IsTrue(char.IsUpper(story[0]), story);
            Assert.IsFalse(lowerAfterStop.IsMatch(story), lowerAfterStop.Match(story).Value + " in: " + story);
            Assert.IsFalse(aBeforeVowel.IsMatch(story), aBeforeVowel.Match(story).Value + " in: " + story);
            Assert.IsFalse(anBeforeConsonant.IsMatch(story), anBeforeConsonant.Match(story).Value + " in: " + story);
            Assert.AreEqual(0, story.Count(ch => ch == '"') % 2, "balanced quotes in: " + story);
        }
    }

    [TestMethod]
    public void PronounsAgreeWithTheHero()
    {
        var opening = new Regex(@"^Once upon a time, there was a little (girl|boy) named \w+\. (\w+)");
        int checkedStories = 0;
        foreach (string story in Corpus.Value)
        {
            var match = opening.Match(story);
            if (!match.Success || match.Groups[2].Value is not ("She" or "He" or "Her" or "His")) continue;
            bool girl = match.Groups[1].Value == "girl";
            Assert.IsTrue(girl ? match.Groups[2].Value is "She" or "Her" : match.Groups[2].Value is "He" or "His", story);
            checkedStories++;
        }
        Assert.IsGreaterThan(500, checkedStories);
    }

    [TestMethod]
    public void ProgressReachesTheTotal()
    {
        var reports = new List<SyntheticStoriesProgress>();
        var progress = new SynchronousProgress(reports.Add);
        SyntheticStories.WriteShards(_dir, stories: 2100, seed: 1, storiesPerShard: 1500, progress: progress);
        var last = reports[^1];
        Assert.AreEqual(2100, last.StoriesWritten);
        Assert.AreEqual(2100, last.TotalStories);
        Assert.AreEqual(2, last.ShardsWritten);
        Assert.AreEqual(Directory.GetFiles(_dir).Sum(f => new FileInfo(f).Length), last.BytesWritten);
        Assert.IsTrue(reports.Zip(reports.Skip(1)).All(p => p.Second.StoriesWritten >= p.First.StoriesWritten));
    }

    [TestMethod]
    public void InvalidCountsSayTheAllowedRange()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticStories.WriteShards(_dir, stories: 0, seed: 1));
        StringAssert.Contains(e.Message, "between 1 and");
        Assert.AreEqual("stories", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticStories.WriteShards(_dir, stories: 10, seed: 1, storiesPerShard: -1));
        Assert.AreEqual("storiesPerShard", e.ParamName);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SyntheticStories.Generate(-1, seed: 1));
        Assert.IsEmpty(Directory.GetFiles(_dir));
    }

    [TestMethod]
    public void RefusesAFolderWithOtherShardsButRewritesItsOwn()
    {
        SyntheticStories.WriteShards(_dir, stories: 30, seed: 1, storiesPerShard: 10);
        // The same run again overwrites data00..data02 in place.
        SyntheticStories.WriteShards(_dir, stories: 30, seed: 2, storiesPerShard: 10);
        CollectionAssert.AreEqual(SyntheticStories.Generate(30, 2).ToArray(), TinyStoriesReader.ReadStories(_dir).ToArray());

        // A smaller run would leave data02.json behind, mixed into the data set: refused, nothing touched.
        var before = File.ReadAllBytes(Path.Combine(_dir, "data00.json"));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => SyntheticStories.WriteShards(_dir, stories: 15, seed: 3, storiesPerShard: 10));
        StringAssert.Contains(e.Message, _dir);
        StringAssert.Contains(e.Message, "data02.json");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(Path.Combine(_dir, "data00.json")));
    }

    private sealed class SynchronousProgress(Action<SyntheticStoriesProgress> report) : IProgress<SyntheticStoriesProgress>
    {
        public void Report(SyntheticStoriesProgress value) => report(value);
    }
}
