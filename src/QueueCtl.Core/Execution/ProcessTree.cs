using System.ComponentModel;
using System.Diagnostics;

namespace QueueCtl.Execution;

/// <summary>Process helpers: killing a whole tree, and telling whether a recorded process still exists.</summary>
public static class ProcessTree
{
    public static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already exited.
        }
    }

    /// <summary>
    /// True when process <paramref name="pid"/> exists, is not a zombie, and (when known) started at
    /// <paramref name="startedAtMs"/>, so a recycled pid is not mistaken for the original process.
    /// </summary>
    public static bool IsAlive(int pid, long? startedAtMs)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            if (OperatingSystem.IsLinux() && IsZombie(pid)) return false;
            if (startedAtMs is not { } expected) return true;
            var actual = new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
            return Math.Abs(actual - expected) < 2000;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or Win32Exception)
        {
            return false;
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var afterName = stat.LastIndexOf(')');
            return afterName > 0 && afterName + 2 < stat.Length && stat[afterName + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return true;
        }
    }
}
