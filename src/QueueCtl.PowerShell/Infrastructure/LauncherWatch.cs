using System.Runtime.InteropServices;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Notices that the process which launched a foreground worker is gone (Unix: this process was reparented), so the
/// worker can stop gracefully instead of running on unseen. It watches only a launcher that cannot pass signals on:
/// the supervisor of a detached worker, and the .NET tool's pwsh shim, which runs pwsh.dll as a child and does not
/// forward SIGTERM. A worker started any other way (nohup, systemd, a container) is left alone when its parent exits.
/// </summary>
internal sealed class LauncherWatch : IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1); // each look wakes the thread pool: 5 a second cost an idle worker a third of its CPU
    private readonly int _launcher;
    private readonly Action<int> _gone;
    private readonly Timer _timer;
    private int _fired;

    private LauncherWatch(int launcher, Action<int> gone)
    {
        _launcher = launcher;
        _gone = gone;
        _timer = new Timer(_ => Check(), null, Period, Period);
    }

    /// <summary>Starts watching when the launcher is one to watch; <paramref name="gone"/> gets its pid, once.</summary>
    public static LauncherWatch? Start(bool supervised, Action<int> gone)
    {
        if (OperatingSystem.IsWindows()) return null;
        var parent = getppid();
        if (parent <= 1 || !(supervised || IsToolShim(parent))) return null;
        return new LauncherWatch(parent, gone);
    }

    /// <summary>Whether <paramref name="pid"/> runs the PowerShell .NET tool's shim (Microsoft.PowerShell.GlobalTool.Shim).</summary>
    public static bool IsToolShim(int pid)
    {
        if (!OperatingSystem.IsLinux()) return false;
        const string shim = "Microsoft.PowerShell.GlobalTool.Shim";
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(shim, StringComparison.Ordinal)
                || File.ReadAllText($"/proc/{pid}/maps").Contains(shim, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private void Check()
    {
        if (getppid() == _launcher || Interlocked.Exchange(ref _fired, 1) == 1) return;
        _gone(_launcher);
    }

    public void Dispose() => _timer.Dispose();

    [DllImport("libc")]
    private static extern int getppid();
}
