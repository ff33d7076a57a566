BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

Describe 'New-QueueJob' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'enqueues a command and emits a QueueCtl.QueueJob' {
        $job = New-QueueJob 'echo Hello' -Id job1 -MaxRetries 2 -Timeout 30
        $job.PSObject.TypeNames[0] | Should -Be 'QueueCtl.QueueJob'
        $job.Id | Should -Be 'job1'
        $job.State | Should -Be 'Pending'
        $job.MaxRetries | Should -Be 2
        $job.Timeout | Should -Be ([TimeSpan]::FromSeconds(30))
        $job.WorkingDirectory | Should -Be (Get-Location).ProviderPath
        (Get-QueueJob job1).Command | Should -Be 'echo Hello'
    }

    It 'takes the original queuectl JSON' {
        $job = New-QueueJob -Json '{"id":"job1","command":"echo Hello","max_retries":2}'
        $job.Id | Should -Be 'job1'
        $job.Command | Should -Be 'echo Hello'
        $job.MaxRetries | Should -Be 2
    }

    It 'uses the configured max-retries when none is given' {
        Set-QueueConfig -MaxRetries 7
        (New-QueueJob 'true').MaxRetries | Should -Be 7
    }

    It 'schedules a job with -Delay and with -RunAt' {
        $before = [DateTime]::UtcNow
        (New-QueueJob 'true' -Delay 60).RunAt | Should -BeGreaterThan $before.AddSeconds(59)
        $at = [DateTime]::new(2031, 5, 6, 7, 8, 9, [DateTimeKind]::Utc)
        (New-QueueJob 'true' -RunAt $at).RunAt | Should -Be $at
    }

    It 'binds strings from the pipeline as commands, writing them in batched transactions' {
        $verbose = 1..2500 | ForEach-Object { "echo $_" } | New-QueueJob -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        (Get-QueueStatus).Pending | Should -Be 2500
        # A batch commits when 1,000 jobs are buffered or 100 ms after its first job: far fewer transactions than jobs.
        $summary = @($verbose.Message | Where-Object { $_ -like 'Wrote *' })
        $summary.Count | Should -Be 1
        $summary[0] -match 'Wrote 2500 job\(s\) in (\d+) transaction\(s\)' | Should -BeTrue
        [int]$Matches[1] | Should -BeLessThan 50
        (Get-QueueJob -First 1).Command | Should -Be 'echo 1'
    }

    It 'binds CSV columns by property name, including the original snake_case names' {
        $csv = Join-Path (Get-TestFolder $db) 'jobs.csv'
        @(
            [pscustomobject]@{ id = 'a'; command = 'echo a'; max_retries = 1 }
            [pscustomobject]@{ id = 'b'; command = 'echo b'; max_retries = 0 }
        ) | Export-Csv $csv
        $jobs = Import-Csv $csv | New-QueueJob
        $jobs.Id | Should -Be @('a', 'b')
        (Get-QueueJob b).MaxRetries | Should -Be 0
    }

    It 'binds objects that carry a script block or JSON beside other job properties as those jobs, never as their string form' {
        $due = [DateTime]::UtcNow.AddMinutes(5)
        $jobs = @(
            [pscustomobject]@{ ScriptBlock = { param($n) $n * 2 }; ArgumentList = 21; Id = 'sb'; MaxRetries = 1; RunAt = $due }
            [pscustomobject]@{ ScriptBlock = '1 + 1'; Id = 'sb-text' }
            [pscustomobject]@{ Json = '{"id":"js","command":"echo js"}'; Note = 'extra columns are ignored' }
            [pscustomobject]@{ Command = 'echo cmd'; Id = 'cmd'; RunAt = $due }
        ) | New-QueueJob
        $jobs.Id | Should -Be @('sb', 'sb-text', 'js', 'cmd')
        $sb = Get-QueueJob sb
        $sb.Kind | Should -Be 'ScriptBlock'
        $sb.Command.Trim() | Should -Be 'param($n) $n * 2'
        $sb.MaxRetries | Should -Be 1
        $sb.RunAt.ToUniversalTime() | Should -BeGreaterThan ([DateTime]::UtcNow.AddMinutes(4))
        (Get-QueueJob sb-text).Kind | Should -Be 'ScriptBlock'
        (Get-QueueJob js).Command | Should -Be 'echo js'
        (Get-QueueJob cmd).Command | Should -Be 'echo cmd'
        Get-QueueJob | Where-Object Command -like '@{*' | Should -BeNullOrEmpty
    }

    It 'refuses an object that describes no job with InvalidJobSpec, and enqueues the rest' {
        $jobs = [pscustomobject]@{ Foo = 1 }, [pscustomobject]@{ Command = 'echo ok' } | New-QueueJob -ErrorVariable err -ErrorAction SilentlyContinue
        @($jobs).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobSpec,*'
        (Get-QueueStatus).Total | Should -Be 1
    }

    It 'refuses a duplicate id without touching the existing job, and enqueues the rest' {
        New-QueueJob 'echo original' -Id dup | Out-Null
        $jobs = @(
            [pscustomobject]@{ Id = 'first'; Command = 'echo 1' }
            [pscustomobject]@{ Id = 'dup'; Command = 'echo imposter' }
            [pscustomobject]@{ Id = 'last'; Command = 'echo 3' }
        ) | New-QueueJob -ErrorVariable errs -ErrorAction SilentlyContinue
        $jobs.Id | Should -Be @('first', 'last')
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'JobAlreadyExists,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Get-QueueJob dup).Command | Should -Be 'echo original'
    }

    It 'refuses malformed JSON with InvalidJson and writes nothing' {
        { New-QueueJob -Json '{"id": "x", "command": ' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidJson,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        (Get-QueueStatus).Total | Should -Be 0
    }

    It 'refuses an empty command with InvalidJobSpec and writes nothing' {
        { New-QueueJob '' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidJobSpec,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        { New-QueueJob -Json '{"id":"x"}' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidJobSpec,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        (Get-QueueStatus).Total | Should -Be 0
    }

    It 'refuses a negative MaxRetries' {
        { New-QueueJob 'true' -MaxRetries -1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        { New-QueueJob -Json '{"command":"true","max_retries":-1}' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidJobSpec,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
        (Get-QueueStatus).Total | Should -Be 0
    }

    It 'refuses -RunAt together with -Delay' {
        { New-QueueJob 'true' -RunAt (Get-Date) -Delay 5 -ErrorAction Stop } |
            Should -Throw -ErrorId 'RunAtAndDelay,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
    }

    It 'reports a database it cannot open as ResourceUnavailable' {
        $file = Join-Path (Get-TestFolder $db) 'not-a-db.txt'
        Set-Content $file ('x' * 200)
        { New-QueueJob 'true' -Database $file -ErrorAction Stop } |
            Should -Throw -ErrorId 'DatabaseUnavailable,QueueCtl.PowerShell.Commands.NewQueueJobCommand'
    }
}
