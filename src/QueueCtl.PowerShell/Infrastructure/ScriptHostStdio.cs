using System.Runtime.InteropServices;
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
        var input = dup(0);
        var output = dup(1);
        var nothing = open("/dev/null", O_RDONLY);
        if (input < 0 || output < 0 || nothing < 0 || dup2(nothing, 0) < 0 || dup2(2, 1) < 0)
            throw new IOException($"The script host could not set up its standard streams (errno {Marshal.GetLastPInvokeError()}).");
        _ = close(nothing);
        return (new FileStream(new SafeFileHandle(input, true), FileAccess.Read, 1),
            new FileStream(new SafeFileHandle(output, true), FileAccess.Write, 1));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int prctl(int option, ulong arg2);

    [DllImport("libc")]
    private static extern int getppid();

    [DllImport("libc", SetLastError = true)]
    private static extern int dup(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int dup2(int fd, int fd2);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)]
    private static extern int open(string path, int flags);

    [DllImport("libc")]
    private static extern int close(int fd);
}
