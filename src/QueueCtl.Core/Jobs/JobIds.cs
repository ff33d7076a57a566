using System.Security.Cryptography;

namespace QueueCtl.Jobs;

/// <summary>Generated job ids: 13 characters of Crockford base32 over 64 random bits.</summary>
public static class JobIds
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var value = BitConverter.ToUInt64(bytes);
        Span<char> chars = stackalloc char[13];
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
        return new string(chars);
    }
}
