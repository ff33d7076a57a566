namespace QueueCtl;

/// <summary>
/// One configuration key as shown to users. <see cref="Problem"/> is set when the stored value is not valid: then
/// <see cref="Value"/> is the stored text as it is, and the default applies until the value is set again.
/// </summary>
public sealed record QueueConfigEntry(string Name, object Value, object Default, bool IsDefault, string Description, string? Problem = null);
