using System.Globalization;

namespace QueueCtl.Configuration;

/// <summary>How a setting's text is read and shown.</summary>
public enum ConfigValueKind { Integer, Number, Seconds, Choice }

/// <summary>One known configuration key: its name, default, bounds and parser.</summary>
public sealed class ConfigSetting
{
    internal ConfigSetting(string name, ConfigValueKind kind, string defaultValue, double min, double max, string description,
        IReadOnlyList<string>? choices = null)
    {
        Name = name; Kind = kind; DefaultValue = defaultValue; Minimum = min; Maximum = max; Description = description;
        Choices = choices ?? Array.Empty<string>();
    }

    public string Name { get; }
    public ConfigValueKind Kind { get; }
    public string DefaultValue { get; }
    public double Minimum { get; }
    public double Maximum { get; }
    public string Description { get; }
    public IReadOnlyList<string> Choices { get; }

    /// <summary>Turns user text into the canonical stored text, or throws <see cref="QueueException"/>.</summary>
    public string Normalize(string? text)
    {
        var value = (text ?? "").Trim();
        if (Kind == ConfigValueKind.Choice)
        {
            var match = Choices.FirstOrDefault(c => string.Equals(c, value, StringComparison.OrdinalIgnoreCase));
            return match ?? throw Invalid(value, $"one of {string.Join(", ", Choices)}");
        }
        double number;
        if (Kind == ConfigValueKind.Seconds && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && value.Contains(':'))
            number = span.TotalSeconds;
        else if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) || !double.IsFinite(number))
            throw Invalid(value, Expectation());
        if (Kind == ConfigValueKind.Integer && number != Math.Floor(number))
            throw Invalid(value, Expectation());
        if (number < Minimum || number > Maximum)
            throw Invalid(value, Expectation());
        return number.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Checks a value read from the config table: null when it is valid, else the problem. Another tool may have
    /// written anything there, so a read never trusts it.
    /// </summary>
    public ConfigProblem? Check(string stored)
    {
        try
        {
            Normalize(stored);
            return null;
        }
        catch (QueueException ex)
        {
            return new ConfigProblem(Name, stored, ex.Message);
        }
    }

    /// <summary>The stored text as a typed value: int, double or TimeSpan.</summary>
    public object ToTyped(string stored) => Kind switch
    {
        ConfigValueKind.Integer => int.Parse(stored, CultureInfo.InvariantCulture),
        ConfigValueKind.Number => double.Parse(stored, CultureInfo.InvariantCulture),
        ConfigValueKind.Seconds => TimeSpan.FromSeconds(double.Parse(stored, CultureInfo.InvariantCulture)),
        _ => stored,
    };

    private string Expectation() => Kind switch
    {
        ConfigValueKind.Integer => $"a whole number from {Minimum.ToString(CultureInfo.InvariantCulture)} to {Maximum.ToString(CultureInfo.InvariantCulture)}",
        ConfigValueKind.Seconds => $"a number of seconds (or hh:mm:ss) from {Minimum.ToString(CultureInfo.InvariantCulture)} to {Maximum.ToString(CultureInfo.InvariantCulture)}",
        _ => $"a number from {Minimum.ToString(CultureInfo.InvariantCulture)} to {Maximum.ToString(CultureInfo.InvariantCulture)}",
    };

    private QueueException Invalid(string value, string expected) =>
        new(QueueErrorCode.InvalidConfigValue, $"'{value}' is not a valid value for '{Name}': expected {expected}.");
}
