using Npgsql;
using NpgsqlTypes;

namespace QueueCtl.Storage.Postgres;

/// <summary>Typed parameters: a null is sent with its type, so the server never has to guess it.</summary>
internal static class Pg
{
    public static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };
    public static NpgsqlParameter Big(string name, long? value) => new(name, NpgsqlDbType.Bigint) { Value = value is { } v ? v : DBNull.Value };
    public static NpgsqlParameter Bool(string name, bool value) => new(name, NpgsqlDbType.Boolean) { Value = value };
    public static NpgsqlParameter Int(string name, int? value) => new(name, NpgsqlDbType.Integer) { Value = value is { } v ? v : DBNull.Value };
    public static NpgsqlParameter Texts(string name, IReadOnlyCollection<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() };
    public static NpgsqlParameter Bigs(string name, IEnumerable<long?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = values.ToArray() };
    public static NpgsqlParameter Ints(string name, IEnumerable<int> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = values.ToArray() };
    public static NpgsqlParameter Ints(string name, IEnumerable<int?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = values.ToArray() };
}
