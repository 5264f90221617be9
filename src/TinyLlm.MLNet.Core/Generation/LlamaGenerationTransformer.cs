using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Maps a prompt text column to a generated completion: the last stage of the TinyLlm pipeline, and what a
/// <c>PredictionEngine</c> scores. It carries the model's weights and its tokenizer, and saves both into the
/// ML.NET model zip. Generation runs on the backend and device of <see cref="LlamaGenerationOptions.Backend"/> and
/// <see cref="LlamaGenerationOptions.Device"/>: by default TorchSharp on CUDA when available, else the pure .NET
/// <see cref="InferenceEngine"/>.
/// </summary>
/// <remarks>
/// Lazy over its input: stories are generated when a cursor asks for the completion of a row; a cursor completes
/// the next <see cref="LlamaGenerationOptions.BatchSize"/> rows together, as one batch (one pass over the weights
/// per step for all of them), with the same results as row by row. Each cursor (and each
/// <c>PredictionEngine</c>) owns its engine and key/value cache, so, as everywhere in ML.NET, use one
/// <c>PredictionEngine</c> per thread; the weights are shared and read-only. <see cref="GenerateBatch"/> completes
/// a list of prompts directly. Disposing the transformer releases what its generation backend holds (the model on
/// the GPU, for TorchSharp on CUDA); ML.NET's <c>TransformerChain</c> disposes it with the chain.
/// </remarks>
[TinyLlmLoadable("TinyLlmLlamaGeneration", "TLLMGENR", 2)]
public sealed class LlamaGenerationTransformer : RowMappingTransformer, IDisposable
{
    private readonly byte[] _tokenizerModel;
    private readonly LlamaGenerationOptions _options;

    /// <summary>Creates the transformer from weights and the bytes of a SentencePiece <c>.model</c>.</summary>
    /// <exception cref="ArgumentException">The tokenizer cannot be read or its vocabulary differs from the model's; or the device is unknown.</exception>
    /// <remarks>The backend is set up on the first generation; an unavailable one (TorchSharp without the package, CUDA without a GPU) is reported then.</remarks>
    public LlamaGenerationTransformer(IHostEnvironment env, TransformerWeights weights, byte[] tokenizerModel, LlamaGenerationOptions? options = null)
        : base(env)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizerModel);
        _options = options?.Clone() ?? new LlamaGenerationOptions();
        _options.Validate();
        _options.PromptColumnName ??= LlamaGenerationOptions.DefaultPromptColumnName;
        _tokenizerModel = tokenizerModel;
        _options.Device = DecoderBackends.NormalizeDevice(_options.Device);
        Generator = new TextGenerator(_options.ApplyWeightFormat(weights), SentencePieceModel.FromBytes(tokenizerModel, "the tokenizer model"), _options.Backend, _options.Device);
    }

    /// <summary>Releases the generator's backend (see the remarks).</summary>
    public void Dispose() => Generator.Dispose();

    /// <summary>The generator (weights and tokenizer) this transformer scores with; owned by the transformer.</summary>
    public TextGenerator Generator { get; }

    /// <summary>A copy of the options.</summary>
    public LlamaGenerationOptions Options => _options.Clone();

    /// <summary>The SentencePiece <c>.model</c> bytes of the tokenizer.</summary>
    public ReadOnlyMemory<byte> TokenizerModel => _tokenizerModel;

    /// <summary>
    /// What the training run reported (losses, tokens/s, the last checkpoint) when <c>TrainLlama</c> fitted this
    /// transformer; null for a model loaded from a zip or from files.
    /// </summary>
    public TrainingSummary? Training { get; internal init; }

    /// <summary>
    /// Completes <paramref name="prompts"/> together as one batch with this transformer's sampling options: the
    /// i-th prompt uses <c>Seed + i</c>, exactly what the i-th row of <see cref="ITransformer.Transform"/> gives.
    /// </summary>
    public IReadOnlyList<string> GenerateBatch(IReadOnlyList<string> prompts) =>
        Generator.GenerateBatch(prompts, _options.Sampling)
            .Select((r, i) => _options.IncludePromptInCompletion ? prompts[i] + r.Text : r.Text).ToArray();

    /// <summary>A transformer with the same model and other options (e.g. another temperature or seed).</summary>
    public LlamaGenerationTransformer WithOptions(LlamaGenerationOptions options) =>
        new(Env, Generator.Weights, _tokenizerModel, options) { Training = Training };

    /// <summary>A transformer with the same model and these options changed by <paramref name="change"/> (on a copy).</summary>
    /// <example><code>var cooler = generation.WithOptions(o => o.Sampling.Temperature = 0.5f);</code></example>
    public LlamaGenerationTransformer WithOptions(Action<LlamaGenerationOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var options = Options;
        change(options);
        return WithOptions(options);
    }

    private protected override IReadOnlyList<string> InputColumnNames => [_options.PromptColumnName!];

    private protected override IReadOnlyList<(string Name, DataViewType Type)> OutputColumns =>
        _options.TokenIdsColumnName is null
            ? [(_options.CompletionColumnName, TextDataViewType.Instance)]
            : [(_options.CompletionColumnName, TextDataViewType.Instance), (_options.TokenIdsColumnName, new VectorDataViewType(NumberDataViewType.Int32))];

    private protected override void CheckInputSchema(DataViewSchema inputSchema) => SchemaErrors.RequireText(inputSchema, _options.PromptColumnName!);

    private protected override Delegate?[] MakeGetters(DataViewRow input, Func<int, bool> isActive, Func<DataViewRowCursor>? openReadAhead,
        ICollection<IDisposable> disposeWithRow)
    {
        // Both output columns read one generation per row. The decoder (and its cache, on the GPU with TorchSharp)
        // goes with the row or cursor.
        var source = new CompletionSource(Generator, _options, input, openReadAhead);
        disposeWithRow.Add(source);
        var getters = new Delegate?[OutputColumns.Count];
        if (isActive(0))
        {
            getters[0] = (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
            {
                var (prompt, result) = source.Current();
                value = (_options.IncludePromptInCompletion ? prompt + result.Text : result.Text).AsMemory();
            });
        }
        if (getters.Length > 1 && isActive(1))
        {
            getters[1] = (ValueGetter<VBuffer<int>>)((ref VBuffer<int> value) =>
            {
                var ids = source.Current().Result.TokenIds;
                var editor = VBufferEditor.Create(ref value, ids.Count);
                for (int i = 0; i < ids.Count; i++) editor.Values[i] = ids[i];
                value = editor.Commit();
            });
        }
        return getters;
    }

    // *** Binary format ***
    // main stream: string prompt column, string completion column, bool has ids column, [string ids column],
    //   bool include prompt, float temperature, int top_k, float top_p, ulong seed, int max_new_tokens,
    //   (version 2 on) int backend (GenerationBackend), string device, int batch size; version 1 reads as Auto on
    //   "auto", batch size 4
    // "tokenizer.model": the SentencePiece ModelProto bytes
    // "weights.bin": the model in llama2.c's v0 layout (see Llama2cCheckpoint); bf16 or Q8_0 weights as their fp32 values
    // "weight-format" (optional, absent in older zips: fp32): int32 WeightFormat the engine ran with, int32 Q8_0 group
    //   size (QuantizationGroupSize for the other formats), so the reloaded model runs on the same storage
    // "sampling-extras" (optional, absent in older zips: all false): bool SlideContextWindow
    // every stream "x" above has a part "x.sha256" beside it (ModelPayloadWriter), checked when it is read
    private protected override void SaveModel(ModelPayloadWriter writer)
    {
        var w = writer.Writer;
        w.Write(_options.PromptColumnName!);
        w.Write(_options.CompletionColumnName);
        w.Write(_options.TokenIdsColumnName is not null);
        if (_options.TokenIdsColumnName is not null) w.Write(_options.TokenIdsColumnName);
        w.Write(_options.IncludePromptInCompletion);
        var s = _options.Sampling;
        w.Write(s.Temperature);
        w.Write(s.TopK);
        w.Write(s.TopP);
        w.Write(s.Seed);
        w.Write(s.MaxNewTokens);
        w.Write((int)_options.Backend);
        w.Write(_options.Device);
        w.Write(_options.BatchSize);
        writer.SaveStream("tokenizer.model", stream => stream.Write(_tokenizerModel));
        writer.SaveStream("weights.bin", stream => Llama2cCheckpoint.Write(Generator.Weights, stream));
        writer.SaveStream("weight-format", stream =>
        {
            using var format = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            var stored = Generator.Weights;
            format.Write((int)stored.Format);
            format.Write(stored.Format == WeightFormat.Q8_0 ? stored.GroupSize : _options.QuantizationGroupSize);
        });
        writer.SaveStream("sampling-extras", stream =>
        {
            using var extras = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            extras.Write(s.SlideContextWindow);
        });
    }

    internal static LlamaGenerationTransformer Load(IHostEnvironment env, ModelPayloadReader reader)
    {
        var r = reader.Reader;
        var options = new LlamaGenerationOptions
        {
            PromptColumnName = r.ReadString(),
            CompletionColumnName = r.ReadString(),
        };
        if (r.ReadBoolean()) options.TokenIdsColumnName = r.ReadString();
        options.IncludePromptInCompletion = r.ReadBoolean();
        options.Sampling = new SamplingOptions
        {
            Temperature = r.ReadSingle(),
            TopK = r.ReadInt32(),
            TopP = r.ReadSingle(),
            Seed = r.ReadUInt64(),
            MaxNewTokens = r.ReadInt32(),
        };
        if (reader.Version >= 2)
        {
            int backend = r.ReadInt32();
            if (!Enum.IsDefined((GenerationBackend)backend))
                throw new FormatException($"The saved '{reader.LoaderSignature}' names generation backend {backend}, which this build does not know (it knows 0 Auto, 1 Engine, 2 TorchSharp).");
            options.Backend = (GenerationBackend)backend;
            options.Device = r.ReadString();
            options.BatchSize = r.ReadInt32();
        }
        byte[] tokenizer = [];
        reader.LoadStream("tokenizer.model", s => tokenizer = ReadAll(s));
        reader.TryLoadStream("weight-format", s =>
        {
            using var format = new BinaryReader(s, System.Text.Encoding.UTF8, leaveOpen: true);
            options.WeightFormat = (WeightFormat)format.ReadInt32();
            options.QuantizationGroupSize = format.ReadInt32();
        });
        reader.TryLoadStream("sampling-extras", s =>
        {
            using var extras = new BinaryReader(s, System.Text.Encoding.UTF8, leaveOpen: true);
            options.Sampling.SlideContextWindow = extras.ReadBoolean();
        });
        TransformerWeights? weights = null;
        reader.LoadStream("weights.bin", s => weights = Llama2cCheckpoint.Read(s, "weights.bin in the model zip"));
        return new LlamaGenerationTransformer(env, weights!, tokenizer, options);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

}
