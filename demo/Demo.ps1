<#
.SYNOPSIS
    QueueCtl in one minute: enqueue a few jobs, run a worker, look at the result. Uses a throwaway queue.
#>
param([Parameter(Mandatory)][string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'QueueCtl.psd1')

$folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-demo-$PID"
$null = New-Item -ItemType Directory $folder -Force
$PSDefaultParameterValues['*-Queue*:Database'] = Join-Path $folder 'queue.db'

function Step([string] $Text) { Write-Host "`n# $Text" -ForegroundColor Cyan }

try {
    Step 'Retries wait backoff-base^attempt seconds; 1.5 keeps the demo short.'
    Set-QueueConfig -BackoffBase 1.5

    Step 'Start two detached worker processes (they would outlive this session).'
    Start-QueueWorker -Count 2 | Format-Table Id, ProcessId, HostName, State

    Step 'Enqueue: one job that succeeds, one that fails and retries into the DLQ, one that prints, one script block.'
    $printer = if ($IsWindows) { 'for /L %i in (1,1,3) do @echo line %i' } else { 'for i in 1 2 3; do echo "line $i"; done' }
    $jobs = & {
        New-QueueJob 'echo "Hello from QueueCtl"' -Id hello
        New-QueueJob 'echo "cannot reach the server" >&2; exit 3' -Id flaky -MaxRetries 2
        New-QueueJob $printer -Id printer
        New-QueueJob -ScriptBlock { param($n) [pscustomobject]@{ Squares = (1..$n | ForEach-Object { $_ * $_ }) -join ','; RanOn = $QueueJob.WorkerId } } -ArgumentList 5 -Id script
        New-QueueJob -Json '{"id":"from-json","command":"echo enqueued the original way","max_retries":1}'
    }
    $jobs | Format-Table Id, Kind, State, MaxRetries, Command

    Step 'Wait for all of them (the flaky one needs 1.5 s + 2.25 s of backoff).'
    $jobs | Wait-QueueJob -Timeout 60 | Format-Table Id, State, Attempts, ExitCode, WorkerId, LastError -AutoSize

    Step 'What they printed'
    Receive-QueueJob printer | Out-Host
    Receive-QueueJob script | Format-Table | Out-Host
    # Standard error comes back as error records: merge them in (this script otherwise stops at the first error).
    Receive-QueueJob flaky -ErrorAction Continue 2>&1 | ForEach-Object { "stderr: $_" } | Out-Host

    Step 'The queue and its workers'
    Get-QueueStatus | Format-Table Pending, Processing, Completed, Failed, Dead, Workers
    Get-QueueWorker | Format-Table Id, ProcessId, State, JobsDone, JobsFailed

    Step 'The dead letter queue'
    Get-QueueJob -State Dead | Format-List Id, Command, Attempts, LastError, @{ n = 'Errors'; e = { $_.Errors.Count } }

    Step 'Stop the workers (each finishes its running job first).'
    Stop-QueueWorker -All -PassThru | Format-Table Id, State, JobsDone
}
finally {
    Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
    Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
}
