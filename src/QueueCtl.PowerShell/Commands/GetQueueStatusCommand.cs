using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows how many jobs are in each state, how many workers are alive, and how long the oldest pending job has waited.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "QueueStatus")]
[OutputType(typeof(QueueStatus))]
public sealed class GetQueueStatusCommand : QueueCmdlet
{
    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(Db.Jobs.Status());
        }
        catch (QueueException ex)
        {
            ThrowQueueError(ex, DatabaseTarget);
        }
    }
}
