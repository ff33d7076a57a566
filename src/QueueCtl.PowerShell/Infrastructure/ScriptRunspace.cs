using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// A runspace running one long-lived pipeline on the calling thread (starting a pipeline per job costs more than half
/// a millisecond, and a thread hop per job costs more than the job): a loop that takes <see cref="ScriptRequest"/>s
/// from a <see cref="ScriptChannel"/> and runs each in a child scope, its streams merged and filed by the request. A
/// stray break or continue in a job stops at the loop's one-pass do/while; exit ends the loop, as does a stop or the
/// channel running dry, and the caller starts it again. The global scope's <see cref="SessionFingerprint"/> is taken
/// on this same thread.
/// </summary>
internal sealed class ScriptRunspace : IDisposable
{
    private const string Loop = """
        param($__queuectlChannel)
        while ($null -ne ($__queuectlRequest = $__queuectlChannel.Take())) {
            if ($PWD.ProviderPath -ne $__queuectlRequest.Location) {
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

    private readonly Runspace _runspace;
    private readonly Dictionary<string, ScriptBlock> _compiled = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private System.Management.Automation.PowerShell? _loop;

    public ScriptRunspace()
    {
        _runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        _runspace.ThreadOptions = PSThreadOptions.UseCurrentThread;
        _runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        Fingerprint = new SessionFingerprint((SessionState)ps.AddScript("$ExecutionContext.SessionState").Invoke()[0].BaseObject);
    }

    public SessionFingerprint Fingerprint { get; }

    /// <summary>The job's script text as a script block, parsed once per runspace.</summary>
    public ScriptBlock Compile(string text)
    {
        if (_compiled.TryGetValue(text, out var script)) return script;
        if (_compiled.Count >= 256) _compiled.Clear();
        return _compiled[text] = ScriptBlock.Create(text);
    }

    /// <summary>Runs the loop on this thread until it ends (exit, a stop, or Take returning null).</summary>
    public void RunLoop(ScriptChannel channel)
    {
        using var loop = System.Management.Automation.PowerShell.Create();
        loop.Runspace = _runspace;
        loop.AddScript(Loop).AddArgument(channel);
        lock (_gate) _loop = loop;
        try
        {
            loop.Invoke();
        }
        catch (RuntimeException)
        {
            // Stopped (PipelineStoppedException), or ended by something a job did to the loop itself.
        }
        finally
        {
            lock (_gate) _loop = null;
        }
    }

    /// <summary>Stops the loop, and the job in it, from another thread.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            try
            {
                _loop?.BeginStop(null, null);
            }
            catch (Exception ex) when (ex is PSInvalidOperationException or ObjectDisposedException)
            {
                // It has ended already.
            }
        }
    }

    public void Dispose() => _runspace.Dispose();
}

/// <summary>What the loop calls: Take returns the next run, or null to end the loop.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class ScriptChannel
{
    private readonly Func<ScriptRequest?> _take;

    internal ScriptChannel(Func<ScriptRequest?> take) => _take = take;

    public ScriptRequest? Take() => _take();
}
