using System.Security.Cryptography;

namespace QueueCtl.Jobs;

/// <summary>
/// Generated job ids: 13 characters of Crockford base32 holding the creation time in milliseconds and a 20-bit
/// counter that starts at a random point each millisecond. Ids from one process are strictly increasing, so
/// a batch lands at the end of the id index instead of all over it; ids from different processes collide only by
/// rare chance, and the store generates a new one when they do.
/// </summary>
public static class JobIds
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private const int CounterBits = 20;
    private static readonly object Gate = new();
    private static long _lastMs = -1;
    private static long _counter;

    /// <summary>Random Crockford base32 text: for names that must not collide across processes, such as worker ids.</summary>
    public static string Random(int length)
    {
        Span<char> chars = stackalloc char[length];
        for (var i = 0; i < length; i++) chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        return new string(chars);
    }

    public static string New(TimeProvider? clock = null)
    {
        var now = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        long ms, counter;
        lock (Gate)
        {
            if (now > _lastMs || _counter >= (1 << CounterBits) - 1)
            {
                _lastMs = Math.Max(now, _lastMs + (now > _lastMs ? 0 : 1));
                _counter = RandomNumberGenerator.GetInt32(1 << (CounterBits - 1));
            }
            else
            {
                _counter++;
            }
            ms = _lastMs;
            counter = _counter;
        }
        Span<char> chars = stackalloc char[13];
        var value = (ms << CounterBits) | counter;
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
        return new string(chars);
    }
}
