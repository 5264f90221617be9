using Microsoft.ML;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet;

/// <summary>Model training and generation on <c>mlContext.Transforms.Text</c>.</summary>
public static class LlamaCatalog
{
    /// <summary>
    /// Trains a LLaMA-2 model on a token-id column when fitted; the fitted transformer maps a prompt text column
    /// to a generated <c>Completion</c>. Append it to <c>TrainSentencePieceBpe</c> for the whole flow.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="options">Training hyperparameters, columns and sampling; null for the defaults.</param>
    /// <example><code>
    /// var pipeline = mlContext.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text", new SentencePieceBpeOptions { VocabSize = 512 })
    ///     .Append(mlContext.Transforms.Text.TrainLlama(new LlamaEstimatorOptions
    ///     {
    ///         Training = new TrainingOptions { Dim = 64, NLayers = 5, NHeads = 8, NKvHeads = 4, MaxIters = 2000 },
    ///     }));
    /// var model = pipeline.Fit(mlContext.Data.LoadTinyStories("data"));
    /// mlContext.Model.Save(model, stories.Schema, "tinyllm.zip");
    /// </code></example>
    public static LlamaEstimator TrainLlama(this TransformsCatalog.TextTransforms catalog, LlamaEstimatorOptions? options = null) =>
        new(MLNet.CatalogEnvironment.Of(catalog), options ?? new LlamaEstimatorOptions());

    /// <summary>
    /// A fitted generation transformer from CLI artifacts or published models: a training checkpoint
    /// (<c>out/ckpt.bin</c>), a llama2.c file (v0 <c>out/model.bin</c>, v1, or v2 Q8_0) or a Hugging Face Llama folder
    /// (see <see cref="GenerationModelLoader.ReadWeights"/>), and the tokenizer's <c>.model</c>.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="modelPath">The checkpoint, llama2.c model file or Hugging Face folder.</param>
    /// <param name="tokenizerModelPath">The SentencePiece <c>.model</c> the model was trained with.</param>
    /// <param name="options">Columns and sampling; null for the defaults (prompt <c>Text</c>, output <c>Completion</c>).</param>
    /// <example><code>
    /// var generator = mlContext.Transforms.Text.LoadLlama("out/ckpt.bin", "data/tok4096.model");
    /// var engine = mlContext.Model.CreatePredictionEngine&lt;StoryPrompt, StoryCompletion&gt;(generator);
    /// Console.WriteLine(engine.Predict(new StoryPrompt { Text = "One day, Lily met a" }).Completion);
    /// </code></example>
    public static LlamaGenerationTransformer LoadLlama(this TransformsCatalog.TextTransforms catalog, string modelPath,
        string tokenizerModelPath, LlamaGenerationOptions? options = null) =>
        GenerationModelLoader.Load(MLNet.CatalogEnvironment.Of(catalog), modelPath, tokenizerModelPath, options);
}
