using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// The yardstick of model FLOPs utilization (MFU): the peak FLOP/s of the device a run trains on. llama2.c divides
/// by an A100's 312 TFLOP/s everywhere, which on a CPU prints "mfu 0.00%". Here a GPU's peak comes from a table of
/// known devices (dense bf16 tensor-core figures from the vendors' data sheets), and a CPU's is measured: the best
/// of several square matrix products in the run's compute type on the run's threads, taken at start-up. Either can be
/// set instead (<see cref="TrainingOptions.PeakFlops"/>).
/// </summary>
public sealed record PeakFlops(double FlopsPerSecond, string Source)
{
    // Dense bf16 peak, TFLOP/s; matched in this order against the name nvidia-smi reports (more specific first).
    private static readonly (string Name, double Tflops)[] KnownGpus =
    [
        ("H100 PCIe", 756), ("H100", 989), ("H200", 989), ("GH200", 989), ("A100", 312),
        ("L40S", 362), ("L40", 181), ("L4", 121), ("A10", 125),
    ];

    /// <summary>"135 GFLOP/s (measured: ...)" for logs.</summary>
    public override string ToString() => $"{Format(FlopsPerSecond)} ({Source})";

    /// <summary>FLOP/s with a unit: 1.2 TFLOP/s, 135 GFLOP/s.</summary>
    public static string Format(double flopsPerSecond) =>
        flopsPerSecond >= 1e12
            ? string.Create(CultureInfo.InvariantCulture, $"{flopsPerSecond / 1e12:0.0#} TFLOP/s")
            : string.Create(CultureInfo.InvariantCulture, $"{flopsPerSecond / 1e9:0.#} GFLOP/s");

    /// <summary>
    /// The peak for a run on <paramref name="device"/> computing in <paramref name="compute"/>: <paramref name="given"/>
    /// when set, a GPU's from the table (null for a GPU not in it: the log then shows FLOP/s without MFU), a CPU's
    /// measured now.
    /// </summary>
    public static PeakFlops? For(Device device, ScalarType compute, double? given)
    {
        if (given is double g) return new PeakFlops(g, "given");
        if (device.type == DeviceType.CUDA)
        {
            string? name = GpuName(device.index < 0 ? 0 : device.index);
            foreach (var (known, tflops) in KnownGpus)
                if (name is not null && name.Contains(known, StringComparison.OrdinalIgnoreCase))
                    return new PeakFlops(tflops * 1e12, $"{name}, dense bf16 from its data sheet");
            return null;
        }
        return device.type == DeviceType.CPU ? MeasureCpu(compute) : null;
    }

    /// <summary>
    /// The best of several n x n matrix products (2n^3 FLOPs each) in <paramref name="compute"/> on the current intra-op
    /// threads: at least 3 and up to 8 after a warm-up product, within about half a second. The best, not the mean,
    /// because other programs on a shared machine only ever slow a product down.
    /// </summary>
    public static PeakFlops MeasureCpu(ScalarType compute, int n = 1024)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var a = torch.randn(n, n).to(compute);
        var b = torch.randn(n, n).to(compute);
        torch.mm(a, b).Dispose(); // sets the kernel up
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 8 && (i < 3 || total.Elapsed.TotalSeconds < 0.5); i++)
        {
            var clock = Stopwatch.StartNew();
            using var c = torch.mm(a, b);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        string type = compute == ScalarType.BFloat16 ? "bfloat16" : "float32";
        return new PeakFlops(2.0 * n * n * n / best, $"measured: {n}x{n} {type} matmul, {torch.get_num_threads()} threads");
    }

    // The GPU's name from nvidia-smi (the driver's tool, on every machine with an NVIDIA driver); null without it.
    private static string? GpuName(int index)
    {
        try
        {
            var psi = new ProcessStartInfo("nvidia-smi", $"--query-gpu=name --format=csv,noheader --id={index}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi);
            if (p is null) return null;
            string name = p.StandardOutput.ReadToEnd().Trim();
            return p.WaitForExit(5000) && p.ExitCode == 0 && name.Length > 0 ? name : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
