using System.CommandLine;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.Cli.Commands;

/// <summary>The <c>--weights f32|bf16|q8_0</c> flag of the generation commands: how the engine stores the weight matrices.</summary>
internal static class WeightFormatOption
{
    private static readonly Dictionary<string, WeightFormat> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["f32"] = WeightFormat.Float32,
        ["fp32"] = WeightFormat.Float32,
        ["bf16"] = WeightFormat.BFloat16,
        ["q8_0"] = WeightFormat.Q8_0,
        ["q8"] = WeightFormat.Q8_0,
    };

    public static Option<string?> Create() => new("--weights")
    {
        Description = "How the engine stores the weight matrices: f32, bf16 (half the memory) or q8_0 (int8 groups like llama2.c's runq.c). Default: as loaded (a llama2.c v2 file stays q8_0, everything else f32).",
    };

    /// <summary>The format the flag names, or null when it was not given.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static WeightFormat? Parse(string? name) =>
        name is null ? null
        : Names.TryGetValue(name, out var format) ? format
        : throw new ArgumentException($"--weights '{name}' is not a weight format; use f32, bf16 or q8_0.");

    /// <summary><paramref name="weights"/> stored as <paramref name="format"/> (Q8_0 groups of 64, halved until they divide the row lengths).</summary>
    public static TransformerWeights Apply(TransformerWeights weights, WeightFormat? format) =>
        new LlamaGenerationOptions { WeightFormat = format }.ApplyWeightFormat(weights);
}
