BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

Describe 'Get-QueueJob' {
    BeforeAll {
        $db = New-TestQueue
        'build-1', 'build-2', 'test-1' | ForEach-Object { New-QueueJob "echo $_" -Id $_ } | Out-Null
    }
    AfterAll { Remove-TestQueue $db }

    It 'gets every job, oldest first' { (Get-QueueJob).Id | Should -Be @('build-1', 'build-2', 'test-1') }
    It 'matches ids with wildcards' { (Get-QueueJob 'build-*').Id | Should -Be @('build-1', 'build-2') }
    It 'filters by state' {
        (Get-QueueJob -State Pending).Count | Should -Be 3
        Get-QueueJob -State Dead, Completed | Should -BeNullOrEmpty
    }
    It 'limits with -First' { (Get-QueueJob -First 2).Id | Should -Be @('build-1', 'build-2') }
    It 'takes ids from the pipeline' { ('test-1', 'build-2' | Get-QueueJob).Id | Should -Be @('test-1', 'build-2') }
    It 'reports an exact id that does not exist as ObjectNotFound, and goes on' {
        $found = Get-QueueJob 'nope', 'test-1' -ErrorVariable errs -ErrorAction SilentlyContinue
        $found.Id | Should -Be 'test-1'
        $errs[0].FullyQualifiedErrorId | Should -Be 'JobNotFound,QueueCtl.PowerShell.Commands.GetQueueJobCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
    It 'returns nothing, and no error, for a wildcard that matches nothing' {
        Get-QueueJob 'zzz*' -ErrorVariable errs | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
    }
    It 'refuses an unknown state' {
        { Get-QueueJob -State Sleeping -ErrorAction Stop } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,QueueCtl.PowerShell.Commands.GetQueueJobCommand'
    }
}

Describe 'Remove-QueueJob' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'does nothing with -WhatIf' {
        New-QueueJob 'true' -Id keep | Out-Null
        Remove-QueueJob keep -WhatIf
        Get-QueueJob keep | Should -Not -BeNullOrEmpty
    }

    It 'removes jobs piped from Get-QueueJob' {
        1..3 | ForEach-Object { New-QueueJob 'true' -Id "r$_" } | Out-Null
        Get-QueueJob 'r*' | Remove-QueueJob -Confirm:$false
        (Get-QueueStatus).Total | Should -Be 0
    }

    It 'refuses a Processing job unless -Force' {
        New-QueueJob 'sleep 30' -Id busy | Out-Null
        $worker = Start-ChildPwsh "Start-QueueWorker -Foreground -Database '$db'"
        try {
            Wait-Until { (Get-QueueJob busy).State -eq 'Processing' } -Because 'the job to start'
            { Remove-QueueJob busy -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidJobState,QueueCtl.PowerShell.Commands.RemoveQueueJobCommand'
            (Get-QueueJob busy).State | Should -Be 'Processing'
            Remove-QueueJob busy -Force -Confirm:$false
            Get-QueueJob busy -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        finally { $worker.Kill($true); $worker.WaitForExit() }
    }
}

Describe 'Invoke-QueueDlqRetry' {
    BeforeEach {
        $db = New-TestQueue
        Set-QueueConfig -BackoffMax 0
        New-QueueJob 'exit 1' -Id dead1 -MaxRetries 0 | Out-Null
        New-QueueJob 'exit 2' -Id dead2 -MaxRetries 0 | Out-Null
        New-QueueJob 'true' -Id fine | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
    }
    AfterEach { Remove-TestQueue $db }

    It 'takes Dead jobs from Get-QueueJob through the pipeline' {
        (Get-QueueJob -State Dead).Count | Should -Be 2
        $retried = Get-QueueJob -State Dead | Invoke-QueueDlqRetry -PassThru
        $retried.Id | Should -Be @('dead1', 'dead2')
        $retried | ForEach-Object { $_.State | Should -Be 'Pending'; $_.Attempts | Should -Be 0 }
        (Get-QueueJob dead1).Errors.Count | Should -Be 1
        (Get-QueueJob dead1).LastError | Should -Be 'Exited with code 1.'
    }

    It 'refuses a job that is not Dead and leaves it as it is' {
        { Invoke-QueueDlqRetry fine -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidJobState,QueueCtl.PowerShell.Commands.InvokeQueueDlqRetryCommand'
        (Get-QueueJob fine).State | Should -Be 'Completed'
    }

    It 'does nothing with -WhatIf' {
        Invoke-QueueDlqRetry -All -WhatIf
        (Get-QueueJob -State Dead).Count | Should -Be 2
    }

    It 'retries every Dead job with -All' {
        Invoke-QueueDlqRetry -All
        (Get-QueueStatus).Pending | Should -Be 2
    }
}

Describe 'Get-QueueStatus' {
    BeforeAll { $db = New-TestQueue }
    AfterAll { Remove-TestQueue $db }

    It 'counts jobs per state, live workers, and the oldest pending age' {
        $empty = Get-QueueStatus
        $empty.Total | Should -Be 0
        $empty.OldestPendingAge | Should -BeNullOrEmpty
        New-QueueJob 'true' | Out-Null
        New-QueueJob 'true' -Id c | Out-Null
        Start-Sleep -Milliseconds 20
        $status = Get-QueueStatus
        $status.PSObject.TypeNames[0] | Should -Be 'QueueCtl.QueueStatus'
        $status.Pending | Should -Be 2
        $status.Workers | Should -Be 0
        $status.OldestPendingAge | Should -BeGreaterThan ([TimeSpan]::Zero)
        $status.Database | Should -Be $db
    }
}
