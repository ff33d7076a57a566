using System.ComponentModel;
using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>How a script-block run ended inside its host loop.</summary>
internal enum ScriptEnd { Completed, Threw, Exited, Stopped }

/// <summary>
/// One script-block run handed to a <see cref="ScriptHost"/> loop. Public only because the loop, which is PowerShell
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
        EndAs(error is null ? ScriptEnd.Completed : ScriptEnd.Threw);
    }

    internal void EndAs(ScriptEnd end)
    {
        if (_done.Task.IsCompleted) return;
        End = end;
        _done.TrySetResult();
    }
}
