namespace QueueCtl.Worker;

public enum WorkerLogLevel { Verbose, Information, Warning, Error }

/// <summary>Where a worker reports what it does. Implementations must be thread-safe.</summary>
public interface IWorkerLog
{
    void Write(WorkerLogLevel level, string message);
}

/// <summary>Appends timestamped lines to a file, flushing each one so a crash loses nothing.</summary>
public sealed class FileWorkerLog : IWorkerLog, IDisposable
{
    private readonly StreamWriter _writer;
    private readonly WorkerLogLevel _minimum;

    public FileWorkerLog(string path, WorkerLogLevel minimum = WorkerLogLevel.Information)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(Storage.PrivateFiles.OpenAppend(path)) { AutoFlush = true };
        _minimum = minimum;
    }

    public void Write(WorkerLogLevel level, string message)
    {
        if (level < _minimum) return;
        lock (_writer)
        {
            try
            {
                _writer.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level,-11} {message}");
            }
            catch (IOException)
            {
                // The log usually sits on the queue's disk: when that is full, the line is lost, not the worker.
            }
        }
    }

    public void Dispose()
    {
        lock (_writer) _writer.Dispose();
    }
}

/// <summary>Sends each line to every inner log.</summary>
public sealed class CompositeWorkerLog(params IWorkerLog[] logs) : IWorkerLog
{
    public void Write(WorkerLogLevel level, string message)
    {
        foreach (var log in logs) log.Write(level, message);
    }
}
