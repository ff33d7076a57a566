namespace QueueCtl.Storage;

/// <summary>Times are stored as INTEGER Unix milliseconds (UTC).</summary>
internal static class UnixTime
{
    public static long ToMs(DateTime time) => new DateTimeOffset(time.ToUniversalTime()).ToUnixTimeMilliseconds();
    public static long ToMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();
    public static DateTime FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
    public static DateTime? FromMs(long? ms) => ms is { } v ? FromMs(v) : null;
}
