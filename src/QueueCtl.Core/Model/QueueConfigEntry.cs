namespace QueueCtl;

/// <summary>One configuration key as shown to users.</summary>
public sealed record QueueConfigEntry(string Name, object Value, object Default, bool IsDefault, string Description);
