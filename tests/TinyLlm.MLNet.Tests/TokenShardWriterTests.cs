using System.Text.Json;
using Microsoft.ML;
using TinyLlm.MLNet.Shards;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TokenShardWriterTests
{
    private static TokenShardInput JsonInput(string path) =>
        TokenShardInput.FromStories(Path.GetFileNameWithoutExtension(path), () => TokenShardTestData.ReadJsonShard(path), Path.GetFileName(path));

    [TestMethod]
    public void ShardsEqualPythonSentencepieceAndNumpyByteForByte()
    {
        string model = TokenShardTestData.SpmModel(512);
        ReferenceTools.RequirePythonModule("sentencepiece", "apt-get install python3-sentencepiece");
        ReferenceTools.RequirePythonModule("numpy", "apt-get install python3-numpy");
        string dir = TokenShardTestData.NewFolder("python");
        var jsons = new List<string>();
        for (int s = 0; s < 2; s++)
        {
            string json = Path.Combine(dir, $"data{s:D2}.json");
            TokenShardTestData.WriteJsonShard(json, TokenShardTestData.Stories(1500, seed: 100 + s));
            jsons.Add(json);
        }
        string outDir = Path.Combine(dir, "tok512");
        var writer = new TokenShardWriter(model);
        Assert.IsTrue(writer.MemoizesWords, "a model trained with llama2.c's options has no piece spanning two words");
        var manifest = writer.Write(jsons.Select(JsonInput).ToList(), outDir);

        // llama2.c's pretokenize, per shard: strip, encode with BOS and no EOS, concatenate, uint16 tofile.
        string script = Path.Combine(dir, "reference.py");
        File.WriteAllText(script, """
            import json, sys
            import numpy as np
            import sentencepiece as spm
            sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
            for src, dst in zip(sys.argv[2::2], sys.argv[3::2]):
                with open(src, "r") as f:
                    data = json.load(f)
                all_tokens, lengths = [], []
                for example in data:
                    # llama2.c's line, after TinyLlm's one rule of its own: "\r\n" and "\r" read as "\n" (docs/platforms.md)
                    text = example["story"].replace("\r\n", "\n").replace("\r", "\n").strip()
                    tokens = [sp.bos_id()] + sp.encode(text)
                    all_tokens.extend(tokens)
                    lengths.append(len(tokens))
                np.array(all_tokens, dtype=np.uint16).tofile(dst)
                with open(dst + ".lengths", "w") as f:
                    json.dump(lengths, f)
            """.Replace("\n            ", "\n"));
        string pairs = string.Join(' ', jsons.Select(j => $"{j} {Path.ChangeExtension(j, ".ref.bin")}"));
        Assert.AreEqual(0, ReferenceTools.Run(ReferenceTools.SystemPython, $"{script} {model} {pairs}", out string pyOut), pyOut);

        int stories = 0, differing = 0;
        foreach (string json in jsons)
        {
            byte[] ours = File.ReadAllBytes(Path.Combine(outDir, Path.GetFileNameWithoutExtension(json) + ".bin"));
            byte[] theirs = File.ReadAllBytes(Path.ChangeExtension(json, ".ref.bin"));
            var texts = TokenShardTestData.ReadJsonShard(json);
            stories += texts.Count;
            Assert.AreEqual(texts.Count, manifest.Find(Path.GetFileNameWithoutExtension(json) + ".bin")!.Stories);
            if (ours.AsSpan().SequenceEqual(theirs)) continue;

            // Not identical: count the stories whose encodings differ (the known encoder differences).
            var lengths = JsonSerializer.Deserialize<int[]>(File.ReadAllText(Path.ChangeExtension(json, ".ref.bin") + ".lengths"))!;
            var reference = ToIds(theirs);
            var oursPerStory = texts.Select(writer.EncodeStory).ToList();
            CollectionAssert.AreEqual(oursPerStory.SelectMany(x => x).ToArray(), ToIds(ours), "the shard must be the concatenation of its stories");
            int at = 0;
            for (int i = 0; i < texts.Count; i++)
            {
                if (!reference.AsSpan(at, lengths[i]).SequenceEqual(oursPerStory[i])) differing++;
                at += lengths[i];
            }
        }
        Assert.AreEqual(3000, stories);
        Assert.IsLessThanOrEqualTo(stories * 0.005, differing, $"{differing} of {stories} stories encode differently from Python sentencepiece.");
        File.WriteAllText(Path.Combine(dir, "differing.txt"), $"{differing} of {stories}");
        Console.WriteLine($"{differing} of {stories} stories differ from Python sentencepiece (known encoder differences).");
    }

    [TestMethod]
    public void MemoizedWordsEncodeExactlyAsWholeStories()
    {
        string model = TokenShardTestData.SpmModel(512);
        var memo = new TokenShardWriter(model);
        var whole = new TokenShardWriter(model, new TokenShardWriterOptions { MemoizeWords = false });
        Assert.IsTrue(memo.MemoizesWords);
        Assert.IsFalse(whole.MemoizesWords);
        var stories = TokenShardTestData.Stories(2000, seed: 77).Concat(["a  b   c", " x\n\n  y ", "====  ----", "\u00e9t\u00e9 \U0001F642\U0001F642 \u4f60\u597d\u4e16\u754c", "tab\there"]).ToList();
        foreach (var story in stories)
            CollectionAssert.AreEqual(whole.EncodeStory(story), memo.EncodeStory(story), story);
    }

    [TestMethod]
    public void StoryIsStrippedAndStartsWithBosWithoutEos()
    {
        var writer = new TokenShardWriter(TokenShardTestData.SpmModel(512));
        CollectionAssert.AreEqual(writer.EncodeStory("Lily saw the ball."), writer.EncodeStory(" \n Lily saw the ball.\t\u001f "));
        int[] ids = writer.EncodeStory("Lily saw the ball.");
        Assert.AreEqual(1, ids[0]);
        Assert.AreEqual(1, ids.Count(i => i == 1));
        Assert.IsFalse(ids.Contains(2));
        CollectionAssert.AreEqual(new[] { 1 }, writer.EncodeStory("   "), "an empty story is a lone BOS, as in llama2.c");
    }

    [TestMethod]
    public void OutputDoesNotDependOnThreadCountAndIsRenamedFromTemporary()
    {
        string model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("threads");
        var stories = TokenShardTestData.Stories(800, seed: 5);
        byte[] Run(int threads, int shardsInParallel)
        {
            string outDir = Path.Combine(dir, $"out{threads}-{shardsInParallel}");
            new TokenShardWriter(model, new TokenShardWriterOptions { MaxDegreeOfParallelism = threads, ShardsInParallel = shardsInParallel })
                .Write([TokenShardInput.FromStories("data00", () => stories), TokenShardInput.FromStories("data01", () => stories.Take(100))], outDir);
            Assert.IsEmpty(Directory.GetFiles(outDir, "*.tmp"));
            return File.ReadAllBytes(Path.Combine(outDir, "data00.bin")).Concat(File.ReadAllBytes(Path.Combine(outDir, "data01.bin"))).ToArray();
        }
        CollectionAssert.AreEqual(Run(1, 1), Run(4, 2));
    }

    [TestMethod]
    public void KilledRunResumesWithoutRedoingFinishedShards()
    {
        string model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("resume");
        var shards = Enumerable.Range(0, 3).Select(s => TokenShardTestData.Stories(300, seed: 40 + s)).ToList();
        var options = new TokenShardWriterOptions { ShardsInParallel = 1 };

        // A clean run, for comparison.
        string clean = Path.Combine(dir, "clean");
        new TokenShardWriter(model, options).Write(shards.Select((s, i) => TokenShardInput.FromStories($"data{i:D2}", () => s)).ToList(), clean);

        // A run killed while encoding the third shard.
        string outDir = Path.Combine(dir, "resumed");
        IEnumerable<string> Dies(List<string> s) { foreach (var x in s.Take(10)) yield return x; throw new IOException("killed"); }
        var killed = shards.Select((s, i) => TokenShardInput.FromStories($"data{i:D2}", () => i == 2 ? Dies(s) : s)).ToList();
        Assert.AreEqual("killed", Assert.ThrowsExactly<IOException>(() => new TokenShardWriter(model, options).Write(killed, outDir)).Message);
        Assert.IsFalse(File.Exists(Path.Combine(outDir, "data02.bin")));
        Assert.HasCount(2, TokenShardManifest.Load(outDir)!.Shards);
        var finishedTimes = new[] { "data00.bin", "data01.bin" }.Select(f => File.GetLastWriteTimeUtc(Path.Combine(outDir, f))).ToArray();

        // The re-run reads only the unfinished shard.
        var read = new List<int>();
        var resumed = shards.Select((s, i) => TokenShardInput.FromStories($"data{i:D2}", () => { lock (read) read.Add(i); return s; })).ToList();
        var progress = new List<TokenShardProgress>();
        var manifest = new TokenShardWriter(model, new TokenShardWriterOptions { ShardsInParallel = 1, Progress = new SyncProgress(progress) }).Write(resumed, outDir);
        CollectionAssert.AreEqual(new[] { 2 }, read);
        Assert.AreEqual(2, progress[^1].ShardsSkipped);
        Assert.AreEqual(3, progress[^1].ShardsDone);
        Assert.HasCount(3, manifest.Shards);
        CollectionAssert.AreEqual(finishedTimes, new[] { "data00.bin", "data01.bin" }.Select(f => File.GetLastWriteTimeUtc(Path.Combine(outDir, f))).ToArray());
        for (int i = 0; i < 3; i++)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(clean, $"data{i:D2}.bin")), File.ReadAllBytes(Path.Combine(outDir, $"data{i:D2}.bin")));
    }

    [TestMethod]
    public void ManifestOfAnotherTokenizerIsRejected()
    {
        string dir = TokenShardTestData.NewFolder("othertok");
        var stories = TokenShardTestData.Stories(200, seed: 9);
        new TokenShardWriter(TokenShardTestData.SpmModel(512)).Write([TokenShardInput.FromStories("data00", () => stories)], dir);
        string other = TokenShardTestData.SpmModel(400);

        var e = Assert.ThrowsExactly<InvalidDataException>(() => new TokenShardWriter(other).Write([TokenShardInput.FromStories("data00", () => stories)], dir));
        StringAssert.Contains(e.Message, "another tokenizer");
        StringAssert.Contains(e.Message, dir);

        var mlContext = new MLContext();
        var e2 = Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 8, ValidationShards = [], TokenizerModelPath = other }));
        StringAssert.Contains(e2.Message, "another tokenizer");

        // Overwrite replaces them.
        var manifest = new TokenShardWriter(other, new TokenShardWriterOptions { Overwrite = true }).Write([TokenShardInput.FromStories("data00", () => stories)], dir);
        Assert.AreEqual(400, manifest.VocabSize);
        using var view = mlContext.Data.LoadFromTokenShards(dir, new TokenShardLoaderOptions { SequenceLength = 8, ValidationShards = [], TokenizerModelPath = other });
        Assert.IsLessThan(400, view.MaxTokenId);
    }

    [TestMethod]
    public void VocabularyOverUInt16IsRejected()
    {
        // A real (if useless) BPE .model with 70,003 pieces, written as the sentencepiece ModelProto it is.
        string dir0 = TokenShardTestData.NewFolder("bigvocab");
        string big = Path.Combine(dir0, "big.model");
        using (var file = File.Create(big))
        {
            var o = new Google.Protobuf.CodedOutputStream(file);
            void Piece(string text, int type)
            {
                var body = new MemoryStream();
                var b = new Google.Protobuf.CodedOutputStream(body);
                b.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited); b.WriteString(text);
                b.WriteTag(2, Google.Protobuf.WireFormat.WireType.Fixed32); b.WriteFloat(0);
                b.WriteTag(3, Google.Protobuf.WireFormat.WireType.Varint); b.WriteInt32(type);
                b.Flush();
                o.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited); o.WriteBytes(Google.Protobuf.ByteString.CopyFrom(body.ToArray()));
            }
            Piece("<unk>", 2); Piece("<s>", 3); Piece("</s>", 3);
            for (int i = 0; i < 70_000; i++) Piece("\u2581p" + i, 1);
            o.WriteTag(2, Google.Protobuf.WireFormat.WireType.LengthDelimited); // trainer_spec { model_type: BPE }
            o.WriteBytes(Google.Protobuf.ByteString.CopyFrom(0x18, 0x02));
            o.WriteTag(3, Google.Protobuf.WireFormat.WireType.LengthDelimited); // normalizer_spec { name: "identity", dummy prefix, collapse and escape spaces }
            o.WriteBytes(Google.Protobuf.ByteString.CopyFrom([0x0A, 8, .. "identity"u8, 0x18, 1, 0x20, 1, 0x28, 1]));
            o.Flush();
        }
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TokenShardWriter(big));
        StringAssert.Contains(e.Message, "70,003");
        StringAssert.Contains(e.Message, "65,536");

        string dir = TokenShardTestData.NewFolder("bigid");
        var e2 = Assert.ThrowsExactly<InvalidDataException>(() =>
            new TokenShardWriter("x", 0, null).Write([TokenShardInput.FromTokens("data00", () => [[1, 5], [1, 70_000]])], dir));
        StringAssert.Contains(e2.Message, "70000");
        StringAssert.Contains(e2.Message, "Story 1 of shard 'data00'");
    }

    [TestMethod]
    public void SaveAsTokenShardsFromTextAndFromTokensColumnAgree()
    {
        string model = TokenShardTestData.SpmModel(512);
        var mlContext = new MLContext();
        var stories = TokenShardTestData.Stories(250, seed: 3);
        var data = mlContext.Data.LoadFromEnumerable(stories.Select(s => new TextRow { Text = s }));
        string dir = TokenShardTestData.NewFolder("catalog");

        var manifest = mlContext.Data.SaveAsTokenShards(data, Path.Combine(dir, "text"), new TokenShardWriterOptions { TokenizerModelPath = model, StoriesPerShard = 100 });
        CollectionAssert.AreEqual(new[] { "data00.bin", "data01.bin", "data02.bin" }, manifest.Shards.Select(s => s.File).ToArray());
        CollectionAssert.AreEqual(new long[] { 100, 100, 50 }, manifest.Shards.Select(s => s.Stories).ToArray());

        var writer = new TokenShardWriter(model);
        var tokens = mlContext.Data.LoadFromEnumerable(stories.Select(s => new TokensRow { Tokens = writer.EncodeStory(s) }),
            SchemaFor<TokensRow>(mlContext));
        mlContext.Data.SaveAsTokenShards(tokens, Path.Combine(dir, "tokens"), new TokenShardWriterOptions { TokensColumnName = "Tokens", TokenizerModelPath = model, StoriesPerShard = 100 });
        for (int i = 0; i < 3; i++)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, "text", $"data{i:D2}.bin")), File.ReadAllBytes(Path.Combine(dir, "tokens", $"data{i:D2}.bin")));

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Data.SaveAsTokenShards(data, dir, new TokenShardWriterOptions { TokenizerModelPath = model, TextColumnName = "Story" }));
        Assert.AreEqual("inputSchema", e.ParamName);
        StringAssert.Contains(e.Message, "Could not find input column 'Story'");
        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Data.SaveAsTokenShards(data, dir, new TokenShardWriterOptions { TokensColumnName = "Text" }));
        StringAssert.Contains(e2.Message, "Schema mismatch for input column 'Text'");
    }

    [TestMethod]
    public void LoadTinyStoriesThenSaveAsTokenShardsEqualsTheFolderWriter()
    {
        string model = TokenShardTestData.SpmModel(512);
        string dir = TokenShardTestData.NewFolder("tinystories");
        string data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        for (int s = 0; s < 2; s++)
            TokenShardTestData.WriteJsonShard(Path.Combine(data, $"data{s:D2}.json"), TokenShardTestData.Stories(120, seed: 80 + s));

        var mlContext = new MLContext();
        mlContext.Data.SaveAsTokenShards(mlContext.Data.LoadTinyStories(data), Path.Combine(dir, "viaDataView"),
            new TokenShardWriterOptions { TokenizerModelPath = model, StoriesPerShard = 120 });
        var inputs = TokenShardInput.FromTinyStoriesFolder(data);
        CollectionAssert.AreEqual(new[] { "data00", "data01" }, inputs.Select(i => i.Name).ToArray());
        new TokenShardWriter(model).Write(inputs, Path.Combine(dir, "viaFolder"));
        foreach (string f in new[] { "data00.bin", "data01.bin" })
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, "viaFolder", f)), File.ReadAllBytes(Path.Combine(dir, "viaDataView", f)));
        Assert.AreEqual("data01.json", TokenShardManifest.Load(Path.Combine(dir, "viaFolder"))!.Find("data01.bin")!.Source);

        string empty = TokenShardTestData.NewFolder("nojson");
        StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => TokenShardInput.FromTinyStoriesFolder(empty)).Message, "holds no TinyStories shards");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => TokenShardInput.FromTinyStoriesFolder(Path.Combine(empty, "missing")));
    }

    private static Microsoft.ML.Data.SchemaDefinition SchemaFor<T>(MLContext _)
    {
        var schema = Microsoft.ML.Data.SchemaDefinition.Create(typeof(T));
        schema[0].ColumnType = new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Int32);
        return schema;
    }

    private static int[] ToIds(byte[] bytes) => Enumerable.Range(0, bytes.Length / 2).Select(i => bytes[2 * i] | (bytes[2 * i + 1] << 8)).ToArray();

    private sealed class TextRow { public string Text { get; set; } = ""; }

    private sealed class TokensRow { public int[] Tokens { get; set; } = []; }

    /// <summary>Records reports synchronously (Progress&lt;T&gt; posts them to the thread pool).</summary>
    private sealed class SyncProgress(List<TokenShardProgress> into) : IProgress<TokenShardProgress>
    {
        public void Report(TokenShardProgress value) { lock (into) into.Add(value); }
    }
}
