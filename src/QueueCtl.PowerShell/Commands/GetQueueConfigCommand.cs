using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets the queue's configuration.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "QueueConfig")]
[OutputType(typeof(QueueConfigEntry))]
public sealed class GetQueueConfigCommand : QueueCmdlet
{
    /// <summary>Names of the settings to get. Wildcards are allowed.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ConfigNameCompleter))]
    public string[]? Name { get; set; }

    protected override bool WarnsAboutConfig => false;

    protected override void ProcessRecord()
    {
        IReadOnlyList<QueueConfigEntry> entries = Array.Empty<QueueConfigEntry>();
        if (!TryQueue(() => entries = Db.Settings.List(), Name)) return;
        if (Name is null)
        {
            WriteObject(entries, enumerateCollection: true);
            return;
        }
        foreach (var name in Name)
        {
            if (Wildcards.TryCreate(name, this) is not { } pattern) continue;
            var matches = entries.Where(e => pattern.IsMatch(e.Name)).ToList();
            if (matches.Count == 0 && pattern.Literal is not null)
                TryQueue(() => Configuration.ConfigSettings.Find(name), name);
            WriteObject(matches, enumerateCollection: true);
        }
    }
}
