namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>One job for a script host: the script text, its serialized arguments, and what $QueueJob holds.</summary>
internal sealed record ScriptRunRequest(
    string Script, string? Arguments, string? Location, string JobId, int Attempt, int Run, string WorkerId,
    string? Database, int OutputLimit, string RunToken)
{
    public void WriteTo(BinaryWriter writer)
    {
        writer.Write(Script);
        writer.WriteOptional(Arguments);
        writer.WriteOptional(Location);
        writer.Write(JobId);
        writer.Write(Attempt);
        writer.Write(Run);
        writer.Write(WorkerId);
        writer.WriteOptional(Database);
        writer.Write(OutputLimit);
        writer.Write(RunToken);
    }

    public static ScriptRunRequest ReadFrom(BinaryReader reader) => new(
        reader.ReadString(), reader.ReadOptional(), reader.ReadOptional(), reader.ReadString(), reader.ReadInt32(),
        reader.ReadInt32(), reader.ReadString(), reader.ReadOptional(), reader.ReadInt32(), reader.ReadString());
}

/// <summary>
/// How a run ended, as the host reports it (or as the worker saw it when the host died or was killed). Records is the
/// JSON that <see cref="ScriptOutput"/> stores, passed through untouched. Retiring: the host exits after this reply.
/// </summary>
internal sealed record ScriptRunReply(
    ScriptEnd End, string? Message, string Records, long Dropped, int ErrorCount, string? FirstError, bool Retiring)
{
    public static ScriptRunReply Lost(ScriptEnd end, string message) => new(end, message, "", 0, 0, null, true);

    public void WriteTo(BinaryWriter writer)
    {
        writer.Write((byte)End);
        writer.WriteOptional(Message);
        writer.Write(Records);
        writer.Write(Dropped);
        writer.Write(ErrorCount);
        writer.WriteOptional(FirstError);
        writer.Write(Retiring);
    }

    public static ScriptRunReply ReadFrom(BinaryReader reader) => new(
        (ScriptEnd)reader.ReadByte(), reader.ReadOptional(), reader.ReadString(), reader.ReadInt64(), reader.ReadInt32(),
        reader.ReadOptional(), reader.ReadBoolean());
}
