using System.Diagnostics;
using QueueCtl.Execution;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The worker's handle on one script-host process (<see cref="ScriptHostServer"/>): one job at a time, one frame out
/// and one back per run. When the host dies during a run (exit, a stack overflow) the run ends HostExited; when a run
/// must stop and the host does not answer within a short grace (a script stuck in a .NET call), the host is killed,
/// the hung call with it, and the run ends HostKilled. Either way the host is spent: <see cref="Usable"/> turns false and
/// the worker starts another. The host's stderr is copied to the worker's (its log, for a detached worker) and its
/// last lines during a run are kept for the run's error. The host's pipes do not support asynchronous reads on Unix
/// (a read would block a thread-pool thread per slot, starving the worker's pool), so each is read by a thread of its own.
/// </summary>
internal sealed class ScriptHostProcess : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly Stream _input;
    private readonly ScriptHostErrors _errors;
    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<ScriptRunReply?>? _reply;
    private bool _spent;
    private volatile bool _repliesEnded;

    private ScriptHostProcess(Process process)
    {
        _process = process;
        _input = process.StandardInput.BaseStream;
        _errors = new ScriptHostErrors(process);
        var output = process.StandardOutput.BaseStream;
        new Thread(() => ReadReplies(output)) { IsBackground = true, Name = $"QueueCtl script host {process.Id} replies" }.Start();
    }

    public int ProcessId => _process.Id;

    public bool Usable => !_spent;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts a host and waits until it is warm.</summary>
    public static async Task<ScriptHostProcess> StartAsync()
    {
        var host = new ScriptHostProcess(await ScriptHostLauncher.StartAsync().ConfigureAwait(false));
        if (await host._ready.Task.ConfigureAwait(false)) return host;
        var reason = await host.DescribeExitAsync().ConfigureAwait(false);
        host.Dispose();
        throw new InvalidOperationException($"The script host did not start: it {reason}.");
    }

    /// <summary>Runs a job, stopping it when the timeout passes or <paramref name="cancel"/> fires.</summary>
    public async Task<ScriptRunReply> RunAsync(ScriptRunRequest request, TimeSpan timeout, CancellationToken cancel)
    {
        _errors.StartRun();
        var replied = new TaskCompletionSource<ScriptRunReply?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reply, replied);
        if (_repliesEnded) replied.TrySetResult(null);
        var reply = replied.Task;
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

    /// <summary>The reply thread: hands each frame to whoever waits for it; at the end of the stream, null.</summary>
    private void ReadReplies(Stream output)
    {
        try
        {
            while (ScriptFrames.Read(output) is { } frame)
            {
                if (frame.Kind == ScriptFrames.Ready) _ready.TrySetResult(true);
                else if (frame.Kind == ScriptFrames.Done) Interlocked.Exchange(ref _reply, null)?.TrySetResult(ScriptRunReply.ReadFrom(frame.Fields));
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or EndOfStreamException or ObjectDisposedException)
        {
        }
        _repliesEnded = true;
        _ready.TrySetResult(false);
        Interlocked.Exchange(ref _reply, null)?.TrySetResult(null);
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
