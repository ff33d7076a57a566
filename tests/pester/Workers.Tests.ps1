BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    function Get-SessionId([int] $ProcessId) {
        # Field 6 of /proc/<pid>/stat, counted after the parenthesised command name.
        $stat = Get-Content "/proc/$ProcessId/stat" -Raw
        [int](($stat.Substring($stat.LastIndexOf(')') + 2) -split ' ')[3])
    }
}

Describe 'Detached workers' {
    BeforeEach {
        $db = New-TestQueue
        # Short enough for quick heartbeats; long enough that a worker starting on a loaded machine (its first cycles
        # are slow: ~1 s without a heartbeat on an idle one) is not reported Lost, which Stop-QueueWorker does not wait for.
        Set-QueueConfig -LeaseDuration 10
    }
    AfterEach {
        Get-QueueWorker -State Starting, Running, Stopping -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'returns at once with one worker object per process, and the workers register and run jobs' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $workers = Start-QueueWorker -Count 2 -Concurrency 2
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
        $workers.Count | Should -Be 2
        $workers[0].PSObject.TypeNames[0] | Should -Be 'QueueCtl.QueueWorker'
        $workers | ForEach-Object { $_.ProcessId | Should -BeGreaterThan 0; $_.HostName | Should -Be ([Environment]::MachineName) }
        $jobs = 1..6 | ForEach-Object { "echo $_" } | New-QueueJob
        ($jobs | Wait-QueueJob -Timeout 60).State | Should -Be (@('Completed') * 6)
        # One worker may run all six jobs before the other has registered (a loaded machine starts pwsh slowly).
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 2 } -Because 'both workers to register'
        $listed = Get-QueueWorker
        $listed.State | Should -Be @('Running', 'Running')
        $listed.Concurrency | Should -Be @(2, 2)
        ($listed | Measure-Object JobsDone -Sum).Sum | Should -Be 6
        (Get-QueueStatus).Workers | Should -Be 2
    }

    It 'keeps running after the session that started it exits, in a session of its own' -Skip:(-not $IsLinux) {
        $out = Invoke-ChildPwsh "(Start-QueueWorker -Database '$db').ProcessId"
        $workerPid = [int]($out | Select-Object -Last 1)
        Wait-Until { (Get-QueueWorker).State -eq 'Running' } -Because 'the worker to register'
        Get-SessionId $workerPid | Should -Be $workerPid
        (New-QueueJob 'echo still here' -Id after | Wait-QueueJob -Timeout 30).State | Should -Be 'Completed'
        (Get-QueueJob after).WorkerId | Should -Be (Get-QueueWorker).Id
    }

    It 'logs to a private file in the queue''s worker folder' {
        $worker = Start-QueueWorker
        Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Running' } -Because 'the worker to register'
        $worker.LogPath | Should -Be (Join-Path (Get-TestWorkerFolder $db) "$($worker.Id).log")
        Get-Content $worker.LogPath -Raw | Should -Match "Worker $($worker.Id) started"
        if (-not $IsWindows) { (Get-Item $worker.LogPath).UnixMode | Should -Be '-rw-------' }
    }

    It 'stops gracefully through the queue: the running job finishes, nothing new is claimed' {
        $worker = Start-QueueWorker
        New-QueueJob 'sleep 1.5' -Id inflight | Out-Null
        Wait-Until { (Get-QueueJob inflight).State -eq 'Processing' } -Because 'the job to start'
        New-QueueJob 'true' -Id queued | Out-Null
        $stopped = Stop-QueueWorker $worker.Id -PassThru
        $stopped.State | Should -Be 'Stopped'
        (Get-QueueJob inflight).State | Should -Be 'Completed'
        (Get-QueueJob queued).State | Should -Be 'Pending'
        Wait-Until { -not (Get-Process -Id $worker.ProcessId -ErrorAction SilentlyContinue) } -Because 'the process to exit'
    }

    It 'supports -WhatIf' {
        $worker = Start-QueueWorker
        Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Running' } -Because 'the worker to register'
        Stop-QueueWorker -All -WhatIf
        (Get-QueueWorker $worker.Id).State | Should -Be 'Running'
    }

    It 'treats SIGTERM as a graceful stop' -Skip:$IsWindows {
        $worker = Start-QueueWorker
        New-QueueJob 'sleep 1' -Id inflight | Out-Null
        Wait-Until { (Get-QueueJob inflight).State -eq 'Processing' } -Because 'the job to start'
        kill -TERM $worker.ProcessId
        Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Stopped' } -Because 'the worker to stop'
        (Get-QueueJob inflight).State | Should -Be 'Completed'
    }

    It 'kills at once with -Force, and the running job is recovered and retried' {
        Set-QueueConfig -BackoffMax 0
        $worker = Start-QueueWorker
        New-QueueJob 'sleep 30' -Id victim -MaxRetries 1 | Out-Null
        Wait-Until { (Get-QueueJob victim).State -eq 'Processing' } -Because 'the job to start'
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Stop-QueueWorker $worker.Id -Force
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        Get-Process -Id $worker.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $job = Get-QueueJob victim
        $job.State | Should -Be 'Failed'
        $job.Attempts | Should -Be 1
        (Get-QueueWorker $worker.Id).State | Should -Be 'Stopped'
    }

    It 'reports an unknown worker id as ObjectNotFound' {
        { Stop-QueueWorker nobody -ErrorAction Stop } | Should -Throw -ErrorId 'WorkerNotFound,QueueCtl.PowerShell.Commands.StopQueueWorkerCommand'
        { Get-QueueWorker nobody -ErrorAction Stop } | Should -Throw -ErrorId 'WorkerNotFound,QueueCtl.PowerShell.Commands.GetQueueWorkerCommand'
    }

    It 'takes workers from Get-QueueWorker through the pipeline' {
        Start-QueueWorker -Count 2 | Out-Null
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 2 } -Because 'both workers to register'
        Get-QueueWorker | Stop-QueueWorker -Timeout 30
        (Get-QueueWorker).State | Should -Be @('Stopped', 'Stopped')
    }
}
