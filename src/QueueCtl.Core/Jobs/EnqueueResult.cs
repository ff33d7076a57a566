namespace QueueCtl.Jobs;

/// <summary>What became of one spec in a batch: the stored job, or why it was refused.</summary>
public sealed record EnqueueResult(JobSpec Spec, QueueJob? Job, QueueException? Error);
