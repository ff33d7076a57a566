BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    # The launcher runs 'pwsh', or $QUEUECTL_PWSH: point that at this same PowerShell.
    $shim = Join-Path ([IO.Path]::GetTempPath()) "queuectl-pwsh-shim-$PID"
    $pwsh = @(Get-PwshCommand)
    Set-Content $shim "#!/bin/sh`nexec $(($pwsh | ForEach-Object { "'$_'" }) -join ' ') `"`$@`""
    if (-not $IsWindows) { chmod +x $shim }
    $env:QUEUECTL_PWSH = $shim
    $launcher = Join-Path $env:QUEUECTL_TEST_MODULE 'bin/queuectl'

    function Invoke-Bash([string] $Script) {
        # Runs a bash script with queuectl on PATH; returns its output lines and sets $LASTEXITCODE.
        $env:PATH = "$(Split-Path $launcher)$([IO.Path]::PathSeparator)$env:PATH"
        try { bash -c $Script 2>&1 } finally { $env:PATH = $env:PATH.Substring((Split-Path $launcher).Length + 1) }
    }
}
AfterAll { Remove-Item $shim -ErrorAction SilentlyContinue }

Describe 'queuectl from bash' -Skip:$IsWindows {
    BeforeEach { $db = New-TestQueue }
    AfterEach {
        Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'enqueues, lists, and reports status like the original' {
        $out = Invoke-Bash @'
queuectl enqueue '{"id":"job1","command":"echo Hello","max_retries":2}' &&
queuectl enqueue '{"id":"job2","command":"exit 1","max_retries":0}' &&
queuectl list && queuectl list --state pending && queuectl status
'@
        $LASTEXITCODE | Should -Be 0
        $out | Should -Contain 'Enqueued job job1'
        $out | Should -Contain "job1`tpending`t0`techo Hello"
        ($out | Where-Object { $_ -like "job2`t*" }).Count | Should -Be 2
        $out | Should -Contain '  pending     2'
        $out | Should -Contain 'Active workers: 0'
        (Get-QueueJob job1).MaxRetries | Should -Be 2
    }

    It 'fails with exit code 1 when the queue refuses, and 2 on bad usage' {
        New-QueueJob 'true' -Id taken | Out-Null
        Invoke-Bash @'
queuectl enqueue '{"id":"taken","command":"true"}'
'@ | Should -Match "already exists"
        $LASTEXITCODE | Should -Be 1
        Invoke-Bash "queuectl enqueue 'not json'" | Should -Match 'not valid'
        $LASTEXITCODE | Should -Be 1
        $out = Invoke-Bash 'queuectl frobnicate'
        $LASTEXITCODE | Should -Be 2
        $out[0] | Should -Be "queuectl: unknown command 'frobnicate'"
        $out = Invoke-Bash 'queuectl worker start --count zero'
        $LASTEXITCODE | Should -Be 2
        $out[0] | Should -Match 'whole number' 
        Invoke-Bash 'queuectl config set max-retries -5' | Should -Match "not a valid value for 'max-retries'"
        $LASTEXITCODE | Should -Be 1
    }

    # NoQueue: help reads no queue.
    It 'prints help for every command' -Tag NoQueue {
        foreach ($command in '', 'enqueue', 'worker', 'status', 'list', 'dlq', 'config') {
            $out = Invoke-Bash "queuectl $command --help"
            $LASTEXITCODE | Should -Be 0 -Because "queuectl $command --help"
            $out[0] | Should -Match '^usage: queuectl' -Because "queuectl $command --help"
        }
    }

    It 'lists and retries the dead letter queue, and gets and sets config' {
        Set-QueueConfig -BackoffMax 0
        New-QueueJob 'exit 3' -Id doomed -MaxRetries 0 | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
        $out = Invoke-Bash 'queuectl dlq list && queuectl dlq retry doomed && queuectl config set backoff-base 3 && queuectl config get backoff-base'
        $LASTEXITCODE | Should -Be 0
        $out | Should -Contain "doomed`tdead`t1`texit 3`tExited with code 3."
        $out | Should -Contain 'Job doomed is pending again'
        $out | Should -Contain 'backoff-base = 3'
        (Get-QueueJob doomed).State | Should -Be 'Pending'
    }

    It 'runs workers in the foreground and stops them on SIGTERM, leaving no worker behind' {
        New-QueueJob 'sleep 1; echo ran' -Id inflight | Out-Null
        $out = Invoke-Bash @"
queuectl worker start --count 2 > '$(Get-TestFolder $db)/worker.out' 2>&1 &
pid=`$!
for i in `$(seq 1 300); do
    queuectl status | grep -q 'Active workers: 2' && break
    sleep 0.1
done
queuectl status | grep 'Active workers'
kill -TERM `$pid
wait `$pid
echo "exit=`$?"
"@
        $out | Should -Contain 'Active workers: 2'
        $out | Should -Contain 'exit=0'
        (Get-QueueWorker).State | Should -Be @('Stopped', 'Stopped')
        (Get-QueueJob inflight).State | Should -Be 'Completed'
        Get-QueueWorker | ForEach-Object { Get-Process -Id $_.ProcessId -ErrorAction SilentlyContinue } | Should -BeNullOrEmpty
    }

    It 'starts detached workers that outlive it, and stops workers started anywhere' {
        $out = Invoke-Bash 'queuectl worker start --detach --count 2'
        $LASTEXITCODE | Should -Be 0
        ($out | Where-Object { $_ -like 'Started worker *' }).Count | Should -Be 2
        Wait-Until { @(Get-QueueWorker -State Running).Count -eq 2 } -Because 'the workers to register'
        (New-QueueJob 'echo hi' | Wait-QueueJob -Timeout 30).State | Should -Be 'Completed'
        Invoke-Bash 'queuectl worker stop' | Should -Contain 'Stopped 2 worker(s)'
        (Get-QueueWorker).State | Should -Be @('Stopped', 'Stopped')
    }
}

Describe 'queuectl inside pwsh' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'is a command of the module that sets $LASTEXITCODE' {
        queuectl enqueue '{"id":"inside","command":"true"}' | Should -Be 'Enqueued job inside'
        $LASTEXITCODE | Should -Be 0
        queuectl list --state bogus 2>$null
        $LASTEXITCODE | Should -Be 2
        (Get-Command queuectl).Module.Name | Should -Be 'QueueCtl'
    }
}
