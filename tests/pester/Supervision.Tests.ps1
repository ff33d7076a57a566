BeforeDiscovery {
    # The .NET tool's shim sits beside pwsh.dll's folder when PowerShell is the .NET tool (as with `dotnet pwsh`).
    $script:ToolShim = Join-Path (Split-Path $PSHOME) 'Microsoft.PowerShell.GlobalTool.Shim.dll'
    $script:NoShim = $IsWindows -or -not (Test-Path $script:ToolShim)
}

BeforeAll {
    function Close-TestQueue([string] $Database) {
        # Stops every worker of the test's queue (its supervisor and jobs with it), then removes the queue.
        Get-QueueWorker -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $Database
    }

    . $PSScriptRoot/TestHelpers.ps1
    $script:ToolShim = Join-Path (Split-Path $PSHOME) 'Microsoft.PowerShell.GlobalTool.Shim.dll'
    $script:Started = [Collections.Generic.List[int]]::new()
    $script:Marks = [Collections.Generic.List[string]]::new()
    $script:CliScript = Join-Path $env:QUEUECTL_TEST_MODULE 'bin/queuectl.ps1'

    function New-Mark {
        # A sleep no other process runs: "sleep <mark>" finds exactly the processes of one test.
        $mark = "$(Get-Random -Minimum 100000 -Maximum 999999).5"
        $script:Marks.Add($mark)
        return $mark
    }

    function Get-MarkedProcess([string] $Mark) {
        @(Get-Process -Name sleep -ErrorAction SilentlyContinue | Where-Object { $_.CommandLine -match "sleep $([regex]::Escape($Mark))$" })
    }

    function Test-Running([int] $ProcessId) {
        $p = Get-Process -Id $ProcessId -ErrorAction SilentlyContinue
        return $null -ne $p -and -not $p.HasExited -and
            -not ((Get-Content "/proc/$ProcessId/stat" -Raw -ErrorAction SilentlyContinue) -match '\) [ZX] ')
    }

    function Start-Launched([string[]] $Command, [hashtable] $Environment = @{}) {
        # Starts a process the way a user would (no redirection needed), and remembers it for the clean-up.
        $info = [Diagnostics.ProcessStartInfo]::new($Command[0])
        foreach ($a in @($Command | Select-Object -Skip 1)) { $info.ArgumentList.Add($a) }
        foreach ($name in $Environment.Keys) { $info.Environment[$name] = $Environment[$name] }
        $info.UseShellExecute = $false
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $script:Started.Add($process.Id)
        return $process
    }

    function Wait-ForegroundWorker {
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 1 } -Because 'the foreground worker to register'
        return Get-QueueWorker -State Running
    }
}

AfterAll {
    foreach ($id in $script:Started) { Stop-Process -Id $id -Force -ErrorAction SilentlyContinue }
    foreach ($mark in $script:Marks) { Get-MarkedProcess $mark | Stop-Process -Force -ErrorAction SilentlyContinue }
}

Describe 'Supervised detached workers' -Tag Supervision -Skip:$IsWindows {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Close-TestQueue $db }

    It 'replaces a worker killed with SIGKILL under the same id, logs why, and does not restart one stopped on purpose' {
        $worker = Start-QueueWorker
        Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Running' } -Because 'the worker to register'
        $first = (Get-QueueWorker $worker.Id).ProcessId
        kill -KILL $first

        Wait-Until { $w = Get-QueueWorker $worker.Id; $w.State -eq 'Running' -and $w.ProcessId -ne $first } -TimeoutSeconds 15 -Because 'a replacement'
        Get-Content $worker.LogPath -Raw | Should -Match "Worker $($worker.Id) \(pid $first\) killed by signal 9 \(SIGKILL\) unexpectedly; restarting it"
        $second = (Get-QueueWorker $worker.Id).ProcessId

        Stop-QueueWorker $worker.Id -Timeout 30
        # The supervisor ends with the worker: nothing comes back.
        Wait-Until { -not (Test-Running $worker.ProcessId) } -TimeoutSeconds 10 -Because 'the supervisor to exit'
        Test-Running $second | Should -BeFalse
        (Get-QueueWorker $worker.Id).State | Should -Be 'Stopped'
    }

    It "starts the worker's jobs with SIGINT and SIGQUIT at their defaults, as before it had a supervisor" -Skip:(-not $IsLinux) {
        Start-QueueWorker | Out-Null
        New-QueueJob 'grep SigIgn /proc/$$/status' -Id signals | Out-Null
        (Wait-QueueJob signals -Timeout 30).State | Should -Be 'Completed'
        $ignored = [Convert]::ToUInt64(((Receive-QueueJob signals) -split '\s+')[1], 16)
        $ignored -band 6 | Should -Be 0 -Because 'SIGINT is bit 2 and SIGQUIT bit 3 of the ignored mask'
    }

    It 'shows a worker whose process is gone as Lost at once, not after its lease' {
        $child = Start-ChildPwsh "Start-QueueWorker -Foreground -Database '$db'"
        $script:Started.Add($child.Id)
        Wait-ForegroundWorker | Out-Null
        kill -KILL $child.Id
        $child.WaitForExit(5000) | Should -BeTrue
        Wait-Until { (Get-QueueWorker).State -eq 'Lost' } -TimeoutSeconds 2 -Because 'Get-QueueWorker to see the process gone'
    }

    It 'kills a worker stopped with SIGSTOP and recorded as Lost with -Force, with its supervisor and job processes' {
        Set-QueueConfig -LeaseDuration 1
        $mark = New-Mark
        $worker = Start-QueueWorker
        New-QueueJob "sleep $mark" -Id frozen | Out-Null
        Wait-Until { (Get-QueueJob frozen).State -eq 'Processing' -and (Get-MarkedProcess $mark).Count -eq 1 } -Because 'the job to start'
        $workerPid = (Get-QueueWorker $worker.Id).ProcessId
        kill -STOP $workerPid
        Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Lost' } -Because 'the silent worker to count as Lost'

        Stop-QueueWorker $worker.Id -Force

        Wait-Until { -not (Test-Running $workerPid) } -TimeoutSeconds 5 -Because 'the frozen worker to be killed'
        Test-Running $worker.ProcessId | Should -BeFalse -Because 'the supervisor must not restart it'
        Get-MarkedProcess $mark | Should -BeNullOrEmpty
    }
}

Describe 'Foreground workers and signals' -Tag Supervision -Skip:$IsWindows {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Close-TestQueue $db }

    It 'stops gracefully on SIGHUP: the running job finishes and nothing is left' {
        # A test run started under nohup hands its children an ignored SIGHUP, which .NET keeps ignored (as nohup
        # intends); env resets it to the default and then execs, so the worker keeps this process id.
        $pwsh = @('env', '--default-signal=HUP') + @(Get-PwshCommand)
        $cli = Start-Launched ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $script:CliScript, '--database', $db, 'worker', 'start'))
        Wait-ForegroundWorker | Out-Null
        $mark = New-Mark
        New-QueueJob "sleep $mark & wait" -Id hup -Timeout 60 | Out-Null
        Wait-Until { (Get-MarkedProcess $mark).Count -eq 1 } -Because 'the job to start'
        New-QueueJob 'sleep 1' -Id short | Out-Null
        kill -HUP $cli.Id
        Start-Sleep -Milliseconds 300
        Test-Running $cli.Id | Should -BeTrue -Because 'SIGHUP must not kill the worker at once'
        # The graceful stop waits for the running job; end it the way a user would.
        Get-MarkedProcess $mark | Stop-Process
        $cli.WaitForExit(15000) | Should -BeTrue
        (Get-QueueWorker).State | Should -Be 'Stopped'
        (Get-QueueJob hup).State | Should -Not -Be 'Processing'
        (Get-QueueJob short).State | Should -Be 'Pending' -Because 'a stopping worker claims nothing new'
        Get-MarkedProcess $mark | Should -BeNullOrEmpty
    }

    It 'stops on SIGTERM to the pwsh the user started directly' {
        $pwsh = @(Get-PwshCommand)
        $cli = Start-Launched ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $script:CliScript, '--database', $db, 'worker', 'start'))
        $worker = Wait-ForegroundWorker
        $worker.ProcessId | Should -Be $cli.Id
        kill -TERM $cli.Id
        $cli.WaitForExit(15000) | Should -BeTrue
        (Get-QueueWorker).State | Should -Be 'Stopped'
    }

    It 'stops on SIGTERM to the .NET tool shim the user started, which does not forward it' -Skip:$NoShim {
        $dotnet = [Environment]::ProcessPath
        $cli = Start-Launched @($dotnet, $script:ToolShim, '-NoProfile', '-NonInteractive', '-File', $script:CliScript, '--database', $db, 'worker', 'start')
        $worker = Wait-ForegroundWorker
        $worker.ProcessId | Should -Not -Be $cli.Id -Because 'the shim runs pwsh.dll as its child'
        $script:Started.Add($worker.ProcessId)
        kill -TERM $cli.Id
        Wait-Until { (Get-QueueWorker).State -eq 'Stopped' } -TimeoutSeconds 10 -Because 'the worker to notice its launcher is gone'
        Wait-Until { -not (Test-Running $worker.ProcessId) } -TimeoutSeconds 10 -Because 'the worker process to exit'
    }

    It 'bin/queuectl runs pwsh.dll itself when pwsh is the .NET tool, so SIGTERM reaches the worker' -Skip:$NoShim {
        # A global-tool layout: tools/pwsh is the shim's launcher, tools/.store/powershell/... holds the real pwsh.dll.
        $tools = Join-Path (Get-TestFolder $db) 'tools'
        $any = Join-Path $tools '.store/powershell/7.0.0/powershell/7.0.0/tools/net8.0/any'
        New-Item -ItemType Directory $any -Force | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $any 'unix') -Target $PSHOME | Out-Null
        $fakePwsh = Join-Path $tools 'pwsh'
        Set-Content $fakePwsh "#!/bin/sh`nexec '$([Environment]::ProcessPath)' '$script:ToolShim' `"`$@`""
        chmod +x $fakePwsh
        $launcher = Join-Path $env:QUEUECTL_TEST_MODULE 'bin/queuectl'
        $cli = Start-Launched @('/bin/sh', $launcher, '--database', $db, 'worker', 'start') @{ QUEUECTL_PWSH = $fakePwsh }

        $worker = Wait-ForegroundWorker
        $worker.ProcessId | Should -Be $cli.Id -Because 'the launcher became pwsh.dll, no shim in between'
        kill -TERM $cli.Id
        $cli.WaitForExit(15000) | Should -BeTrue
        (Get-QueueWorker).State | Should -Be 'Stopped'
    }
}

Describe 'What a run leaves running' -Tag Supervision -Skip:(-not $IsLinux) {
    BeforeAll {
        $db = New-TestQueue
        Start-QueueWorker | Out-Null
    }
    AfterAll { Close-TestQueue $db }

    It 'ends the run when its shell exits and stops a background child it left' {
        $mark = New-Mark
        New-QueueJob "sleep $mark & echo started" -Id background | Out-Null
        $job = Wait-QueueJob background -Timeout 30
        $job.State | Should -Be 'Completed'
        ($job.FinishedAt - $job.StartedAt).TotalSeconds | Should -BeLessThan 1.9
        Get-MarkedProcess $mark | Should -BeNullOrEmpty
        Receive-QueueJob background -ErrorAction SilentlyContinue -ErrorVariable noted | Should -Be 'started'
        "$noted" | Should -Match "left 1 process\(es\) running; stopped when it ended: \d+ sleep $([regex]::Escape($mark))"
    }

    It 'kills a setsid grandchild that left the process tree when the run times out' {
        $mark = New-Mark
        New-QueueJob "(setsid sleep $mark &); sleep 30" -Id escaped -Timeout 1 -MaxRetries 0 | Out-Null
        $job = Wait-QueueJob escaped -Timeout 30
        $job.State | Should -Be 'Dead'
        $job.LastError | Should -Match 'Timed out'
        Get-MarkedProcess $mark | Should -BeNullOrEmpty
    }

    It 'leaves a service started without the run token running (the documented escape hatch)' {
        $mark = New-Mark
        New-QueueJob "env -u QUEUECTL_RUN_TOKEN setsid sleep $mark </dev/null >/dev/null 2>&1 &" -Id service | Out-Null
        (Wait-QueueJob service -Timeout 30).State | Should -Be 'Completed'
        (Get-MarkedProcess $mark).Count | Should -Be 1
        Get-MarkedProcess $mark | Stop-Process
    }
}
