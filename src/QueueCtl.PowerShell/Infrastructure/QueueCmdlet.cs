using System.Management.Automation;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// What every QueueCtl cmdlet shares: the -Database parameter (resolved against the PowerShell location), one open
/// queue per invocation, Ctrl+C as a cancellation token, and engine errors turned into ErrorRecords.
/// </summary>
public abstract class QueueCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private IQueueDriver? _db;
    private string? _dbAddress;

    /// <summary>
    /// The queue: the path of an SQLite file, or a PostgreSQL address (postgres://user@host/db?schema=name, or an
    /// Npgsql connection string). Defaults to $env:QUEUECTL_DATABASE, else the per-user data folder
    /// (~/.local/share/queuectl/queue.db on Linux).
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    /// <summary>
    /// The user name and password for a PostgreSQL queue, instead of those in the address, $env:PGPASSWORD or
    /// ~/.pgpass. Never shown, logged, or passed on a command line.
    /// </summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>
    /// The queue this invocation uses: a file path made full against the PowerShell location, or a server address as
    /// given. An address of an engine QueueCtl lacks is refused before PowerShell could take it for a relative path.
    /// </summary>
    protected string DatabasePath
    {
        get
        {
            try
            {
                if (Database is not { } path) return DatabaseLocator.DefaultPath();
                var address = DatabaseLocator.RefuseAddress(path);
                return QueueAddress.IsServer(address) ? address : SessionState.Path.GetUnresolvedProviderPathFromPSPath(address);
            }
            catch (QueueException ex)
            {
                // The target is the masked address: an ErrorRecord is logged and shown, so it must not carry the password.
                ThrowTerminatingError(QueueErrors.ToRecord(ex, Database is null ? null : DatabaseLocator.Mask(Database)));
                throw;
            }
        }
    }

    /// <summary>The queue as shown in messages and error targets: <see cref="DatabasePath"/> with any password masked.</summary>
    protected string DatabaseTarget => DatabaseLocator.Mask(DatabasePath);

    /// <summary>True when the queue is kept on a server rather than in a local file.</summary>
    protected bool IsServerQueue => QueueAddress.IsServer(DatabasePath);

    /// <summary>The options the queue is opened with (the credential, when given).</summary>
    protected virtual QueueOpenOptions OpenOptions => new() { Credential = Credential?.GetNetworkCredential() };

    /// <summary>The open queue; opened on first use, so a cmdlet that fails validation touches nothing.</summary>
    protected IQueueDriver Db
    {
        get
        {
            var path = DatabasePath;
            if (_db is not null && _dbAddress == path) return _db;
            _db?.Dispose();
            _db = null;
            try
            {
                _db = QueueDrivers.Open(path, OpenOptions);
                _dbAddress = path;
            }
            catch (QueueException ex)
            {
                ThrowTerminatingError(QueueErrors.ToRecord(ex, DatabaseLocator.Mask(path)));
            }
            if (WarnsAboutConfig)
                foreach (var problem in _db!.Config.Problems)
                    WriteWarning($"{ConfigRefusal(problem).Message} The default applies meanwhile.");
            return _db!;
        }
    }

    /// <summary>Whether opening the queue warns about invalid stored settings; the config cmdlets show them instead.</summary>
    protected virtual bool WarnsAboutConfig => true;

    /// <summary>
    /// The InvalidConfigValue refusal for a command that needs setting <paramref name="name"/> while its stored value
    /// is invalid, naming the setting and the fix; null when the value is fine.
    /// </summary>
    protected QueueException? ConfigRefusal(string name) => Db.Config.ProblemOf(name) is { } problem ? ConfigRefusal(problem) : null;

    private static QueueException ConfigRefusal(Configuration.ConfigProblem problem) =>
        new(QueueErrorCode.InvalidConfigValue, $"{problem.ToException().Message} Fix it with Set-QueueConfig -Name {problem.Name} -Value <value>, " +
            $"or Set-QueueConfig -Name {problem.Name} -Default.");

    /// <summary>Fires on Ctrl+C.</summary>
    protected CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    protected void WriteQueueError(QueueException ex, object? target) => WriteError(QueueErrors.ToRecord(ex, target));

    protected void ThrowQueueError(QueueException ex, object? target) => ThrowTerminatingError(QueueErrors.ToRecord(ex, target));

    /// <summary>
    /// The loop of a job-changing cmdlet: each job <paramref name="ids"/> names (wildcards allowed; a missing exact id
    /// is an error), confirmed through ShouldProcess, changed by <paramref name="change"/>, emitted with -PassThru.
    /// </summary>
    protected void ChangeJobs(IJobStore store, IEnumerable<string> ids, string action, Func<string, QueueJob> change, bool passThru)
    {
        foreach (var (target, job, error) in ResolveJobs(store, ids))
        {
            if (error is not null) WriteQueueError(error, target);
            else if (ShouldProcess($"Job '{job!.Id}' ({job.State}): {DisplayText.Safe(job.Command)}", action)) ChangeJob(job.Id, change, passThru);
        }
    }

    /// <summary>
    /// The jobs <paramref name="ids"/> name (see <see cref="JobTargets.Resolve"/>); a database failure while looking
    /// them up ends the cmdlet with its ErrorId instead of escaping as a raw exception.
    /// </summary>
    protected IEnumerable<(string Target, QueueJob? Job, QueueException? Error)> ResolveJobs(IJobStore store, IEnumerable<string> ids)
    {
        using var targets = JobTargets.Resolve(store, ids).GetEnumerator();
        while (Guard(targets.MoveNext, ids)) yield return targets.Current;
    }

    /// <summary>Runs engine work whose refusal ends the cmdlet: a QueueException becomes its terminating ErrorRecord.</summary>
    protected T Guard<T>(Func<T> work, object? target)
    {
        try
        {
            return work();
        }
        catch (QueueException ex)
        {
            ThrowQueueError(ex, target);
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>Runs engine work whose refusal ends the cmdlet (see <see cref="Guard{T}"/>).</summary>
    protected void Guard(Action work, object? target) => Guard(() => { work(); return 0; }, target);

    /// <summary>Changes one job, emitting the result with -PassThru; a refusal is a non-terminating error.</summary>
    protected void ChangeJob(string id, Func<string, QueueJob> change, bool passThru) => TryQueue(() =>
    {
        var changed = change(id);
        if (passThru) WriteObject(changed);
    }, id);

    /// <summary>Runs <paramref name="action"/>, reporting a refusal as a non-terminating error for <paramref name="target"/>.</summary>
    protected bool TryQueue(Action action, object? target)
    {
        try
        {
            action();
            return true;
        }
        catch (QueueException ex) when (ex.Code != QueueErrorCode.DatabaseUnavailable)
        {
            WriteQueueError(ex, target);
            return false;
        }
        catch (QueueException ex)
        {
            ThrowQueueError(ex, target);
            return false;
        }
    }

    /// <summary>Releases what a derived cmdlet holds, before the queue is closed.</summary>
    protected virtual void DisposeResources()
    {
    }

    public void Dispose()
    {
        DisposeResources();
        _db?.Dispose();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
