using System.Management.Automation;
using QueueCtl.Jobs;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets what jobs printed: standard output to the output stream, standard error to the error stream.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "QueueJob", DefaultParameterSetName = LastRunSet)]
[OutputType(typeof(string), typeof(PSObject))]
public sealed class ReceiveQueueJobCommand : QueueCmdlet
{
    private const string LastRunSet = "LastRun";
    private const string RunSet = "Run";
    private const string AllRunsSet = "AllRuns";

    /// <summary>Ids of the jobs. Wildcards are allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>The run whose output to get (runs are numbered from 1 over the job's life).</summary>
    [Parameter(Mandatory = true, ParameterSetName = RunSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Run { get; set; }

    /// <summary>Gets the output of every run, oldest first, not only the latest.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllRunsSet)]
    public SwitchParameter AllRuns { get; set; }

    protected override void ProcessRecord()
    {
        var jobs = Db.Jobs;
        var outputs = Db.Outputs;
        foreach (var (target, job, error) in ResolveJobs(jobs, Id))
        {
            if (error is not null)
            {
                WriteQueueError(error, target);
                continue;
            }
            var runs = Guard(() => outputs.Get(job!.Id), job!.Id);
            var chosen = ParameterSetName switch
            {
                RunSet => runs.Where(r => r.Run == Run).ToList(),
                AllRunsSet => runs.ToList(),
                _ => runs.Where(r => r.Run == job.Runs).ToList(),
            };
            if (chosen.Count == 0)
                WriteVerbose(job.Runs == 0 ? $"Job '{job.Id}' has not run yet." : $"Job '{job.Id}' printed nothing in the chosen run(s).");
            foreach (var run in chosen) Emit(job, run);
        }
    }

    private void Emit(QueueJob job, JobRunOutput run)
    {
        var output = run.Output;
        if (output.DroppedOutput > 0 || output.DroppedError > 0)
            WriteWarning($"Job '{job.Id}' run {run.Run}: the output was truncated; {output.DroppedOutput + output.DroppedError} byte(s) before what is shown were dropped (output-limit).");
        if (output.Format == OutputFormat.CliXml)
        {
            foreach (var record in ScriptOutput.Parse(output.StandardOutput)) Replay(job, record);
            return;
        }
        foreach (var line in Lines(output.StandardOutput)) WriteObject(line);
        foreach (var line in Lines(output.StandardError))
            WriteError(new ErrorRecord(new RemoteException(line), "JobStandardError", ErrorCategory.NotSpecified, job.Id));
    }

    private void Replay(QueueJob job, ScriptRecord record)
    {
        switch (record.Stream)
        {
            case ScriptOutput.OutputStream:
                WriteObject(PSSerializer.Deserialize(record.CliXml ?? ""));
                break;
            case ScriptOutput.ErrorStream:
                var category = Enum.TryParse<ErrorCategory>(record.Category, out var c) ? c : ErrorCategory.NotSpecified;
                WriteError(new ErrorRecord(new RemoteException(record.Message), record.ErrorId ?? "JobError", category, job.Id));
                break;
            case ScriptOutput.WarningStream: WriteWarning(record.Message); break;
            case ScriptOutput.VerboseStream: WriteVerbose(record.Message); break;
            default: WriteInformation(record.Message, new[] { "QueueCtl", job.Id }); break;
        }
    }

    private static IEnumerable<string> Lines(string text)
    {
        if (text.Length == 0) yield break;
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++) yield return lines[i];
    }
}
