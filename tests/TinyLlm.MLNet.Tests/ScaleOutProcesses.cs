using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// Runs <c>scale-out/train.py</c> as one distributed job on 127.0.0.1: either under torchrun (its elastic agent
/// starts the ranks and restarts them), or as N processes started here with the variables torchrun sets
/// (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE), as a cluster scheduler's launcher would.
/// </summary>
/// <remarks>
/// torchrun on Debian 12 (python3-torch 1.13, Python 3.11) crashes at start-up with its default <c>--redirects 0
/// --tee 0</c>: Python 3.11 no longer iterates the zero (and multi-bit) members of an IntFlag, so 1.13's
/// <c>Std.from_str("0")</c> returns None. <c>--redirects 2 --tee 2</c> (stderr to a log file and to the console)
/// avoids it; PyTorch 2.x needs nothing.
/// </remarks>
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

    /// <summary>
    /// Starts <c>torchrun --standalone --nproc_per_node N [--max_restarts R]</c> (the agent is process 0 of this job;
    /// its output carries the ranks' output, stderr lines prefixed by torchrun).
    /// </summary>
    public static ScaleOutProcesses Torchrun(int nprocPerNode, IEnumerable<string> args, int maxRestarts = 0)
    {
        var psi = new ProcessStartInfo(ReferenceTools.SystemPython)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(Script)!,
        };
        string[] launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", nprocPerNode.ToString(CultureInfo.InvariantCulture),
                             "--max_restarts", maxRestarts.ToString(CultureInfo.InvariantCulture), "--monitor_interval", "0.2",
                             "--redirects", "2", "--tee", "2", Script];
        foreach (string a in launcher.Concat(args)) psi.ArgumentList.Add(a);
        return new ScaleOutProcesses([Process.Start(psi)!]);
    }

    /// <summary>The process id of torchrun's worker of rank <paramref name="rank"/> (a child of the agent with RANK set), or null while there is none.</summary>
    public int? TorchrunWorker(int rank)
    {
        int agent = _ranks[0].Id;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (parent != agent) continue;
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"RANK={rank}")) return pid;
            }
            catch (IOException) { } // the process ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }

    /// <summary>Runs one job to the end and returns rank 0's standard output; fails the test (with every rank's stderr) on a non-zero exit.</summary>
    public static string Run(int worldSize, IEnumerable<string> args) => Finish(Start(worldSize, args));

    /// <summary>As <see cref="Run"/>, under torchrun.</summary>
    public static string RunTorchrun(int nprocPerNode, IEnumerable<string> args) => Finish(Torchrun(nprocPerNode, args));

    private static string Finish(ScaleOutProcesses started)
    {
        using var job = started;
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
