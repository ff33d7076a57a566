using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace QueueCtl.Execution;

/// <summary>
/// Finds and kills the processes that carry a run's <see cref="RunToken"/> in their environment (Linux, through
/// /proc/&lt;pid&gt;/environ). A process that removed the variable (<c>env -u QUEUECTL_RUN_TOKEN …</c>) is left alone:
/// that is how a job starts a service on purpose. Elsewhere there is no cheap way to read another process's
/// environment, and nothing is found.
/// </summary>
public static class RunLeftovers
{
    private const int SIGTERM = 15;
    private const int SIGKILL = 9;
    private const int SIGCONT = 18;

    /// <summary>How long <see cref="Kill"/> keeps looking for processes forked while it was killing.</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ConfirmAfter = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a leftover of a run that ended by itself gets to exit on SIGTERM before SIGKILL.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    /// <summary>A run longer than this may have seen pids wrap: its leftovers are looked for among all processes.</summary>
    private static readonly TimeSpan ShortRun = TimeSpan.FromSeconds(5);

    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// The sweep when a run has ended, for every kind of run: <paramref name="firstPid"/> bounds the scan unless the run
    /// lasted long enough for pids to wrap; <paramref name="atOnce"/> (a timeout or a stop) skips the SIGTERM grace.
    /// </summary>
    public static IReadOnlyList<string> KillAfterRun(string token, int firstPid, TimeSpan ran, bool atOnce) =>
        Kill(token, atOnce ? TimeSpan.Zero : Grace, firstPid, fullScan: ran > ShortRun);

    /// <summary>
    /// Kills every process carrying <paramref name="token"/>: SIGTERM first, SIGKILL for what is left after
    /// <paramref name="grace"/> (at once when zero), and again until none is found, so forks racing the kill are caught
    /// too. <paramref name="firstPid"/> is the run's first process: when pids have not wrapped since, only the newer pids
    /// are looked at, which keeps this cheap on a busy machine. Returns the processes killed ("pid command").
    /// </summary>
    public static IReadOnlyList<string> Kill(string token, TimeSpan grace, int firstPid = 0, bool fullScan = false)
    {
        var killed = new List<string>();
        if (!IsSupported) return killed;
        var seen = new HashSet<int>();
        var deadline = DateTime.UtcNow + GiveUpAfter;
        var termUntil = DateTime.UtcNow + grace;
        var after = fullScan ? 0 : firstPid;
        while (true)
        {
            var found = Find(token, after);
            if (found.Count == 0 || DateTime.UtcNow > deadline) return killed;
            // A process between fork and exec still shows the environment it is dropping (env -u QUEUECTL_RUN_TOKEN
            // service &): only one that still carries the token a moment later is a leftover.
            Thread.Sleep(ConfirmAfter);
            var confirmed = Find(token, after).Intersect(found).ToList();
            var term = DateTime.UtcNow < termUntil;
            foreach (var pid in confirmed)
            {
                if (seen.Add(pid)) killed.Add($"{pid} {Command(pid)}".TrimEnd());
                _ = kill(pid, term ? SIGTERM : SIGKILL);
                if (term) _ = kill(pid, SIGCONT); // a stopped process acts on SIGTERM only once continued
            }
            if (confirmed.Count > 0) Thread.Sleep(term ? 10 : 2);
        }
    }

    /// <summary>The pids (other than this process) whose environment holds the token.</summary>
    public static IReadOnlyList<int> Find(string token, int firstPid = 0)
    {
        var found = new List<int>();
        if (!IsSupported) return found;
        var needle = Encoding.ASCII.GetBytes($"{RunToken.Variable}={token}\0");
        // Pids grow until they wrap at pid_max: the last one handed out below the run's first means a wrap.
        if (firstPid > 0 && LastPid() < firstPid) firstPid = 0;
        var self = Environment.ProcessId;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (pid < firstPid || pid == self) continue;
            if (Holds($"{dir}/environ", needle)) found.Add(pid);
        }
        return found;
    }

    private static bool Holds(string environPath, byte[] needle)
    {
        byte[] environ;
        try { environ = File.ReadAllBytes(environPath); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
        var span = environ.AsSpan();
        var at = 0;
        while (at < span.Length)
        {
            var index = span[at..].IndexOf(needle);
            if (index < 0) return false;
            var start = at + index;
            if (start == 0 || span[start - 1] == 0) return true;
            at = start + 1;
        }
        return false;
    }

    /// <summary>The last pid the kernel handed out (Linux; 0 elsewhere): unchanged means no process started meanwhile.</summary>
    public static int LastPid()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length >= 5 && int.TryParse(fields[4], CultureInfo.InvariantCulture, out var last) ? last : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string Command(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ""; }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
