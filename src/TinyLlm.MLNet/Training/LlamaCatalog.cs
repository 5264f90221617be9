using Microsoft.ML;

namespace TinyLlm.MLNet.Training;

/// <summary>Model training on <c>mlContext.Transforms.Text</c>.</summary>
public static class LlamaCatalog
{
    /// <summary>
    /// Trains a LLaMA-2 model on a token-id column when fitted; the fitted transformer maps a prompt text column
    /// to a generated <c>Completion</c>. Append it to <c>TrainSentencePieceBpe</c> for the whole flow. With
    /// <see cref="LlamaEstimatorOptions.InitialModel"/> (or <see cref="TrainingOptions.InitFrom"/> set to a model file)
    /// it fine-tunes that model instead, on token ids or straight on a text column, which the model's own tokenizer
    /// encodes.
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
    ///
    /// // Later: fine-tune the saved model on your own stories ("Text" column), keeping its tokenizer.
    /// var tuned = mlContext.Transforms.Text.TrainLlama(new LlamaEstimatorOptions
    /// {
    ///     InitialModel = mlContext.Model.Load("tinyllm.zip", out _),
    ///     Training = new TrainingOptions { MaxIters = 200, LearningRate = 1e-4, WarmupIters = 20, OutDir = "out-finetune" },
    /// }).Fit(mlContext.Data.LoadTinyStories("my-stories.txt"));
    /// </code></example>
    public static LlamaEstimator TrainLlama(this TransformsCatalog.TextTransforms catalog, LlamaEstimatorOptions? options = null) =>
        new(Bridge.CatalogEnvironment.Of(catalog), options ?? new LlamaEstimatorOptions());
}
