namespace QueueCtl.Storage;

/// <summary>The stored settings; every value is validated against <see cref="Configuration.ConfigSettings"/>.</summary>
public interface IConfigStore
{
    IReadOnlyList<QueueConfigEntry> List();

    QueueConfigEntry Get(string name);

    /// <summary>Validates and stores one value; nothing is written when it is refused.</summary>
    QueueConfigEntry Set(string name, string value);

    /// <summary>Forgets a stored value so the default applies again.</summary>
    QueueConfigEntry Reset(string name);
}
