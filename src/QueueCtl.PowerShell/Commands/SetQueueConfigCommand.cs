using System.Globalization;
using System.Management.Automation;
using QueueCtl.Configuration;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Changes the queue's configuration.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "QueueConfig", SupportsShouldProcess = true, DefaultParameterSetName = NamedSet)]
[OutputType(typeof(QueueConfigEntry))]
public sealed class SetQueueConfigCommand : QueueCmdlet
{
    private const string NamedSet = "Named";
    private const string ValueSet = "NameValue";
    private const string DefaultSet = "Default";

    #region Parameters

    /// <summary>Sets max-retries: retries after the first run for jobs enqueued without -MaxRetries.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    public int? MaxRetries { get; set; }

    /// <summary>Sets backoff-base: after failed run n the next waits base^n seconds.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    public double? BackoffBase { get; set; }

    /// <summary>Sets backoff-max, the longest retry delay. A number means seconds.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    [SecondsTransformation]
    public TimeSpan? BackoffMax { get; set; }

    /// <summary>Sets job-timeout, the default time a run may take. A number means seconds.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    [SecondsTransformation]
    public TimeSpan? JobTimeout { get; set; }

    /// <summary>Sets lease-duration: how long a claimed job stays a silent worker's before it is run again.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    [SecondsTransformation]
    public TimeSpan? LeaseDuration { get; set; }

    /// <summary>Sets output-limit, the bytes of stdout and of stderr kept per run.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    public int? OutputLimit { get; set; }

    /// <summary>Sets poll-interval, the safety-net poll when no change notification arrives.</summary>
    [Parameter(ParameterSetName = NamedSet)]
    [SecondsTransformation]
    public TimeSpan? PollInterval { get; set; }

    /// <summary>Sets the SQLite synchronous level: FULL (survives power loss) or NORMAL (survives process crashes).</summary>
    [Parameter(ParameterSetName = NamedSet)]
    [ValidateSet("FULL", "NORMAL", IgnoreCase = true)]
    public string? Synchronous { get; set; }

    /// <summary>The name of the setting, as Get-QueueConfig shows it.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ValueSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = DefaultSet)]
    [ArgumentCompleter(typeof(ConfigNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The new value.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ValueSet)]
    [AllowEmptyString]
    public object Value { get; set; } = "";

    /// <summary>Returns the setting to its default.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DefaultSet)]
    public SwitchParameter Default { get; set; }

    /// <summary>Emits each changed setting.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    protected override bool WarnsAboutConfig => false;

    protected override void ProcessRecord()
    {
        var changes = Changes().ToList();
        if (changes.Count == 0)
        {
            WriteError(QueueErrors.Record("NoSettingGiven", ErrorCategory.InvalidArgument,
                "Name a setting to change, e.g. Set-QueueConfig -MaxRetries 5 or Set-QueueConfig -Name max-retries -Value 5.", null));
            return;
        }
        // Validate everything first, so a bad value in a list of changes writes none of them.
        var validated = new List<(ConfigSetting Setting, string? Value)>();
        foreach (var (name, value) in changes)
        {
            try
            {
                var setting = ConfigSettings.Find(name);
                validated.Add((setting, value is null ? null : setting.Normalize(value)));
            }
            catch (QueueException ex)
            {
                ThrowQueueError(ex, name);
            }
        }
        var store = Db.Settings;
        foreach (var (setting, value) in validated)
        {
            var action = value is null ? "Reset to default" : $"Set to {value}";
            if (!ShouldProcess($"Setting '{setting.Name}'", action)) continue;
            TryQueue(() =>
            {
                var entry = value is null ? store.Reset(setting.Name) : store.Set(setting.Name, value);
                if (PassThru) WriteObject(entry);
            }, setting.Name);
        }
    }

    private IEnumerable<(string Name, string? Value)> Changes()
    {
        if (ParameterSetName == ValueSet)
        {
            yield return (Name, Text(Value));
            yield break;
        }
        if (ParameterSetName == DefaultSet)
        {
            yield return (Name, null);
            yield break;
        }
        if (MaxRetries is { } m) yield return (ConfigSettings.MaxRetries, Text(m));
        if (BackoffBase is { } b) yield return (ConfigSettings.BackoffBase, Text(b));
        if (BackoffMax is { } bm) yield return (ConfigSettings.BackoffMax, Text(bm));
        if (JobTimeout is { } t) yield return (ConfigSettings.JobTimeout, Text(t));
        if (LeaseDuration is { } l) yield return (ConfigSettings.LeaseDuration, Text(l));
        if (OutputLimit is { } o) yield return (ConfigSettings.OutputLimit, Text(o));
        if (PollInterval is { } p) yield return (ConfigSettings.PollInterval, Text(p));
        if (Synchronous is { } s) yield return (ConfigSettings.Synchronous, s);
    }

    private static string Text(object? value) => (value is PSObject pso ? pso.BaseObject : value) switch
    {
        TimeSpan span => span.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var other => other?.ToString() ?? "",
    };
}
