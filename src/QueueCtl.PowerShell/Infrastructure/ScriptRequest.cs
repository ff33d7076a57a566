using System.ComponentModel;
using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// How a script-block run ended: inside the runspace loop (Completed to Stopped), before it started (Unrunnable), or
/// with its script host (HostExited: the process ended during the run; HostKilled: it was killed to stop the run).
/// </summary>
internal enum ScriptEnd : byte { Completed, Threw, Exited, Stopped, Unrunnable, HostExited, HostKilled }

/// <summary>
/// One script-block run handed to a <see cref="ScriptRunspace"/> loop. Public only because the loop, which is PowerShell
/// code, calls its members; it is not part of QueueCtl's interface.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ScriptRequest
{
    private readonly ScriptOutput _records;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ScriptRequest(ScriptBlock script, object?[] arguments, string? location, PSObject info, ScriptOutput records)
    {
        Script = script;
        Arguments = arguments;
        Location = location;
        Info = info;
        _records = records;
    }

    public ScriptBlock Script { get; }
    public object?[] Arguments { get; }
    public string? Location { get; }
    public PSObject Info { get; }

    internal Task Completion => _done.Task;
    internal ScriptEnd End { get; private set; }
    internal string? TerminatingError { get; private set; }

    /// <summary>Tidies the global scope after the run and returns its fingerprint; called on the loop's thread.</summary>
    internal Func<long>? Settle { get; set; }

    /// <summary>The global scope's fingerprint after the run; null when it could not be taken.</summary>
    internal long? Fingerprint { get; private set; }

    /// <summary>Takes one record of the run's merged streams (*&gt;&amp;1) and files it by stream.</summary>
    public void Accept(object? item)
    {
        switch (item is PSObject pso ? pso.BaseObject : item)
        {
            case ErrorRecord error: _records.AddError(error); break;
            case WarningRecord warning: _records.AddMessage(ScriptOutput.WarningStream, warning.Message); break;
            case InformationRecord information: _records.AddMessage(ScriptOutput.InformationStream, information.MessageData?.ToString() ?? ""); break;
            case VerboseRecord verbose: _records.AddMessage(ScriptOutput.VerboseStream, verbose.Message); break;
            case DebugRecord: break;
            default: _records.AddOutput(PSObject.AsPSObject(item ?? string.Empty)); break;
        }
    }

    /// <summary>Called by the loop when the run ends: with the terminating error it caught, or null.</summary>
    public void Finish(object? error)
    {
        if (error is PSObject pso) error = pso.BaseObject;
        if (error is ErrorRecord record) TerminatingError = ScriptOutput.Describe(record);
        EndAs(error is null ? ScriptEnd.Completed : ScriptEnd.Threw, Settle?.Invoke());
    }

    internal void EndAs(ScriptEnd end, long? fingerprint)
    {
        if (_done.Task.IsCompleted) return;
        End = end;
        Fingerprint = fingerprint;
        _done.TrySetResult();
    }
}
