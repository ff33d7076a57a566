using System.Management.Automation;
using QueueCtl.Jobs;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// One wildcard engine for every -Id and -Name (<see cref="WildcardFilter"/>, which jobs need for its SQL prefilter):
/// a pattern that cannot match is reported as InvalidWildcardPattern instead of a .NET exception.
/// </summary>
internal static class Wildcards
{
    /// <summary>The filter for <paramref name="pattern"/>, or null after writing the refusal as a non-terminating error.</summary>
    public static WildcardFilter? TryCreate(string pattern, Cmdlet cmdlet)
    {
        try
        {
            return new WildcardFilter(pattern);
        }
        catch (QueueException ex)
        {
            cmdlet.WriteError(QueueErrors.ToRecord(ex, pattern));
            return null;
        }
    }
}
