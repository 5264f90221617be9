using System.Text;
using System.Text.Json;

namespace TinyLlm.MLNet.Tests;

/// <summary>Stories, JSON shards and SentencePiece models for the token-shard tests (made once per test run).</summary>
internal static class TokenShardTestData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), "tinyllm-shard-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        if (Environment.GetEnvironmentVariable("TINYLLM_KEEP_TEST_FILES") != "1")
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            };
        return dir;
    });

    private static readonly object Gate = new();
    private static readonly Dictionary<string, string> Models = [];

    /// <summary>A fresh empty folder for one test.</summary>
    public static string NewFolder(string name)
    {
        string dir = Path.Combine(Root.Value, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Synthetic TinyStories-like stories: dialogue, newlines, digits, accented letters, CJK and emoji (byte fallback),
    /// surrounding white space (stripped), an empty and a white-space-only story.
    /// </summary>
    public static List<string> Stories(int count, int seed)
    {
        string[] names = ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Zoë", "Timmy", "Anna", "Sam"];
        string[] things = ["ball", "red kite", "little dog", "big tree", "toy car", "cake", "boat", "flower", "café", "box of 12 crayons"];
        string[] verbs = ["found", "liked", "wanted", "saw", "lost", "shared", "painted", "hugged", "fixed", "chased"];
        string[] ends = [".", "!", ".", ".", "?"];
        string[] extras = ["", "", "", "", "", " 🙂", " 你好", " naïve", " 3.14", " 2024", "\n\n", "\n", "  two  spaces", "\ttab", "\u00a0nbsp", "\r\n", " (x) [y] {z}", " it's -- ok...", " ÅÄÖ ß"];
        var rng = new Random(seed);
        var stories = new List<string>(count);
        for (int s = 0; s < count; s++)
        {
            if (s == 7) { stories.Add(""); continue; }
            if (s == 11) { stories.Add("  \n \t "); continue; }
            var sb = new StringBuilder();
            if (rng.Next(5) == 0) sb.Append("  ");
            int sentences = rng.Next(3, 12);
            for (int i = 0; i < sentences; i++)
            {
                string who = names[rng.Next(names.Length)];
                string what = things[rng.Next(things.Length)];
                if (rng.Next(4) == 0)
                    sb.Append($"\"Look at my {what}{ends[rng.Next(ends.Length)]}\" said {who}.");
                else
                    sb.Append($"{(i == 0 ? "Once upon a time, " : "")}{who} {verbs[rng.Next(verbs.Length)]} the {what}{ends[rng.Next(ends.Length)]}");
                sb.Append(extras[rng.Next(extras.Length)]);
                sb.Append(' ');
            }
            if (rng.Next(5) == 0) sb.Append("\n ");
            stories.Add(sb.ToString());
        }
        return stories;
    }

    /// <summary>Writes <paramref name="stories"/> as a TinyStories JSON shard: an array of objects with a "story" field.</summary>
    public static void WriteJsonShard(string path, IEnumerable<string> stories)
    {
        var rows = stories.Select(s => new Dictionary<string, object> { ["story"] = s, ["source"] = "GPT-4" });
        File.WriteAllText(path, JsonSerializer.Serialize(rows));
    }

    /// <summary>Reads the stories of a TinyStories JSON shard (the test's own minimal reader).</summary>
    public static List<string> ReadJsonShard(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("story").GetString() ?? "").ToList();
    }

    /// <summary>
    /// A SentencePiece BPE model trained by Debian's spm_train with llama2.c's options on synthetic stories; two
    /// different <paramref name="vocabSize"/>s give two different tokenizers.
    /// </summary>
    public static string SpmModel(int vocabSize)
    {
        string spmTrain = ReferenceTools.Require("spm_train", "apt-get install sentencepiece");
        lock (Gate)
        {
            string key = vocabSize.ToString();
            if (Models.TryGetValue(key, out var cached)) return cached;
            string dir = Path.Combine(Root.Value, "spm");
            Directory.CreateDirectory(dir);
            string corpus = Path.Combine(dir, $"corpus{vocabSize}.txt");
            File.WriteAllLines(corpus, Stories(3000, seed: vocabSize).Select(s => s.Trim()).Where(s => s.Length > 0).Select(s => s.Replace('\n', ' ')));
            string prefix = Path.Combine(dir, $"tok{vocabSize}");
            string args = $"--input={corpus} --model_prefix={prefix} --model_type=bpe --vocab_size={vocabSize} --character_coverage=1.0 " +
                          "--split_digits=true --allow_whitespace_only_pieces=true --byte_fallback=true --normalization_rule_name=identity " +
                          "--input_format=text --self_test_sample_size=0 --num_threads=2 --minloglevel=2";
            int rc = ReferenceTools.Run(spmTrain, args, out string output);
            Assert.AreEqual(0, rc, "spm_train failed: " + output);
            Models[key] = prefix + ".model";
            return prefix + ".model";
        }
    }

    /// <summary>Writes raw little-endian uint16 tokens to <paramref name="path"/>.</summary>
    public static void WriteBin(string path, IEnumerable<int> tokens)
    {
        var bytes = new List<byte>();
        foreach (int t in tokens) { bytes.Add((byte)t); bytes.Add((byte)(t >> 8)); }
        File.WriteAllBytes(path, bytes.ToArray());
    }
}
