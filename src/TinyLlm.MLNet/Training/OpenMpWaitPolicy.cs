using System.Runtime.InteropServices;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// How libtorch's OpenMP workers wait for each other between the parallel parts of an operation. OpenMP's default
/// is to spin for a while at every barrier; when another program holds one of the cores, the thread that shares it
/// is descheduled mid-operation and the others burn their cores spinning for it, so CPU training collapsed far more
/// than the share the other program took (seed model, 2 cores, one core busy: 44% of the quiet speed, where PyTorch
/// with OpenBLAS kept ~90%). Passive waiting (workers sleep in the kernel at barriers) removed the collapse and was no
/// slower on a quiet machine (docs/benchmarks.md, "Training on a busy CPU"), so TinyLlm asks for it, unless
/// <c>OMP_WAIT_POLICY</c> is already set: <c>OMP_WAIT_POLICY=active</c> brings back spinning.
/// </summary>
/// <remarks>
/// OpenMP reads the variable once, when libtorch is loaded, so <see cref="BeforeLibtorchLoads"/> runs where TinyLlm
/// loads libtorch (<c>LibTorchRuntime.EnsureLoaded</c>, before device selection's first TorchSharp call); a program
/// that used TorchSharp before that keeps the policy it started with. On Linux and macOS the variable is set with the C library's <c>setenv</c>, since .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach native code there.
/// </remarks>
public static class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";
    private static readonly Lock Gate = new();
    private static string? _description;

    /// <summary>The policy in force and who chose it, e.g. "passive (set by TinyLlm)"; null before libtorch was prepared.</summary>
    public static string? Description
    {
        get
        {
            lock (Gate) return _description;
        }
    }

    /// <summary>Asks for passive waiting unless the environment already chose a policy; idempotent.</summary>
    public static void BeforeLibtorchLoads()
    {
        lock (Gate)
        {
            if (_description is not null) return;
            string? given = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrWhiteSpace(given))
            {
                _description = $"{given.Trim().ToLowerInvariant()} (from {Variable})";
                return;
            }
            _description = Set("passive") ? $"passive (set by TinyLlm; {Variable}=active to spin)" : "OpenMP's default (could not set " + Variable + ")";
        }
    }

    private static bool Set(string value)
    {
        if (OperatingSystem.IsWindows())
        {
            Environment.SetEnvironmentVariable(Variable, value);
            return true;
        }
        try
        {
            if (SetEnv(Variable, value, 0) != 0) return false;
            Environment.SetEnvironmentVariable(Variable, value); // and for .NET's own view of the environment
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
