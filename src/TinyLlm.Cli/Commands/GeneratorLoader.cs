using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;

namespace TinyLlm.Cli.Commands;

/// <summary>How the generation commands (<c>generate</c>, <c>serve</c>) load a model and name where it runs.</summary>
internal static class GeneratorLoader
{
    /// <summary>
    /// The generation stage of an ML.NET zip (<paramref name="zip"/>), or one built from a checkpoint, llama2.c file or
    /// Hugging Face folder (<paramref name="checkpoint"/>, default out/ckpt.bin) and its tokenizer. The zip's saved
    /// backend, device and weight storage hold unless <paramref name="backend"/>, <paramref name="device"/> or
    /// <paramref name="format"/> are given; files on disk default to auto and their own storage.
    /// </summary>
    public static LlamaGenerationTransformer Load(FileInfo? zip, FileInfo? checkpoint, FileInfo? tokenizer, GenerationBackend? backend, string? device, WeightFormat? format)
    {
        if (zip is not null)
        {
            if (checkpoint is not null) throw new ArgumentException("Give either --model (an ML.NET zip) or --checkpoint with --tokenizer-model-path, not both.");
            InputPaths.RequireFile(zip.FullName, "--model", "an ML.NET model zip");
            var ml = new MLContext();
            ml.ComponentCatalog.RegisterTinyLlm();
            var generation = GenerationModelLoader.LoadZip(ml, zip.FullName);
            if (backend is null && device is null && format is null) return generation;
            var options = generation.Options;
            options.Backend = backend ?? options.Backend;
            options.Device = device ?? options.Device;
            options.WeightFormat = format ?? options.WeightFormat;
            return generation.WithOptions(options);
        }
        var ckpt = checkpoint ?? new FileInfo(Path.Combine("out", "ckpt.bin"));
        // a Hugging Face folder carries its tokenizer.model
        if (tokenizer is null && Directory.Exists(ckpt.FullName) && File.Exists(Path.Combine(ckpt.FullName, "tokenizer.model")))
            tokenizer = new FileInfo(Path.Combine(ckpt.FullName, "tokenizer.model"));
        // a GGUF file carries its vocabulary; every other model file needs the .model it was trained with
        if (tokenizer is null && !GgufLlama.IsGguf(ckpt.FullName))
            throw new ArgumentException("--tokenizer-model-path is required with a model file (unless it is a GGUF file, which carries its vocabulary): the .model the model was trained with.");
        return new MLContext().Transforms.Text.LoadLlama(ckpt.FullName, tokenizer?.FullName,
            new LlamaGenerationOptions { Backend = backend ?? GenerationBackend.Auto, Device = device ?? "auto", WeightFormat = format });
    }

    /// <summary>The <c>--backend</c> flag's value.</summary>
    public static GenerationBackend ParseBackend(string name) => name.Trim().ToLowerInvariant() switch
    {
        "auto" => GenerationBackend.Auto,
        "engine" => GenerationBackend.Engine,
        "torch" or "torchsharp" => GenerationBackend.TorchSharp,
        _ => throw new ArgumentException($"--backend must be auto, engine or torch; it was '{name}'."),
    };

    /// <summary>"engine on cpu", "torch on cuda": where <paramref name="generator"/>'s forward passes run (sets the backend up).</summary>
    public static string RanOn(TextGenerator generator) =>
        $"{(generator.Decoders.Backend == GenerationBackend.TorchSharp ? "torch" : "engine")} on {generator.Decoders.Device}";
}
