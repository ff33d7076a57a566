using Microsoft.Data.Sqlite;
using QueueCtl.Storage;

namespace QueueCtl.Tests;

public class SchemaFacts : IDisposable
{
    private readonly TempQueue _queue = new();

    public void Dispose() => _queue.Dispose();

    private long Pragma(string name)
    {
        using var connection = new SqliteConnection($"Data Source={_queue.Path_};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return Convert.ToInt64(command.ExecuteScalar() is string s ? (s == "wal" ? 1 : 0) : command.ExecuteScalar());
    }

    [Fact]
    public void Open_CreatesTheSchema_AtTheCurrentVersion_InWalMode()
    {
        Assert.Equal(Schema.CurrentVersion, Pragma("user_version"));
        Assert.Equal(1, Pragma("journal_mode"));
    }

    [Fact]
    public void Reopen_KeepsEveryJob()
    {
        _queue.Jobs.Enqueue(new JobSpec { Id = "kept", Command = "echo kept" });
        _queue.Db.Dispose();
        using var again = QueueDatabase.Open(_queue.Path_, _queue.Clock);
        var job = new JobStore(again).Get("kept");
        Assert.Equal("echo kept", job.Command);
        Assert.Equal(QueueJobState.Pending, job.State);
    }

    [Fact]
    public void Open_RefusesADatabaseFromANewerRelease()
    {
        _queue.Db.Dispose();
        using (var connection = new SqliteConnection($"Data Source={_queue.Path_};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {Schema.CurrentVersion + 1}";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<QueueException>(() => QueueDatabase.Open(_queue.Path_));
        Assert.Equal(QueueErrorCode.DatabaseTooNew, error.Code);
    }

    [Fact]
    public void Open_RefusesAnotherApplicationsDatabase()
    {
        var path = Path.Combine(_queue.Folder, "other.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE precious (x)";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<QueueException>(() => QueueDatabase.Open(path));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        Assert.Contains("did not create", error.Message);
    }

    [Fact]
    public void Open_ATextFile_IsAClearError()
    {
        var path = Path.Combine(_queue.Folder, "notes.txt");
        File.WriteAllText(path, "this is not a database, just some text that is long enough to have a header");
        var error = Assert.Throws<QueueException>(() => QueueDatabase.Open(path));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void NewQueue_IsPrivateToItsOwner()
    {
        if (OperatingSystem.IsWindows()) return;
        var folder = Path.Combine(_queue.Folder, "fresh", "nested");
        var path = Path.Combine(folder, "queue.db");
        using var db = QueueDatabase.Open(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void DefaultPath_PrefersTheEnvironmentVariable_ThenXdgDataHome()
    {
        Assert.Equal("/srv/q.db", DatabaseLocator.DefaultPath(n => n == "QUEUECTL_DATABASE" ? "/srv/q.db" : null));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal("/data/queuectl/queue.db", DatabaseLocator.DefaultPath(n => n == "XDG_DATA_HOME" ? "/data" : n == "HOME" ? "/home/u" : null));
            Assert.Equal("/home/u/.local/share/queuectl/queue.db", DatabaseLocator.DefaultPath(n => n == "HOME" ? "/home/u" : null));
        }
    }
}
