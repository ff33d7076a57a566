using System.Globalization;
using System.Text;

namespace QueueCtl.Execution;

/// <summary>
/// The processes a worker's jobs are running, mirrored to a small append-only file ("+pid start" when one starts,
/// "-pid" when it ends; emptied whenever none is running) so that costs two small writes per job, without fsync. It
/// only has to outlive the worker process, not the machine: after a reboot there is nothing left to kill.
/// </summary>
public sealed class RunningProcesses : IDisposable
{
    private readonly string _path;
    private readonly HashSet<int> _running = new();
    private FileStream? _file;

    public RunningProcesses(string path) => _path = path;

    public void Add(int pid, DateTime startedAtUtc)
    {
        lock (_running)
        {
            _running.Add(pid);
            Append($"+{pid} {new DateTimeOffset(startedAtUtc).ToUnixTimeMilliseconds()}\n");
        }
    }

    public void Remove(int pid)
    {
        lock (_running)
        {
            if (!_running.Remove(pid)) return;
            if (_running.Count == 0) Truncate();
            else Append($"-{pid}\n");
        }
    }

    /// <summary>Forgets the file: the worker is stopping with nothing running.</summary>
    public void Delete()
    {
        lock (_running)
        {
            _running.Clear();
            _file?.Dispose();
            _file = null;
            TryDelete(_path);
        }
    }

    public void Dispose()
    {
        lock (_running)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    /// <summary>Kills every process tree a dead worker's file lists as running and that is still the same process; deletes the file.</summary>
    public static int KillOrphans(string path)
    {
        if (!File.Exists(path)) return 0;
        var running = new Dictionary<int, long>();
        foreach (var line in SafeReadLines(path))
        {
            if (line.Length < 2) continue;
            var parts = line[1..].Split(' ');
            if (!int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)) continue;
            if (line[0] == '-') running.Remove(pid);
            else if (line[0] == '+' && parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var started)) running[pid] = started;
        }
        var killed = 0;
        foreach (var (pid, started) in running)
        {
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

    private void Append(string line)
    {
        try
        {
            _file ??= Storage.PrivateFiles.OpenTruncated(_path);
            var bytes = Encoding.ASCII.GetBytes(line);
            _file.Write(bytes);
            _file.Flush();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: without the file, a crash leaves an orphan that only its own end stops.
        }
    }

    private void Truncate()
    {
        try
        {
            if (_file is null) return;
            _file.SetLength(0);
            _file.Position = 0;
        }
        catch (IOException)
        {
            // Best effort, as above.
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
