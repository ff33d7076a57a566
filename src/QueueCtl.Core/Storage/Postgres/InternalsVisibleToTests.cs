using System.Runtime.CompilerServices;

// The PostgreSQL tests open the driver with a stamping clock (PostgresDriver.Open(…, stampClock)), which is internal.
[assembly: InternalsVisibleTo("QueueCtl.Postgres.Tests")]
