# Issue 8, item 18: Test-Queue and Backup-Queue against real queue files and a real worker.
BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    $script:Cmd = 'QueueCtl.PowerShell.Commands'
}

# SqliteOnly: Test-Queue and Backup-Queue check and copy SQLite files (they refuse a PostgreSQL queue).
Describe 'Test-Queue' -Tag SqliteOnly {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'says OK for a healthy queue, with a readable view' {
        $null = 1..5 | ForEach-Object { "echo $_" } | New-QueueJob
        $report = Test-Queue
        $report.PSObject.TypeNames[0] | Should -Be 'QueueCtl.QueueHealthReport'
        $report.Verdict | Should -Be 'OK'
        $report.IsHealthy | Should -BeTrue
        $report.Problems | Should -BeNullOrEmpty
        $report.SchemaVersion | Should -Be $report.ExpectedSchemaVersion
        ($report | Out-String) | Should -Match 'Verdict\s*:\s*OK'
    }

    It 'says Corrupt, with details, for a copy with a middle page overwritten' {
        $null = 1..2000 | ForEach-Object { "echo $('x' * 200) $_" } | New-QueueJob
        $copy = Join-Path (Get-TestFolder $db) 'copy.db'
        $null = Backup-Queue $copy
        $bytes = [IO.File]::ReadAllBytes($copy)
        $page = 4096
        $middle = [int][Math]::Floor($bytes.Length / $page / 2) * $page
        for ($i = $middle; $i -lt $middle + $page; $i++) { $bytes[$i] = [byte](($i * 31) % 256) }
        [IO.File]::WriteAllBytes($copy, $bytes)

        $report = Test-Queue -Database $copy
        $report.Verdict | Should -Be 'Corrupt'
        $report.IntegrityErrors | Should -Not -BeNullOrEmpty
        $report.Problems[0] | Should -Match 'Integrity check'
        ($report | Out-String) | Should -Match 'Corrupt'
        # -Repair never touches a corrupt file.
        (Test-Queue -Database $copy -Repair -Confirm:$false).Verdict | Should -Be 'Corrupt'
        [Convert]::ToBase64String([IO.File]::ReadAllBytes($copy)) | Should -Be ([Convert]::ToBase64String($bytes))
    }

    It 'finds drifted counters and orphaned output; -Repair mends them, -WhatIf does not' {
        $null = 1..3 | ForEach-Object { "echo $_" } | New-QueueJob
        Invoke-QueueSql $db "UPDATE job_counts SET n = 42 WHERE state = 'Pending'; INSERT INTO job_output (job_seq, run, format, stdout, stderr) VALUES (999, 1, 'Text', 'x', '')"
        $report = Test-Queue
        $report.Verdict | Should -Be 'Inconsistent'
        $report.CounterMismatches.State | Should -Be 'Pending'
        $report.OrphanedOutputs | Should -Be 1
        (Get-QueueStatus).Pending | Should -Be 42

        (Test-Queue -Repair -WhatIf).Verdict | Should -Be 'Inconsistent'
        $repaired = Test-Queue -Repair -Confirm:$false
        $repaired.Verdict | Should -Be 'OK'
        $repaired.Repaired.Count | Should -Be 2
        (Get-QueueStatus).Pending | Should -Be 3
    }

    It 'reports a stored setting that is not valid' {
        $null = Get-QueueStatus
        Invoke-QueueSql $db "INSERT INTO config (name, value) VALUES ('poll-interval', 'soon')"
        $report = Test-Queue
        $report.Verdict | Should -Be 'Inconsistent'
        $report.Problems | Should -Match 'poll-interval'
    }

    It 'refuses a missing queue with DatabaseUnavailable and creates nothing' {
        $missing = Join-Path (Get-TestFolder $db) 'missing.db'
        { Test-Queue -Database $missing -ErrorAction Stop } | Should -Throw -ErrorId "DatabaseUnavailable,$Cmd.TestQueueCommand"
        Test-Path $missing | Should -BeFalse
    }
}

Describe 'Backup-Queue' -Tag SqliteOnly {
    BeforeEach { $db = New-TestQueue }
    AfterEach {
        Get-QueueWorker -State Starting, Running, Stopping -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'copies the queue while a worker drains it: the copy passes Test-Queue and holds every job' {
        $jobs = 1..300 | ForEach-Object { "echo $_" } | New-QueueJob
        $null = Start-QueueWorker -Concurrency 2
        Wait-Until { (Get-QueueStatus).Completed -gt 0 } -TimeoutSeconds 60 -Because 'the worker to start draining'
        $backup = Join-Path (Get-TestFolder $db) 'backup.db'

        $file = Backup-Queue -Destination $backup
        $busy = Get-QueueWorker | Where-Object State -EQ 'Running'

        $file | Should -BeOfType [IO.FileInfo]
        $file.FullName | Should -Be $backup
        $file.PSPath | Should -Not -BeNullOrEmpty -Because 'the copy shows as Get-Item shows files (mode, size)'
        $busy | Should -Not -BeNullOrEmpty
        (Test-Queue -Database $backup).Verdict | Should -Be 'OK'
        $copied = Get-QueueStatus -Database $backup
        $copied.Total | Should -Be 300
        (Get-QueueJob -Database $backup).Id | Sort-Object | Should -Be ($jobs.Id | Sort-Object)
        if (-not $IsWindows) { [IO.File]::GetUnixFileMode($backup) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
    }

    It 'refuses an existing destination with DestinationExists, and replaces it with -Force' {
        $null = New-QueueJob 'echo one' -Id one
        $backup = Join-Path (Get-TestFolder $db) 'backup.db'
        Set-Content $backup 'precious'
        { Backup-Queue $backup -ErrorAction Stop } | Should -Throw -ErrorId "DestinationExists,$Cmd.BackupQueueCommand"
        Get-Content $backup | Should -Be 'precious'

        Backup-Queue $backup -WhatIf
        Get-Content $backup | Should -Be 'precious'

        $null = Backup-Queue $backup -Force
        (Get-QueueJob -Database $backup).Id | Should -Be 'one'
        Get-ChildItem (Get-TestFolder $db) -Filter '*.tmp' -Force | Should -BeNullOrEmpty
    }

    It 'refuses the queue itself as the destination' {
        $null = New-QueueJob 'echo one'
        { Backup-Queue $db -Force -ErrorAction Stop } | Should -Throw -ErrorId "DestinationExists,$Cmd.BackupQueueCommand"
        (Test-Queue).Verdict | Should -Be 'OK'
    }

    It 'has help with examples, and completes -Destination as a path' {
        foreach ($name in 'Test-Queue', 'Backup-Queue') {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        }
        $null = Get-QueueStatus # creates queue.db, something to complete
        $line = "Backup-Queue -Destination $(Get-TestFolder $db)/q"
        $completions = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completions.CompletionMatches.CompletionText | Should -Contain (Join-Path (Get-TestFolder $db) 'queue.db')
    }
}
