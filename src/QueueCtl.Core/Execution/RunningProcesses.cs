using System.Globalization;
using System.Text;

namespace QueueCtl.Execution;

/// <summary>
/// The processes a worker's jobs are running, mirrored to a small append-only file ("+pid start [run token]" when one
/// starts, "-pid" when it ends; emptied whenever none is running) so that costs two small writes per job, without fsync. It
/// only has to outlive the worker process, not the machine: after a reboot there is nothing left to kill.
/// </summary>
public sealed class RunningProcesses : IDisposable
{
    private readonly string _path;
    private readonly HashSet<int> _running = new();
    private FileStream? _file;

    public RunningProcesses(string path) => _path = path;

    public void Add(int pid, DateTime startedAtUtc) => Add(pid, startedAtUtc, null);

    /// <summary>Records a run's main process and its <see cref="RunToken"/>, which finds what else the run started.</summary>
    public void Add(int pid, DateTime startedAtUtc, string? runToken)
    {
        lock (_running)
        {
            _running.Add(pid);
            var token = runToken is null ? "" : " " + runToken;
            Append($"+{pid} {new DateTimeOffset(startedAtUtc).ToUnixTimeMilliseconds()}{token}\n");
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

    /// <summary>
    /// Kills every process tree a dead worker's file lists as running and that is still the same process, and every
    /// process carrying one of the listed runs' tokens; deletes the file. Returns how many processes were killed.
    /// </summary>
    public static int KillOrphans(string path)
    {
        if (!File.Exists(path)) return 0;
        var running = Read(path);
        var killed = 0;
        foreach (var (pid, started, _) in running)
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
        foreach (var (_, _, token) in running)
            if (token is not null) killed += RunLeftovers.Kill(token, TimeSpan.Zero, fullScan: true).Count;
        TryDelete(path);
        return killed;
    }

    /// <summary>The runs a worker's file lists as running: pid, start time, and run token when recorded.</summary>
    public static IReadOnlyList<(int Pid, long Started, string? Token)> Read(string path)
    {
        var running = new Dictionary<int, (long Started, string? Token)>();
        foreach (var line in SafeReadLines(path))
        {
            if (line.Length < 2) continue;
            var parts = line[1..].Split(' ');
            if (!int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)) continue;
            if (line[0] == '-') running.Remove(pid);
            else if (line[0] == '+' && parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var started))
                running[pid] = (started, parts.Length >= 3 && IsToken(parts[2]) ? parts[2] : null);
        }
        return running.Select(r => (r.Key, r.Value.Started, r.Value.Token)).ToList();
    }

    private static bool IsToken(string text) => text.Length is > 0 and <= 64 && text.All(char.IsAsciiLetterOrDigit);

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
        try { return File.Exists(path) ? File.ReadAllLines(path) : Array.Empty<string>(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
