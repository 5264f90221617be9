using Microsoft.ML;

namespace TinyLlm.MLNet.Generation;

/// <summary>Finds the TinyLlm model in what ML.NET hands back: the transformer itself, or a (loaded) chain ending in one.</summary>
internal static class GenerationStage
{
    /// <summary>The last <see cref="LlamaGenerationTransformer"/> of <paramref name="model"/>, or null when it holds none.</summary>
    public static LlamaGenerationTransformer? Find(ITransformer model) =>
        model as LlamaGenerationTransformer ?? (model as IEnumerable<ITransformer>)?.OfType<LlamaGenerationTransformer>().LastOrDefault();

    /// <summary>The last <see cref="LlamaGenerationTransformer"/> of <paramref name="model"/>; <paramref name="what"/> names it in the error.</summary>
    /// <exception cref="ArgumentException">It holds none.</exception>
    public static LlamaGenerationTransformer Require(ITransformer model, string what) =>
        Find(model ?? throw new ArgumentNullException(nameof(model)))
        ?? throw new ArgumentException($"{what} ({model.GetType().Name}) holds no TinyLlm language model: pass the transformer TrainLlama or LoadLlama made, or a chain (such as a loaded zip) that ends in one.", nameof(model));
}
