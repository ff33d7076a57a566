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

    Step 'Enqueue: one job that succeeds, one that fails and retries into the DLQ, one that prints output.'
    $printer = if ($IsWindows) { 'for /L %i in (1,1,3) do @echo line %i' } else { 'for i in 1 2 3; do echo "line $i"; done' }
    & {
        New-QueueJob 'echo "Hello from QueueCtl"' -Id hello
        New-QueueJob 'echo "cannot reach the server" >&2; exit 3' -Id flaky -MaxRetries 2
        New-QueueJob $printer -Id printer
        New-QueueJob -Json '{"id":"from-json","command":"echo enqueued the original way","max_retries":1}'
    } | Format-Table Id, State, MaxRetries, Command
    Get-QueueStatus | Format-Table Pending, Processing, Completed, Failed, Dead

    Step 'Run a worker (two jobs at a time) until the queue is empty.'
    Start-QueueWorker -Foreground -UntilEmpty -Concurrency 2 -InformationAction Continue

    Step 'The result'
    Get-QueueStatus | Format-Table Pending, Processing, Completed, Failed, Dead, Workers
    Get-QueueJob | Format-Table Id, State, Attempts, ExitCode, LastError -AutoSize

    Step 'The dead letter queue'
    Get-QueueJob -State Dead | Format-List Id, Command, Attempts, LastError, @{ n = 'Errors'; e = { $_.Errors.Count } }
}
finally {
    Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
}
