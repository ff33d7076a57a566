using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Sets up a script-host process: it takes its standard input and output for the protocol, so a job that writes to
/// the console or reads from it cannot disturb the frames (on Unix, fd 1 then points at stderr and fd 0 at /dev/null,
/// for native commands too), and on Linux asks the kernel to kill it when the worker dies.
/// </summary>
internal static class ScriptHostStdio
{
    private const int PR_SET_PDEATHSIG = 1, SIGKILL = 9, O_RDONLY = 0;
    private static readonly int F_DUPFD_CLOEXEC = OperatingSystem.IsLinux() ? 1030 : 67;

    public static (Stream Input, Stream Output) Take(int workerProcessId)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != workerProcessId) Environment.Exit(0); // the worker died before the request took effect
        }
        if (OperatingSystem.IsWindows())
        {
            var windowsInput = Console.OpenStandardInput();
            var windowsOutput = Console.OpenStandardOutput();
            Console.SetIn(TextReader.Null);
            Console.SetOut(Console.Error);
            return (windowsInput, windowsOutput);
        }
        // Close-on-exec copies: a process a job starts must not hold the protocol's pipes (the worker would never see
        // the host's end, and the child could write into a frame).
        var input = fcntl(0, F_DUPFD_CLOEXEC, 0);
        var output = fcntl(1, F_DUPFD_CLOEXEC, 0);
        var nothing = open("/dev/null", O_RDONLY);
        if (input < 0 || output < 0 || nothing < 0 || dup2(nothing, 0) < 0 || dup2(2, 1) < 0)
            throw new IOException($"The script host could not set up its standard streams (errno {Marshal.GetLastPInvokeError()}).");
        _ = close(nothing);
        // .NET's console writer and reader hold copies of the original fds made at pwsh's start: point them at the new
        // fd 1 (stderr) and fd 0 (/dev/null), or [Console]::WriteLine would write into the protocol.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true });
        Console.SetIn(new StreamReader(Console.OpenStandardInput()));
        return (new FileStream(new SafeFileHandle(input, true), FileAccess.Read, 1),
            new FileStream(new SafeFileHandle(output, true), FileAccess.Write, 1));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int prctl(int option, ulong arg2);

    [DllImport("libc")]
    private static extern int getppid();

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int command, int argument);

    [DllImport("libc", SetLastError = true)]
    private static extern int dup2(int fd, int fd2);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)]
    private static extern int open(string path, int flags);

    [DllImport("libc")]
    private static extern int close(int fd);
}
