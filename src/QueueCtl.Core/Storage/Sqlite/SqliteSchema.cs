namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// The versioned schema. Each entry of <see cref="Migrations"/> moves a database from version i to i + 1 and is
/// applied once, in order, inside one write transaction; PRAGMA user_version records how far a database has come.
/// Never edit a released migration: add a new one.
/// </summary>
internal static class SqliteSchema
{
    public static IReadOnlyList<string> Migrations { get; } = new[]
    {
        // Version 1.
        """
        CREATE TABLE jobs (
            seq               INTEGER PRIMARY KEY,
            id                TEXT    NOT NULL UNIQUE COLLATE NOCASE,
            kind              TEXT    NOT NULL DEFAULT 'Command' CHECK (kind IN ('Command', 'ScriptBlock')),
            command           TEXT    NOT NULL CHECK (kind = 'ScriptBlock' OR length(trim(command)) > 0),
            arguments         TEXT,
            working_directory TEXT,
            state             TEXT    NOT NULL DEFAULT 'Pending'
                              CHECK (state IN ('Pending', 'Processing', 'Completed', 'Failed', 'Dead', 'Cancelled')),
            attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            runs              INTEGER NOT NULL DEFAULT 0 CHECK (runs >= attempts),
            max_retries       INTEGER NOT NULL CHECK (max_retries >= 0),
            timeout_ms        INTEGER CHECK (timeout_ms IS NULL OR timeout_ms > 0),
            run_at            INTEGER NOT NULL,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            started_at        INTEGER,
            finished_at       INTEGER,
            exit_code         INTEGER,
            last_error        TEXT,
            errors            TEXT,
            worker_id         TEXT,
            lease_until       INTEGER,
            cancel_requested  INTEGER NOT NULL DEFAULT 0,
            CHECK ((state IN ('Completed', 'Dead', 'Cancelled')) = (finished_at IS NOT NULL)),
            CHECK ((state = 'Processing') = (lease_until IS NOT NULL)),
            CHECK (state <> 'Processing' OR worker_id IS NOT NULL)
        );

        -- The claim reads only this partial index, so finished jobs never slow it down.
        CREATE INDEX jobs_ready ON jobs (run_at, seq) WHERE state IN ('Pending', 'Failed');
        CREATE INDEX jobs_state ON jobs (state, seq);
        CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'Processing';

        -- Per-state counts, so status costs the same for ten jobs or ten million. Triggers keep them through updates
        -- and deletes; SqliteJobStore.Enqueue adds each batch of inserts at once (a per-row insert trigger would cost more
        -- than the rest of the insert).
        CREATE TABLE job_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO job_counts (state, n) VALUES
            ('Pending', 0), ('Processing', 0), ('Completed', 0), ('Failed', 0), ('Dead', 0), ('Cancelled', 0);
        CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
            UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
            DELETE FROM job_output WHERE job_seq = OLD.seq;
        END;
        CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN
            UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
            UPDATE job_counts SET n = n + 1 WHERE state = NEW.state;
        END;

        -- What each run printed: the tail of stdout and stderr, and how many bytes were dropped before it.
        CREATE TABLE job_output (
            job_seq        INTEGER NOT NULL,
            run            INTEGER NOT NULL,
            format         TEXT    NOT NULL CHECK (format IN ('Text', 'CliXml')),
            stdout         TEXT    NOT NULL,
            stderr         TEXT    NOT NULL,
            stdout_dropped INTEGER NOT NULL DEFAULT 0,
            stderr_dropped INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_seq, run)
        ) WITHOUT ROWID;

        CREATE TABLE workers (
            id                 TEXT    PRIMARY KEY COLLATE NOCASE,
            host               TEXT    NOT NULL,
            pid                INTEGER NOT NULL,
            process_started_at INTEGER,
            state              TEXT    NOT NULL CHECK (state IN ('Starting', 'Running', 'Stopping', 'Stopped', 'Lost')),
            concurrency        INTEGER NOT NULL CHECK (concurrency > 0),
            started_at         INTEGER NOT NULL,
            heartbeat_at       INTEGER NOT NULL,
            stopped_at         INTEGER,
            stop_requested     INTEGER NOT NULL DEFAULT 0,
            jobs_done          INTEGER NOT NULL DEFAULT 0,
            jobs_failed        INTEGER NOT NULL DEFAULT 0,
            log_path           TEXT,
            version            TEXT
        ) WITHOUT ROWID;

        CREATE TABLE config (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """,

        // Version 2: named queues and priorities. Names are stored in lower case (QueueNames).
        """
        ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
        ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100);
        ALTER TABLE jobs ADD COLUMN tags TEXT; -- a JSON array of strings, or NULL for none
        -- The claim's order: the highest priority, then the earliest due, then the oldest. One index serves a worker
        -- of every queue, the other a worker of some queues (read one queue at a time). jobs_ready stays for the
        -- next due time.
        CREATE INDEX jobs_claim ON jobs (priority DESC, run_at, seq) WHERE state IN ('Pending', 'Failed');
        CREATE INDEX jobs_claim_queue ON jobs (queue, priority DESC, run_at, seq) WHERE state IN ('Pending', 'Failed');

        -- Settings of named queues; a queue without a row has the defaults (not paused).
        CREATE TABLE queues (
            name       TEXT    PRIMARY KEY,
            paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
            changed_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX queues_paused ON queues (name) WHERE paused = 1;
        """,
    };

    public static int CurrentVersion => Migrations.Count;
}
