using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace TinyLlm.MLNet;

/// <summary>
/// Makes TinyLlm's transformers loadable by <c>mlContext.Model.Load</c>.
/// </summary>
public static class TinyLlmRegistration
{
    /// <summary>
    /// Registers every TinyLlm transformer with this catalog. Call it once on a new <see cref="MLContext"/> before
    /// <c>mlContext.Model.Load</c> of a zip that holds TinyLlm components; without it ML.NET reports
    /// "Couldn't load model: 'TransformerChain/Transform_NNN'". Calling it again does nothing.
    /// </summary>
    /// <example><code>
    /// var mlContext = new MLContext();
    /// mlContext.ComponentCatalog.RegisterTinyLlm();
    /// ITransformer model = mlContext.Model.Load("tinyllm.zip", out var schema);
    /// </code></example>
    public static void RegisterTinyLlm(this ComponentCatalog catalog) =>
        MLNet.ModelPersistence.Register(catalog, typeof(TinyLlmRegistration).Assembly);

    /// <summary>Registers from an environment; every TinyLlm catalog extension method calls this.</summary>
    internal static void Register(IHostEnvironment env) => env.ComponentCatalog.RegisterTinyLlm();
}
