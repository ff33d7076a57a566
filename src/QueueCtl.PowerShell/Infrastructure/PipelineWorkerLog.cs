using System.Collections.Concurrent;
using QueueCtl.Worker;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Carries worker log lines from worker threads to the pipeline thread, the only thread allowed to write to
/// PowerShell's streams. Lines below <c>minimum</c> (verbose lines when -Verbose is off) are dropped at once, and the
/// pipeline thread sleeps without spinning: a busy worker logs for every job.
/// </summary>
internal sealed class PipelineWorkerLog(WorkerLogLevel minimum) : IWorkerLog, IDisposable
{
    private readonly ConcurrentQueue<(WorkerLogLevel Level, string Message)> _lines = new();
    private readonly ManualResetEventSlim _available = new(false, spinCount: 0);
    private volatile bool _completed;

    public void Write(WorkerLogLevel level, string message)
    {
        if (level < minimum || _completed) return;
        _lines.Enqueue((level, message));
        Signal();
    }

    /// <summary>Ends the stream once the workers are done.</summary>
    public void Complete()
    {
        _completed = true;
        Signal();
    }

    private void Signal()
    {
        try { _available.Set(); }
        catch (ObjectDisposedException) { /* the cmdlet has finished; nobody reads any more */ }
    }

    /// <summary>Blocks on the pipeline thread, handing each line to <paramref name="write"/> until completed.</summary>
    public void Pump(Action<WorkerLogLevel, string> write)
    {
        while (true)
        {
            _available.Wait();
            _available.Reset();
            // Read the flag before draining: a line written before Complete is then always handed on.
            var completed = _completed;
            while (_lines.TryDequeue(out var line)) write(line.Level, line.Message);
            if (completed) return;
        }
    }

    public void Dispose() => _available.Dispose();
}
