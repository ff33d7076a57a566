# Several machines on one PostgreSQL queue: real workers on network-namespace hosts (build/TestHosts.sh), each with its
# own hostname and its own link to the test server (which a test cuts), and the server restarted in mid-drain.
# build.ps1 Test makes the hosts (root on Linux); without them these tests skip, loudly (under CI=true they fail).

BeforeDiscovery {
    . $PSScriptRoot/MultiHostHelpers.ps1
    $script:SkipMultiHost = Test-SkipMultiHostTests
}

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    . $PSScriptRoot/TestPostgres.ps1
    . $PSScriptRoot/MultiHostHelpers.ps1
    # Restart-TestPostgres and Invoke-Psql.
    . $PSScriptRoot/../../build/TestPostgres.ps1
}

# NoQueue: makes its own PostgreSQL queues, whatever the pass's driver; the PostgreSQL pass leaves it out.
Describe 'Workers on several hosts' -Tag 'MultiHost', 'NoQueue' -Skip:$SkipMultiHost {
    BeforeEach {
        $folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-multihost-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory $folder
        $db = New-TestPostgresSchemaAddress
        $env:QUEUECTL_DATABASE = $db
        $workers = @{}
        $logs = @{ 1 = Join-Path $folder 'host-one.log'; 2 = Join-Path $folder 'host-two.log' }
        $names = @{ 1 = 'host-one'; 2 = 'host-two' }
        function Start-Worker([int[]] $HostNumber, [int] $Concurrency = 1) {
            # Starts a worker on each host at once (pwsh takes seconds to start), then waits for each to register.
            foreach ($n in $HostNumber) {
                $workers[$n] = Start-HostWorker -HostNumber $n -HostName $names[$n] -Concurrency $Concurrency `
                    -Address (Get-HostQueueAddress $db $n) -LogPath $logs[$n]
            }
            foreach ($n in $HostNumber) { Wait-HostWorker $names[$n] $workers[$n] $logs[$n] }
        }
    }
    AfterEach {
        foreach ($process in $workers.Values) { Stop-HostWorker $process }
        foreach ($n in 1, 2) { try { Invoke-TestHosts restore $n } catch { Write-Warning $_ } }
        Remove-TestSchema $db
        Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
        $env:QUEUECTL_DATABASE = $null
    }

    It 'spreads jobs over both hosts and runs each exactly once' {
        $file = Join-Path $folder 'ran.txt'
        Start-Worker 1, 2 -Concurrency 2 | Out-Null
        $jobs = 1..200 | ForEach-Object { "echo `"`$QUEUECTL_JOB_ID `$(hostname)`" >> '$file'; sleep 0.02" } | New-QueueJob
        $done = $jobs | Wait-QueueJob -Timeout 60
        @($done).Count | Should -Be 200 -Because (Get-LogTail $logs.Values)

        (Get-QueueStatus).Completed | Should -Be 200
        $lines = @(Get-Content $file)
        $lines.Count | Should -Be 200
        $ids = $lines | ForEach-Object { ($_ -split ' ')[0] }
        @($ids | Sort-Object -Unique).Count | Should -Be 200
        Compare-Object ($jobs.Id | Sort-Object) ($ids | Sort-Object) | Should -BeNullOrEmpty
        $lines | ForEach-Object { ($_ -split ' ')[1] } | Sort-Object -Unique | Should -Be @('host-one', 'host-two')
        (Get-QueueWorker | Sort-Object HostName).HostName | Should -Be @('host-one', 'host-two')
    }

    Context 'a host cut off from the server in mid-run' {
        BeforeEach {
            Set-QueueConfig -LeaseDuration 3
            Set-QueueConfig -BackoffBase 1
            $file = Join-Path $folder 'runs.txt'
            $pidFile = Join-Path $folder 'run.pid'
            # Each run notes an earlier run that is still alive (same pid space on every host), then runs for 15 s.
            $command = "if [ -f '$pidFile' ] && kill -0 `$(cat '$pidFile') 2>/dev/null; then echo `"OVERLAP `$(cat '$pidFile') `$`$`" >> '$file'; fi; " +
                "echo `$`$ > '$pidFile'; echo `"start `$`$ `$(hostname)`" >> '$file'; sleep 15; echo `"end `$`$ `$(hostname)`" >> '$file'"

            function Start-CutOffRun {
                # Host-one's worker starts the job, then loses its link; returns the worker and the run's pid.
                $one = Start-Worker 1
                New-QueueJob $command -Id moved -MaxRetries 2 | Out-Null
                Wait-Until { (Get-QueueJob moved).State -eq 'Processing' -and (Get-Content $file -ErrorAction Ignore) -match '^start' } -Because 'the job to start on host-one'
                (Get-QueueJob moved).WorkerId | Should -Be $one.Id
                Invoke-TestHosts cut 1
                return $one, [int] ((Get-Content $file) -replace '^start (\d+) .*', '$1')
            }

            function Assert-TakenOver($One, $Two) {
                $job = Wait-QueueJob moved -Timeout 40
                $job.State | Should -Be 'Completed' -Because (Get-LogTail $logs.Values)
                $job.WorkerId | Should -Be $Two.Id
                $job.Runs | Should -Be 2
                $lines = @(Get-Content $file)
                $lines | Should -Not -Match '^OVERLAP'
                @($lines -match '^start \d+ host-one$').Count | Should -Be 1
                @($lines -match '^end \d+ host-one$').Count | Should -Be 0 -Because 'the cut-off run must be killed'
                @($lines -match '^start \d+ host-two$').Count | Should -Be 1
                @($lines -match '^end \d+ host-two$').Count | Should -Be 1

                # Back on the network, host-one's worker carries on, and its result for the lost run changes nothing.
                $before = (Get-QueueWorker $One.Id).HeartbeatAt
                Invoke-TestHosts restore 1
                Wait-Until -TimeoutSeconds 30 -Because 'host-one''s worker to heartbeat again' {
                    if ($workers[1].HasExited) { throw "host-one's worker exited: $(Get-LogTail $logs[1], "$($logs[1]).console")" }
                    (Get-QueueWorker $One.Id).HeartbeatAt -gt $before
                }
                (Get-QueueWorker $One.Id).State | Should -Be 'Running'
                # A worker records its held results before it heartbeats, in the same storage cycle.
                $job = Get-QueueJob moved
                $job.State | Should -Be 'Completed'
                $job.WorkerId | Should -Be $Two.Id
                $job.Runs | Should -Be 2
                @($job.Errors).Count | Should -Be 1
                $job.Errors[0].Run | Should -Be 1
            }
        }

        # The cut-off worker is stuck in a storage call for seconds (until its command times out), yet its run must stop
        # before its 3 s lease ends: each run's fence timer fires without waiting on storage.
        It 'stops the cut-off run before its lease runs out, so the run on the other host never overlaps it' {
            $one, $null = Start-CutOffRun
            $two = Start-Worker 2
            Assert-TakenOver $one $two
        }

        It 'moves the job to the other host once the cut-off run is stopped; back online, the cut-off host carries on and its stale result changes nothing' {
            $one, $runPid = Start-CutOffRun
            $cut = [Diagnostics.Stopwatch]::StartNew()
            # Host-two starts only after host-one fenced its run.
            Wait-Until -TimeoutSeconds 30 -Because 'host-one to kill its cut-off run' { -not (Test-Path "/proc/$runPid") }
            Write-Host "Host-one's cut-off run was gone $([int] $cut.Elapsed.TotalMilliseconds) ms after the cut (lease 3 s; it would have run 15 s)."
            $two = Start-Worker 2
            Assert-TakenOver $one $two
        }
    }

    It 'drains on both hosts through a server restart: every job completes, and no two runs of a job overlap' {
        Set-QueueConfig -LeaseDuration 3
        Set-QueueConfig -BackoffBase 1
        $file = Join-Path $folder 'runs.txt'
        $pids = Join-Path $folder 'pids'
        $null = New-Item -ItemType Directory $pids
        Start-Worker 1, 2 -Concurrency 4 | Out-Null
        $command = "p='$pids'/`$QUEUECTL_JOB_ID; if [ -f `$p ] && kill -0 `$(cat `$p) 2>/dev/null; then echo `"OVERLAP `$QUEUECTL_JOB_ID`" >> '$file'; fi; " +
            "echo `$`$ > `$p; echo `"run `$QUEUECTL_JOB_ID `$QUEUECTL_JOB_RUN`" >> '$file'; sleep 0.05"
        $jobs = 1..300 | ForEach-Object { [pscustomobject] @{ Id = "drain-$_"; Command = $command; MaxRetries = 5 } } | New-QueueJob
        $info = Get-Content $env:QUEUECTL_TEST_POSTGRES_INFO -Raw | ConvertFrom-Json
        Wait-Until -TimeoutSeconds 30 -Because '50 jobs to complete' { (Get-QueueStatus).Completed -ge 50 }

        $restart = [Diagnostics.Stopwatch]::StartNew()
        $completedBefore = (Get-QueueStatus).Completed
        Restart-TestPostgres $info
        $restart.Stop()
        $failedReads = [ref] 0
        Wait-Until -TimeoutSeconds 60 -Because 'every job to complete' {
            # A pooled connection of this session from before the restart fails on its first use.
            try { (Get-QueueStatus).Completed -eq 300 } catch { $failedReads.Value++; $false }
        }
        $completedBefore | Should -BeLessThan 300 -Because 'the server must restart in mid-drain'

        $all = @(Get-QueueJob)
        $all.Count | Should -Be 300
        @($all | Where-Object State -NE 'Completed').Count | Should -Be 0
        $lines = @(Get-Content $file)
        $lines | Should -Not -Match '^OVERLAP'
        $byId = $lines | ForEach-Object { ($_ -split ' ')[1] } | Group-Object -AsHashTable
        $lineCount = { param($Id) if ($byId.ContainsKey($Id)) { @($byId[$Id]).Count } else { 0 } }
        $mismatched = @($all | Where-Object { (& $lineCount $_.Id) -ne $_.Runs } | ForEach-Object { "$($_.Id): $(& $lineCount $_.Id) line(s), Runs $($_.Runs)" })
        $mismatched | Should -BeNullOrEmpty
        $again = @($all | Where-Object Runs -GT 1)
        Write-Host "Server restart took $([int] $restart.Elapsed.TotalMilliseconds) ms; $($again.Count) of 300 jobs ran more than once ($(($again | ForEach-Object { "$($_.Id)x$($_.Runs)" }) -join ', ')); $($failedReads.Value) failed status read(s) after the restart; $completedBefore jobs had completed before it."
    }

    It 'records the results held through an outage longer than the lease, without running a finished job again' {
        Set-QueueConfig -LeaseDuration 3
        Set-QueueConfig -BackoffBase 1
        $file = Join-Path $folder 'runs.txt'
        Start-Worker 1, 2 -Concurrency 4 | Out-Null
        $command = "echo `"start `$QUEUECTL_JOB_ID `$QUEUECTL_JOB_RUN`" >> '$file'; sleep 1; echo `"end `$QUEUECTL_JOB_ID `$QUEUECTL_JOB_RUN`" >> '$file'"
        $jobs = 1..64 | ForEach-Object { [pscustomobject] @{ Id = "held-$_"; Command = $command; MaxRetries = 5 } } | New-QueueJob
        $info = Get-Content $env:QUEUECTL_TEST_POSTGRES_INFO -Raw | ConvertFrom-Json
        Wait-Until -TimeoutSeconds 30 -Because '8 jobs to complete' { (Get-QueueStatus).Completed -ge 8 }

        $completedBefore = (Get-QueueStatus).Completed
        # Down for 5 s: every lease (3 s) runs out meanwhile, while the runs (1 s) end and their results are held.
        Restart-TestPostgres $info -DownSeconds 5
        Wait-Until -TimeoutSeconds 60 -Because 'every job to complete' {
            try { (Get-QueueStatus).Completed -eq 64 } catch { $false }
        }
        $completedBefore | Should -BeLessThan 56 -Because 'jobs must be running when the server stops'

        $all = @(Get-QueueJob)
        @($all | Where-Object State -NE 'Completed').Count | Should -Be 0
        $lines = @(Get-Content $file)
        $starts = @($lines -match '^start ').Count
        $again = @($all | Where-Object Runs -GT 1)
        Write-Host "$completedBefore of 64 jobs had completed before the outage; $starts runs started; $($again.Count) job(s) ran more than once ($(($again | ForEach-Object { "$($_.Id)x$($_.Runs): $($_.Errors.Error -join '; ')" }) -join ' | '))."
        $again | Should -BeNullOrEmpty -Because 'a run that ended during the outage is recorded once the server is back, not run again'
        $starts | Should -Be 64
    }
}
