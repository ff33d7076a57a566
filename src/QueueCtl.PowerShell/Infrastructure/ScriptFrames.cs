using System.Buffers.Binary;
using System.Text;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The framing between a worker and its script hosts, over the host's standard input and output: each message is a
/// 4-byte little-endian length, then that many bytes, a kind byte followed by fields written with a BinaryWriter.
/// </summary>
internal static class ScriptFrames
{
    /// <summary>Host to worker: the host is up and warm.</summary>
    public const byte Ready = (byte)'H';
    /// <summary>Worker to host: run this job (<see cref="ScriptRunRequest"/>).</summary>
    public const byte Run = (byte)'R';
    /// <summary>Worker to host: stop the run in progress.</summary>
    public const byte Stop = (byte)'S';
    /// <summary>Host to worker: the run ended (<see cref="ScriptRunReply"/>).</summary>
    public const byte Done = (byte)'D';

    private const int MaxFrame = 1 << 30;

    public static void Write(Stream stream, byte kind, Action<BinaryWriter>? fields = null)
    {
        var body = new MemoryStream();
        body.Write(stackalloc byte[4]);
        body.WriteByte(kind);
        if (fields is not null)
        {
            using var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
            fields(writer);
        }
        var frame = body.GetBuffer();
        BinaryPrimitives.WriteInt32LittleEndian(frame, (int)body.Length - 4);
        lock (stream)
        {
            stream.Write(frame, 0, (int)body.Length);
            stream.Flush();
        }
    }

    /// <summary>The next frame's kind and fields, or null at the end of the stream.</summary>
    public static (byte Kind, BinaryReader Fields)? Read(Stream stream)
    {
        var header = new byte[4];
        if (!Fill(stream, header)) return null;
        var body = new byte[Length(header)];
        return Fill(stream, body) ? Open(body) : null;
    }

    /// <inheritdoc cref="Read"/>
    public static async Task<(byte Kind, BinaryReader Fields)?> ReadAsync(Stream stream)
    {
        var header = new byte[4];
        if (!await FillAsync(stream, header).ConfigureAwait(false)) return null;
        var body = new byte[Length(header)];
        return await FillAsync(stream, body).ConfigureAwait(false) ? Open(body) : null;
    }

    private static int Length(byte[] header)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length is < 1 or > MaxFrame) throw new InvalidDataException($"A script-host frame of {length} bytes is not valid.");
        return length;
    }

    private static (byte, BinaryReader) Open(byte[] body) =>
        (body[0], new BinaryReader(new MemoryStream(body, 1, body.Length - 1), Encoding.UTF8));

    private static bool Fill(Stream stream, byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    private static async Task<bool> FillAsync(Stream stream, byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read)).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    public static void WriteOptional(this BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null) writer.Write(value);
    }

    public static string? ReadOptional(this BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
