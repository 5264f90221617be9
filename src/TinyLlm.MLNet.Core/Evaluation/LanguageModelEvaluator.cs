using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Bridge;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Evaluation;

/// <summary>
/// Measures a language model on an <see cref="IDataView"/> of texts or token ids: each row becomes a sequence of ids
/// (BOS first for text), cut into windows of at most <c>max_seq_len + 1</c> ids at a stride of <c>max_seq_len</c> (as
/// the trainer cuts shards), and every id after a window's first is scored given the ids before it in the window.
/// Windows are scored a batch at a time; the sums are kept in double precision.
/// </summary>
internal static class LanguageModelEvaluator
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(2);

    /// <summary>Evaluates <paramref name="model"/> (its weights and tokenizer) on <paramref name="data"/>.</summary>
    public static LanguageModelMetrics Evaluate(IHostEnvironment? env, LlamaGenerationTransformer model, IDataView data, LanguageModelEvaluationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new LanguageModelEvaluationOptions();
        // The model's own decoders unless another backend or device is asked for.
        ITokenDecoderFactory? shared = options.Backend is null && options.Device is null ? model.Generator.Decoders : null;
        return Evaluate(env, model.Generator.Weights, model.Generator.Tokenizer, data, options, shared);
    }

    /// <summary>
    /// Evaluates <paramref name="weights"/> on <paramref name="data"/>; <paramref name="tokenizer"/> encodes text and
    /// counts bytes (null for token ids without a byte count). Runs on <paramref name="decoders"/> when given (borrowed),
    /// else on decoders made for <see cref="LanguageModelEvaluationOptions.Backend"/> and disposed at the end.
    /// </summary>
    public static LanguageModelMetrics Evaluate(IHostEnvironment? env, TransformerWeights weights, SentencePieceModel? tokenizer, IDataView data,
        LanguageModelEvaluationOptions? options, ITokenDecoderFactory? decoders = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new LanguageModelEvaluationOptions();
        options.Validate();
        if (tokenizer is not null && tokenizer.VocabSize != weights.Config.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize:N0} pieces but the model's vocabulary has {weights.Config.VocabSize:N0}; they were not trained together.", nameof(tokenizer));
        var rows = Rows(data, options, tokenizer); // checks the column's schema now

        var owned = decoders is null ? DecoderBackends.Select(weights, options.Backend ?? GenerationBackend.Auto, options.Device ?? "auto") : null;
        try
        {
            using var scorer = CreateScorer(decoders ?? owned!, options.BatchSize);
            using var channel = env?.Start("EvaluateLanguageModel");
            return Run(scorer, rows, options, channel);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    private static IWindowScorer CreateScorer(ITokenDecoderFactory decoders, int batchSize) =>
        decoders.Backend == GenerationBackend.TorchSharp
            ? TorchSharpBridge.Require("Evaluating on the TorchSharp backend", "evaluate on the .NET engine (backend Engine).").CreateScorer(decoders, batchSize)
            : new DecoderWindowScorer(decoders.Create(batchSize));

    /// <summary>One row as ids to score, with the bytes of text its predicted ids stand for (0 when unknown).</summary>
    private readonly record struct Row(int[] Ids, long Bytes);

    private static (IEnumerable<Row> Rows, string Column) Rows(IDataView data, LanguageModelEvaluationOptions options, SentencePieceModel? tokenizer)
    {
        if (options.TokensColumnName is { } tokens)
        {
            var ids = TokenColumnReader.ReadAll(data, tokens);
            var pieces = tokenizer is null ? null : new PieceBytes(tokenizer);
            return (ids.Select(r => new Row(r, pieces is null ? 0 : BytesOf(r, pieces))), tokens);
        }
        string column = options.TextColumnName;
        var texts = TextColumn.Read(data, column);
        if (tokenizer is null)
            throw new ArgumentException($"Evaluating text column '{column}' needs the model's tokenizer; give one, or evaluate token ids (TokensColumnName).", nameof(tokenizer));
        return (texts.Select(text =>
        {
            // As pretokenize encodes a story: stripped, BOS first.
            string stripped = StoryEncoder.PythonStrip(text);
            return new Row(tokenizer.Encode(stripped, addBeginningOfSentence: true).ToArray(), Encoding.UTF8.GetByteCount(stripped));
        }), column);
    }

    private static long BytesOf(int[] ids, PieceBytes pieces)
    {
        long bytes = 0;
        for (int j = 1; j < ids.Length; j++) bytes += pieces.Of(ids[j], ids[j - 1]);
        return bytes;
    }

    private static LanguageModelMetrics Run(IWindowScorer scorer, (IEnumerable<Row> Rows, string Column) input, LanguageModelEvaluationOptions options, IChannel? channel)
    {
        var config = scorer.Config;
        int seqLen = config.MaxSeqLen;
        var batch = new List<int[]>(scorer.MaxWindows);
        var nll = new double[scorer.MaxWindows];
        double total = 0;
        long scoredTokens = 0, tokens = 0, bytes = 0, rowsRead = 0, rowsScored = 0, windows = 0;
        var clock = Stopwatch.StartNew();
        var lastLog = TimeSpan.Zero;

        void Flush()
        {
            if (batch.Count == 0) return;
            scorer.Score(CollectionsMarshal.AsSpan(batch), nll.AsSpan(0, batch.Count));
            for (int i = 0; i < batch.Count; i++)
            {
                total += nll[i];
                scoredTokens += batch[i].Length - 1;
            }
            windows += batch.Count;
            batch.Clear();
            var progress = new LanguageModelEvaluationProgress(scoredTokens, rowsRead, total / scoredTokens, clock.Elapsed);
            options.Progress?.Report(progress);
            if (channel is not null && clock.Elapsed - lastLog >= LogEvery)
            {
                lastLog = clock.Elapsed;
                channel.Info(MessageSensitivity.None, "evaluated {0:N0} tokens of {1:N0} rows, {2:F0} tokens/s; cross-entropy so far {3:F4}",
                    progress.Tokens, progress.Rows, progress.TokensPerSecond, progress.CrossEntropy);
            }
        }

        foreach (var row in input.Rows)
        {
            rowsRead++;
            var ids = row.Ids;
            for (int j = 0; j < ids.Length; j++)
            {
                if ((uint)ids[j] >= (uint)config.VocabSize)
                    throw new ArgumentException($"Row {rowsRead - 1} of column '{input.Column}' holds token id {ids[j]}, outside the model's vocabulary [0, {config.VocabSize}); the data was made with another tokenizer.");
            }
            if (ids.Length < 2) continue; // nothing to predict (an empty text is BOS alone)
            for (int start = 0; start < ids.Length - 1; start += seqLen)
            {
                batch.Add(ids[start..Math.Min(start + seqLen + 1, ids.Length)]);
                if (batch.Count == scorer.MaxWindows) Flush();
            }
            rowsScored++;
            tokens += ids.Length - 1;
            bytes += row.Bytes;
            if (options.MaxTokens is long max && tokens >= max) break;
        }
        Flush();

        if (tokens == 0)
            throw new ArgumentException(rowsRead == 0
                ? $"The evaluation data has no rows: there is nothing to evaluate in column '{input.Column}'."
                : $"The evaluation data has no token to predict: none of the {rowsRead:N0} row(s) of column '{input.Column}' holds more than one token (a text needs at least one token after BOS; an empty text has none).");
        var metrics = new LanguageModelMetrics(total, tokens, bytes, rowsScored, windows);
        channel?.Info(MessageSensitivity.None, "{0} ({1:F1} s)", metrics, clock.Elapsed.TotalSeconds);
        return metrics;
    }
}
