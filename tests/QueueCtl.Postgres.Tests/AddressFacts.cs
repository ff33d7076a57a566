using System.Net;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;

namespace QueueCtl.Postgres.Tests;

public sealed class AddressFacts
{
    private const string Secret = "s3cr3t-P@ss/w0rd";

    [Fact]
    public void A_uri_becomes_npgsql_settings_and_an_address_without_its_password()
    {
        var parsed = PostgresAddress.Parse(
            $"postgresql://alice:{Uri.EscapeDataString(Secret)}@db.example:6543/jobs?sslmode=verify-full&application_name=x&schema=team_a&connect_timeout=7", null);
        Assert.Equal("alice", parsed.Builder.Username);
        Assert.Equal(Secret, parsed.Builder.Password);
        Assert.Equal("db.example", parsed.Builder.Host);
        Assert.Equal(6543, parsed.Builder.Port);
        Assert.Equal("jobs", parsed.Builder.Database);
        Assert.Equal(Npgsql.SslMode.VerifyFull, parsed.Builder.SslMode);
        Assert.Equal(7, parsed.Builder.Timeout);
        Assert.Equal("team_a", parsed.Schema);
        Assert.Equal("postgres://alice@db.example:6543/jobs?schema=team_a", parsed.Display);
        Assert.Equal("db.example:6543/jobs/team_a", parsed.Identity);
    }

    [Fact]
    public void An_unescaped_password_holding_at_signs_and_slashes_is_taken_whole()
    {
        var parsed = PostgresAddress.Parse($"postgres://bob:{Secret}@h/db", null);
        Assert.Equal(Secret, parsed.Builder.Password);
        Assert.Equal("h", parsed.Builder.Host);
        Assert.Equal("postgres://bob@h:5432/db?schema=queuectl", parsed.Display);
    }

    [Fact]
    public void A_connection_string_takes_our_schema_and_listen_keys()
    {
        var parsed = PostgresAddress.Parse($"Host=h;Port=5433;Database=d;Username=u;Password={Secret};Schema=q2;Listen=false", null);
        Assert.Equal("q2", parsed.Schema);
        Assert.False(parsed.Listen);
        Assert.Equal("postgres://u@h:5433/d?schema=q2&listen=false", parsed.Display);
        Assert.DoesNotContain(Secret, parsed.Display);
    }

    [Fact]
    public void A_credential_overrides_the_user_and_password_of_the_address()
    {
        var parsed = PostgresAddress.Parse("postgres://alice:old@h/db", new NetworkCredential("carol", Secret));
        Assert.Equal("carol", parsed.Builder.Username);
        Assert.Equal(Secret, parsed.Builder.Password);
    }

    [Theory]
    [InlineData("postgres://u:" + Secret + "@h/db?bogus=1", "'bogus' is not a PostgreSQL address setting")]
    [InlineData("postgres://u:" + Secret + "@h/db?schema=1abc", "schema name '1abc' is not valid")]
    [InlineData("postgres://u:" + Secret + "@h/db?schema=a;drop", "is not valid")]
    [InlineData("postgres://u:" + Secret + "@h/db?schema=pg_catalog", "is not valid")]
    [InlineData("postgres://u:" + Secret + "@h:99999/db", "'99999' is not a port number")]
    [InlineData("postgres://u:" + Secret + "@h/db?listen=maybe", "listen must be true or false")]
    [InlineData("Host=h;Password=" + Secret + ";Frobnicate=1", "'Frobnicate' is unknown")]
    [InlineData("postgres://u@h/db?sslpassword=" + Secret + "&bogus=1", "'bogus' is not")]
    [InlineData("Host=h;SSL Password=" + Secret + ";Frobnicate=1", "'Frobnicate' is unknown")]
    public void A_bad_address_is_refused_without_showing_its_password(string address, string why)
    {
        var refused = Assert.Throws<QueueException>(() => PostgresAddress.Parse(address, null));
        Assert.Equal(QueueErrorCode.UnsupportedDatabaseAddress, refused.Code);
        Assert.Contains(why, refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Secret, refused.Message);
    }

    [Fact]
    public void An_unreachable_host_fails_as_unavailable_without_showing_the_password()
    {
        var refused = Assert.Throws<QueueException>(() =>
            PostgresDriver.Open($"postgres://u:{Secret}@127.0.0.1:1/db?connect_timeout=3", QueueOpenOptions.Default));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, refused.Code);
        Assert.Contains("postgres://u@127.0.0.1:1/db", refused.Message);
        AssertNoSecret(refused, Secret);
    }

    [Fact]
    public void A_wrong_password_fails_as_unavailable_without_showing_it()
    {
        if (!PgQueues.Ready()) return;
        const string wrong = "Wr0ng-Pa55word-123";
        var refused = Assert.Throws<QueueException>(() =>
            PostgresDriver.Open(PgQueues.AddressOf(PgQueues.NewSchema()), new QueueOpenOptions { Credential = new NetworkCredential("", wrong) }));
        Assert.Equal(QueueErrorCode.DatabaseUnavailable, refused.Code);
        Assert.Contains("28P01", refused.Message);
        AssertNoSecret(refused, wrong);
    }

    [Fact]
    public void The_address_of_an_open_queue_holds_no_password()
    {
        if (!PgQueues.Ready()) return;
        var password = Environment.GetEnvironmentVariable("PGPASSWORD");
        using var queues = new PgQueues();
        using var db = queues.Open();
        Assert.StartsWith("postgres://", db.Address);
        Assert.Contains($"schema={queues.Schema}", db.Address);
        if (!string.IsNullOrEmpty(password))
        {
            Assert.DoesNotContain(password, db.Address);
            Assert.DoesNotContain(password, db.LocalPath);
        }
    }

    private static void AssertNoSecret(Exception error, string secret)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
            Assert.DoesNotContain(secret, e.Message);
        Assert.DoesNotContain(secret, error.ToString());
    }
}
