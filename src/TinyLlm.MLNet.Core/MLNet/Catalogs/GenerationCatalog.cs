using Microsoft.ML;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet;

/// <summary>Generation from model files on <c>mlContext.Transforms.Text</c>: what a serving app needs, without libtorch.</summary>
public static class GenerationCatalog
{
    /// <summary>
    /// A fitted generation transformer from CLI artifacts or published models: a training checkpoint
    /// (<c>out/ckpt.bin</c>), a llama2.c file (v0 <c>out/model.bin</c>, v1, or v2 Q8_0), a Hugging Face Llama folder
    /// or a GGUF file of llama.cpp's llama architecture (see <see cref="GenerationModelLoader.ReadWeights"/>), and the
    /// tokenizer's <c>.model</c>.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="modelPath">The checkpoint, llama2.c model file, Hugging Face folder or GGUF file.</param>
    /// <param name="tokenizerModelPath">The SentencePiece <c>.model</c> the model was trained with; null for a GGUF file,
    /// which carries its vocabulary (when given, it must match the GGUF's).</param>
    /// <param name="options">Columns and sampling; null for the defaults (prompt <c>Text</c>, output <c>Completion</c>).</param>
    /// <example><code>
    /// var generator = mlContext.Transforms.Text.LoadLlama("out/ckpt.bin", "data/tok4096.model");
    /// var fromGguf = mlContext.Transforms.Text.LoadLlama("stories.gguf", tokenizerModelPath: null);
    /// var engine = mlContext.Model.CreatePredictionEngine&lt;StoryPrompt, StoryCompletion&gt;(generator);
    /// Console.WriteLine(engine.Predict(new StoryPrompt { Text = "One day, Lily met a" }).Completion);
    /// </code></example>
    public static LlamaGenerationTransformer LoadLlama(this TransformsCatalog.TextTransforms catalog, string modelPath,
        string? tokenizerModelPath, LlamaGenerationOptions? options = null) =>
        GenerationModelLoader.Load(Bridge.CatalogEnvironment.Of(catalog), modelPath, tokenizerModelPath, options);
}
