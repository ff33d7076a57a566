BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

# The promise: a job handed to the queue runs, exactly one worker runs it at a time, and nothing is lost when a
# process dies.
Describe 'Crash safety' -Tag Crash {
    BeforeEach {
        $db = New-TestQueue
        $folder = Get-TestFolder $db
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
        # The worker and its supervisor (the pid Start-QueueWorker reported), so it is not restarted.
        kill -KILL $victim.ProcessId (Get-QueueWorker $victim.Id).ProcessId

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
        # Supervisors (the pids Start-QueueWorker reported) and workers alike.
        $pids = @($workers.ProcessId) + @((Get-QueueWorker).ProcessId)
        kill -KILL @pids
        Wait-Until { -not ($pids | Where-Object { Get-Process -Id $_ -ErrorAction SilentlyContinue }) } -Because 'the workers to die'

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

    It 'never lets the run of a frozen worker (kill -STOP) overlap the run that replaces it' -Skip:$IsWindows {
        $log = Join-Path $folder 'runs.txt'
        $workers = Start-QueueWorker -Count 2
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 2 } -Because 'both workers to register'
        # The first run, frozen with its worker, would go on for 30 s and writes a tick every 0.2 s: it cannot end by
        # itself before the rescue kills it, even on a slow machine (with a plain 6 s sleep it sometimes did, and its
        # thawed worker then took the retry), and any tick after the next run's start is an overlap.
        $first = "i=0; while [ `$i -lt 150 ]; do sleep 0.2; echo tick `$`$ >> '$log'; i=`$((i+1)); done"
        New-QueueJob "echo start `$`$ >> '$log'; if [ `"`$QUEUECTL_JOB_RUN`" = 1 ]; then $first; else sleep 6; fi; echo end `$`$ >> '$log'" -Id frozen -MaxRetries 2 | Out-Null
        Wait-Until { (Get-QueueJob frozen).State -eq 'Processing' -and (Test-Path $log) } -Because 'the job to start'
        $victim = $workers | Where-Object Id -EQ (Get-QueueJob frozen).WorkerId
        $victim = Get-QueueWorker $victim.Id # the worker's own pid, not its supervisor's
        kill -STOP $victim.ProcessId
        try {
            # Stay frozen until a run has ended: long enough for the first run to have ended too, had it not been killed.
            Wait-Until { (Get-Content $log) -match '^end' } -TimeoutSeconds 60 -Because 'a run to end'
        }
        finally {
            kill -CONT $victim.ProcessId
        }

        $job = Wait-QueueJob frozen -Timeout 60
        $job.State | Should -Be 'Completed'
        $job.Runs | Should -Be 2
        $job.WorkerId | Should -Not -Be $victim.Id
        $lines = @(Get-Content $log)
        # Each run's lines are together: once another run has written, an earlier one never writes again.
        $turns = [Collections.Generic.List[string]]::new()
        foreach ($writer in $lines | ForEach-Object { ($_ -split ' ')[1] }) { if ($turns.Count -eq 0 -or $turns[-1] -ne $writer) { $turns.Add($writer) } }
        $turns.Count | Should -Be ($turns | Sort-Object -Unique).Count -Because ($lines -join '; ')
        @($lines -match '^end').Count | Should -Be 1 -Because ($lines -join '; ')
        # The frozen worker carries on once it is thawed.
        Start-Sleep -Seconds 1
        Get-Process -Id $victim.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty
    }

    # SqliteOnly: the lock is SQLite's file write lock (BEGIN IMMEDIATE on a raw SqliteConnection).
    It 'keeps workers running through a write lock held longer than the lease, and records every finished run once' -Tag SqliteOnly -Skip:$IsWindows {
        $ran = Join-Path $folder 'ran.txt'
        $go = Join-Path $folder 'go'
        $ids = 1..4 | ForEach-Object { "locked-$_" }
        $ids | ForEach-Object { New-QueueJob "while [ ! -f '$go' ]; do sleep 0.05; done; echo `$QUEUECTL_JOB_ID >> '$ran'" -Id $_ } | Out-Null
        $workers = Start-QueueWorker -Count 2 -Concurrency 2
        Wait-Until { (Get-QueueStatus).Processing -eq 4 } -Because 'all four jobs to start'

        # Another process holds SQLite's write lock for 8 s: longer than the lease (3 s) and the workers' busy timeout.
        $locker = Start-ChildPwsh @"
Get-QueueStatus -Database '$db' | Out-Null
`$c = [Microsoft.Data.Sqlite.SqliteConnection]::new('Data Source=$db;Pooling=False'); `$c.Open()
`$cmd = `$c.CreateCommand(); `$cmd.CommandText = 'BEGIN IMMEDIATE'; `$null = `$cmd.ExecuteNonQuery()
[Console]::Out.WriteLine('locked'); [Console]::Out.Flush()
Start-Sleep -Seconds 8
`$cmd.CommandText = 'ROLLBACK'; `$null = `$cmd.ExecuteNonQuery(); `$c.Dispose()
"@
        $locker.StandardOutput.ReadLine() | Should -Be 'locked'
        $null = New-Item -ItemType File $go
        Wait-Until { (Test-Path $ran) -and @(Get-Content $ran).Count -eq 4 } -Because 'the four runs to finish while the lock is held'
        $locker.WaitForExit(60000) | Should -BeTrue
        $locker.ExitCode | Should -Be 0 -Because $locker.StandardError.ReadToEnd()

        $done = Wait-QueueJob -Id $ids -Timeout 60
        $done | ForEach-Object { $_.State | Should -Be 'Completed'; $_.Runs | Should -Be 1 }
        @(Get-Content $ran).Count | Should -Be 4
        foreach ($w in $workers) {
            Get-Process -Id $w.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because "worker $($w.Id) must not exit"
            (Get-QueueWorker $w.Id).State | Should -Be 'Running'
            $text = Get-Content -Raw (Get-QueueWorker $w.Id).LogPath
            ([regex]::Matches($text, 'storage unavailable since')).Count | Should -Be 1 -Because $text
            $text | Should -Match 'storage available again'
        }
    }

    # PostgresOnly: the PostgreSQL counterpart of the write lock above. For 8 s the test database takes no connection
    # and every QueueCtl session on it is ended (the test server is the tests' own: other sessions on it end too).
    It 'keeps workers running through a server outage longer than the lease, and records every finished run once' -Tag PostgresOnly -Skip:$IsWindows {
        $ran = Join-Path $folder 'ran.txt'
        $go = Join-Path $folder 'go'
        $ids = 1..4 | ForEach-Object { "outage-$_" }
        $ids | ForEach-Object { New-QueueJob "while [ ! -f '$go' ]; do sleep 0.05; done; echo `$QUEUECTL_JOB_ID >> '$ran'" -Id $_ } | Out-Null
        $workers = Start-QueueWorker -Count 2 -Concurrency 2
        Wait-Until { (Get-QueueStatus).Processing -eq 4 } -Because 'all four jobs to start'

        $testDatabase = ([Uri] (Get-TestPostgresAddress)).AbsolutePath.TrimStart('/')
        $outage = [Diagnostics.Stopwatch]::StartNew()
        $null = Invoke-TestPostgresSql "ALTER DATABASE `"$testDatabase`" ALLOW_CONNECTIONS false" -Database postgres
        try {
            $null = Invoke-TestPostgresSql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @db AND application_name = 'QueueCtl'" @{ db = $testDatabase } -Database postgres
            $null = New-Item -ItemType File $go
            Wait-Until { (Test-Path $ran) -and @(Get-Content $ran).Count -eq 4 } -Because 'the four runs to finish while the server is away'
            # An outage longer than the lease (3 s), whatever the runs took.
            Start-Sleep -Milliseconds ([math]::Max(0, 8000 - $outage.ElapsedMilliseconds))
        }
        finally {
            $null = Invoke-TestPostgresSql "ALTER DATABASE `"$testDatabase`" ALLOW_CONNECTIONS true" -Database postgres
        }

        $done = Wait-QueueJob -Id $ids -Timeout 60
        $done | ForEach-Object { $_.State | Should -Be 'Completed'; $_.Runs | Should -Be 1 }
        @(Get-Content $ran).Count | Should -Be 4
        foreach ($w in $workers) {
            Get-Process -Id $w.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because "worker $($w.Id) must not exit"
            # Shown Lost until its first heartbeat after the outage (older than the 3 s lease): a worker that kept
            # running sends one within a heartbeat of reconnecting (seen once in CI: read before it had).
            Wait-Until { (Get-QueueWorker $w.Id).State -eq 'Running' } -TimeoutSeconds 15 -Because "worker $($w.Id) to heartbeat again"
            $text = Get-Content -Raw (Get-QueueWorker $w.Id).LogPath
            ([regex]::Matches($text, 'storage unavailable since')).Count | Should -Be 1 -Because $text
            $text | Should -Match 'storage available again'
        }
    }

    # SqliteOnly: the damage is a page of an SQLite file overwritten.
    It 'reports a damaged queue file loudly, keeps the worker up and keeps the results of the runs it finished' -Tag SqliteOnly -Skip:$IsWindows {
        $ran = Join-Path $folder 'ran.txt'
        1..120 | ForEach-Object { '{0:000}' -f $_ } |
            ForEach-Object { [pscustomobject]@{ Id = "j$_"; Command = "echo `$QUEUECTL_JOB_ID >> '$ran' # row-of-j$_ " + ('x' * 300) } } |
            New-QueueJob | Out-Null
        # A copy of the queue, with the page that holds job j060's row overwritten, as a bad sector would leave it.
        $c = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$db;Pooling=False"); $c.Open()
        $cmd = $c.CreateCommand(); $cmd.CommandText = 'PRAGMA wal_checkpoint(TRUNCATE)'; $null = $cmd.ExecuteNonQuery(); $c.Dispose()
        $copy = Join-Path $folder 'copy.db'
        Copy-Item $db $copy
        $bytes = [IO.File]::ReadAllBytes($copy)
        $pageSize = $bytes[16] * 256 + $bytes[17]
        $at = [Text.Encoding]::Latin1.GetString($bytes).IndexOf('row-of-j060')
        $at | Should -BeGreaterThan 0
        $junk = [byte[]]::new($pageSize)
        [Array]::Fill($junk, [byte]255)
        $file = [IO.File]::OpenWrite($copy)
        try { $file.Position = [math]::Floor($at / $pageSize) * $pageSize; $file.Write($junk, 0, $pageSize) }
        finally { $file.Dispose() }

        $worker = Start-QueueWorker -Database $copy
        try {
            Wait-Until { (Test-Path $worker.LogPath) -and (Get-Content -Raw $worker.LogPath) -match 'damaged' } -TimeoutSeconds 60 -Because 'the worker to trip over the damaged page'
            $text = Get-Content -Raw $worker.LogPath
            $text | Should -Match ([regex]::Escape("Error       Worker $($worker.Id): the queue database '$copy' is damaged"))
            $text | Should -Match 'Test-Queue checks the file'
            Start-Sleep -Seconds 2
            Get-Process -Id $worker.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because 'the worker stays up to show its state'
            $seen = Get-QueueWorker $worker.Id -Database $copy
            $seen.State | Should -Be 'Running'
            # Every run that ran was recorded: its result was kept until it could be.
            $seen.JobsDone | Should -BeGreaterThan 0
            $seen.JobsDone | Should -Be @(Get-Content $ran).Count
            $seen.CurrentJobs | Should -BeNullOrEmpty
            $text = Get-Content -Raw $worker.LogPath
            ([regex]::Matches($text, '(?m)^\S+ Error ')).Count | Should -Be 1 -Because 'the damage is reported once'
        }
        finally {
            Stop-Process -Id $worker.ProcessId -Force -ErrorAction SilentlyContinue
        }
    }

    # SqliteOnly: the full disk is a tmpfs holding the queue file.
    It 'keeps a worker running on a full disk, and records the run it holds once there is room' -Tag SqliteOnly -Skip:(-not $IsLinux -or [Environment]::UserName -ne 'root') {
        # A real full disk: a small tmpfs holding the queue, filled up while the job runs.
        $disk = Join-Path $folder 'disk'
        $null = New-Item -ItemType Directory $disk
        mount -t tmpfs -o size=4m tmpfs $disk
        if ($LASTEXITCODE -ne 0) { Set-ItResult -Skipped -Because 'a tmpfs cannot be mounted here'; return }
        $worker = $null
        try {
            $small = Join-Path $disk 'queue.db'
            $go = Join-Path $folder 'go'
            $finished = Join-Path $folder 'finished'
            Set-QueueConfig -Database $small -LeaseDuration 3
            New-QueueJob -Database $small -Id big "while [ ! -f '$go' ]; do sleep 0.05; done; head -c 60000 /dev/zero | tr '\0' x; touch '$finished'" | Out-Null
            $worker = Start-QueueWorker -Database $small
            Wait-Until { (Get-QueueJob big -Database $small).State -eq 'Processing' } -Because 'the job to start'
            dd if=/dev/zero "of=$disk/filler" bs=64k 2>$null
            dd if=/dev/zero "of=$disk/filler2" bs=4k 2>$null
            $null = New-Item -ItemType File $go
            Wait-Until { Test-Path $finished } -Because 'the run to end'
            # A few retries later: the result could not be written, and the worker is still there holding it.
            Start-Sleep -Seconds 2
            (Get-QueueJob big -Database $small).State | Should -Be 'Processing'
            Get-Process -Id $worker.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because 'a full disk must not stop the worker'

            Remove-Item (Join-Path $disk 'filler*')
            $job = Wait-QueueJob big -Database $small -Timeout 60
            $job.State | Should -Be 'Completed'
            $job.Runs | Should -Be 1
            (@(Receive-QueueJob big -Database $small) -join '').Length | Should -Be 60000
            Get-Process -Id $worker.ProcessId -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty
            Get-Content -Raw $worker.LogPath | Should -Match 'storage available again'
        }
        finally {
            if ($worker) { Stop-Process -Id $worker.ProcessId -Force -ErrorAction SilentlyContinue; Wait-Process -Id $worker.ProcessId -Timeout 30 -ErrorAction SilentlyContinue }
            umount -l $disk
        }
    }
}
