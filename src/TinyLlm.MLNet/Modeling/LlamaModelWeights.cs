using TinyLlm.MLNet.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Modeling;

/// <summary>
/// Moves weights between the TorchSharp <see cref="LlamaModel"/> (training) and the plain-array
/// <see cref="TransformerWeights"/> of the inference engine and the llama2.c checkpoint files.
/// </summary>
public static class LlamaModelWeights
{
    /// <summary>Copies the model's fp32 weights (from any device) into llama2.c's layout.</summary>
    public static TransformerWeights ToTransformerWeights(this LlamaModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = new TransformerWeights(model.Config with { Dropout = 0 });
        using var scope = torch.NewDisposeScope();
        var sd = model.state_dict();
        foreach (var (name, values) in weights.InFileOrder())
        {
            var tensor = Stack(model, sd, name);
            tensor.to(ScalarType.Float32).cpu().contiguous().data<float>().CopyTo(values, 0);
        }
        if (!model.Config.SharedClassifier)
            sd["output.weight"].to(ScalarType.Float32).cpu().contiguous().data<float>().CopyTo(weights.Classifier, 0);
        return weights;
    }

    /// <summary>
    /// Builds a model holding <paramref name="weights"/> (on the CPU), tied or untied as they are. The architecture
    /// comes from the weights' dimensions; <paramref name="dropout"/> is a training choice, not stored in the weights.
    /// bf16 and Q8_0 weights are dequantized to fp32.
    /// </summary>
    public static LlamaModel ToLlamaModel(this TransformerWeights weights, double dropout = 0.0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var config = weights.Config with { Dropout = dropout };
        var model = new LlamaModel(config);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sd = model.state_dict();
        foreach (var (name, values) in weights.InFileOrder())
        {
            var target = Stack(model, sd, name);
            var source = torch.tensor(values).view(target.shape);
            if (name.StartsWith("tok_embeddings", StringComparison.Ordinal) || name.StartsWith("norm", StringComparison.Ordinal))
            {
                target.copy_(source);
            }
            else
            {
                for (int l = 0; l < config.NLayers; l++) sd[$"layers.{l}.{name}"].copy_(source[l]);
            }
        }
        if (!config.SharedClassifier) sd["output.weight"].copy_(torch.tensor(weights.Classifier).view(config.VocabSize, config.Dim));
        return model;
    }

    /// <summary>The tensor for a llama2.c kind: the model's own for globals, the layers stacked for per-layer kinds.</summary>
    private static Tensor Stack(LlamaModel model, Dictionary<string, Tensor> sd, string name)
    {
        if (sd.TryGetValue(name, out var global)) return global;
        return torch.stack(Enumerable.Range(0, model.Config.NLayers).Select(l => sd[$"layers.{l}.{name}"]).ToArray());
    }
}
