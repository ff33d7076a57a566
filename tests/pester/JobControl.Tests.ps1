BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

Describe 'Cancelling, timing out, waiting for and reading jobs' {
    BeforeAll {
        $db = New-TestQueue
        Set-QueueConfig -BackoffMax 0 -LeaseDuration 3
        Start-QueueWorker -Count 2 | Out-Null
    }
    AfterAll {
        Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    Context 'Stop-QueueJob' {
        It 'cancels a pending job at once' {
            New-QueueJob 'echo never' -Id later -Delay 600 | Out-Null
            $job = Stop-QueueJob later -PassThru
            $job.State | Should -Be 'Cancelled'
            $job.FinishedAt | Should -Not -BeNullOrEmpty
        }

        It 'kills a running job, which ends Cancelled and is not retried' {
            New-QueueJob 'sleep 60' -Id running -MaxRetries 3 | Out-Null
            Wait-Until { (Get-QueueJob running).State -eq 'Processing' } -Because 'the job to start'
            $watch = [Diagnostics.Stopwatch]::StartNew()
            Stop-QueueJob running
            $job = Wait-QueueJob running -Timeout 20
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
            $job.State | Should -Be 'Cancelled'
            $job.Attempts | Should -Be 1
            $job.LastError | Should -Match 'Cancelled'
        }

        It 'does nothing with -WhatIf' {
            New-QueueJob 'true' -Id whatif -Delay 600 | Out-Null
            Stop-QueueJob whatif -WhatIf
            (Get-QueueJob whatif).State | Should -Be 'Pending'
        }

        It 'refuses a job that already finished' {
            New-QueueJob 'true' -Id finished | Wait-QueueJob -Timeout 20 | Out-Null
            { Stop-QueueJob finished -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidJobState,QueueCtl.PowerShell.Commands.StopQueueJobCommand'
        }
    }

    Context 'Timeouts' {
        It 'kills a job that runs past its -Timeout, with its child processes, and retries it' {
            $pidFile = Join-Path (Get-TestFolder $db) 'child.pid'
            New-QueueJob "sleep 60 & echo `$! > '$pidFile'; wait" -Id slow -Timeout 1 -MaxRetries 1 | Out-Null
            $job = Wait-QueueJob slow -Timeout 30
            $job.State | Should -Be 'Dead'
            $job.Attempts | Should -Be 2
            $job.LastError | Should -Be 'Timed out after 1 s; the process tree was killed.'
            Wait-Until { -not (Get-Process -Id (Get-Content $pidFile) -ErrorAction SilentlyContinue) } -TimeoutSeconds 10 -Because 'the child to be gone'
        }

        It 'applies the configured job-timeout to jobs without their own' {
            Set-QueueConfig -JobTimeout 1
            try {
                (New-QueueJob 'sleep 30' -MaxRetries 0 | Wait-QueueJob -Timeout 30).LastError | Should -Match '^Timed out after 1 s'
            }
            finally { Set-QueueConfig -Name job-timeout -Default }
        }
    }

    Context 'Receive-QueueJob' {
        It 'emits standard output as lines and standard error as errors' {
            New-QueueJob 'echo one; echo two; echo oops >&2' -Id printer | Wait-QueueJob -Timeout 20 | Out-Null
            $out = Receive-QueueJob printer -ErrorVariable errs -ErrorAction SilentlyContinue
            $out | Should -Be @('one', 'two')
            $errs.Count | Should -Be 1
            $errs[0].Exception.Message | Should -Be 'oops'
            $errs[0].FullyQualifiedErrorId | Should -Be 'JobStandardError,QueueCtl.PowerShell.Commands.ReceiveQueueJobCommand'
        }

        It 'keeps each run apart' {
            New-QueueJob 'echo run $QUEUECTL_JOB_RUN; exit 1' -Id twice -MaxRetries 1 | Wait-QueueJob -Timeout 20 | Out-Null
            Receive-QueueJob twice | Should -Be 'run 2'
            Receive-QueueJob twice -Run 1 | Should -Be 'run 1'
            Receive-QueueJob twice -AllRuns | Should -Be @('run 1', 'run 2')
        }

        It 'keeps only the tail of a long output, and says so' {
            Set-QueueConfig -OutputLimit 1000
            try {
                New-QueueJob 'seq 1 10000' -Id chatty | Wait-QueueJob -Timeout 20 | Out-Null
                $out = Receive-QueueJob chatty -WarningVariable warnings -WarningAction SilentlyContinue
                $out[-1] | Should -Be '10000'
                ($out -join "`n").Length | Should -BeLessOrEqual 1000
                $warnings[0] | Should -Match 'truncated'
            }
            finally { Set-QueueConfig -Name output-limit -Default }
        }
    }

    Context 'Wait-QueueJob' {
        It 'returns with -Any as soon as one job is final' {
            New-QueueJob 'sleep 30' -Id slowpoke | Out-Null
            New-QueueJob 'true' -Id quick | Out-Null
            $first = Wait-QueueJob slowpoke, quick -Any -Timeout 20
            $first.Id | Should -Be 'quick'
            Stop-QueueJob slowpoke
        }

        It 'emits only finished jobs when its -Timeout passes' {
            New-QueueJob 'sleep 30' -Id stuck | Out-Null
            New-QueueJob 'true' -Id fast | Out-Null
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $done = Wait-QueueJob stuck, fast -Timeout 2
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 6
            $done.Id | Should -Be 'fast'
            Stop-QueueJob stuck
        }

        It 'is woken by the commit that finishes the job, not by its poll' {
            Set-QueueConfig -PollInterval 30
            try {
                New-QueueJob 'sleep 1' -Id watched | Out-Null
                $watch = [Diagnostics.Stopwatch]::StartNew()
                (Wait-QueueJob watched -Timeout 60).State | Should -Be 'Completed'
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
            }
            finally { Set-QueueConfig -Name poll-interval -Default }
        }
    }
}

Describe 'Wait-QueueJob after a quick job' {
    BeforeAll {
        $db = New-TestQueue
        Set-QueueConfig -PollInterval 30
        Start-QueueWorker -Count 1 -Concurrency 2 | Out-Null
        (New-QueueJob 'true' | Wait-QueueJob -Timeout 60).State | Should -Be 'Completed'
    }
    AfterAll {
        Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'is woken by the finishing commit every time, not by its poll' {
        # The claim's commit was visible and untaken when the finish began writing: the waiter woke on the finish's
        # first event, looked before that commit was visible, and slept to its poll (SQLite: about 1 try in 3).
        $times = foreach ($i in 1..12) {
            $watch = [Diagnostics.Stopwatch]::StartNew()
            (New-QueueJob 'true' | Wait-QueueJob -Timeout 60).State | Should -Be 'Completed'
            [int]$watch.Elapsed.TotalMilliseconds
        }
        Write-Host "New-QueueJob 'true' | Wait-QueueJob, ms: $($times -join ' ')"
        # A missed wake-up lasts until the next commit anyone makes: here the worker's heartbeat, 5 s later.
        $times | ForEach-Object { $_ | Should -BeLessThan 2500 }
    }
}

Describe 'Script-block jobs' {
    BeforeAll {
        $db = New-TestQueue
        Set-QueueConfig -BackoffMax 0
        Start-QueueWorker | Out-Null
    }
    AfterAll {
        Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'runs in the worker with its arguments, and Receive-QueueJob gives back objects' {
        New-QueueJob -ScriptBlock { param($a, $b) [pscustomobject]@{ Sum = $a + $b; Job = $QueueJob.Id; Where = (Get-Location).Path } } -ArgumentList 2, 40 -Id adder |
            Wait-QueueJob -Timeout 30 | Select-Object -ExpandProperty State | Should -Be 'Completed'
        $result = Receive-QueueJob adder
        $result.Sum | Should -Be 42
        $result.Job | Should -Be 'adder'
        $result.Where | Should -Be (Get-Location).Path
    }

    It 'replays warnings and information' {
        New-QueueJob -ScriptBlock { Write-Warning 'careful'; Write-Information 'fyi'; 'value' } -Id chatty | Wait-QueueJob -Timeout 30 | Out-Null
        $value = Receive-QueueJob chatty -WarningVariable w -InformationVariable i -WarningAction SilentlyContinue
        $value | Should -Be 'value'
        $w | Should -Be 'careful'
        $i.MessageData | Should -Be 'fyi'
    }

    It 'fails on a terminating error, and retries like any job' {
        $job = New-QueueJob -ScriptBlock { throw 'kaboom' } -Id thrower -MaxRetries 1 | Wait-QueueJob -Timeout 30
        $job.State | Should -Be 'Dead'
        $job.Attempts | Should -Be 2
        $job.LastError | Should -Be 'The script threw: kaboom (line 1)'
    }

    It 'fails when it writes to the error stream, unless the error is silenced' {
        $loud = New-QueueJob -ScriptBlock { Get-Item '/no/such/path'; 'went on' } -Id loud -MaxRetries 0 | Wait-QueueJob -Timeout 30
        $loud.State | Should -Be 'Dead'
        $loud.LastError | Should -Match "^The script wrote 1 error\(s\); the first: Cannot find path '/no/such/path'"
        $quiet = New-QueueJob -ScriptBlock { Get-Item '/no/such/path' -ErrorAction SilentlyContinue; 'went on' } -Id quiet | Wait-QueueJob -Timeout 30
        $quiet.State | Should -Be 'Completed'
        Receive-QueueJob loud -ErrorAction SilentlyContinue | Should -Be 'went on'
    }

    It 'does not leak variables, functions or preferences from one job to the next' {
        New-QueueJob -ScriptBlock { $leak = 'secret'; function Get-Leak { 'leaked' }; $ErrorActionPreference = 'Ignore'; 'set' } -Id setter |
            Wait-QueueJob -Timeout 30 | Out-Null
        New-QueueJob -ScriptBlock { "leak=[$leak] function=[$(Get-Command Get-Leak -ErrorAction Ignore)] eap=[$ErrorActionPreference]" } -Id getter |
            Wait-QueueJob -Timeout 30 | Out-Null
        Receive-QueueJob getter | Should -Be 'leak=[] function=[] eap=[Continue]'
    }

    It 'resets the runspace after a failed run, even its global scope' {
        New-QueueJob -ScriptBlock { $global:poison = 'bad'; throw 'failing on purpose' } -Id poisoner -MaxRetries 0 | Wait-QueueJob -Timeout 30 | Out-Null
        New-QueueJob -ScriptBlock { "poison=[$global:poison]" } -Id checker | Wait-QueueJob -Timeout 30 | Out-Null
        Receive-QueueJob checker | Should -Be 'poison=[]'
    }

    It 'treats exit as the end of the run, and a stray break as well, and runs the next job normally' {
        (New-QueueJob -ScriptBlock { 'before'; exit 3; 'never' } -Id exits -MaxRetries 0 | Wait-QueueJob -Timeout 30).State | Should -Be 'Completed'
        Receive-QueueJob exits | Should -Be 'before'
        (New-QueueJob -ScriptBlock { 'one'; break; 'two' } -Id breaks | Wait-QueueJob -Timeout 30).State | Should -Be 'Completed'
        Receive-QueueJob breaks | Should -Be 'one'
        New-QueueJob -ScriptBlock { 'after' } -Id after-exit | Wait-QueueJob -Timeout 30 | Out-Null
        Receive-QueueJob after-exit | Should -Be 'after'
    }

    It 'is stopped by its timeout' {
        $job = New-QueueJob -ScriptBlock { Start-Sleep 60 } -Id sleepy -Timeout 1 -MaxRetries 0 | Wait-QueueJob -Timeout 30
        $job.State | Should -Be 'Dead'
        $job.LastError | Should -Be 'Timed out after 1 s; the script was stopped.'
    }
}
