using System.Globalization;

namespace QueueCtl.Execution;

/// <summary>
/// The processes a worker's jobs are running, mirrored to a small file (pid and start time per line) that is
/// rewritten, without fsync, whenever a job process starts or ends. It only has to outlive the worker process, not
/// the machine: after a reboot there is nothing left to kill.
/// </summary>
public sealed class RunningProcesses
{
    private readonly string _path;
    private readonly Dictionary<int, long> _processes = new();

    public RunningProcesses(string path) => _path = path;

    public void Add(int pid, DateTime startedAtUtc)
    {
        lock (_processes)
        {
            _processes[pid] = new DateTimeOffset(startedAtUtc).ToUnixTimeMilliseconds();
            Save();
        }
    }

    public void Remove(int pid)
    {
        lock (_processes)
        {
            if (_processes.Remove(pid)) Save();
        }
    }

    public void Delete()
    {
        lock (_processes)
        {
            _processes.Clear();
            TryDelete(_path);
        }
    }

    /// <summary>Kills every process tree listed in a dead worker's file that is still the same process; deletes the file.</summary>
    public static int KillOrphans(string path)
    {
        if (!File.Exists(path)) return 0;
        var killed = 0;
        foreach (var line in SafeReadLines(path))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)
                || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var started)) continue;
            if (!ProcessTree.IsAlive(pid, started)) continue;
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                ProcessTree.Kill(process);
                killed++;
            }
            catch (ArgumentException)
            {
                // Gone meanwhile.
            }
        }
        TryDelete(path);
        return killed;
    }

    private void Save()
    {
        try
        {
            File.WriteAllLines(_path, _processes.Select(p => $"{p.Key} {p.Value}"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: without the file, a crash leaves an orphan that only its own end stops.
        }
    }

    private static IEnumerable<string> SafeReadLines(string path)
    {
        try { return File.ReadAllLines(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
