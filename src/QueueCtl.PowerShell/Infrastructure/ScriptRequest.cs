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
    internal ScriptRequest(ScriptBlock script, object?[] arguments, string location, PSObject info, ScriptOutput records)
    {
        Script = script;
        Arguments = arguments;
        Location = location;
        Info = info;
        Records = records;
    }

    public ScriptBlock Script { get; }
    public object?[] Arguments { get; }
    public string Location { get; }
    public PSObject Info { get; }

    internal ScriptOutput Records { get; }
    internal ScriptEnd? End { get; private set; }
    internal string? TerminatingError { get; private set; }

    /// <summary>Takes one record of the run's merged streams (*&gt;&amp;1) and files it by stream.</summary>
    public void Accept(object? item)
    {
        switch (item is PSObject pso ? pso.BaseObject : item)
        {
            case ErrorRecord error: Records.AddError(error); break;
            case WarningRecord warning: Records.AddMessage(ScriptOutput.WarningStream, warning.Message); break;
            case InformationRecord information: Records.AddMessage(ScriptOutput.InformationStream, information.MessageData?.ToString() ?? ""); break;
            case VerboseRecord verbose: Records.AddMessage(ScriptOutput.VerboseStream, verbose.Message); break;
            case DebugRecord: break;
            default: Records.AddOutput(PSObject.AsPSObject(item ?? string.Empty)); break;
        }
    }

    /// <summary>Called by the loop when the run ends: with the terminating error it caught, or null.</summary>
    public void Finish(object? error)
    {
        if (error is PSObject pso) error = pso.BaseObject;
        if (error is ErrorRecord record) TerminatingError = ScriptOutput.Describe(record);
        EndAs(error is null ? ScriptEnd.Completed : ScriptEnd.Threw);
    }

    /// <summary>Records how the run ended, unless it already has.</summary>
    internal void EndAs(ScriptEnd end) => End ??= end;
}
