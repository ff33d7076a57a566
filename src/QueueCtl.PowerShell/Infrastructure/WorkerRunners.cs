using QueueCtl.Worker;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>The runners a worker inside PowerShell has: shell commands, and script blocks in runspaces.</summary>
internal static class WorkerRunners
{
    public static JobRunners Create() => new JobRunners().With(QueueJobKind.ScriptBlock, new ScriptBlockJobRunner());
}
