using System.Management.Automation;
using System.Runtime.InteropServices;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;
using QueueCtl.Worker;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Starts workers that claim and run jobs: detached processes, or in this session with -Foreground.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "QueueWorker", DefaultParameterSetName = DetachedSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QueueWorker), ParameterSetName = new[] { DetachedSet })]
public sealed class StartQueueWorkerCommand : QueueCmdlet
{
    private const string DetachedSet = "Detached";
    private const string ForegroundSet = "Foreground";
    private readonly CancellationTokenSource _graceful = new();
    private readonly CancellationTokenSource _kill = new();
    private int _interrupts;
    private IReadOnlyList<string>? _queues;
    private volatile bool _pipelineStopped;

    #region Parameters

    /// <summary>Runs the workers in this session until Ctrl+C or SIGTERM, which let running jobs finish first.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForegroundSet)]
    public SwitchParameter Foreground { get; set; }

    /// <summary>How many workers to start.</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int Count { get; set; } = 1;

    /// <summary>How many jobs each worker runs at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int Concurrency { get; set; } = 1;

    /// <summary>The named queues the workers take jobs from (default: every queue).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(QueueNameCompleter))]
    public string[]? Queue { get; set; }

    /// <summary>Stops once no job is Pending, Failed or Processing in its queues: drains them, then returns.</summary>
    [Parameter(ParameterSetName = ForegroundSet)]
    public SwitchParameter UntilEmpty { get; set; }

    /// <summary>Appends the workers' log to this file (detached workers always log, beside the queue).</summary>
    [Parameter(ParameterSetName = ForegroundSet)]
    public string? LogPath { get; set; }

    /// <summary>The worker's id, given by the process that launched it.</summary>
    [Parameter(ParameterSetName = ForegroundSet, DontShow = true)]
    public string? WorkerId { get; set; }

    /// <summary>Set by Start-QueueWorker in the worker process it launches.</summary>
    [Parameter(ParameterSetName = ForegroundSet, DontShow = true)]
    public SwitchParameter Detached { get; set; }

    #endregion

    protected override void EndProcessing()
    {
        if (WorkerId is not null && Count != 1)
            ThrowTerminatingError(QueueErrors.Record("WorkerIdNeedsOneWorker", ErrorCategory.InvalidArgument,
                "-WorkerId names a single worker; it cannot be combined with -Count greater than 1.", WorkerId));
        if (WorkerId is not null) Guard(() => WorkerIds.Validate(WorkerId), WorkerId);
        if (Queue is not null) Guard(() => _queues = QueueNames.NormalizeAll(Queue), Queue);
        var what = $"{Count} worker(s) with concurrency {Concurrency} on {DatabaseTarget}" +
            (_queues is null ? "" : $", queues {string.Join(", ", _queues)}");
        if (!ShouldProcess(what, Foreground ? "Run in this session" : "Start")) return;
        if (Foreground) RunForeground();
        else Guard(LaunchDetached, DatabaseTarget);
    }

    private void LaunchDetached()
    {
        var registry = Db.Workers;
        var moduleDirectory = Path.GetDirectoryName(typeof(StartQueueWorkerCommand).Assembly.Location)!;
        WorkerFiles.EnsureFolder(Db.LocalPath);
        for (var i = 0; i < Count; i++)
        {
            var id = WorkerOptions.NewWorkerId();
            var log = WorkerFiles.LogPath(Db.LocalPath, id);
            PrivateFiles.CreateIfMissing(log);
            registry.Register(id, QueueWorkerState.Starting, 0, null, Concurrency, log, Version);
            try
            {
                using var process = WorkerLauncher.Launch(moduleDirectory, DatabasePath, Db.LocalPath, OpenOptions.Credential, id, Concurrency, _queues, log);
                var startedAt = process.StartTime.ToUniversalTime();
                registry.SetProcess(id, process.Id, startedAt);
                if (!OperatingSystem.IsWindows()) SupervisorFile.Write(Db.LocalPath, id, process.Id, startedAt);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                registry.SetState(id, QueueWorkerState.Stopped);
                WriteError(QueueErrors.Record("WorkerStartFailed", ErrorCategory.OpenError,
                    $"Could not start worker {id}: {ex.Message}", id, ex));
                continue;
            }
            WriteObject(registry.Find(id));
        }
    }

    private System.Net.NetworkCredential? _handedCredential;

    /// <summary>A detached worker takes the credential its launcher handed over (see <see cref="WorkerLauncher.TakeCredential"/>).</summary>
    protected override QueueOpenOptions OpenOptions =>
        Credential is null && Detached && (_handedCredential ??= WorkerLauncher.TakeCredential()) is { } handed
            ? new QueueOpenOptions { Credential = handed }
            : base.OpenOptions;

    private void RunForeground()
    {
        if (Detached) WorkerLauncher.DetachFromTerminal();
        var logPath = LogPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogPath);
        using var pipelineLog = new PipelineWorkerLog(VerboseWanted ? WorkerLogLevel.Verbose : WorkerLogLevel.Information);
        using var fileLog = logPath is null ? null : new FileWorkerLog(logPath);
        IWorkerLog log = fileLog is null ? pipelineLog : Detached ? fileLog : new CompositeWorkerLog(pipelineLog, fileLog);
        // SIGHUP (the terminal went away, or a service manager's reload) stops gracefully, like SIGTERM.
        using var terminate = OnSignal(PosixSignal.SIGTERM);
        using var hangUp = OnSignal(PosixSignal.SIGHUP);
        using var launcher = LauncherWatch.Start(Detached, pid =>
        {
            log.Write(WorkerLogLevel.Information, $"The process that started this worker (pid {pid}) is gone: stopping.");
            _graceful.Cancel();
        });
        try
        {
            using var group = WorkerGroup.Start(DatabasePath, OpenOptions, Count, () => new WorkerOptions
            {
                WorkerId = WorkerId ?? WorkerOptions.NewWorkerId(),
                Concurrency = Concurrency,
                Queues = _queues,
                ExitWhenEmpty = UntilEmpty,
                LogPath = logPath,
                Version = Version,
            }, WorkerRunners.Create, log, _graceful, _kill.Token, restartedWorkerId: Detached ? WorkerId : null);
            group.Completion.ContinueWith(_ => pipelineLog.Complete(), TaskScheduler.Default);
            pipelineLog.Pump(WriteLogLine);
            group.Completion.GetAwaiter().GetResult();
        }
        catch (QueueException ex)
        {
            ThrowQueueError(ex, DatabaseTarget);
        }
    }

    private PosixSignalRegistration? OnSignal(PosixSignal signal) => OperatingSystem.IsWindows() ? null
        : PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            Interrupt();
        });

    /// <summary>Whether WriteVerbose would show anything: -Verbose, or $VerbosePreference.</summary>
    private bool VerboseWanted =>
        MyInvocation.BoundParameters.TryGetValue("Verbose", out var verbose)
            ? ((SwitchParameter)verbose).IsPresent
            : GetVariableValue("VerbosePreference") is ActionPreference preference && preference != ActionPreference.SilentlyContinue;

    private void WriteLogLine(WorkerLogLevel level, string message)
    {
        if (_pipelineStopped) return; // after Ctrl+C PowerShell's streams no longer take writes
        try
        {
            switch (level)
            {
                case WorkerLogLevel.Verbose: WriteVerbose(message); break;
                case WorkerLogLevel.Warning: WriteWarning(message); break;
                case WorkerLogLevel.Error:
                    WriteError(QueueErrors.Record("WorkerError", ErrorCategory.NotSpecified, message, null));
                    break;
                default: WriteInformation(message, new[] { "QueueCtl", "Worker" }); break;
            }
        }
        catch (PipelineStoppedException)
        {
            // PowerShell marks the pipeline stopped just before it calls StopProcessing: a line written in between
            // lands here. The workers are stopping; keep pumping until they are done.
            _pipelineStopped = true;
        }
    }

    private static string? Version => typeof(StartQueueWorkerCommand).Assembly.GetName().Version?.ToString(3);

    /// <summary>The first Ctrl+C or SIGTERM stops gracefully; the second kills running jobs (they are retried).</summary>
    private void Interrupt()
    {
        if (Interlocked.Increment(ref _interrupts) == 1) _graceful.Cancel();
        else _kill.Cancel();
    }

    protected override void StopProcessing()
    {
        _pipelineStopped = true;
        base.StopProcessing();
        Interrupt();
    }

    protected override void DisposeResources()
    {
        _graceful.Dispose();
        _kill.Dispose();
    }
}
