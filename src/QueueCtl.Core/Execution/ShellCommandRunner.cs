using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using QueueCtl.Jobs;

namespace QueueCtl.Execution;

/// <summary>
/// Runs a command line through the platform shell (/bin/sh -c on Unix, cmd.exe /d /s /c on Windows) in the job's
/// working directory, with the worker's environment plus the QUEUECTL_* variables. Standard input is closed; the tails
/// of standard output and error are kept. The run ends when the shell exits: on Linux whatever it left running (found by
/// its <see cref="RunToken"/>) is then stopped, as is everything it started on timeout or cancel.
/// </summary>
public sealed class ShellCommandRunner : IJobRunner
{
    /// <summary>How long to wait for output pipes to close after the shell exits (a background child may hold them).</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Where leftovers are killed the pipes close at once unless a service started on purpose holds them: read what is
    /// there and stop.
    /// </summary>
    private static readonly TimeSpan DrainAfterSweep = TimeSpan.FromMilliseconds(100);

    public async Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        var stdout = new OutputTail(execution.OutputLimit);
        var stderr = new OutputTail(execution.OutputLimit);
        CapturedOutput Output() => new(OutputFormat.Text, stdout.ToString(), stderr.ToString(), stdout.Dropped, stderr.Dropped);

        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");

        using var process = new Process { StartInfo = StartInfo(execution) };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            return RunOutcome.Failure($"The command could not be started: {ex.Message}");
        }
        process.StandardInput.Close();
        execution.Processes?.Add(process.Id, StartTime(process), execution.RunToken);
        try
        {
            return await Supervise(process, execution, stdout, stderr, Output, cancel).ConfigureAwait(false);
        }
        finally
        {
            execution.Processes?.Remove(process.Id);
        }
    }

    private static async Task<RunOutcome> Supervise(Process process, JobExecution execution, OutputTail stdout, OutputTail stderr,
        Func<CapturedOutput> output, CancellationToken cancel)
    {
        var pumps = Task.WhenAll(Pump(process.StandardOutput.BaseStream, stdout), Pump(process.StandardError.BaseStream, stderr));
        var started = DateTime.UtcNow;

        using var timeout = new RunDeadline(execution.Timeout);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, timeout.Token);
        try
        {
            await process.WaitForExitAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ProcessTree.Kill(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            KillLeftovers(process, execution, started, atOnce: true);
            await Drain(pumps).ConfigureAwait(false);
            return cancel.IsCancellationRequested
                ? RunOutcome.Cancel("The run was stopped.", output())
                : RunOutcome.Failure($"Timed out after {Durations.Describe(execution.Timeout)}; the process tree was killed.", null, output());
        }
        var leftovers = KillLeftovers(process, execution, started, atOnce: false);
        await Drain(pumps).ConfigureAwait(false);
        var code = process.ExitCode;
        var last = LastLine(stderr.ToString());
        // Said in the run's own output, after what the run printed; a run that succeeded still succeeded.
        if (leftovers.Count > 0)
            stderr.Write(Encoding.UTF8.GetBytes(
                $"\nqueuectl: the run left {leftovers.Count} process(es) running; stopped when it ended: {string.Join("; ", leftovers)}\n"));
        if (code == 0) return RunOutcome.Success(0, output());
        return RunOutcome.Failure(last is null ? $"Exited with code {code}." : $"Exited with code {code}: {last}", code, output());
    }

    /// <summary>Kills what the run left running (Linux); returns what was killed.</summary>
    private static IReadOnlyList<string> KillLeftovers(Process process, JobExecution execution, DateTime started, bool atOnce) =>
        RunLeftovers.KillAfterRun(execution.RunToken, process.Id, DateTime.UtcNow - started, atOnce);

    /// <summary>Runs one empty command, so the first job does not pay for compiling the process plumbing.</summary>
    public void Warm(int slots)
    {
        var job = new QueueJob { Id = "warm-up", Command = OperatingSystem.IsWindows() ? "rem" : ":" };
        RunAsync(new JobExecution(job, TimeSpan.FromSeconds(30), 0, "warm-up"), CancellationToken.None).GetAwaiter().GetResult();
    }

    private static DateTime StartTime(Process process)
    {
        try { return process.StartTime.ToUniversalTime(); }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception) { return DateTime.UtcNow; }
    }

    private static ProcessStartInfo StartInfo(JobExecution execution)
    {
        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = execution.Job.WorkingDirectory ?? "",
        };
        if (OperatingSystem.IsWindows())
        {
            info.FileName = Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe";
            info.Arguments = $"/d /s /c \"{execution.Job.Command}\"";
        }
        else
        {
            info.FileName = "/bin/sh";
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(execution.Job.Command);
        }
        foreach (var (name, value) in execution.Environment) info.Environment[name] = value;
        info.Environment[RunToken.Variable] = execution.RunToken;
        return info;
    }

    private static async Task Pump(Stream stream, OutputTail tail)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                tail.Write(buffer.AsSpan(0, read));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe was closed under us after the grace period: keep what was read.
        }
    }

    private static async Task Drain(Task pumps)
    {
        try
        {
            // WaitAsync drops its timer as soon as the pumps finish; a Task.Delay per job would keep one for 2 s.
            await pumps.WaitAsync(RunLeftovers.IsSupported ? DrainAfterSweep : DrainGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A background process still holds the pipes open; stop reading rather than wait for it.
        }
    }

    private static string? LastLine(string text)
    {
        var line = text.TrimEnd().Split('\n').LastOrDefault()?.Trim();
        return string.IsNullOrEmpty(line) ? null : line.Length > 500 ? line[..500] + "…" : line;
    }

}
