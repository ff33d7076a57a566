namespace QueueCtl.Jobs;

public enum RunResultKind { Succeeded, Failed, Cancelled }

/// <summary>How one run of a job ended, with what it printed.</summary>
public sealed record RunOutcome
{
    public RunResultKind Kind { get; init; }
    public int? ExitCode { get; init; }
    public string? Error { get; init; }
    public CapturedOutput? Output { get; init; }

    public static RunOutcome Success(int? exitCode = 0, CapturedOutput? output = null) =>
        new() { Kind = RunResultKind.Succeeded, ExitCode = exitCode, Output = output };

    public static RunOutcome Failure(string error, int? exitCode = null, CapturedOutput? output = null) =>
        new() { Kind = RunResultKind.Failed, Error = error, ExitCode = exitCode, Output = output };

    public static RunOutcome Cancel(string reason, CapturedOutput? output = null) =>
        new() { Kind = RunResultKind.Cancelled, Error = reason, Output = output };
}

/// <summary>One run's standard output and error (or, for script blocks, serialized output and error records).</summary>
public sealed record CapturedOutput(OutputFormat Format, string StandardOutput, string StandardError, long DroppedOutput, long DroppedError)
{
    public bool IsEmpty => StandardOutput.Length == 0 && StandardError.Length == 0 && DroppedOutput == 0 && DroppedError == 0;
}

public enum OutputFormat { Text, CliXml }
