using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet;

/// <summary>Changes how a fitted or loaded TinyLlm model generates, without taking its chain apart.</summary>
public static class GenerationModelExtensions
{
    /// <summary>
    /// The same model with its generation stage's options (sampling, backend, device, columns) changed by
    /// <paramref name="change"/>: every <see cref="LlamaGenerationTransformer"/> in the chain (nested chains included) is
    /// replaced by one with the changed options over the same weights; the other stages are kept as they are. The
    /// original model keeps working.
    /// </summary>
    /// <param name="model">A fitted pipeline, a model from <c>mlContext.Model.Load</c>, or the generation transformer itself.</param>
    /// <param name="change">Applied to a copy of the options, e.g. <c>o => o.Sampling.Temperature = 0.5f</c>.</param>
    /// <exception cref="ArgumentException">The model has no TinyLlm generation stage, or the changed options are out of range.</exception>
    /// <example><code>
    /// ITransformer model = mlContext.Model.Load("tinyllm.zip", out _);
    /// var greedy = model.WithGenerationOptions(o => { o.Sampling.Temperature = 0; o.Sampling.MaxNewTokens = 100; });
    /// var engine = mlContext.Model.CreatePredictionEngine&lt;StoryPrompt, StoryCompletion&gt;(greedy);
    /// </code></example>
    public static ITransformer WithGenerationOptions(this ITransformer model, Action<LlamaGenerationOptions> change)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(change);
        bool found = false;
        var result = Replace(model, change, ref found);
        if (!found)
            throw new ArgumentException($"The model ({model.GetType().Name}) has no TinyLlm generation stage (TrainLlama or LoadLlama) whose options could change.", nameof(model));
        return result;
    }

    /// <summary>The fitted pipeline with its last stage's options changed by <paramref name="change"/> (see the <see cref="ITransformer"/> overload).</summary>
    public static TransformerChain<LlamaGenerationTransformer> WithGenerationOptions(this TransformerChain<LlamaGenerationTransformer> model, Action<LlamaGenerationOptions> change) =>
        (TransformerChain<LlamaGenerationTransformer>)WithGenerationOptions((ITransformer)model, change);

    private static ITransformer Replace(ITransformer model, Action<LlamaGenerationOptions> change, ref bool found)
    {
        if (model is LlamaGenerationTransformer generation)
        {
            found = true;
            return generation.WithOptions(change);
        }
        if (model is not IEnumerable<ITransformer> chain) return model;
        var parts = new List<ITransformer>();
        foreach (var part in chain) parts.Add(Replace(part, change, ref found));
        // A chain's static type follows its last stage, which keeps its type when replaced.
        var type = typeof(TransformerChain<>).MakeGenericType(model.GetType().GetGenericArguments().FirstOrDefault() ?? typeof(ITransformer));
        return (ITransformer)Activator.CreateInstance(type, [parts.ToArray()])!;
    }
}
