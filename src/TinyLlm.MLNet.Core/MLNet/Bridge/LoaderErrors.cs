using System.Reflection;

namespace TinyLlm.MLNet.Bridge;

/// <summary>The error a user should see from a model load: ML.NET calls the loaders of a chain's parts through reflection.</summary>
internal static class LoaderErrors
{
    /// <summary><paramref name="e"/> without the <see cref="TargetInvocationException"/>s that reflection wrapped around it.</summary>
    public static Exception Unwrap(Exception e) =>
        e is TargetInvocationException { InnerException: { } inner } ? Unwrap(inner) : e;
}
