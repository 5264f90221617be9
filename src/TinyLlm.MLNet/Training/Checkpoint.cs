using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// A training checkpoint: llama2.c's keys (model, optimizer, model_args, iter_num, best_val_loss, config) in a
/// documented binary file, written atomically (to <c>ckpt.bin.tmp</c>, then renamed over <c>ckpt.bin</c>).
/// </summary>
/// <remarks>
/// *** Binary format (little-endian) ***
/// 8 bytes  ASCII "TLLMCKPT"
/// int32    format version (1)
/// int32    n, then n bytes of UTF-8 JSON: { "model_args": LlamaConfig, "iter_num", "best_val_loss", "config": TrainingOptions,
///          "tokenizer": { "vocab_size", "pieces_sha256" } (absent when unknown) }
/// int64    m, then m bytes: the model's state dictionary (TorchSharp <c>Module.save</c>, fp32)
/// int64    k, then k bytes: the AdamW state (TorchSharp <c>save_state_dict</c>), 0 bytes when absent
/// 32 bytes SHA-256 of everything above, so that a damaged file is refused instead of half-loaded.
/// </remarks>
public sealed class Checkpoint
{
    /// <summary>The checkpoint's file name inside <c>out_dir</c>.</summary>
    public const string FileName = "ckpt.bin";

    /// <summary>The current format version.</summary>
    public const int FormatVersion = 1;

    private const string Magic = "TLLMCKPT";
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = true, WriteIndented = true };

    /// <summary>The model's architecture.</summary>
    public required LlamaConfig ModelArgs { get; init; }

    /// <summary>The iteration to run next when resuming (the checkpoint was taken before it).</summary>
    public required long IterNum { get; init; }

    /// <summary>The best validation loss seen so far.</summary>
    public required double BestValLoss { get; init; }

    /// <summary>The training options of the run that wrote it.</summary>
    public TrainingOptions? Config { get; init; }

    /// <summary>The tokenizer of the data the model was trained on (its fingerprint), or null when the run did not know it.</summary>
    public TokenizerFingerprint? Tokenizer { get; init; }

    /// <summary>
    /// Lower-case hex SHA-256 of the <c>model.bin</c> written with it (the trainer writes that export first, then this
    /// checkpoint), so that an export one generation apart is detected; null in older checkpoints.
    /// </summary>
    public string? ExportSha256 { get; internal set; }

    /// <summary>The model's state dictionary bytes.</summary>
    internal byte[] ModelState { get; init; } = [];

    /// <summary>The optimizer's state bytes (empty when absent).</summary>
    internal byte[] OptimizerState { get; init; } = [];

    private sealed class Header
    {
        [JsonPropertyName("model_args")] public LlamaConfig? ModelArgs { get; set; }
        [JsonPropertyName("iter_num")] public long IterNum { get; set; }
        [JsonPropertyName("best_val_loss")] public double BestValLoss { get; set; }
        [JsonPropertyName("config")] public TrainingOptions? Config { get; set; }
        [JsonPropertyName("tokenizer"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public TokenizerFingerprint? Tokenizer { get; set; }
        [JsonPropertyName("model_bin_sha256"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ExportSha256 { get; set; }
    }

    /// <summary>Lower-case hex SHA-256 of the file at <paramref name="path"/>.</summary>
    internal static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Builds a model of <see cref="ModelArgs"/> holding the checkpoint's weights (on the CPU).</summary>
    public LlamaModel CreateModel()
    {
        var model = new LlamaModel(ModelArgs);
        LoadModelState(model, "the checkpoint");
        return model;
    }

    internal void LoadModelState(LlamaModel model, string source)
    {
        using var reader = new BinaryReader(new MemoryStream(ModelState, writable: false));
        model.LoadStateDictionary(reader, source);
    }

    /// <summary>Serializes <paramref name="model"/>'s weights (and <paramref name="writeOptimizer"/>'s output) into a checkpoint.</summary>
    internal static Checkpoint Capture(LlamaModel model, Action<BinaryWriter>? writeOptimizer, long iterNum, double bestValLoss, TrainingOptions? config,
        TokenizerFingerprint? tokenizer = null)
    {
        byte[] Bytes(Action<BinaryWriter> write)
        {
            using var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) { write(w); w.Flush(); }
            return ms.ToArray();
        }
        return new Checkpoint
        {
            ModelArgs = model.Config,
            IterNum = iterNum,
            BestValLoss = bestValLoss,
            Config = config,
            Tokenizer = tokenizer,
            ModelState = Bytes(model.SaveStateDictionary),
            OptimizerState = writeOptimizer is null ? [] : Bytes(writeOptimizer),
        };
    }

    /// <summary>Writes the checkpoint to <paramref name="path"/> through <c>path.tmp</c> and a rename, so a crash never leaves half a file.</summary>
    public void Write(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                hash.AppendData(bytes);
            }
            Span<byte> number = stackalloc byte[8];
            Put(Encoding.ASCII.GetBytes(Magic));
            BitConverter.TryWriteBytes(number, FormatVersion); Put(number[..4]);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new Header { ModelArgs = ModelArgs, IterNum = IterNum, BestValLoss = BestValLoss, Config = Config, Tokenizer = Tokenizer, ExportSha256 = ExportSha256 }, Json);
            BitConverter.TryWriteBytes(number, json.Length); Put(number[..4]);
            Put(json);
            BitConverter.TryWriteBytes(number, (long)ModelState.Length); Put(number);
            Put(ModelState);
            BitConverter.TryWriteBytes(number, (long)OptimizerState.Length); Put(number);
            Put(OptimizerState);
            stream.Write(hash.GetHashAndReset());
        });
    }

    /// <summary>Loads the model stored in the training checkpoint at <paramref name="path"/> (onto the CPU).</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint or is damaged.</exception>
    public static LlamaModel LoadModel(string path) => Read(path).CreateModel();

    /// <summary>Reads and verifies a checkpoint file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a checkpoint, another format version, truncated or damaged.</exception>
    public static Checkpoint Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"There is no checkpoint at '{path}'.", path);
        byte[] bytes = File.ReadAllBytes(path);
        string Bad(string why) => $"The checkpoint '{path}' {why}";
        if (bytes.Length < Magic.Length + 4 || Encoding.ASCII.GetString(bytes, 0, Magic.Length) != Magic)
            throw new InvalidDataException(Bad($"is not a TinyLlm checkpoint (it does not start with '{Magic}')."));
        int version = BitConverter.ToInt32(bytes, Magic.Length);
        if (version != FormatVersion)
            throw new InvalidDataException(Bad($"has format version {version}; this build reads version {FormatVersion}."));
        if (bytes.Length < Magic.Length + 4 + 32)
            throw new InvalidDataException(Bad("is truncated."));
        int bodyLength = bytes.Length - 32;
        if (!SHA256.HashData(bytes.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new InvalidDataException(Bad("is damaged or truncated: its SHA-256 checksum does not match its contents."));

        int pos = Magic.Length + 4;
        ReadOnlySpan<byte> Take(long count, string what)
        {
            if (count < 0 || count > bodyLength - pos) throw new InvalidDataException(Bad($"has an invalid {what} length {count}."));
            var slice = bytes.AsSpan(pos, (int)count);
            pos += (int)count;
            return slice;
        }
        int jsonLength = BitConverter.ToInt32(Take(4, "header"));
        Header header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(Take(jsonLength, "header"), Json) ?? throw new InvalidDataException(Bad("has an empty header."));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(Bad($"has an unreadable header: {e.Message}"), e);
        }
        if (header.ModelArgs is null) throw new InvalidDataException(Bad("has no model_args in its header."));
        byte[] model = Take(BitConverter.ToInt64(Take(8, "model state")), "model state").ToArray();
        byte[] optimizer = Take(BitConverter.ToInt64(Take(8, "optimizer state")), "optimizer state").ToArray();
        return new Checkpoint
        {
            ModelArgs = header.ModelArgs,
            IterNum = header.IterNum,
            BestValLoss = header.BestValLoss,
            Config = header.Config,
            Tokenizer = header.Tokenizer,
            ExportSha256 = header.ExportSha256,
            ModelState = model,
            OptimizerState = optimizer,
        };
    }
}
