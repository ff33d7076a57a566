BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

# The promise: a job handed to the queue runs, exactly one worker runs it at a time, and nothing is lost when a
# process dies.
Describe 'Crash safety' -Tag Crash {
    BeforeEach {
        $db = New-TestQueue
        $folder = Split-Path $db
        # Short leases and no backoff keep recovery quick; the mechanism is the same at any length.
        Set-QueueConfig -LeaseDuration 3 -BackoffMax 0
    }
    AfterEach {
        Get-QueueWorker -State Starting, Running, Stopping -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'runs every job exactly once with several worker processes and several enqueuing processes at once' {
        $log = Join-Path $folder 'ran.txt'
        Start-QueueWorker -Count 3 -Concurrency 2 | Out-Null
        $enqueuers = 1..3 | ForEach-Object {
            Start-ChildPwsh "1..100 | ForEach-Object { [pscustomobject]@{ Id = 'e$_-' + `$_; Command = 'echo `$QUEUECTL_JOB_ID >> ''$log''' } } | New-QueueJob -Database '$db' | Out-Null"
        }
        foreach ($p in $enqueuers) {
            $p.WaitForExit(120000) | Should -BeTrue
            $p.ExitCode | Should -Be 0 -Because $p.StandardError.ReadToEnd()
        }
        $expected = foreach ($e in 1..3) { foreach ($n in 1..100) { "e$e-$n" } }
        $finished = Wait-QueueJob -Id $expected -Timeout 120
        $finished.Count | Should -Be 300
        ($finished | Where-Object State -NE 'Completed') | Should -BeNullOrEmpty
        $ran = Get-Content $log
        $ran.Count | Should -Be 300
        ($ran | Sort-Object -Unique).Count | Should -Be 300
        Compare-Object ($ran | Sort-Object) ($expected | Sort-Object) | Should -BeNullOrEmpty
        (Get-QueueStatus).Pending + (Get-QueueStatus).Processing | Should -Be 0
        @(Get-QueueWorker | Where-Object JobsDone -GT 0).Count | Should -BeGreaterThan 1
    }

    It 'runs a job again on another worker when its worker is killed with SIGKILL mid-run, and kills the orphaned run' -Skip:$IsWindows {
        $log = Join-Path $folder 'runs.txt'
        $workers = Start-QueueWorker -Count 2
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 2 } -Because 'both workers to register'
        New-QueueJob "sleep 3; echo `$QUEUECTL_JOB_RUN >> '$log'" -Id sleeper -MaxRetries 2 | Out-Null
        Wait-Until { (Get-QueueJob sleeper).State -eq 'Processing' } -Because 'the job to start'
        $victim = $workers | Where-Object Id -EQ (Get-QueueJob sleeper).WorkerId
        Start-Sleep -Milliseconds 500
        kill -KILL $victim.ProcessId

        $job = Wait-QueueJob sleeper -Timeout 60
        $job.State | Should -Be 'Completed'
        $job.Attempts | Should -Be 2
        $job.WorkerId | Should -Not -Be $victim.Id
        $job.Errors[0].Error | Should -Match "Worker '$($victim.Id)' was lost"
        (Get-QueueWorker $victim.Id).State | Should -Be 'Lost'
        # The killed run's shell was killed with it: only the second run ever wrote.
        Get-Content $log | Should -Be @('2')
    }

    It 'keeps every job in a sensible state when everything is killed, and finishes them all after a restart' -Skip:$IsWindows {
        $jobs = 1..30 | ForEach-Object { "sleep 0.2; echo $_" } | New-QueueJob
        $workers = Start-QueueWorker -Count 2 -Concurrency 2
        Wait-Until { (Get-QueueStatus).Completed -ge 4 } -Because 'some jobs to complete'
        $workers | ForEach-Object { kill -KILL $_.ProcessId }
        Wait-Until { -not ($workers | Where-Object { Get-Process -Id $_.ProcessId -ErrorAction SilentlyContinue }) } -Because 'the workers to die'

        $status = Get-QueueStatus
        $status.Total | Should -Be 30
        $status.Dead + $status.Cancelled | Should -Be 0
        (Get-QueueJob).State | ForEach-Object { $_ | Should -BeIn @('Pending', 'Processing', 'Completed', 'Failed') }

        Start-QueueWorker -Count 2 -Concurrency 2 | Out-Null
        $done = $jobs | Wait-QueueJob -Timeout 90
        $done.Count | Should -Be 30
        ($done | Where-Object State -NE 'Completed') | Should -BeNullOrEmpty
        (Get-QueueWorker -State Lost).Count | Should -Be 2
    }
}
