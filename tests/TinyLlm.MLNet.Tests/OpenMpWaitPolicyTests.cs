using System.Text.RegularExpressions;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// libtorch's OpenMP runtime waits passively in a TinyLlm process unless the environment says otherwise: checked in
/// child processes through OpenMP's own report of its settings (OMP_DISPLAY_ENV=verbose), printed when libtorch
/// loads. GNU OpenMP (Linux's libtorch) reports OMP_WAIT_POLICY as PASSIVE by default too, while spinning 300,000
/// rounds at each barrier; the spin count tells the policies apart.
/// </summary>
[TestClass]
public sealed class OpenMpWaitPolicyTests
{
    private const string TinyRun = "bench train --dim 32 --n-layers 1 --n-heads 4 --n-kv-heads 2 --vocab-size 64 --seq-len 16 --batch-size 2 --steps 1 --warmup 1 --threads 2";

    // Both streams of the built tinyllm run as a child process (OpenMP prints its settings on stderr).
    private static string Run(Dictionary<string, string> environment)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, "tinyllm.dll")}\" {TinyRun}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["OMP_DISPLAY_ENV"] = "verbose";
        psi.Environment.Remove("OMP_WAIT_POLICY");
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string all = stdout + stderr.Result;
        Assert.AreEqual(0, p.ExitCode, all);
        return all;
    }

    [TestMethod]
    public void OpenMpWaitsPassivelyUnlessTheEnvironmentChoosesAPolicy()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The spin count is GNU OpenMP's report (libtorch on Linux).");
        string passive = Run([]);
        Assert.IsTrue(Regex.IsMatch(passive, @"GOMP_SPINCOUNT\s*=\s*'0'"), passive);
        StringAssert.Contains(passive, "\"omp_wait_policy\":\"passive (set by TinyLlm");

        string active = Run(new() { ["OMP_WAIT_POLICY"] = "active" });
        Assert.IsTrue(Regex.IsMatch(active, @"OMP_WAIT_POLICY\s*=\s*'ACTIVE'"), active);
        Assert.IsFalse(Regex.IsMatch(active, @"GOMP_SPINCOUNT\s*=\s*'0'"), active);
        StringAssert.Contains(active, "\"omp_wait_policy\":\"active (from OMP_WAIT_POLICY)\"");
    }
}
