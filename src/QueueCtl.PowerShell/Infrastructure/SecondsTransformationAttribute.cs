using System.Globalization;
using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Lets a TimeSpan parameter take a plain number as seconds (-Timeout 30), besides a TimeSpan or "hh:mm:ss".
/// Without it PowerShell reads 30 as 30 ticks, and "30" from a CSV as 30 days.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SecondsTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            int or long or short or byte or uint or ulong or double or float or decimal =>
                TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) => TimeSpan.FromSeconds(seconds),
            _ => inputData,
        };
    }
}
