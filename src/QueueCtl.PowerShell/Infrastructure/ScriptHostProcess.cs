using System.Diagnostics;
using QueueCtl.Execution;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The worker's handle on one script-host process (<see cref="ScriptHostServer"/>): one job at a time, one frame out
/// and one back per run. When the host dies during a run (exit, a stack overflow) the run ends HostExited; when a run
/// must stop and the host does not answer within a short grace (a script stuck in a .NET call), the host is killed,
/// the hung call with it, and the run ends HostKilled. Either way the host is spent: <see cref="Usable"/> turns false and
/// the worker starts another. The host's stderr is copied to the worker's (its log, for a detached worker) and its
/// last lines during a run are kept for the run's error.
/// </summary>
internal sealed class ScriptHostProcess : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly Stream _input, _output;
    private readonly ScriptHostErrors _errors;
    private bool _spent;

    private ScriptHostProcess(Process process)
    {
        _process = process;
        _input = process.StandardInput.BaseStream;
        _output = process.StandardOutput.BaseStream;
        _errors = new ScriptHostErrors(process);
    }

    public int ProcessId => _process.Id;

    public bool Usable => !_spent;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts a host and waits until it is warm.</summary>
    public static async Task<ScriptHostProcess> StartAsync()
    {
        var host = new ScriptHostProcess(await ScriptHostLauncher.StartAsync().ConfigureAwait(false));
        if (await ScriptFrames.ReadAsync(host._output).ConfigureAwait(false) is { Kind: ScriptFrames.Ready }) return host;
        var reason = await host.DescribeExitAsync().ConfigureAwait(false);
        host.Dispose();
        throw new InvalidOperationException($"The script host did not start: it {reason}.");
    }

    /// <summary>Runs a job, stopping it when the timeout passes or <paramref name="cancel"/> fires.</summary>
    public async Task<ScriptRunReply> RunAsync(ScriptRunRequest request, TimeSpan timeout, CancellationToken cancel)
    {
        _errors.StartRun();
        var reply = ReadReplyAsync();
        try
        {
            ScriptFrames.Write(_input, ScriptFrames.Run, request.WriteTo);
        }
        catch (IOException)
        {
            // The host is gone; the read below reports how.
        }
        using var deadline = new RunDeadline(timeout);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (either.Token.Register(() => stopRequested.TrySetResult()))
            await Task.WhenAny(reply, stopRequested.Task).ConfigureAwait(false);
        if (!reply.IsCompleted)
        {
            TrySend(ScriptFrames.Stop);
            if (await Task.WhenAny(reply, Task.Delay(StopGrace)).ConfigureAwait(false) != reply)
            {
                Kill();
                return ScriptRunReply.Lost(ScriptEnd.HostKilled,
                    $"the script did not stop within {Durations.Describe(StopGrace)}, so its script host (process {ProcessId}) was killed");
            }
        }
        var result = await reply.ConfigureAwait(false);
        if (result is null)
        {
            _spent = true;
            return ScriptRunReply.Lost(ScriptEnd.HostExited, $"The script host (process {ProcessId}) {await DescribeExitAsync().ConfigureAwait(false)} while running the job.");
        }
        if (result.Retiring) _spent = true;
        return result;
    }

    private async Task<ScriptRunReply?> ReadReplyAsync()
    {
        try
        {
            return await ScriptFrames.ReadAsync(_output).ConfigureAwait(false) is { Kind: ScriptFrames.Done } frame
                ? ScriptRunReply.ReadFrom(frame.Fields)
                : null;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or EndOfStreamException or ObjectDisposedException)
        {
            return null;
        }
    }

    private void TrySend(byte kind)
    {
        try
        {
            ScriptFrames.Write(_input, kind);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>"exited with code 3", with what it last wrote to stderr.</summary>
    private async Task<string> DescribeExitAsync()
    {
        using var wait = new CancellationTokenSource(ExitWait);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            return "stopped answering";
        }
        var said = await _errors.SinceRunAsync().ConfigureAwait(false);
        return $"exited with code {_process.ExitCode}" + (said.Length > 0 ? $" ({said})" : "");
    }

    private void Kill()
    {
        _spent = true;
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(ExitWait);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // It has already exited.
        }
    }

    /// <summary>Closes the host's input, which ends it; kills it if it is still there after a moment.</summary>
    public void Dispose()
    {
        _spent = true;
        try
        {
            _input.Dispose();
        }
        catch (IOException)
        {
        }
        try
        {
            if (!_process.WaitForExit(ExitWait)) Kill();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
