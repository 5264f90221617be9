using System.Text;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Builds a <see cref="LlamaGenerationTransformer"/> from files on disk, the tutorial's inference flow: a training
/// checkpoint (<c>ckpt.bin</c> from <c>tinyllm train</c>) or a llama2.c v0 model file (<c>model.bin</c>), plus the
/// tokenizer's <c>.model</c>.
/// </summary>
public static class GenerationModelLoader
{
    /// <summary>Reads the weights of a TinyLlm checkpoint or a llama2.c v0 file, whichever <paramref name="path"/> is.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is neither, or is damaged.</exception>
    public static TransformerWeights ReadWeights(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"There is no model file at '{path}'.", path);
        Span<byte> magic = stackalloc byte[8];
        using (var stream = File.OpenRead(path))
            _ = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (Encoding.ASCII.GetString(magic) == "TLLMCKPT")
        {
            using var model = LlamaModel.LoadFromCheckpoint(path);
            return model.ToTransformerWeights();
        }
        return Llama2cCheckpoint.Read(path);
    }

    /// <summary>A generation transformer over the model at <paramref name="modelPath"/> and the tokenizer at <paramref name="tokenizerModelPath"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ArgumentException">The tokenizer's vocabulary differs from the model's.</exception>
    public static LlamaGenerationTransformer Load(IHostEnvironment env, string modelPath, string tokenizerModelPath, LlamaGenerationOptions? options = null)
    {
        if (!File.Exists(tokenizerModelPath))
            throw new FileNotFoundException($"There is no tokenizer model at '{tokenizerModelPath}'.", tokenizerModelPath);
        return new LlamaGenerationTransformer(env, ReadWeights(modelPath), File.ReadAllBytes(tokenizerModelPath), options);
    }
}
