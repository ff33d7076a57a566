using System.Diagnostics;
using System.Net;
using QueueCtl.Storage;
using System.Management.Automation;
using System.Runtime.InteropServices;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Starts a worker as its own pwsh process, detached from the caller: it runs Start-QueueWorker -Foreground from this
/// same module (as Start-Job runs a child pwsh), in a new session with no terminal, its output appended to its log.
/// Closing the shell or terminal that started it leaves it running. On Unix a <see cref="WorkerSupervisor"/> shell is
/// its parent and restarts it when it dies; the returned process is then the supervisor.
/// </summary>
internal static class WorkerLauncher
{
    /// <summary>
    /// Starts the worker. The queue's address and any credential reach it through its environment, never its command
    /// line: an address may hold a password, and every user of the machine can read a command line (ps).
    /// </summary>
    public static Process Launch(string moduleDirectory, string address, string localPath, NetworkCredential? credential,
        string workerId, int concurrency, IReadOnlyList<string>? queues, string logPath)
    {
        var command = string.Join(' ',
            $"Import-Module -Name {Quote(Path.Combine(moduleDirectory, "QueueCtl.psd1"))};",
            $"Start-QueueWorker -Foreground -Detached -WorkerId {Quote(workerId)}",
            $"-Concurrency {concurrency} -LogPath {Quote(logPath)}" +
            (queues is null ? "" : " -Queue " + string.Join(",", queues.Select(Quote))));
        var (pwsh, prefix) = PwshCommand();
        var pwshArguments = prefix.Concat(new[] { "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", command });
        ProcessStartInfo info;
        if (OperatingSystem.IsWindows())
        {
            info = new ProcessStartInfo(pwsh) { CreateNoWindow = true };
            foreach (var a in pwshArguments) info.ArgumentList.Add(a);
        }
        else
        {
            // A shell supervises the worker (restarting it when it dies), its streams on the log, stdin on /dev/null.
            // In a session of its own where setsid(1) exists (Linux), so no terminal's signals reach the supervisor.
            var setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
            info = new ProcessStartInfo(setsid ?? "/bin/sh");
            if (setsid is not null) info.ArgumentList.Add("/bin/sh");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(WorkerSupervisor.Script);
            info.ArgumentList.Add("queuectl-worker");
            info.ArgumentList.Add(pwsh);
            foreach (var a in pwshArguments) info.ArgumentList.Add(a);
            info.Environment["QUEUECTL_WORKER_LOG"] = logPath;
            info.Environment["QUEUECTL_SUPERVISED_WORKER"] = workerId;
        }
        info.UseShellExecute = false;
        info.WorkingDirectory = Path.GetDirectoryName(localPath)!;
        info.Environment[DatabaseLocator.EnvironmentVariable] = address;
        if (credential is not null)
        {
            info.Environment[CredentialUserVariable] = credential.UserName;
            info.Environment[CredentialPasswordVariable] = credential.Password;
        }
        // A worker is a long-lived background process: dynamic PGO would keep re-compiling its hot code for a minute
        // after start, and PowerShell's startup telemetry would try the network from every worker. Both cost idle CPU.
        // Idle thread-pool threads spin before they sleep; a worker wakes them for every job's process exit and
        // output, so on a small machine their spinning takes the CPU the jobs need (docs/performance.md).
        // Each can be chosen explicitly in the environment that starts the workers.
        foreach (var (name, value) in WorkerEnvironment)
            if (!info.Environment.ContainsKey(name)) info.Environment[name] = value;
        return Process.Start(info) ?? throw new InvalidOperationException("The worker process did not start.");
    }

    /// <summary>How -Credential reaches a detached worker, which takes them out of its environment at once.</summary>
    public const string CredentialUserVariable = "QUEUECTL_CREDENTIAL_USER";

    public const string CredentialPasswordVariable = "QUEUECTL_CREDENTIAL_PASSWORD";

    /// <summary>
    /// The credential a launcher handed to this worker process, removed from the environment so that no job process
    /// inherits it; null when there is none.
    /// </summary>
    public static NetworkCredential? TakeCredential()
    {
        var password = Environment.GetEnvironmentVariable(CredentialPasswordVariable);
        if (password is null) return null;
        var user = Environment.GetEnvironmentVariable(CredentialUserVariable) ?? "";
        Environment.SetEnvironmentVariable(CredentialPasswordVariable, null);
        Environment.SetEnvironmentVariable(CredentialUserVariable, null);
        return new NetworkCredential(user, password);
    }

    private static readonly (string Name, string Value)[] WorkerEnvironment =
    {
        ("DOTNET_TieredPGO", "0"),
        ("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0"),
        ("POWERSHELL_TELEMETRY_OPTOUT", "1"),
    };

    /// <summary>The command that starts this same PowerShell: pwsh itself, or dotnet with pwsh.dll for the .NET tool.</summary>
    public static (string FileName, string[] Prefix) PwshCommand()
    {
        var process = Environment.ProcessPath ?? "pwsh";
        var name = Path.GetFileNameWithoutExtension(process);
        var psHome = Path.GetDirectoryName(typeof(PSObject).Assembly.Location)!;
        if (name.Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return (process, new[] { Path.Combine(psHome, "pwsh.dll") });
        if (name.Equals("pwsh", StringComparison.OrdinalIgnoreCase))
            return (process, Array.Empty<string>());
        var beside = Path.Combine(psHome, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        return (File.Exists(beside) ? beside : "pwsh", Array.Empty<string>());
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''") + "'";

    /// <summary>Leaves the caller's session and terminal (Unix), so a closed terminal's SIGHUP never reaches this worker.</summary>
    public static void DetachFromTerminal()
    {
        if (OperatingSystem.IsWindows()) return;
        _ = setsid();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setsid();
}
