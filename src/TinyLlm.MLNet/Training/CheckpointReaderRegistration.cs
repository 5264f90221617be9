using System.Runtime.CompilerServices;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Modeling;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// Lets TinyLlm.MLNet.Core read training checkpoints (TorchSharp state dictionaries) once this assembly is loaded;
/// the Core package itself has no TorchSharp.
/// </summary>
internal static class CheckpointReaderRegistration
{
    // A library module initializer is what is wanted here: any use of the training package (TrainLlama, the
    // trainer, LlamaModel) makes checkpoints readable by the Core loader, with no call for users to remember.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        GenerationModelLoader.CheckpointReader = path =>
        {
            using var model = LlamaModel.LoadFromCheckpoint(path);
            return model.ToTransformerWeights();
        };
}
