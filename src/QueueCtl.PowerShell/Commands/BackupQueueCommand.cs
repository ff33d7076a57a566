using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Writes a consistent copy of the queue to a file, while workers keep running.</para>
/// </summary>
[Cmdlet(VerbsData.Backup, "Queue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FileInfo))]
public sealed class BackupQueueCommand : QueueCmdlet
{
    /// <summary>The backup file to write. It must not exist, unless -Force is given.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [Alias("Path")]
    public string Destination { get; set; } = "";

    /// <summary>Replaces an existing destination file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var source = DatabaseTarget;
        var destination = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination);
        if (!IsServerQueue && !File.Exists(DatabasePath))
            ThrowQueueError(new QueueException(QueueErrorCode.DatabaseUnavailable, $"There is no queue file at '{source}'."), source);
        if (!ShouldProcess(destination, $"Back up the queue '{source}'")) return;
        var copy = Guard(() => QueueDrivers.Backup(Db, destination, Force), destination);
        // Through the provider, so the file shows as Get-Item shows it (mode, owner, size), not as a bare FileInfo.
        WriteObject(InvokeProvider.Item.Get(new[] { copy.FullName }, force: true, literalPath: true), enumerateCollection: true);
    }
}
