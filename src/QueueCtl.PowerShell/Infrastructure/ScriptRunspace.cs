using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QueueCtl.Execution;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// A runspace running one long-lived pipeline (starting a pipeline per job costs more than half a millisecond): a loop
/// that takes <see cref="ScriptRequest"/>s from a channel and runs each in a child scope, its streams merged and filed
/// by the request. A stray break or continue in a job stops at the loop's one-pass do/while; exit ends the loop, which
/// is started again for the next job. Stopping a run stops the whole loop pipeline. One job at a time. After each run
/// the global scope's <see cref="SessionFingerprint"/> is taken, on the pipeline's own thread, so the script host can
/// tell whether the job changed it.
/// </summary>
internal sealed class ScriptRunspace : IDisposable
{
    private const string Loop = """
        param($__queuectlChannel)
        while ($null -ne ($__queuectlRequest = $__queuectlChannel.Take())) {
            if ($__queuectlRequest.Location -and $PWD.ProviderPath -ne $__queuectlRequest.Location) {
                Set-Location -LiteralPath $__queuectlRequest.Location
            }
            $QueueJob = $__queuectlRequest.Info
            $__queuectlArguments = $__queuectlRequest.Arguments
            try {
                do {
                    & $__queuectlRequest.Script @__queuectlArguments *>&1 | & { process { $__queuectlRequest.Accept($_) } }
                } while ($false)
                $__queuectlRequest.Finish($null)
            }
            catch {
                $__queuectlRequest.Finish($_)
            }
        }
        """;

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private readonly Runspace _runspace;
    private readonly Dictionary<string, ScriptBlock> _compiled = new(StringComparer.Ordinal);
    private System.Management.Automation.PowerShell? _loop;
    private Task? _loopDone;
    private ScriptChannel? _channel;
    private readonly SessionFingerprint _fingerprint;
    private bool _broken;

    public ScriptRunspace()
    {
        _runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        _runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        _runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        _fingerprint = new SessionFingerprint((SessionState)ps.AddScript("$ExecutionContext.SessionState").Invoke()[0].BaseObject);
    }

    /// <summary>A run could not be stopped: the runspace is still busy with it and cannot be used again.</summary>
    public bool Broken => _broken;

    /// <summary>The job's script text as a script block, parsed once per host.</summary>
    public ScriptBlock Compile(string text)
    {
        if (_compiled.TryGetValue(text, out var script)) return script;
        if (_compiled.Count >= 256) _compiled.Clear();
        return _compiled[text] = ScriptBlock.Create(text);
    }

    /// <summary>Runs the request to its end, stopping it when the timeout passes or <paramref name="cancel"/> fires.</summary>
    public async Task<ScriptEnd> RunAsync(ScriptRequest request, TimeSpan timeout, CancellationToken cancel)
    {
        var loopDone = EnsureLoop();
        request.Settle = _fingerprint.Take;
        _channel!.Add(request);
        using var timer = new RunDeadline(timeout);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, timer.Token);
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (either.Token.Register(() => stopRequested.TrySetResult()))
            await Task.WhenAny(request.Completion, loopDone, stopRequested.Task).ConfigureAwait(false);
        if (request.Completion.IsCompleted) return request.End;
        if (loopDone.IsCompleted)
        {
            // The script called exit, which ends the loop's pipeline; the next run starts a new loop.
            DropLoop();
            request.EndAs(ScriptEnd.Exited, _fingerprint.Take());
            return request.End;
        }
        await StopLoop().ConfigureAwait(false);
        request.EndAs(ScriptEnd.Stopped, _broken ? null : _fingerprint.Take());
        return request.End;
    }

    private Task EnsureLoop()
    {
        if (_loop is not null && !_loopDone!.IsCompleted) return _loopDone;
        DropLoop();
        _channel = new ScriptChannel();
        _loop = System.Management.Automation.PowerShell.Create();
        _loop.Runspace = _runspace;
        _loop.AddScript(Loop).AddArgument(_channel);
        var loop = _loop;
        _loopDone = Task.Factory.FromAsync(loop.BeginInvoke(), loop.EndInvoke);
        _ = _loopDone.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted); // a stopped pipeline throws
        return _loopDone;
    }

    private async Task StopLoop()
    {
        var loop = _loop!;
        var loopDone = _loopDone!;
        var stop = Task.Factory.FromAsync(loop.BeginStop(null, null), loop.EndStop);
        _ = stop.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        var settled = Task.WhenAll(stop, loopDone);
        _ = settled.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        if (await Task.WhenAny(settled, Task.Delay(StopGrace)).ConfigureAwait(false) != settled)
        {
            // A script stuck in a call that cannot be interrupted keeps this runspace: give it up.
            _broken = true;
            return;
        }
        DropLoop();
    }

    private static bool WaitQuietly(Task task)
    {
        try
        {
            return task.Wait(StopGrace);
        }
        catch (AggregateException)
        {
            return true; // it ended, if badly
        }
    }

    private void DropLoop()
    {
        _loop?.Dispose();
        _loop = null;
        _loopDone = null;
        _channel = null;
    }

    public void Dispose()
    {
        if (_loop is not null && !_broken)
        {
            _channel!.Add(null);
            WaitQuietly(_loopDone!);
        }
        _loop?.Dispose();
        _runspace.Dispose();
    }
}

/// <summary>The loop's inbox. Take blocks until a request arrives; null tells the loop to end.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class ScriptChannel
{
    private readonly BlockingCollection<ScriptRequest?> _requests = new(new ConcurrentQueue<ScriptRequest?>());

    internal void Add(ScriptRequest? request) => _requests.Add(request);

    public ScriptRequest? Take() => _requests.Take();
}
