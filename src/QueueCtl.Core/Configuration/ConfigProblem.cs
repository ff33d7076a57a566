namespace QueueCtl.Configuration;

/// <summary>A stored value that fails its setting's validation (written by another tool or an older release).</summary>
public sealed record ConfigProblem(string Name, string StoredValue, string Reason)
{
    /// <summary>The refusal to report when something needs this setting.</summary>
    public QueueException ToException() => new(QueueErrorCode.InvalidConfigValue,
        $"The stored value of the setting '{Name}' is not valid: {Reason}");
}
