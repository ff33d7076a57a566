using QueueCtl.Storage;

namespace QueueCtl.Worker;

/// <summary>
/// Several workers in one process (Start-QueueWorker -Count n -Foreground, and each detached worker): each with its own
/// connection to the queue and its own job runners. A supervised worker restarted under its old id first takes back
/// what its previous process left (<see cref="WorkerRestart"/>). Disposing waits for running jobs: leaving early (an
/// error in the caller) stops claiming and lets them finish, never pulls the queue from under them.
/// </summary>
public sealed class WorkerGroup : IDisposable
{
    private readonly List<IQueueDriver> _drivers = new();
    private readonly List<JobRunners> _runners = new();
    private readonly CancellationTokenSource _graceful;

    private WorkerGroup(CancellationTokenSource graceful) => _graceful = graceful;

    /// <summary>Completes when every worker of the group has stopped.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Opens <paramref name="count"/> connections to the queue at <paramref name="address"/> and starts a worker on
    /// each. <paramref name="graceful"/> stops them after their running jobs; <paramref name="kill"/> kills the jobs
    /// (they are retried). Throws <see cref="QueueException"/> when the queue cannot be opened, having started nothing.
    /// </summary>
    public static WorkerGroup Start(string address, QueueOpenOptions openOptions, int count, Func<WorkerOptions> options,
        Func<JobRunners> runners, IWorkerLog log, CancellationTokenSource graceful, CancellationToken kill, string? restartedWorkerId = null)
    {
        var group = new WorkerGroup(graceful);
        try
        {
            if (restartedWorkerId is not null)
            {
                using var previous = QueueDrivers.Open(address, openOptions);
                WorkerRestart.Reclaim(previous, restartedWorkerId, log);
            }
            var hosts = new List<WorkerHost>();
            for (var i = 0; i < count; i++)
            {
                var db = QueueDrivers.Open(address, openOptions);
                group._drivers.Add(db);
                var jobRunners = runners();
                group._runners.Add(jobRunners);
                hosts.Add(new WorkerHost(db, options(), jobRunners, log));
            }
            group.Completion = Task.WhenAll(hosts.Select(h => h.RunAsync(graceful.Token, kill)));
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (!Completion.IsCompleted)
        {
            _graceful.Cancel();
            ((IAsyncResult)Completion).AsyncWaitHandle.WaitOne();
        }
        foreach (var r in _runners) r.Dispose();
        foreach (var db in _drivers) db.Dispose();
    }
}
