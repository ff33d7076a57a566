using System.Collections.Concurrent;
using QueueCtl.Worker;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Carries worker log lines from worker threads to the pipeline thread, the only thread allowed to write to
/// PowerShell's streams.
/// </summary>
internal sealed class PipelineWorkerLog : IWorkerLog, IDisposable
{
    private readonly BlockingCollection<(WorkerLogLevel Level, string Message)> _lines = new();

    public void Write(WorkerLogLevel level, string message)
    {
        try { _lines.Add((level, message)); }
        catch (InvalidOperationException) { /* completed: the cmdlet is done writing */ }
    }

    /// <summary>Ends the stream once the workers are done.</summary>
    public void Complete() => _lines.CompleteAdding();

    /// <summary>Blocks on the pipeline thread, handing each line to <paramref name="write"/> until completed.</summary>
    public void Pump(Action<WorkerLogLevel, string> write)
    {
        foreach (var (level, message) in _lines.GetConsumingEnumerable()) write(level, message);
    }

    public void Dispose() => _lines.Dispose();
}
