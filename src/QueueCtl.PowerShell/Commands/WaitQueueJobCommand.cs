using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Waits until jobs reach a final state (Completed, Dead or Cancelled) and emits them.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "QueueJob")]
[OutputType(typeof(QueueJob))]
public sealed class WaitQueueJobCommand : QueueCmdlet
{
    private readonly List<string> _ids = new();

    /// <summary>Ids of the jobs to wait for. Wildcards are allowed (matched when the wait begins).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Seconds to wait; -1 (the default) waits for ever. When it passes, only the finished jobs are emitted.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    [Alias("TimeoutSec")]
    public int Timeout { get; set; } = -1;

    /// <summary>Returns as soon as any one of the jobs is final, emitting it.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    protected override void ProcessRecord()
    {
        var store = Db.Jobs;
        foreach (var (target, job, error) in ResolveJobs(store, Id))
        {
            if (error is not null) WriteQueueError(error, target);
            else if (!_ids.Contains(job!.Id, StringComparer.OrdinalIgnoreCase)) _ids.Add(job.Id);
        }
    }

    protected override void EndProcessing()
    {
        if (_ids.Count == 0) return;
        var store = Db.Jobs;
        var deadline = Timeout < 0 ? DateTime.MaxValue : DateTime.UtcNow.AddSeconds(Timeout);
        var progress = new ProgressRecord(2, "Waiting for queue jobs", "Starting") { PercentComplete = 0 };
        using var watcher = Db.Listen();
        using var onCancel = StopToken.Register(watcher.Poke);
        var finished = new Dictionary<string, QueueJob?>(StringComparer.OrdinalIgnoreCase);
        while (!StopToken.IsCancellationRequested)
        {
            var waiting = _ids.Where(i => !finished.ContainsKey(i)).ToList();
            var current = Guard(() => store.FindMany(waiting), waiting).ToDictionary(j => j.Id, StringComparer.OrdinalIgnoreCase);
            foreach (var id in waiting)
            {
                if (!current.TryGetValue(id, out var job))
                {
                    WriteVerbose($"Job '{id}' was removed while waiting for it.");
                    finished[id] = null;
                }
                else if (job.State.IsFinal()) finished[id] = job;
            }
            if (finished.Count == _ids.Count || Any && finished.Values.Any(j => j is not null) || DateTime.UtcNow >= deadline) break;
            progress.StatusDescription = $"{finished.Count} of {_ids.Count} finished";
            progress.PercentComplete = 100 * finished.Count / _ids.Count;
            WriteProgress(progress);
            var wait = deadline - DateTime.UtcNow;
            watcher.Wait(wait < Db.Config.PollInterval ? wait : Db.Config.PollInterval);
        }
        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
        foreach (var id in _ids)
        {
            if (finished.TryGetValue(id, out var job) && job is not null)
            {
                WriteObject(job);
                if (Any) break;
            }
        }
    }
}
