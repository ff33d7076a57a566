BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

# The original queuectl's scenarios, run by a foreground worker in this session.
Describe 'Seed scenarios' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'runs a job that succeeds' {
        New-QueueJob 'echo Hello' -Id ok | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
        $job = Get-QueueJob ok
        $job.State | Should -Be 'Completed'
        $job.Attempts | Should -Be 1
        $job.ExitCode | Should -Be 0
        $job.FinishedAt | Should -BeGreaterOrEqual $job.StartedAt
    }

    It 'retries a failing job with exponential backoff, then moves it to the DLQ' {
        Set-QueueConfig -BackoffBase 1.5
        New-QueueJob 'echo broken >&2; exit 1' -Id fail -MaxRetries 2 | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
        $job = Get-QueueJob fail
        $job.State | Should -Be 'Dead'
        $job.Attempts | Should -Be 3
        $job.LastError | Should -Be 'Exited with code 1: broken'
        $job.Errors.Count | Should -Be 3
        # base^1 = 1.5 s after the first failure, base^2 = 2.25 s after the second.
        ($job.Errors[1].At - $job.Errors[0].At).TotalSeconds | Should -BeGreaterOrEqual 1.5
        ($job.Errors[2].At - $job.Errors[1].At).TotalSeconds | Should -BeGreaterOrEqual 2.25
        (Get-QueueJob -State Dead).Id | Should -Be 'fail'
    }

    It 'fails an invalid command cleanly' {
        New-QueueJob 'no-such-command-qq' -Id invalid -MaxRetries 0 | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
        $job = Get-QueueJob invalid
        $job.State | Should -Be 'Dead'
        $job.ExitCode | Should -Be 127
        $job.LastError | Should -Match 'no-such-command-qq.*not found'
    }

    It 'keeps jobs across a restart of the process' {
        Invoke-ChildPwsh "New-QueueJob 'echo persisted' -Id survivor -Database '$db' | Out-Null"
        $LASTEXITCODE | Should -Be 0
        (Get-QueueJob survivor).State | Should -Be 'Pending'
        Invoke-ChildPwsh "Start-QueueWorker -Foreground -UntilEmpty -Database '$db'"
        (Get-QueueJob survivor).State | Should -Be 'Completed'
    }

    It 'applies config changes to the next jobs and runs' {
        Set-QueueConfig -MaxRetries 0 -JobTimeout 1
        New-QueueJob 'sleep 10' -Id slow | Out-Null
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Start-QueueWorker -Foreground -UntilEmpty
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 8
        $job = Get-QueueJob slow
        $job.State | Should -Be 'Dead'
        $job.LastError | Should -Match 'Timed out after 1 s'
    }

    It 'stops a foreground worker on SIGTERM only after its running job finished' -Skip:$IsWindows {
        New-QueueJob 'sleep 2; echo finished' -Id inflight | Out-Null
        New-QueueJob 'true' -Id never -RunAt ([DateTime]::UtcNow.AddSeconds(20)) | Out-Null
        $worker = Start-ChildPwsh "Start-QueueWorker -Foreground -Database '$db'"
        Wait-Until { (Get-QueueJob inflight).State -eq 'Processing' } -Because 'the job to start'
        kill -TERM $worker.Id
        $worker.WaitForExit(30000) | Should -BeTrue
        (Get-QueueJob inflight).State | Should -Be 'Completed'
        (Get-QueueJob never).State | Should -Be 'Pending'
    }
}

# README's first command runs this demo: it must keep working against the staged module.
# NoQueue: the demo makes its own SQLite queue file, whatever the test driver.
Describe 'The demo' -Tag NoQueue {
    It 'enqueues, runs, shows the results and the DLQ, and stops its workers, exiting 0' {
        $pwsh = @(Get-PwshCommand)
        $demo = Join-Path $PSScriptRoot '../../demo/Demo.ps1'
        $exe = $pwsh[0]; $rest = @($pwsh | Select-Object -Skip 1)
        $output = & $exe @rest -NoLogo -NoProfile -NonInteractive -File $demo -ModulePath $env:QUEUECTL_TEST_MODULE 2>&1 | Out-String
        $output = $output -replace "`e\[[0-9;]*m", ''
        $LASTEXITCODE | Should -Be 0 -Because $output
        $output | Should -Match 'stderr: cannot reach the server'
        $output | Should -Match 'LastError : Exited with code 3'
        $output | Should -Match 'Stopped'
    }
}
