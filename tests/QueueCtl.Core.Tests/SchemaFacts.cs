using Microsoft.Data.Sqlite;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

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
        Assert.Equal(SqliteSchema.CurrentVersion, Pragma("user_version"));
        Assert.Equal(1, Pragma("journal_mode"));
    }

    [Fact]
    public void Reopen_KeepsEveryJob()
    {
        _queue.Jobs.Enqueue(new JobSpec { Id = "kept", Command = "echo kept" });
        _queue.Db.Dispose();
        using var again = SqliteDriver.Open(_queue.Path_, _queue.Clock);
        var job = again.Jobs.Get("kept");
        Assert.Equal("echo kept", job.Command);
        Assert.Equal(QueueJobState.Pending, job.State);
    }

    [Fact]
    public void Open_UpgradesAVersion1Queue_KeepingItsJobs_InTheDefaultQueue()
    {
        var path = Path.Combine(_queue.Folder, "v1.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.Migrations[0] + "PRAGMA user_version = 1;" +
                "INSERT INTO jobs (id, command, max_retries, run_at, created_at, updated_at) VALUES ('old', 'echo old', 3, 0, 0, 0);" +
                "UPDATE job_counts SET n = 1 WHERE state = 'Pending';";
            command.ExecuteNonQuery();
        }
        using var db = SqliteDriver.Open(path, _queue.Clock);
        var old = db.Jobs.Get("old");
        Assert.Equal((QueueNames.Default, 0), (old.Queue, old.Priority));
        db.Jobs.Enqueue(new JobSpec { Id = "new", Command = "true", Priority = 1 });
        Assert.Equal(new[] { "new", "old" }, db.Leases("w").Claim(2).Select(c => c.Job.Id));
        db.Dispose();
        Assert.Equal(SqliteSchema.CurrentVersion, Pragma(path, "user_version"));
    }

    private static long Pragma(string path, string name)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return Convert.ToInt64(command.ExecuteScalar());
    }

    [Fact]
    public void Open_RefusesADatabaseFromANewerRelease()
    {
        _queue.Db.Dispose();
        using (var connection = new SqliteConnection($"Data Source={_queue.Path_};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {SqliteSchema.CurrentVersion + 1}";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<QueueException>(() => SqliteDriver.Open(_queue.Path_));
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
        var error = Assert.Throws<QueueException>(() => SqliteDriver.Open(path));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        Assert.Contains("did not create", error.Message);
    }

    [Fact]
    public void Open_ATextFile_IsAClearError()
    {
        var path = Path.Combine(_queue.Folder, "notes.txt");
        File.WriteAllText(path, "this is not a database, just some text that is long enough to have a header");
        var error = Assert.Throws<QueueException>(() => SqliteDriver.Open(path));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, error.Code);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void NewQueue_IsPrivateToItsOwner()
    {
        if (OperatingSystem.IsWindows()) return;
        var folder = Path.Combine(_queue.Folder, "fresh", "nested");
        var path = Path.Combine(folder, "queue.db");
        using var db = SqliteDriver.Open(path);
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

    private static void Sql(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public void Open_LeavesAnotherApplicationsDatabaseUnchanged_JournalModeIncluded()
    {
        var path = Path.Combine(_queue.Folder, "other.db");
        Sql(path, "CREATE TABLE precious (x); INSERT INTO precious VALUES (1)");
        var before = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 1, 1 }, before[18..20]); // rollback journal: bytes 18-19 are 0x0101; WAL writes 0x0202

        Assert.Throws<QueueException>(() => SqliteDriver.Open(path));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + "-wal"));
    }

    [Fact]
    public void Open_RefusesAVersionedDatabaseWithoutTheQueueTables()
    {
        var path = Path.Combine(_queue.Folder, "versioned.db");
        Sql(path, $"CREATE TABLE other (x); PRAGMA user_version = {SqliteSchema.CurrentVersion}");
        var before = File.ReadAllBytes(path);
        var error = Assert.Throws<QueueException>(() => SqliteDriver.Open(path));
        Assert.Contains("did not create", error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Open_MakesAGroupOrWorldReadableQueueFilePrivate()
    {
        _queue.Db.Dispose();
        var loose = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead;
        File.SetUnixFileMode(_queue.Path_, loose);
        using var again = SqliteDriver.Open(_queue.Path_, _queue.Clock);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_queue.Path_));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_queue.Path_ + "-wal") & ~UnixFileMode.UserExecute);
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void WorkerFiles_MakeAWorldWritableWorkersFolderPrivate()
    {
        var folder = WorkerFiles.Folder(_queue.Path_);
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0x1FF); // 0777
        WorkerFiles.RunningPath(_queue.Path_, "worker-1");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
    }

    [Theory]
    [InlineData("../../escaped")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("tab\there")]
    public void WorkerFiles_RefuseAWorkerIdThatCouldLeaveTheFolder(string id)
    {
        var ex = Assert.ThrowsAny<Exception>(() => WorkerFiles.RunningPath(_queue.Path_, id));
        Assert.Equal("InvalidWorkerId", Assert.IsType<QueueException>(ex).Code.ToString());
        ex = Assert.ThrowsAny<Exception>(() => WorkerFiles.LogPath(_queue.Path_, id));
        Assert.Equal("InvalidWorkerId", Assert.IsType<QueueException>(ex).Code.ToString());
    }

    [Theory]
    [InlineData("worker-1")]
    [InlineData("müller-x1y2z3")]
    [InlineData("host.example_1-abc")]
    public void WorkerFiles_AcceptGeneratedAndOrdinaryIds(string id) =>
        Assert.Equal(Path.Combine(WorkerFiles.Folder(_queue.Path_), id + ".jobs"), WorkerFiles.RunningPath(_queue.Path_, id));

    [Fact]
    public void WorkerFiles_AcceptTheIdsWorkersGenerate() =>
        Assert.True(WorkerIds.IsValid(Worker.WorkerOptions.NewWorkerId()));

    [Theory]
    [InlineData("postgres://user:s3cret@db.example/queue")]
    [InlineData("postgresql://user:s3cret@db.example/queue?sslmode=require")]
    [InlineData("sqlite://host/x?password=s3cret")]
    public void Open_RefusesAnAddress_WithoutEchoingThePassword_OrCreatingAnything(string address)
    {
        var scheme = address[..address.IndexOf(':')];
        var stray = Path.GetFullPath(scheme + ":");
        try
        {
            var ex = Assert.ThrowsAny<Exception>(() => SqliteDriver.Open(address));
            var refusal = Assert.IsType<QueueException>(ex);
            Assert.Equal("UnsupportedDatabaseAddress", refusal.Code.ToString());
            Assert.DoesNotContain("s3cret", refusal.Message);
            Assert.Contains("***", refusal.Message);
            Assert.False(Directory.Exists(stray), $"{stray} was created");
        }
        finally
        {
            if (Directory.Exists(stray)) Directory.Delete(stray, recursive: true);
        }
    }

    [Theory]
    [InlineData("postgres://user:s3cret@host/db", "postgres://user:***@host/db")]
    [InlineData("postgres://user:s3@c/ret@host/db", "postgres://user:***@host/db")]
    [InlineData("postgres://user@host/db?password=s3cret&x=1", "postgres://user@host/db?password=***&x=1")]
    [InlineData("postgres://host/db?sslmode=require&email=a@b", "postgres://host/db?sslmode=require&email=a@b")]
    public void Mask_HidesPasswords(string address, string expected) => Assert.Equal(expected, DatabaseLocator.Mask(address));

    [Fact]
    public void DefaultPath_RefusesAnAddressOfAnUnknownEngineInTheEnvironment_AndTakesAPostgresAddressAsItIs()
    {
        Assert.Throws<QueueException>(() => DatabaseLocator.DefaultPath(n => n == DatabaseLocator.EnvironmentVariable ? "mysql://u:p@h/d" : null));
        Assert.Equal("postgres://u@h/d", DatabaseLocator.DefaultPath(n => n == DatabaseLocator.EnvironmentVariable ? "postgres://u@h/d" : null));
    }

    [Theory]
    [InlineData("mysql://user:s3cret@db.example/queue")]
    [InlineData("redis://:s3cret@cache/0")]
    public void QueueDrivers_RefuseAnAddressOfAnUnknownEngine_WithoutEchoingThePassword(string address)
    {
        var refusal = Assert.Throws<QueueException>(() => QueueDrivers.Open(address));
        Assert.Equal(QueueErrorCode.UnsupportedDatabaseAddress, refusal.Code);
        Assert.DoesNotContain("s3cret", refusal.Message);
    }

    [Theory]
    [InlineData("postgres://u@h/d", true)]
    [InlineData("POSTGRESQL://h/d", true)]
    [InlineData("Host=db;Database=q", true)]
    [InlineData("Username=u;Server=db", true)]
    [InlineData("./queue.db", false)]
    [InlineData("/tmp/a=b;c.db", false)]
    [InlineData("host.db", false)]
    public void QueueAddress_TellsServersFromFiles(string address, bool server) =>
        Assert.Equal(server, QueueAddress.IsServer(address));

    [Theory]
    [InlineData("Host=db;Password=s3 cret;Database=q", "Host=db;Password=***;Database=q")]
    [InlineData("postgres://u@h/d?sslmode=verify-full&sslpassword=s3cret", "postgres://u@h/d?sslmode=verify-full&sslpassword=***")]
    [InlineData("Host=db;SSL Password=s3cret", "Host=db;SSL Password=***")]
    public void Mask_HidesConnectionStringAndQueryPasswords(string address, string expected) =>
        Assert.Equal(expected, QueueAddress.Mask(address));
}

/// <summary>A fact about Unix file modes: reported as skipped on Windows instead of passing there.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "Unix file modes do not exist on Windows.";
    }
}

/// <summary>Test-Queue's and Backup-Queue's engine (issue 8, item 18).</summary>
public class MaintenanceFacts : IDisposable
{
    private readonly TempQueue _queue = new();

    public void Dispose() => _queue.Dispose();

    private void Fill(int count) =>
        _queue.Jobs.Enqueue(Enumerable.Range(0, count).Select(i => new JobSpec { Id = $"job-{i:D5}", Command = $"echo {new string('x', 200)} {i}" }).ToList());

    [Fact]
    public void Check_SaysOK_ForAHealthyQueue()
    {
        Fill(10);
        var report = QueueMaintenance.Check(_queue.Path_);
        Assert.Equal(QueueHealth.OK, report.Verdict);
        Assert.Empty(report.Problems);
        Assert.Equal(SqliteSchema.CurrentVersion, report.SchemaVersion);
    }

    [Fact]
    public void Check_FindsDriftedCounters_AndRepairRecomputesThem()
    {
        Fill(3);
        _queue.Sqlite.Write(() => _queue.Sqlite.Execute("UPDATE job_counts SET n = 42 WHERE state = 'Pending'"));
        var report = QueueMaintenance.Check(_queue.Path_);
        Assert.Equal(QueueHealth.Inconsistent, report.Verdict);
        var mismatch = Assert.Single(report.CounterMismatches);
        Assert.Equal((QueueJobState.Pending, 42L, 3L), (mismatch.State, mismatch.Kept, mismatch.Actual));

        var repaired = QueueMaintenance.Repair(_queue.Path_);
        Assert.Equal(QueueHealth.OK, repaired.Verdict);
        Assert.NotEmpty(repaired.Repaired);
        Assert.Equal(3, _queue.Jobs.Status().Pending);
    }

    [Fact]
    public void Check_FindsOrphanedOutput()
    {
        Fill(1);
        _queue.Sqlite.Write(() => _queue.Sqlite.Execute(
            "INSERT INTO job_output (job_seq, run, format, stdout, stderr) VALUES (999, 1, 'Text', 'x', '')"));
        var report = QueueMaintenance.Check(_queue.Path_);
        Assert.Equal(QueueHealth.Inconsistent, report.Verdict);
        Assert.Equal(1, report.OrphanedOutputs);
        Assert.Equal(QueueHealth.OK, QueueMaintenance.Repair(_queue.Path_).Verdict);
    }

    [Fact]
    public void Check_SaysCorrupt_ForAFileWithAPageOverwritten()
    {
        Fill(2000);
        var copy = Path.Combine(_queue.Folder, "copy.db");
        QueueBackup.Write(_queue.Sqlite, copy, overwrite: false);
        var bytes = File.ReadAllBytes(copy);
        const int page = 4096;
        var middle = bytes.Length / page / 2 * page;
        for (var i = middle; i < middle + page; i++) bytes[i] = (byte)(i * 31);
        File.WriteAllBytes(copy, bytes);

        var report = QueueMaintenance.Check(copy);
        Assert.Equal(QueueHealth.Corrupt, report.Verdict);
        Assert.NotEmpty(report.IntegrityErrors);
        Assert.Equal(QueueHealth.Corrupt, QueueMaintenance.Repair(copy).Verdict);
        Assert.Equal(bytes, File.ReadAllBytes(copy)); // a corrupt file is never "repaired"
    }

    [Fact]
    public void Check_DoesNotCreateAMissingQueue()
    {
        var missing = Path.Combine(_queue.Folder, "missing.db");
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, Assert.Throws<QueueException>(() => QueueMaintenance.Check(missing)).Code);
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public void Backup_WritesAPrivateCopyHoldingTheJobs_AndRefusesToOverwrite()
    {
        Fill(5);
        var copy = Path.Combine(_queue.Folder, "backup.db");
        var file = QueueBackup.Write(_queue.Sqlite, copy, overwrite: false);
        Assert.Equal(copy, file.FullName);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(copy));
        using (var restored = SqliteDriver.Open(copy))
            Assert.Equal(5, restored.Jobs.List().Count());
        Assert.Equal(QueueHealth.OK, QueueMaintenance.Check(copy).Verdict);

        var before = File.ReadAllBytes(copy);
        Assert.Equal(QueueErrorCode.DestinationExists,
            Assert.Throws<QueueException>(() => QueueBackup.Write(_queue.Sqlite, copy, overwrite: false)).Code);
        Assert.Equal(before, File.ReadAllBytes(copy));
        Assert.Empty(Directory.GetFiles(_queue.Folder, "*.tmp"));

        Fill(0);
        _queue.Jobs.Enqueue(new JobSpec { Id = "later", Command = "echo later" });
        QueueBackup.Write(_queue.Sqlite, copy, overwrite: true);
        using var replaced = SqliteDriver.Open(copy);
        Assert.NotNull(replaced.Jobs.Find("later"));
    }
}
