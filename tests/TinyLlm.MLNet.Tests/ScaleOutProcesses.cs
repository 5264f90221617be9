using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Runs <c>scale-out/train.py</c> as the N processes of one distributed job on 127.0.0.1, each with the variables
/// torchrun sets (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE). torchrun itself is not
/// used: on Debian 12's python3-torch 1.13 its elastic agent crashes at start-up (platform facts), while the
/// processes it would start work.
/// </summary>
internal sealed class ScaleOutProcesses : IDisposable
{
    public static readonly string Script = Path.Combine(RepoRoot(), "scale-out", "train.py");

    private readonly Process[] _ranks;
    private readonly Task<string>[] _stdout, _stderr;

    private ScaleOutProcesses(Process[] ranks)
    {
        _ranks = ranks;
        _stdout = ranks.Select(p => p.StandardOutput.ReadToEndAsync()).ToArray();
        _stderr = ranks.Select(p => p.StandardError.ReadToEndAsync()).ToArray();
    }

    /// <summary>Requires Debian's python3-torch and python3-numpy (skipped on a user's machine without them, required under CI).</summary>
    public static void RequirePyTorch()
    {
        ReferenceTools.RequirePythonModule("torch", "apt-get install python3-torch");
        ReferenceTools.RequirePythonModule("numpy", "apt-get install python3-numpy");
    }

    /// <summary>Starts <paramref name="worldSize"/> ranks of the trainer with <paramref name="args"/>; <paramref name="restart"/> > 0 is what torchrun's agent sets after restarting a failed job.</summary>
    public static ScaleOutProcesses Start(int worldSize, IEnumerable<string> args, int restart = 0)
    {
        int port = FreePort();
        var ranks = new Process[worldSize];
        for (int rank = 0; rank < worldSize; rank++)
        {
            var psi = new ProcessStartInfo(ReferenceTools.SystemPython)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetDirectoryName(Script)!,
            };
            psi.ArgumentList.Add(Script);
            foreach (string a in args) psi.ArgumentList.Add(a);
            var env = psi.Environment;
            env["MASTER_ADDR"] = "127.0.0.1";
            env["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
            env["WORLD_SIZE"] = env["LOCAL_WORLD_SIZE"] = worldSize.ToString(CultureInfo.InvariantCulture);
            env["RANK"] = env["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
            env["TORCHELASTIC_RESTART_COUNT"] = restart.ToString(CultureInfo.InvariantCulture);
            env["OMP_NUM_THREADS"] = "1"; // torchrun's default with several processes per machine; 2 cores here
            ranks[rank] = Process.Start(psi)!;
        }
        return new ScaleOutProcesses(ranks);
    }

    /// <summary>Runs one job to the end and returns rank 0's standard output; fails the test (with every rank's stderr) on a non-zero exit.</summary>
    public static string Run(int worldSize, IEnumerable<string> args)
    {
        using var job = Start(worldSize, args);
        int[] codes = job.WaitForExit(TimeSpan.FromMinutes(3));
        Assert.IsTrue(codes.All(c => c == 0), $"scale-out/train.py failed (exit codes {string.Join(", ", codes)}):\n{job.AllStderr()}");
        return job.Stdout(0);
    }

    /// <summary>Waits for every rank; ranks still running after <paramref name="timeout"/> are killed and the test fails.</summary>
    public int[] WaitForExit(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        foreach (var p in _ranks)
        {
            var left = timeout - deadline.Elapsed;
            if (left < TimeSpan.Zero || !p.WaitForExit(left))
            {
                Dispose();
                Assert.Fail($"scale-out/train.py did not finish within {timeout.TotalSeconds:F0} s:\n{AllStderr()}");
            }
        }
        return _ranks.Select(p => p.ExitCode).ToArray();
    }

    public bool HasExited(int rank) => _ranks[rank].HasExited;

    /// <summary>SIGKILL, as a dying machine or the OOM killer would end a rank.</summary>
    public void Kill(int rank)
    {
        if (!_ranks[rank].HasExited) _ranks[rank].Kill();
        _ranks[rank].WaitForExit();
    }

    public string Stdout(int rank) => _stdout[rank].Result;

    public string Stderr(int rank) => _stderr[rank].Result;

    public string AllStderr() => string.Join("\n", _ranks.Select((p, r) => p.HasExited ? $"--- rank {r}:\n{Stderr(r)}" : $"--- rank {r}: still running"));

    public void Dispose()
    {
        foreach (var p in _ranks)
        {
            if (!p.HasExited) p.Kill();
            p.WaitForExit();
        }
    }

    /// <summary>The step losses and evaluations of a run's metrics.csv (<c>tinyllm train</c>'s layout, written by both trainers).</summary>
    public static (SortedDictionary<long, double> Steps, SortedDictionary<long, (double Train, double Val)> Evals) ReadMetrics(string outDir)
    {
        var steps = new SortedDictionary<long, double>();
        var evals = new SortedDictionary<long, (double, double)>();
        foreach (string line in File.ReadLines(Path.Combine(outDir, "metrics.csv")).Skip(1))
        {
            string[] f = line.Split(',');
            long iter = long.Parse(f[1], CultureInfo.InvariantCulture);
            if (f[0] == "step") steps[iter] = double.Parse(f[4], CultureInfo.InvariantCulture);
            else if (f[0] == "eval") evals[iter] = (double.Parse(f[5], CultureInfo.InvariantCulture), double.Parse(f[6], CultureInfo.InvariantCulture));
        }
        return (steps, evals);
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TinyLlm.MLNet.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Could not find the repository root above the test output.");
    }
}
