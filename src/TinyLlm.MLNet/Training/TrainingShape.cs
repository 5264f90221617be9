using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// A run that starts from a model (a fine-tuning run, or a resumed one) has that model's shape: each shape option
/// left at its default takes the model's value, and any other value must be the model's, or the run is refused with
/// both values named.
/// </summary>
internal static class TrainingShape
{
    /// <summary>The shape options: the option's name, the option, and the model's value.</summary>
    public static readonly (string Name, Func<TrainingOptions, int> Option, Action<TrainingOptions, int> Set, Func<LlamaConfig, int> Model)[] Fields =
    [
        (nameof(TrainingOptions.Dim), o => o.Dim, (o, v) => o.Dim = v, c => c.Dim),
        (nameof(TrainingOptions.NLayers), o => o.NLayers, (o, v) => o.NLayers = v, c => c.NLayers),
        (nameof(TrainingOptions.NHeads), o => o.NHeads, (o, v) => o.NHeads = v, c => c.NHeads),
        (nameof(TrainingOptions.NKvHeads), o => o.NKvHeads, (o, v) => o.NKvHeads = v, c => c.NKvHeads),
        (nameof(TrainingOptions.VocabSize), o => o.VocabSize, (o, v) => o.VocabSize = v, c => c.VocabSize),
        (nameof(TrainingOptions.MaxSeqLen), o => o.MaxSeqLen, (o, v) => o.MaxSeqLen = v, c => c.MaxSeqLen),
    ];

    /// <summary>
    /// A copy of <paramref name="options"/> with <paramref name="model"/>'s shape. <paramref name="conflict"/> makes the
    /// error for (option name, model's value, option's value), thrown when a shape option is set to another value.
    /// </summary>
    public static TrainingOptions Adopt(TrainingOptions options, LlamaConfig model, Func<string, int, int, Exception> conflict)
    {
        var defaults = new TrainingOptions();
        var adopted = options.Clone();
        foreach (var (name, option, set, value) in Fields)
        {
            int given = option(options), wanted = value(model);
            if (given != option(defaults) && given != wanted) throw conflict(name, wanted, given);
            set(adopted, wanted);
        }
        // MultipleOf only rounds the hidden size: what must agree is the hidden size it gives.
        int hidden = (options.ToModelConfig() with { HiddenDim = null, Dim = model.Dim }).FeedForwardDim;
        if (options.MultipleOf != defaults.MultipleOf && hidden != model.FeedForwardDim)
            throw conflict("the hidden size (from MultipleOf)", model.FeedForwardDim, hidden);
        adopted.MultipleOf = model.MultipleOf;
        return adopted;
    }

    /// <summary>The error for a shape option that differs from the initial model's.</summary>
    public static string FineTuneConflict(string model, string name, int modelValue, int optionValue) =>
        $"{Capitalized(model)} has {name} {modelValue} but the option {name} is {optionValue}: a fine-tuned model keeps the shape of the model it starts from. Leave {name} unset (it is taken from the model).";

    /// <summary>The error for a shape option that differs from the checkpoint being resumed.</summary>
    public static string ResumeConflict(string path, string name, int saved, int wanted) =>
        $"The checkpoint '{path}' was trained with {name} {saved} but the options ask for {name} {wanted}; resume with the checkpoint's architecture (leave {name} unset) or train from scratch.";

    private static string Capitalized(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
