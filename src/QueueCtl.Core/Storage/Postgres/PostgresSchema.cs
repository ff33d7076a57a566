using System.Security.Cryptography;
using System.Text;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// The versioned schema. Each entry of <see cref="Migrations"/> moves a queue from version i to i + 1 and is applied
/// once, in order; schema_version holds one row per applied version. {s} is the queue's quoted schema. Never edit a
/// released migration: add a new one.
/// </summary>
internal static class PostgresSchema
{
    public static IReadOnlyList<string> Migrations { get; } = new[]
    {
        // Version 1.
        """
        CREATE TABLE {s}.schema_version (
            version    integer PRIMARY KEY,
            applied_at bigint  NOT NULL
        );

        CREATE TABLE {s}.jobs (
            seq               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id                text    NOT NULL,
            kind              text    NOT NULL DEFAULT 'Command' CHECK (kind IN ('Command', 'ScriptBlock')),
            command           text    NOT NULL CHECK (kind = 'ScriptBlock' OR length(trim(command)) > 0),
            arguments         text,
            working_directory text,
            state             text    NOT NULL DEFAULT 'Pending'
                              CHECK (state IN ('Pending', 'Processing', 'Completed', 'Failed', 'Dead', 'Cancelled')),
            attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            runs              integer NOT NULL DEFAULT 0 CHECK (runs >= attempts),
            max_retries       integer NOT NULL CHECK (max_retries >= 0),
            timeout_ms        bigint  CHECK (timeout_ms IS NULL OR timeout_ms > 0),
            run_at            bigint  NOT NULL,
            created_at        bigint  NOT NULL,
            updated_at        bigint  NOT NULL,
            started_at        bigint,
            finished_at       bigint,
            exit_code         integer,
            last_error        text,
            errors            jsonb,
            worker_id         text,
            lease_until       bigint,
            cancel_requested  boolean NOT NULL DEFAULT false,
            CHECK ((state IN ('Completed', 'Dead', 'Cancelled')) = (finished_at IS NOT NULL)),
            CHECK ((state = 'Processing') = (lease_until IS NOT NULL)),
            CHECK (state <> 'Processing' OR worker_id IS NOT NULL)
        );

        -- Ids are case-insensitive, as in SQLite (COLLATE NOCASE): every lookup compares lower(id).
        CREATE UNIQUE INDEX jobs_id ON {s}.jobs (lower(id));
        -- The claim reads only this partial index, so finished jobs never slow it down.
        CREATE INDEX jobs_ready ON {s}.jobs (run_at, seq) WHERE state IN ('Pending', 'Failed');
        CREATE INDEX jobs_state ON {s}.jobs (state, seq);
        -- The oldest pending job for Status: with only (state, seq), the planner walks the primary key from the start
        -- and filters, which at a million jobs with the oldest finished costs a scan of all of them.
        CREATE INDEX jobs_pending ON {s}.jobs (seq) WHERE state = 'Pending';
        CREATE INDEX jobs_leases ON {s}.jobs (lease_until) WHERE state = 'Processing';

        -- Per-state counts without a hot row: every statement that changes jobs appends its net change per state
        -- (statement triggers over the transition tables), so writers never wait on each other here; Status sums the
        -- rows and now and then folds them into one row per state.
        CREATE TABLE {s}.job_count_deltas (state text NOT NULL, n bigint NOT NULL);
        INSERT INTO {s}.job_count_deltas (state, n) VALUES
            ('Pending', 0), ('Processing', 0), ('Completed', 0), ('Failed', 0), ('Dead', 0), ('Cancelled', 0);

        CREATE FUNCTION {s}.jobs_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {s}.job_count_deltas (state, n) SELECT state, count(*) FROM new_rows GROUP BY state;
            RETURN NULL;
        END $$;
        CREATE FUNCTION {s}.jobs_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {s}.job_count_deltas (state, n)
            SELECT state, sum(n) FROM (SELECT state, 1 AS n FROM new_rows UNION ALL SELECT state, -1 FROM old_rows) d
            GROUP BY state HAVING sum(n) <> 0;
            RETURN NULL;
        END $$;
        CREATE FUNCTION {s}.jobs_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {s}.job_count_deltas (state, n) SELECT state, -count(*) FROM old_rows GROUP BY state;
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_count_insert AFTER INSERT ON {s}.jobs REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.jobs_count_insert();
        CREATE TRIGGER jobs_count_update AFTER UPDATE ON {s}.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.jobs_count_update();
        CREATE TRIGGER jobs_count_delete AFTER DELETE ON {s}.jobs REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.jobs_count_delete();

        -- What each run printed: the tail of stdout and stderr, and how many bytes were dropped before it.
        CREATE TABLE {s}.job_output (
            job_seq        bigint  NOT NULL REFERENCES {s}.jobs (seq) ON DELETE CASCADE,
            run            integer NOT NULL,
            format         text    NOT NULL CHECK (format IN ('Text', 'CliXml')),
            stdout         text    NOT NULL,
            stderr         text    NOT NULL,
            stdout_dropped bigint  NOT NULL DEFAULT 0,
            stderr_dropped bigint  NOT NULL DEFAULT 0,
            PRIMARY KEY (job_seq, run)
        );

        CREATE TABLE {s}.workers (
            id                 text    NOT NULL,
            host               text    NOT NULL,
            pid                integer NOT NULL,
            process_started_at bigint,
            state              text    NOT NULL CHECK (state IN ('Starting', 'Running', 'Stopping', 'Stopped', 'Lost')),
            concurrency        integer NOT NULL CHECK (concurrency > 0),
            started_at         bigint  NOT NULL,
            heartbeat_at       bigint  NOT NULL,
            stopped_at         bigint,
            stop_requested     boolean NOT NULL DEFAULT false,
            jobs_done          bigint  NOT NULL DEFAULT 0,
            jobs_failed        bigint  NOT NULL DEFAULT 0,
            log_path           text,
            version            text
        );
        CREATE UNIQUE INDEX workers_id ON {s}.workers (lower(id));

        CREATE TABLE {s}.config (name text PRIMARY KEY, value text NOT NULL);
        """,

        // Version 2: named queues and priorities. Names are stored in lower case (QueueNames). The constant defaults
        // add the columns without rewriting the table, and NOT VALID skips a scan for a check every row passes.
        """
        ALTER TABLE {s}.jobs ADD COLUMN queue text NOT NULL DEFAULT 'default',
            ADD COLUMN priority integer NOT NULL DEFAULT 0,
            ADD COLUMN tags text[];
        ALTER TABLE {s}.jobs ADD CONSTRAINT jobs_priority CHECK (priority BETWEEN -100 AND 100) NOT VALID;
        -- The claim's order: the highest priority, then the earliest due, then the oldest. One index serves a worker
        -- of every queue, the other a worker of some queues (read one queue at a time). jobs_ready stays for the
        -- next due time.
        CREATE INDEX jobs_claim ON {s}.jobs (priority DESC, run_at, seq) WHERE state IN ('Pending', 'Failed');
        CREATE INDEX jobs_claim_queue ON {s}.jobs (queue, priority DESC, run_at, seq) WHERE state IN ('Pending', 'Failed');

        -- Settings of named queues; a queue without a row has the defaults (not paused).
        CREATE TABLE {s}.queues (
            name       text    PRIMARY KEY,
            paused     boolean NOT NULL DEFAULT false,
            changed_at bigint  NOT NULL
        );
        -- The claim's paused-queue filter reads this (workers plan with sequential scans off).
        CREATE INDEX queues_paused ON {s}.queues (name) WHERE paused;
        """,
    };

    public static int CurrentVersion => Migrations.Count;

    /// <summary>The tables every version has: a schema missing one of them was not made by QueueCtl.</summary>
    private static readonly string[] OurTables = ["schema_version", "jobs", "job_count_deltas", "job_output", "workers", "config"];

    /// <summary>
    /// Brings the queue's schema up to date in the session's transaction. A schema already current costs one read. Else
    /// the migration runs under a transaction-scoped advisory lock named after the schema, so many workers opening a
    /// fresh database at once migrate it once; each looks again once it holds the lock. Refuses, without writing, a
    /// schema from a newer QueueCtl (DatabaseTooNew) or one holding tables QueueCtl did not create.
    /// </summary>
    public static void Migrate(PgSession session, PostgresDriver db)
    {
        if (Version(session, db) == CurrentVersion) return;
        session.Execute("SELECT pg_advisory_xact_lock(@key)", Pg.Big("key", LockKey(db.Parsed.Schema)));
        var version = Version(session, db);
        if (version == CurrentVersion) return;
        // Only when missing: CREATE SCHEMA checks the CREATE privilege on the database even when the schema exists, and
        // a DBA may hand out a schema made for the queue to a user without it.
        if (version < 0)
            session.Execute("CREATE SCHEMA IF NOT EXISTS {s}");
        for (var v = Math.Max(version, 0); v < CurrentVersion; v++)
        {
            session.Execute(Migrations[v]);
            session.Execute("INSERT INTO {s}.schema_version (version, applied_at) VALUES (@v, @now)",
                Pg.Int("v", v + 1), Pg.Big("now", session.Now));
        }
    }

    /// <summary>The schema's version: -1 when the schema does not exist, 0 when it holds nothing yet.</summary>
    private static int Version(PgSession session, PostgresDriver db)
    {
        var name = db.Parsed.Schema;
        var tables = session.Query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname = @schema AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            r => r.GetString(0), Pg.Text("schema", name));
        if (tables.Count == 0)
            return session.Scalar<long>("SELECT count(*) FROM pg_namespace WHERE nspname = @schema", Pg.Text("schema", name)) == 0 ? -1 : 0;
        if (!tables.Contains("schema_version") || OurTables.Any(t => !tables.Contains(t)))
            throw new QueueException(QueueErrorCode.DatabaseUnavailable,
                $"The schema '{name}' of '{db.Address}' holds tables that QueueCtl did not create; refusing to change it. Give another schema (?schema=…).");
        var version = (int)session.Scalar<long>("SELECT coalesce(max(version), 0) FROM {s}.schema_version");
        if (version > CurrentVersion)
            throw new QueueException(QueueErrorCode.DatabaseTooNew,
                $"The queue '{db.Address}' has schema version {version}, newer than this QueueCtl understands ({CurrentVersion}). Update QueueCtl.");
        return version;
    }

    /// <summary>A stable 64-bit advisory-lock key for the schema, the same in every process and release.</summary>
    internal static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("queuectl-migrate:" + schema)), 0);
}
