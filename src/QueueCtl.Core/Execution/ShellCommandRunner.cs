using System.ComponentModel;
using System.Diagnostics;
using QueueCtl.Jobs;

namespace QueueCtl.Execution;

/// <summary>
/// Runs a command line through the platform shell (/bin/sh -c on Unix, cmd.exe /d /s /c on Windows) in the job's
/// working directory, with the worker's environment plus the QUEUECTL_* variables. Standard input is closed; the tails
/// of standard output and error are kept. On timeout or cancel the whole process tree is killed.
/// </summary>
public sealed class ShellCommandRunner : IJobRunner
{
    /// <summary>How long to wait for output pipes to close after the shell exits (a background child may hold them).</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

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
        execution.Processes?.Add(process.Id, StartTime(process));
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
            await Drain(pumps).ConfigureAwait(false);
            return cancel.IsCancellationRequested
                ? RunOutcome.Cancel("The run was stopped.", output())
                : RunOutcome.Failure($"Timed out after {Durations.Describe(execution.Timeout)}; the process tree was killed.", null, output());
        }
        await Drain(pumps).ConfigureAwait(false);
        var code = process.ExitCode;
        if (code == 0) return RunOutcome.Success(0, output());
        var last = LastLine(stderr.ToString());
        return RunOutcome.Failure(last is null ? $"Exited with code {code}." : $"Exited with code {code}: {last}", code, output());
    }

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
            await pumps.WaitAsync(DrainGrace).ConfigureAwait(false);
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
