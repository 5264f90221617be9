// ML.NET's loader registration types are internal to Microsoft.ML.Core. The runtime lets an assembly that carries
// this attribute reach them; the C# compiler does not know it, which is why the [LoadableClass] attributes and their
// Create methods are written into this assembly after compilation (tools/LoadableClassWeaver).
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]

namespace System.Runtime.CompilerServices;

/// <summary>
/// Recognised by the .NET runtime by name: lets this assembly use the internal types of the named assembly.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    /// <summary>The assembly whose internals this one may use.</summary>
    public string AssemblyName { get; } = assemblyName;
}
