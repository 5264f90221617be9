namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// Marks a transformer that saves itself into ML.NET model zips through <see cref="ModelPersistence"/>.
/// The class must also declare <c>internal static TheClass Load(IHostEnvironment env, ModelPayloadReader reader)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class TinyLlmLoadableAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="loaderSignature">The name ML.NET looks the loader up by; stored in each saved model.</param>
    /// <param name="modelSignature">Exactly 8 ASCII characters identifying the binary format.</param>
    /// <param name="version">The format version written now.</param>
    public TinyLlmLoadableAttribute(string loaderSignature, string modelSignature, uint version)
    {
        if (modelSignature.Length != 8)
            throw new ArgumentException($"A model signature has exactly 8 characters; '{modelSignature}' has {modelSignature.Length}.", nameof(modelSignature));
        LoaderSignature = loaderSignature;
        ModelSignature = modelSignature;
        Version = version;
    }

    /// <summary>The loader name ML.NET resolves when loading.</summary>
    public string LoaderSignature { get; }

    /// <summary>The 8-character format signature.</summary>
    public string ModelSignature { get; }

    /// <summary>The format version written now.</summary>
    public uint Version { get; }

    /// <summary>The oldest format version this code still reads.</summary>
    public uint OldestReadableVersion { get; set; } = 1;
}
