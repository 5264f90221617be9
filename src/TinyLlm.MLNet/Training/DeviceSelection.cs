using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Training;

/// <summary>Turns the <c>device</c> and <c>dtype</c> options into TorchSharp values, with clear errors.</summary>
public static class DeviceSelection
{
    // The errors name the options as TrainingOptions does (Device, Dtype); the command line shows --device, --dtype.

    /// <summary>
    /// <c>auto</c> gives <c>cuda</c> when libtorch sees a GPU, else <c>cpu</c>. <c>cuda</c>/<c>cuda:N</c> need a CUDA
    /// libtorch package (TorchSharp-cuda-windows or TorchSharp-cuda-linux; see docs/platforms.md).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown device name.</exception>
    /// <exception cref="InvalidOperationException">libtorch cannot load, or CUDA was asked for and is not available (the message says what is missing).</exception>
    public static Device ResolveDevice(string device)
    {
        string name = (device ?? "").Trim().ToLowerInvariant();
        bool cuda = name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal);
        if (!cuda && name is not ("auto" or "" or "cpu"))
            throw new ArgumentException($"Device must be auto, cpu, cuda or cuda:N; it is '{device}'.", "Device");
        LibTorchRuntime.EnsureLoaded();
        if (name is "auto" or "") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (name == "cpu") return torch.CPU;

        int index = 0;
        if (name.Length > 4 && !int.TryParse(name.AsSpan(5), out index))
            throw new ArgumentException($"Device '{device}' is not valid: write cuda:N with a GPU number N.", "Device");
        if (!torch.cuda.is_available())
            throw new InvalidOperationException(LibTorchRuntime.CudaUnavailable(device!));
        if (index < 0 || index >= torch.cuda.device_count())
            throw new ArgumentException($"Device '{device}' names GPU {index}, but {torch.cuda.device_count()} GPU(s) are visible.", "Device");
        return new Device(DeviceType.CUDA, index);
    }

    /// <summary><c>auto</c> is bfloat16 on CUDA and float32 on the CPU; otherwise <c>float32</c> or <c>bfloat16</c>.</summary>
    /// <exception cref="ArgumentException">An unknown or unsupported type (float16 needs a gradient scaler we do not have).</exception>
    public static ScalarType ResolveDtype(string dtype, Device device)
    {
        string name = (dtype ?? "").Trim().ToLowerInvariant();
        return name switch
        {
            "auto" or "" => device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
            "float32" or "fp32" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" => throw new ArgumentException("Dtype float16 is not supported (it needs a gradient scaler); use bfloat16 or float32.", "Dtype"),
            _ => throw new ArgumentException($"Dtype must be auto, float32 or bfloat16; it is '{dtype}'.", "Dtype"),
        };
    }
}
