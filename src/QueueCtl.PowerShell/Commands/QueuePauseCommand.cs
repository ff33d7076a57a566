using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Commands;

/// <summary>What Suspend-Queue and Resume-Queue share: the queues named or piped, each paused or resumed on its own.</summary>
public abstract class QueuePauseCommand : QueueCmdlet
{
    /// <summary>The named queues. Piped jobs and queues bind by their Queue or Name property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Queue")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(QueueNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Emits each queue's settings after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private protected abstract bool Pause { get; }

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            string normalized = "";
            if (!TryQueue(() => normalized = QueueNames.Normalize(name), name)) continue;
            // Piped jobs name their queue once each: change it once.
            if (!_done.Add(normalized)) continue;
            if (!ShouldProcess($"queue '{normalized}' of {DatabaseTarget}", Pause ? "Pause" : "Resume")) continue;
            TryQueue(() =>
            {
                var queue = Db.Queues.SetPaused(normalized, Pause);
                if (PassThru) WriteObject(queue);
            }, normalized);
        }
    }
}

/// <summary>
/// <para type="synopsis">Pauses named queues: workers claim nothing more from them until Resume-Queue.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "Queue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NamedQueue))]
public sealed class SuspendQueueCommand : QueuePauseCommand
{
    private protected override bool Pause => true;
}

/// <summary>
/// <para type="synopsis">Resumes paused named queues: workers claim their jobs again at once.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "Queue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NamedQueue))]
public sealed class ResumeQueueCommand : QueuePauseCommand
{
    private protected override bool Pause => false;
}
