using Microsoft.ML;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Evaluation;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet;

/// <summary>
/// Language-model evaluation on <c>mlContext.LanguageModel</c>, the way ML.NET evaluates every task
/// (<c>mlContext.Regression.Evaluate(...)</c> gives <c>RegressionMetrics</c>): <see cref="Evaluate(ITransformer, IDataView, LanguageModelEvaluationOptions?)"/>
/// gives <see cref="LanguageModelMetrics"/> (cross-entropy, perplexity, bits per byte). It runs on the pure .NET engine
/// by default on a CPU, so a serving app needs no libtorch to measure a model.
/// </summary>
public sealed class LanguageModelCatalog
{
    private readonly IHostEnvironment _env;

    internal LanguageModelCatalog(IHostEnvironment env) => _env = env ?? throw new ArgumentNullException(nameof(env));

    /// <summary>
    /// Evaluates the TinyLlm model in <paramref name="model"/> (a <see cref="LlamaGenerationTransformer"/> from
    /// <c>TrainLlama</c> or <c>LoadLlama</c>, alone or as the last TinyLlm stage of a loaded chain) on
    /// <paramref name="data"/>: a text column (default <c>Text</c>, one story per row, encoded with the model's
    /// tokenizer) or a token-id column (<see cref="LanguageModelEvaluationOptions.TokensColumnName"/>, e.g. the
    /// <c>Window</c> column of <c>LoadFromTokenShards</c>).
    /// </summary>
    /// <param name="model">The fitted model or a chain ending in one.</param>
    /// <param name="data">The held-out data.</param>
    /// <param name="options">Columns, how many tokens, batch and backend; null for the defaults.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or a column of another type (ML.NET's schema error wording).</exception>
    /// <exception cref="ArgumentException">The model holds no TinyLlm model, or the data holds no token to predict or ids outside the vocabulary.</exception>
    /// <example><code>
    /// ITransformer model = mlContext.Model.Load("tinyllm.zip", out _);
    /// IDataView heldOut = mlContext.Data.LoadTinyStories("my-stories/test.txt");
    /// LanguageModelMetrics metrics = mlContext.LanguageModel.Evaluate(model, heldOut);
    /// Console.WriteLine($"loss {metrics.CrossEntropy:F4}, perplexity {metrics.Perplexity:F2}, {metrics.BitsPerByte:F3} bits/byte");
    /// </code></example>
    public LanguageModelMetrics Evaluate(ITransformer model, IDataView data, LanguageModelEvaluationOptions? options = null)
    {
        return LanguageModelEvaluator.Evaluate(_env, GenerationStage.Require(model, "The model"), data, options);
    }

    /// <summary>
    /// Evaluates model weights read from a file (<see cref="GenerationModelLoader.ReadWeights"/>) on <paramref name="data"/>.
    /// <paramref name="tokenizer"/> encodes a text column and counts the bytes of token ids; without it only token ids
    /// can be evaluated and <see cref="LanguageModelMetrics.BitsPerByte"/> is NaN.
    /// </summary>
    /// <param name="weights">The model.</param>
    /// <param name="tokenizer">Its tokenizer, or null.</param>
    /// <param name="data">The held-out data.</param>
    /// <param name="options">Columns, how many tokens, batch and backend (default Auto); null for the defaults.</param>
    /// <returns>The metrics.</returns>
    public LanguageModelMetrics Evaluate(TransformerWeights weights, SentencePieceModel? tokenizer, IDataView data, LanguageModelEvaluationOptions? options = null) =>
        LanguageModelEvaluator.Evaluate(_env, weights, tokenizer, data, options);
}

/// <summary>Adds <c>mlContext.LanguageModel</c>, the catalog of language-model evaluation.</summary>
public static class LanguageModelCatalogExtensions
{
    extension(MLContext mlContext)
    {
        /// <summary>Language-model evaluation: <c>mlContext.LanguageModel.Evaluate(model, data)</c>.</summary>
        public LanguageModelCatalog LanguageModel => new(mlContext);
    }
}
