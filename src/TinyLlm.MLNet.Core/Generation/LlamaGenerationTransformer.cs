using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Tokenization;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.MLNet;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Maps a prompt text column to a generated completion: the last stage of the TinyLlm pipeline, and what a
/// <c>PredictionEngine</c> scores. It carries the model's weights and its tokenizer, and saves both into the
/// ML.NET model zip. Generation runs on the pure .NET <see cref="InferenceEngine"/>.
/// </summary>
/// <remarks>
/// Lazy over its input: a story is generated when a cursor asks for the completion of its row. Each cursor (and
/// each <c>PredictionEngine</c>) owns its engine and key/value cache, so, as everywhere in ML.NET, use one
/// <c>PredictionEngine</c> per thread; the weights are shared and read-only. To score many prompts at once as
/// one batch (one pass over the weights per step for all of them), call <see cref="GenerateBatch"/>.
/// </remarks>
[TinyLlmLoadable("TinyLlmLlamaGeneration", "TLLMGENR", 1)]
public sealed class LlamaGenerationTransformer : RowMappingTransformer
{
    private readonly byte[] _tokenizerModel;
    private readonly LlamaGenerationOptions _options;

    /// <summary>Creates the transformer from weights and the bytes of a SentencePiece <c>.model</c>.</summary>
    /// <exception cref="ArgumentException">The tokenizer cannot be read or its vocabulary differs from the model's.</exception>
    public LlamaGenerationTransformer(IHostEnvironment env, TransformerWeights weights, byte[] tokenizerModel, LlamaGenerationOptions? options = null)
        : base(env)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizerModel);
        _options = options?.Clone() ?? new LlamaGenerationOptions();
        _options.Sampling.Validate();
        _tokenizerModel = tokenizerModel;
        Generator = new TextGenerator(_options.ApplyWeightFormat(weights), SentencePieceModel.FromBytes(tokenizerModel, "the tokenizer model"));
    }

    /// <summary>The generator (weights and tokenizer) this transformer scores with.</summary>
    public TextGenerator Generator { get; }

    /// <summary>A copy of the options.</summary>
    public LlamaGenerationOptions Options => _options.Clone();

    /// <summary>The SentencePiece <c>.model</c> bytes of the tokenizer.</summary>
    public ReadOnlyMemory<byte> TokenizerModel => _tokenizerModel;

    /// <summary>
    /// Completes <paramref name="prompts"/> together as one batch with this transformer's sampling options: the
    /// i-th prompt uses <c>Seed + i</c>, exactly what the i-th row of <see cref="ITransformer.Transform"/> gives.
    /// </summary>
    public IReadOnlyList<string> GenerateBatch(IReadOnlyList<string> prompts) =>
        Generator.GenerateBatch(prompts, _options.Sampling)
            .Select((r, i) => _options.IncludePromptInCompletion ? prompts[i] + r.Text : r.Text).ToArray();

    /// <summary>A transformer with the same model and other options (e.g. another temperature or seed).</summary>
    public LlamaGenerationTransformer WithOptions(LlamaGenerationOptions options) =>
        new(Env, Generator.Weights, _tokenizerModel, options);

    private protected override IReadOnlyList<string> InputColumnNames => [_options.PromptColumnName];

    private protected override IReadOnlyList<(string Name, DataViewType Type)> OutputColumns =>
        _options.TokenIdsColumnName is null
            ? [(_options.CompletionColumnName, TextDataViewType.Instance)]
            : [(_options.CompletionColumnName, TextDataViewType.Instance), (_options.TokenIdsColumnName, new VectorDataViewType(NumberDataViewType.Int32))];

    private protected override void CheckInputSchema(DataViewSchema inputSchema)
    {
        var column = inputSchema.GetColumnOrNull(_options.PromptColumnName) ?? throw SchemaErrors.ColumnNotFound(_options.PromptColumnName);
        if (column.Type is not TextDataViewType)
            throw SchemaErrors.Mismatch(_options.PromptColumnName, "String", column.Type.ToString()!);
    }

    private protected override Delegate MakeGetter(DataViewRow input, int outputIndex)
    {
        var prompt = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[_options.PromptColumnName]);
        var engine = new InferenceEngine(Generator.Weights);
        ReadOnlyMemory<char> promptText = default;
        long cachedPosition = long.MinValue;
        ulong rowsGenerated = 0;
        GenerationResult? cached = null;
        string cachedPrompt = "";
        var sampling = _options.Sampling.Clone();

        // Both output columns come from one generation per row. The n-th row this getter generates (the n-th
        // Predict of a PredictionEngine) is sampled with Seed + n: reproducible, yet repeated prompts give
        // different stories.
        GenerationResult Current()
        {
            prompt(ref promptText);
            if (cached is null || cachedPosition != input.Position || !promptText.Span.SequenceEqual(cachedPrompt))
            {
                cachedPrompt = promptText.ToString();
                sampling.Seed = _options.Sampling.Seed + rowsGenerated++;
                cached = Generator.Generate(cachedPrompt, sampling, engine: engine);
                cachedPosition = input.Position;
            }
            return cached;
        }

        if (outputIndex == 0)
        {
            return (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
            {
                var result = Current();
                value = (_options.IncludePromptInCompletion ? cachedPrompt + result.Text : result.Text).AsMemory();
            });
        }
        return (ValueGetter<VBuffer<int>>)((ref VBuffer<int> value) =>
        {
            var ids = Current().TokenIds;
            var editor = VBufferEditor.Create(ref value, ids.Count);
            for (int i = 0; i < ids.Count; i++) editor.Values[i] = ids[i];
            value = editor.Commit();
        });
    }

    // *** Binary format ***
    // main stream: string prompt column, string completion column, bool has ids column, [string ids column],
    //   bool include prompt, float temperature, int top_k, float top_p, ulong seed, int max_new_tokens
    // "tokenizer.model": the SentencePiece ModelProto bytes
    // "weights.bin": the model in llama2.c's v0 layout (see Llama2cCheckpoint); bf16 or Q8_0 weights as their fp32 values
    // "weight-format" (optional, absent in older zips: fp32): int32 WeightFormat the engine ran with, int32 Q8_0 group
    //   size (QuantizationGroupSize for the other formats), so the reloaded model runs on the same storage
    private protected override void SaveModel(ModelPayloadWriter writer)
    {
        var w = writer.Writer;
        w.Write(_options.PromptColumnName);
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
        writer.SaveStream("tokenizer.model", stream => stream.Write(_tokenizerModel));
        writer.SaveStream("weights.bin", stream => Llama2cCheckpoint.Write(Generator.Weights, stream));
        writer.SaveStream("weight-format", stream =>
        {
            using var format = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            var stored = Generator.Weights;
            format.Write((int)stored.Format);
            format.Write(stored.Format == WeightFormat.Q8_0 ? stored.GroupSize : _options.QuantizationGroupSize);
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
        byte[] tokenizer = [];
        reader.LoadStream("tokenizer.model", s => tokenizer = ReadAll(s));
        reader.TryLoadStream("weight-format", s =>
        {
            using var format = new BinaryReader(s, System.Text.Encoding.UTF8, leaveOpen: true);
            options.WeightFormat = (WeightFormat)format.ReadInt32();
            options.QuantizationGroupSize = format.ReadInt32();
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
