using System.Management.Automation;
using QueueCtl.Jobs;
using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Adds jobs to the queue.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "QueueJob", DefaultParameterSetName = CommandSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QueueJob))]
public sealed class NewQueueJobCommand : QueueCmdlet
{
    private const string CommandSet = "Command";
    private const string ScriptBlockSet = "ScriptBlock";
    private const string JsonSet = "Json";
    private BatchingEnqueuer? _enqueuer;
    private ProgressRecord? _progress;
    private string _currentLocation = "";
    private KeyValuePair<string, string> _resolvedPath;

    #region Parameters

    /// <summary>The command line to run through the platform shell. An array enqueues one job per command, in one call.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [AllowEmptyString]
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>PowerShell code to run in a runspace inside the worker.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [AllowEmptyString]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <summary>Arguments passed to the script block (serialized like Start-Job's).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [Alias("Args")]
    public object[]? ArgumentList { get; set; }

    /// <summary>A job in the original queuectl's JSON form.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = JsonSet)]
    [AllowEmptyString]
    public string Json { get; set; } = "";

    /// <summary>The job's id; generated when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    public string? Id { get; set; }

    /// <summary>Retries after the first run; defaults to the max-retries setting.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [Alias("max_retries")]
    [ValidateRange(0, JobLimits.MaxRetriesMax)]
    public int? MaxRetries { get; set; }

    /// <summary>How long one run may take; defaults to the job-timeout setting. A number means seconds.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [SecondsTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>The earliest time the job may run.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [Alias("run_at")]
    public DateTime? RunAt { get; set; }

    /// <summary>How long from now the job should wait before it may run. A number means seconds.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [SecondsTransformation]
    public TimeSpan? Delay { get; set; }

    /// <summary>The named queue the job goes to (default: default). Names are case-insensitive.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [ArgumentCompleter(typeof(QueueNameCompleter))]
    public string? Queue { get; set; }

    /// <summary>From -100 to 100 (default 0): a worker takes the highest priority first, then the earliest due.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [ValidateRange(JobLimits.PriorityMin, JobLimits.PriorityMax)]
    public int Priority { get; set; }

    /// <summary>Labels to find the job by with Get-QueueJob -Tag: up to 20, each 1 to 64 characters.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = CommandSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ScriptBlockSet)]
    [Alias("Tags")]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary>
    /// The pipeline object itself. PowerShell binds an object whose properties also fit the default (command) set,
    /// say { ScriptBlock; Id }, to that set and hands -Command the object's string form; the object tells what it is.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Where the job runs; defaults to the current file-system location.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("working_directory")]
    public string? WorkingDirectory { get; set; }

    #endregion

    #region Overrides

    protected override void BeginProcessing()
    {
        // Resolving the location costs tens of microseconds: once per pipeline, not once per job.
        _currentLocation = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        _enqueuer = new BatchingEnqueuer(Db.Jobs);
    }

    protected override void ProcessRecord()
    {
        if (RunAt is not null && Delay is not null)
        {
            WriteError(QueueErrors.Record("RunAtAndDelay", ErrorCategory.InvalidArgument,
                "Give either -RunAt or -Delay, not both.", this));
            return;
        }
        if (Delay is { } delay && !TryQueue(() => JobLimits.CheckDelay(delay), delay)) return;
        if (Id is not null && ParameterSetName == CommandSet && Command.Length > 1)
        {
            WriteError(QueueErrors.Record("IdNeedsOneCommand", ErrorCategory.InvalidArgument,
                $"-Id names one job, but {Command.Length} commands were given.", Id));
            return;
        }
        if (ParameterSetName == CommandSet && InputObject is { BaseObject: QueueJob { Kind: QueueJobKind.ScriptBlock } job })
            Enqueue(() => CopiedScriptSpec(job), job.Id);
        else if (ParameterSetName == CommandSet && InputObject is { BaseObject: not string } input && input.Properties["Command"] is null)
            EnqueueObject(input);
        else if (ParameterSetName == CommandSet)
            foreach (var command in Command) Enqueue(() => CommandSpec(command), command);
        else if (ParameterSetName == JsonSet)
            Enqueue(() => JsonSpec(Json), Json);
        else
            Enqueue(() => ScriptSpec(ScriptBlock!, ArgumentList), ScriptBlock);
        EmitResults();
    }

    private void Enqueue(Func<JobSpec> build, object? target)
    {
        JobSpec spec;
        try
        {
            spec = build();
            spec.Validate();
        }
        catch (QueueException ex)
        {
            WriteQueueError(ex, target);
            return;
        }
        // The job would take the configured default: a stored value that is not valid must not be guessed around.
        if (spec.MaxRetries is null && ConfigRefusal(Configuration.ConfigSettings.MaxRetries) is { } refusal)
        {
            WriteQueueError(refusal, target);
            return;
        }
        if (!ShouldProcess(DisplayText.Safe(spec.Id is null ? spec.Command : $"{spec.Id}: {spec.Command}"), "Enqueue")) return;
        TryQueue(() => _enqueuer!.Add(spec), spec.Id ?? spec.Command);
    }

    protected override void EndProcessing()
    {
        TryQueue(() => _enqueuer!.Flush(), null);
        EmitResults();
        if (_progress is not null)
        {
            _progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(_progress);
        }
        WriteVerbose($"Wrote {_enqueuer!.Written} job(s) in {_enqueuer.Batches} transaction(s) to {Db.Address}.");
    }

    #endregion

    private string CurrentWorkingDirectory => WorkingDirectory is { } wd ? Resolve(wd) : _currentLocation;

    private DateTime? RunAtUtc => RunAt?.ToUniversalTime() ?? (Delay is { } d ? DateTime.UtcNow + d : null);

    private JobSpec CommandSpec(string command) => new()
    {
        Id = Id, Command = command, MaxRetries = MaxRetries, Timeout = Timeout, RunAt = RunAtUtc,
        WorkingDirectory = CurrentWorkingDirectory, Queue = Queue, Priority = Priority, Tags = Tag,
    };

    private JobSpec JsonSpec(string json) => JobSpecJson.Parse(json, CurrentWorkingDirectory);

    private JobSpec ScriptSpec(ScriptBlock script, object[]? arguments) => new()
    {
        Id = Id, Kind = QueueJobKind.ScriptBlock, Command = script.ToString(),
        Arguments = arguments is { Length: > 0 } ? PSSerializer.Serialize(arguments) : null,
        MaxRetries = MaxRetries, Timeout = Timeout, RunAt = RunAtUtc, WorkingDirectory = CurrentWorkingDirectory,
        Queue = Queue, Priority = Priority, Tags = Tag,
    };

    /// <summary>
    /// A script-block job piped from another queue (Get-QueueJob -Database old.db | New-QueueJob -Database …): its
    /// script and arguments move as they are stored; its other properties are bound by name like any job's.
    /// </summary>
    private JobSpec CopiedScriptSpec(QueueJob job) => new()
    {
        Id = Id, Kind = QueueJobKind.ScriptBlock, Command = job.Command, Arguments = job.Arguments,
        MaxRetries = MaxRetries, Timeout = Timeout, RunAt = RunAtUtc, WorkingDirectory = CurrentWorkingDirectory,
        Queue = Queue, Priority = Priority, Tags = Tag,
    };

    /// <summary>
    /// A pipeline object without a Command property that PowerShell bound to the command set (see
    /// <see cref="InputObject"/>): its other properties are bound already; the job is in ScriptBlock or Json.
    /// </summary>
    private void EnqueueObject(PSObject input)
    {
        if (Property(input, "ScriptBlock") is { } script)
        {
            var block = script as ScriptBlock ?? ScriptBlock.Create(script.ToString());
            var arguments = Property(input, "ArgumentList") ?? Property(input, "Args");
            var list = arguments is null ? null : LanguagePrimitives.GetEnumerable(arguments)?.Cast<object>().ToArray() ?? new[] { arguments };
            Enqueue(() => ScriptSpec(block, list), block);
        }
        else if (Property(input, "Json") is { } json)
            Enqueue(() => JsonSpec(json.ToString()!), json);
        else if (input.BaseObject is PSCustomObject)
            WriteError(QueueErrors.Record("InvalidJobSpec", ErrorCategory.InvalidArgument,
                "The input object has no Command, ScriptBlock or Json property, so it does not describe a job.", input));
        else
            foreach (var command in Command) Enqueue(() => CommandSpec(command), command);
    }

    private static object? Property(PSObject input, string name) =>
        input.Properties[name]?.Value is { } value ? (value is PSObject pso ? pso.BaseObject : value) : null;

    private string Resolve(string path)
    {
        if (_resolvedPath.Key != path) _resolvedPath = new(path, SessionState.Path.GetUnresolvedProviderPathFromPSPath(path));
        return _resolvedPath.Value;
    }

    private void EmitResults()
    {
        IReadOnlyList<EnqueueResult> results = Array.Empty<EnqueueResult>();
        if (!TryQueue(() => results = _enqueuer!.TakeResults(), null)) return;
        if (results.Count > 0 && _enqueuer!.Batches > 1)
        {
            // Only a big import shows progress: its total is unknown, so it counts up.
            _progress ??= new ProgressRecord(3, "Enqueuing jobs", "Starting");
            _progress.StatusDescription = $"{_enqueuer.Written:N0} jobs written in {_enqueuer.Batches:N0} transactions";
            WriteProgress(_progress);
        }
        foreach (var result in results)
        {
            if (result.Job is { } job) WriteObject(job);
            else WriteQueueError(result.Error!, result.Spec.Id ?? result.Spec.Command);
        }
    }

    protected override void DisposeResources() => _enqueuer?.Dispose();
}
