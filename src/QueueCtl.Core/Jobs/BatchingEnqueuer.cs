using QueueCtl.Storage;

namespace QueueCtl.Jobs;

/// <summary>
/// Enqueues a stream of specs in batched transactions: a batch commits when it is full, or when the stream pauses
/// for <c>maxDelay</c> (so a slow producer's jobs do not wait for the next one). Results come back in order.
/// </summary>
public sealed class BatchingEnqueuer : IDisposable
{
    private readonly IJobStore _store;
    private readonly int _batchSize;
    private readonly TimeSpan _maxDelay;
    private readonly object _gate = new();
    private readonly List<JobSpec> _pending = new();
    private readonly Queue<EnqueueResult> _results = new();
    private readonly Timer _timer;
    private Exception? _timerFailure;

    public BatchingEnqueuer(IJobStore store, int batchSize = 1000, TimeSpan? maxDelay = null)
    {
        _store = store;
        _batchSize = Math.Max(1, batchSize);
        _maxDelay = maxDelay ?? TimeSpan.FromMilliseconds(100);
        _timer = new Timer(_ => FlushFromTimer());
    }

    /// <summary>Transactions committed so far.</summary>
    public int Batches { get; private set; }

    /// <summary>Specs committed so far (stored or refused).</summary>
    public long Written { get; private set; }

    /// <summary>Buffers one spec; commits the batch when it is full.</summary>
    public void Add(JobSpec spec)
    {
        lock (_gate)
        {
            ThrowTimerFailure();
            _pending.Add(spec);
            if (_pending.Count >= _batchSize) FlushLocked();
            else if (_pending.Count == 1) _timer.Change(_maxDelay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Commits whatever is buffered.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ThrowTimerFailure();
            FlushLocked();
        }
    }

    /// <summary>The results of every batch committed so far, oldest first; each is returned once.</summary>
    public IReadOnlyList<EnqueueResult> TakeResults()
    {
        lock (_gate)
        {
            ThrowTimerFailure();
            var list = _results.ToList();
            _results.Clear();
            return list;
        }
    }

    private void FlushLocked()
    {
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_pending.Count == 0) return;
        var batch = _pending.ToArray();
        _pending.Clear();
        foreach (var result in _store.Enqueue(batch)) _results.Enqueue(result);
        Batches++;
        Written += batch.Length;
    }

    private void FlushFromTimer()
    {
        lock (_gate)
        {
            try
            {
                FlushLocked();
            }
            catch (Exception ex)
            {
                _timerFailure ??= ex;
            }
        }
    }

    private void ThrowTimerFailure()
    {
        if (_timerFailure is { } failure)
        {
            _timerFailure = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
    }
}
