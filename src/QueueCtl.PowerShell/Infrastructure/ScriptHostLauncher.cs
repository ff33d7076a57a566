using System.Collections.Concurrent;
using System.Diagnostics;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Starts script-host processes: the same pwsh as the worker (<see cref="WorkerLauncher.PwshCommand"/>), importing this
/// module's assembly and entering <see cref="ScriptHostServer.Serve"/>, with all three standard streams piped. On Linux
/// the host asks to be killed when its parent dies, and the kernel takes "parent" to mean the thread that started it:
/// hosts are started from one long-lived thread, never from a pool thread that may exit while they run.
/// </summary>
internal static class ScriptHostLauncher
{
    private static readonly (string Name, string Value)[] HostEnvironment =
    {
        ("DOTNET_TieredPGO", "0"),
        ("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0"),
        ("POWERSHELL_TELEMETRY_OPTOUT", "1"),
    };

    /// <summary>The pwsh to start; tests hosted outside pwsh point it at one.</summary>
    internal static Func<(string FileName, string[] Prefix)> PwshCommand { get; set; } = WorkerLauncher.PwshCommand;

    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> Requests = new();
    private static readonly Lazy<Thread> Starter = new(() =>
    {
        var thread = new Thread(StartAll) { IsBackground = true, Name = "QueueCtl script-host starter" };
        thread.Start();
        return thread;
    });

    public static Task<Process> StartAsync()
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Starter.Value;
        Requests.Add((StartInfo(), started));
        return started.Task;
    }

    private static void StartAll()
    {
        foreach (var (info, started) in Requests.GetConsumingEnumerable())
        {
            try
            {
                started.SetResult(Process.Start(info) ?? throw new InvalidOperationException("The script host did not start."));
            }
            catch (Exception ex)
            {
                started.SetException(ex);
            }
        }
    }

    private static ProcessStartInfo StartInfo()
    {
        var assembly = typeof(ScriptHostServer).Assembly.Location;
        var command = $"Import-Module -Name '{assembly.Replace("'", "''")}'; " +
            $"exit [{typeof(ScriptHostServer).FullName}]::Serve({Environment.ProcessId})";
        var (pwsh, prefix) = PwshCommand();
        var info = new ProcessStartInfo(pwsh)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in prefix.Concat(new[] { "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", command }))
            info.ArgumentList.Add(a);
        foreach (var (name, value) in HostEnvironment)
            if (!info.Environment.ContainsKey(name)) info.Environment[name] = value;
        return info;
    }
}
