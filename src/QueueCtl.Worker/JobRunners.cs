using QueueCtl.Execution;

namespace QueueCtl.Worker;

/// <summary>Which runner runs which kind of job. Commands always run; script blocks need a PowerShell host.</summary>
public sealed class JobRunners : IDisposable
{
    private readonly Dictionary<QueueJobKind, IJobRunner> _runners = new() { [QueueJobKind.Command] = new ShellCommandRunner() };

    public JobRunners With(QueueJobKind kind, IJobRunner runner)
    {
        _runners[kind] = runner;
        return this;
    }

    public IJobRunner? For(QueueJobKind kind) => _runners.GetValueOrDefault(kind);

    /// <summary>Warms every runner for <paramref name="slots"/> concurrent jobs.</summary>
    public void Warm(int slots)
    {
        foreach (var runner in _runners.Values) runner.Warm(slots);
    }

    public void Dispose()
    {
        foreach (var runner in _runners.Values.OfType<IDisposable>()) runner.Dispose();
    }
}
