using System.Diagnostics;
using System.Globalization;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// <c>out_dir/train.lock</c>: one training run per output folder. Two runs into one folder would interleave their
/// checkpoints and metrics; the second is refused with the first one's process id. The file names its holder
/// (process id, start time, machine) and is deleted when the run ends; one left by a process that no longer runs
/// (killed, crashed) is stale and taken over.
/// </summary>
internal sealed class TrainingLock : IDisposable
{
    /// <summary>The lock's file name inside <c>out_dir</c>.</summary>
    public const string FileName = "train.lock";

    private readonly string _path;
    private readonly string _content;

    private TrainingLock(string path, string content)
    {
        _path = path;
        _content = content;
    }

    /// <summary>Takes the lock of <paramref name="outDir"/> for this process.</summary>
    /// <exception cref="InvalidOperationException">Another run that is still alive holds it.</exception>
    public static TrainingLock Acquire(string outDir)
    {
        string path = Path.Combine(outDir, FileName);
        using var self = Process.GetCurrentProcess();
        string content = string.Join(' ', Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            self.StartTime.ToUniversalTime().Ticks.ToString(CultureInfo.InvariantCulture), Environment.MachineName) + "\n";
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                using (var writer = new StreamWriter(file))
                    writer.Write(content);
                return new TrainingLock(path, content);
            }
            catch (IOException) when (File.Exists(path) && attempt < 3)
            {
                string holder;
                try
                {
                    holder = File.ReadAllText(path);
                }
                catch (FileNotFoundException)
                {
                    continue; // released meanwhile
                }
                if (IsAlive(holder, out string who))
                    throw new InvalidOperationException(
                        $"Another training run ({who}) is writing into '{outDir}'; two runs would interleave their checkpoints and metrics. " +
                        $"Wait for it to finish or choose another OutDir. If that process is not a training run, delete '{path}'.");
                // Stale (its process is gone): take it over, unless another run took it over first.
                if (File.ReadAllText(path) == holder) File.Delete(path);
            }
        }
    }

    /// <summary>Deletes the lock if it is still this run's.</summary>
    public void Dispose()
    {
        try
        {
            if (File.Exists(_path) && File.ReadAllText(_path) == _content) File.Delete(_path);
        }
        catch (IOException)
        {
            // the folder went away; nothing to release
        }
    }

    // "pid ticks machine": alive when that process runs on this machine and started at that time (a reused id is
    // another process). A lock from another machine (a shared folder) cannot be checked and counts as alive.
    private static bool IsAlive(string holder, out string who)
    {
        string[] fields = holder.Trim().Split(' ', 3);
        if (fields.Length < 3 || !int.TryParse(fields[0], CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(fields[1], CultureInfo.InvariantCulture, out long ticks))
        {
            who = "unknown holder";
            return false; // unreadable: left by a crash mid-write
        }
        var started = new DateTime(ticks, DateTimeKind.Utc);
        who = $"process {pid} on {fields[2]}, started {started:yyyy-MM-dd HH:mm:ss} UTC";
        if (fields[2] != Environment.MachineName) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return Math.Abs((process.StartTime.ToUniversalTime() - started).TotalSeconds) < 1;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // it exited while we looked
        }
    }
}
