using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Checks a queue file: SQLite's integrity check, the schema version, the job counters and orphaned rows.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "Queue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QueueHealthReport))]
public sealed class TestQueueCommand : QueueCmdlet
{
    /// <summary>
    /// Also mends what is safe to recompute: the per-state job counters and output rows whose job is gone. A file whose
    /// integrity check fails is never changed.
    /// </summary>
    [Parameter]
    public SwitchParameter Repair { get; set; }

    protected override bool WarnsAboutConfig => false;

    protected override void EndProcessing()
    {
        // The check opens the file itself, read only in effect: it must neither create a missing queue nor migrate one.
        var path = DatabasePath;
        var report = Guard(() => QueueDrivers.Check(path), DatabaseLocator.Mask(path));
        if (Repair && report.Verdict == QueueHealth.Inconsistent && ShouldProcess(path, "Recompute the job counters and remove orphaned output"))
            report = Guard(() => QueueDrivers.Repair(path), path);
        WriteObject(report);
    }
}
