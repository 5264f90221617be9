using System.Reflection;
using Microsoft.ML.Runtime;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// The <see cref="IHostEnvironment"/> behind an ML.NET catalog (<c>mlContext.Transforms.Text</c>,
/// <c>mlContext.Data</c>, ...), which ML.NET keeps behind its internal <c>IInternalCatalog</c> interface.
/// Our catalog extension methods need it to create estimators the way ML.NET's own do, and they register
/// TinyLlm's loaders on it as they go.
/// </summary>
internal static class CatalogEnvironment
{
    private static readonly Lazy<Type> InternalCatalog = new(() =>
        typeof(Microsoft.ML.MLContext).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")
        ?? typeof(Microsoft.ML.ITransformer).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")
        ?? throw new InvalidOperationException("ML.NET's internal interface Microsoft.ML.Data.IInternalCatalog was not found; TinyLlm.MLNet is built against Microsoft.ML 5.0.1."));

    /// <summary>Returns the catalog's environment, with TinyLlm's loaders registered on it.</summary>
    public static IHostEnvironment Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var property = InternalCatalog.Value.GetProperty("Environment", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("ML.NET's IInternalCatalog.Environment was not found; TinyLlm.MLNet is built against Microsoft.ML 5.0.1.");
        if (!InternalCatalog.Value.IsInstanceOfType(catalog))
            throw new ArgumentException($"{catalog.GetType().Name} is not an ML.NET catalog.", nameof(catalog));
        var env = (IHostEnvironment)property.GetValue(catalog)!;
        ModelPersistence.Register(env.ComponentCatalog, typeof(CatalogEnvironment).Assembly);
        return env;
    }
}
