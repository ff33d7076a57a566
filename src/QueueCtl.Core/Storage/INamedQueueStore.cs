namespace QueueCtl.Storage;

/// <summary>The settings of named queues: pausing and resuming them.</summary>
public interface INamedQueueStore
{
    /// <summary>The queue's settings (a queue never set is not paused); the name is checked and normalized.</summary>
    NamedQueue Get(string name);

    /// <summary>
    /// Every queue that holds unfinished jobs or has settings, and the default queue, in name order, with the counts
    /// of its waiting, retrying and running jobs (read through the claim and lease indexes, so finished jobs cost
    /// nothing).
    /// </summary>
    IReadOnlyList<NamedQueue> List();

    /// <summary>
    /// Pauses or resumes a queue. Once this returns no claim that starts takes a job from a paused queue; resuming
    /// wakes idle workers.
    /// </summary>
    NamedQueue SetPaused(string name, bool paused);
}
