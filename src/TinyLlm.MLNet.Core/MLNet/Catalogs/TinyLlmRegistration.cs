using Microsoft.ML.Runtime;

namespace TinyLlm.MLNet;

/// <summary>
/// Registers TinyLlm's transformers with an ML.NET component catalog.
/// </summary>
/// <remarks>
/// <c>mlContext.Model.Load</c> of a zip with TinyLlm components needs no registration: TinyLlm.MLNet.Core carries
/// ML.NET's loader attributes, and ML.NET registers the assembly named in each saved part before loading it.
/// Registering first still helps in one way: a zip that cannot be loaded (a missing part, a newer format version)
/// then fails with TinyLlm's own exception (<see cref="FormatException"/> naming the problem) rather than that
/// exception wrapped in a <see cref="System.Reflection.TargetInvocationException"/> by ML.NET's reflection call.
/// </remarks>
public static class TinyLlmRegistration
{
    /// <summary>
    /// Registers every TinyLlm transformer with this catalog, with loaders that report a failing load's own
    /// exception. Optional (see the class remarks); every TinyLlm catalog extension method calls it. Calling it
    /// again does nothing.
    /// </summary>
    /// <example><code>
    /// var mlContext = new MLContext();
    /// mlContext.ComponentCatalog.RegisterTinyLlm(); // optional
    /// ITransformer model = mlContext.Model.Load("tinyllm.zip", out var schema);
    /// </code></example>
    public static void RegisterTinyLlm(this ComponentCatalog catalog) =>
        Bridge.ModelPersistence.Register(catalog, typeof(TinyLlmRegistration).Assembly);
}
