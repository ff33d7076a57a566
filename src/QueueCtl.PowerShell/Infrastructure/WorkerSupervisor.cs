namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The /bin/sh loop that keeps a detached worker running (Unix). With its own streams and the worker's on the log, it
/// starts the worker and waits. Exit code 0 is a stop on purpose (Stop-QueueWorker, SIGTERM): the loop ends. Any other end (SIGKILL, a crash,
/// the OOM killer) is logged with its cause and the worker is started again under the same id, after a backoff; after
/// <see cref="QuickDeaths"/> deaths in a row each within <see cref="QuickSeconds"/> s of its start it gives up and says
/// so. SIGTERM to the supervisor stops the worker gracefully and ends the loop; SIGHUP and SIGINT (a closed terminal,
/// Ctrl+C in the session that started it) are ignored, while the worker itself gets default dispositions.
/// Stop-QueueWorker -Force kills the supervisor before the worker, so nothing restarts it.
/// </summary>
internal static class WorkerSupervisor
{
    public const int QuickDeaths = 5;
    public const int QuickSeconds = 60;

    /// <summary>The script for <c>/bin/sh -c</c>; its positional parameters are the worker's command line.</summary>
    public static string Script => $$"""
        # Nothing may hold the caller's streams: a pipe to the command that started it would never close.
        exec </dev/null >>"$QUEUECTL_WORKER_LOG" 2>&1
        id=$QUEUECTL_SUPERVISED_WORKER
        unset QUEUECTL_SUPERVISED_WORKER
        say() { printf '%s Supervisor  %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$*"; }
        child=
        stopping=
        trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM
        trap : HUP INT
        # A background command of a shell without job control starts with SIGINT and SIGQUIT ignored, and the worker's
        # jobs would inherit that: GNU env puts them back to default (elsewhere they stay ignored).
        restore=
        env --default-signal=INT,QUIT true 2>/dev/null && restore="env --default-signal=INT,QUIT"
        quick=0
        while :; do
            started=$(date +%s)
            $restore "$@" &
            child=$!
            while :; do
                wait "$child"; code=$?
                kill -0 "$child" 2>/dev/null || break
            done
            [ "$code" -eq 0 ] && exit 0
            if [ "$code" -gt 128 ]; then
                cause="killed by signal $((code - 128)) (SIG$(kill -l $((code - 128)) 2>/dev/null))"
            else
                cause="exited with code $code"
            fi
            if [ -n "$stopping" ]; then say "Worker $id (pid $child) $cause while stopping."; exit "$code"; fi
            if [ $(( $(date +%s) - started )) -lt {{QuickSeconds}} ]; then quick=$((quick + 1)); else quick=0; fi
            if [ "$quick" -ge {{QuickDeaths}} ]; then
                say "Worker $id (pid $child) $cause; it died $quick times in a row within {{QuickSeconds}} s of starting: not restarting it."
                exit "$code"
            fi
            delay=1
            [ "$quick" -gt 1 ] && delay=$(( 1 << (quick - 1) ))
            say "Worker $id (pid $child) $cause unexpectedly; restarting it in $delay s."
            sleep "$delay" &
            child=$!
            wait "$child"
            [ -n "$stopping" ] && exit "$code"
        done
        """;
}
