# The original queuectl command line, mapped onto the cmdlets. Inside pwsh: `queuectl status`. From bash or cmd:
# the launchers in bin/. Every command sets $LASTEXITCODE: 0 on success, 1 when the queue refused, 2 on bad usage.

$script:Usage = @{
    '' = @'
usage: queuectl [--database PATH] <command> [options]

Commands:
  enqueue '<json>'              Add a job, e.g. queuectl enqueue '{"id":"job1","command":"echo hi","max_retries":2}'
  worker start [--count N]      Run N workers here until Ctrl+C or SIGTERM (--detach: in the background)
  worker stop                   Stop every worker, wherever it was started
  status                        Jobs per state and the active workers
  list [--state S] [--queue Q]  One job per line: id, state, attempts, command
  queue list                    The named queues: state, pending, failed, processing
  queue pause|resume NAME...    Pause or resume named queues
  dlq list                      The dead letter queue, one job per line
  dlq retry <id>...             Send dead jobs back to pending
  config get [KEY]              Show settings (max-retries, backoff-base, ...)
  config set KEY VALUE          Change a setting

Run 'queuectl <command> --help' for a command's options.
The queue is --database, else $QUEUECTL_DATABASE, else the per-user data folder.
'@
    'enqueue' = @'
usage: queuectl enqueue '<json>'

Adds one job. JSON properties: command (required), id, max_retries, timeout (seconds), run_at (ISO 8601),
working_directory, queue (a name; default "default"), priority (-100 to 100, higher runs first; default 0) and
tags (an array of strings).
Prints the job's id.
'@
    'worker' = @'
usage: queuectl worker start [--count N] [--concurrency N] [--queue Q[,Q...]] [--detach]
       queuectl worker stop

start  Runs N workers (default 1) in the foreground until Ctrl+C or SIGTERM; running jobs finish first.
       --queue takes jobs from these named queues only (default: every queue).
       --detach starts them as background processes instead and returns at once.
stop   Asks every worker of the queue to stop after its running job, and waits until they have.
'@
    'status' = @'
usage: queuectl status

Prints the number of jobs in each state and the active workers.
'@
    'list' = @'
usage: queuectl list [--state STATE] [--queue Q[,Q...]]

Prints one job per line: id, state, attempts and command, separated by tabs.
STATE is one of pending, processing, completed, failed, dead, cancelled. --queue lists only those named queues.
'@
    'queue' = @'
usage: queuectl queue list
       queuectl queue pause <name>...
       queuectl queue resume <name>...

list    One queue per line: name, active or paused, and its pending, failed and processing jobs, separated by tabs.
pause   Workers claim nothing more from these queues; running jobs finish. Holds for every worker until resumed.
resume  Workers claim from these queues again at once.
'@
    'dlq' = @'
usage: queuectl dlq list
       queuectl dlq retry <id>...

list   The jobs in the dead letter queue, one per line (id, state, attempts, last error).
retry  Moves dead jobs back to pending with their attempts reset.
'@
    'config' = @'
usage: queuectl config get [KEY]
       queuectl config set KEY VALUE

Keys: max-retries, backoff-base, backoff-max, job-timeout, lease-duration, output-limit, poll-interval, synchronous.
'@
}

class QueueCtlUsageException : System.Exception {
    [string] $Topic
    QueueCtlUsageException([string] $message, [string] $topic) : base($message) { $this.Topic = $topic }
}

function queuectl {
    <#
    .SYNOPSIS
        The original queuectl command line, mapped onto QueueCtl's cmdlets.
    .DESCRIPTION
        Run 'queuectl --help' for the commands. Sets $LASTEXITCODE: 0 on success, 1 when the queue refused the
        request, 2 on bad usage.
    .EXAMPLE
        queuectl enqueue '{"id":"job1","command":"echo Hello"}'
    .EXAMPLE
        queuectl worker start --count 3
    #>
    $global:LASTEXITCODE = 0
    $arguments = [Collections.Generic.List[string]]::new()
    foreach ($a in $args) { $arguments.Add([string]$a) }
    $common = @{}
    $index = $arguments.IndexOf('--database')
    if ($index -ge 0) {
        if ($index + 1 -ge $arguments.Count) { return Write-QueueCtlUsage 'missing value for --database' '' }
        $common.Database = $arguments[$index + 1]
        $arguments.RemoveRange($index, 2)
    }
    $command = if ($arguments.Count) { $arguments[0] } else { '' }
    $rest = @($arguments | Select-Object -Skip 1)
    try {
        if ($command -in '', '-h', '--help', 'help') { Write-Output $script:Usage['']; return }
        if ($rest -contains '--help' -or $rest -contains '-h') {
            if (-not $script:Usage.ContainsKey($command)) { throw [QueueCtlUsageException]::new("unknown command '$command'", '') }
            Write-Output $script:Usage[$command]
            return
        }
        switch ($command) {
            'enqueue' { Invoke-QueueCtlEnqueue $rest $common }
            'worker' { Invoke-QueueCtlWorker $rest $common }
            'status' { Assert-NoArguments $rest 'status'; Invoke-QueueCtlStatus $common }
            'list' { Invoke-QueueCtlList $rest $common }
            'queue' { Invoke-QueueCtlQueue $rest $common }
            'dlq' { Invoke-QueueCtlDlq $rest $common }
            'config' { Invoke-QueueCtlConfig $rest $common }
            default { throw [QueueCtlUsageException]::new("unknown command '$command'", '') }
        }
    }
    catch [QueueCtlUsageException] {
        Write-QueueCtlUsage $_.Exception.Message $_.Exception.Topic
    }
    catch {
        [Console]::Error.WriteLine("queuectl: $($_.Exception.Message)")
        $global:LASTEXITCODE = 1
    }
}

function Write-QueueCtlUsage([string] $Message, [string] $Topic) {
    [Console]::Error.WriteLine("queuectl: $Message")
    [Console]::Error.WriteLine($script:Usage[$Topic])
    $global:LASTEXITCODE = 2
}

function Assert-NoArguments([string[]] $Rest, [string] $Topic) {
    if ($Rest.Count) { throw [QueueCtlUsageException]::new("unexpected argument '$($Rest[0])'", $Topic) }
}

function Read-QueueCtlOptions {
    # Parses --name value and --flag options; returns a hashtable and the positional arguments.
    param([string[]] $Rest, [string[]] $Valued, [string[]] $Flags, [string] $Topic)
    $options = @{}
    $positional = [Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $Rest.Count; $i++) {
        $token = $Rest[$i]
        if ($token -like '--*') {
            $name = $token.Substring(2)
            if ($name -in $Flags) { $options[$name] = $true; continue }
            if ($name -notin $Valued) { throw [QueueCtlUsageException]::new("unknown option '$token'", $Topic) }
            if ($i + 1 -ge $Rest.Count) { throw [QueueCtlUsageException]::new("missing value for '$token'", $Topic) }
            $options[$name] = $Rest[++$i]
        }
        else { $positional.Add($token) }
    }
    return $options, $positional
}

function ConvertTo-QueueCtlCount([string] $Text, [string] $Option, [string] $Topic) {
    $value = 0
    if (-not [int]::TryParse($Text, [ref] $value) -or $value -lt 1) {
        throw [QueueCtlUsageException]::new("$Option must be a whole number of at least 1, not '$Text'", $Topic)
    }
    return $value
}

function Format-QueueCtlJob($Job) {
    $command = ($Job.Command -replace '\s+', ' ').Trim()
    "{0}`t{1}`t{2}`t{3}" -f $Job.Id, $Job.State.ToString().ToLowerInvariant(), $Job.Attempts, $command
}

function Invoke-QueueCtlEnqueue([string[]] $Rest, [hashtable] $Common) {
    if ($Rest.Count -ne 1) { throw [QueueCtlUsageException]::new('enqueue takes exactly one JSON argument', 'enqueue') }
    $job = New-QueueJob -Json $Rest[0] @Common -ErrorAction Stop
    "Enqueued job $($job.Id)"
}

function Invoke-QueueCtlWorker([string[]] $Rest, [hashtable] $Common) {
    $action = if ($Rest.Count) { $Rest[0] } else { '' }
    $options, $positional = Read-QueueCtlOptions @($Rest | Select-Object -Skip 1) -Valued 'count', 'concurrency', 'queue' -Flags 'detach' -Topic 'worker'
    Assert-NoArguments $positional 'worker'
    switch ($action) {
        'start' {
            $count = if ($options.count) { ConvertTo-QueueCtlCount $options.count '--count' 'worker' } else { 1 }
            $concurrency = if ($options.concurrency) { ConvertTo-QueueCtlCount $options.concurrency '--concurrency' 'worker' } else { 1 }
            if ($options.queue) { $Common = $Common + @{ Queue = @($options.queue -split ',') } }
            if ($options.detach) {
                Start-QueueWorker -Count $count -Concurrency $concurrency @Common -ErrorAction Stop |
                    ForEach-Object { "Started worker $($_.Id) (pid $($_.ProcessId))" }
                return
            }
            Write-Output "Starting $count worker(s); Ctrl+C or SIGTERM stops them after their running jobs."
            Start-QueueWorker -Foreground -Count $count -Concurrency $concurrency @Common -ErrorAction Stop -InformationAction Continue
        }
        'stop' {
            if ($options.Count) { throw [QueueCtlUsageException]::new('worker stop takes no options', 'worker') }
            $stopped = @(Stop-QueueWorker -All -PassThru -Confirm:$false @Common -ErrorAction Stop)
            "Stopped $($stopped.Count) worker(s)"
        }
        default { throw [QueueCtlUsageException]::new("unknown worker action '$action'", 'worker') }
    }
}

function Invoke-QueueCtlStatus([hashtable] $Common) {
    $status = Get-QueueStatus @Common -ErrorAction Stop
    'Jobs:'
    foreach ($state in 'Pending', 'Processing', 'Completed', 'Failed', 'Dead', 'Cancelled') {
        '  {0,-11} {1}' -f $state.ToLowerInvariant(), $status.$state
    }
    '  {0,-11} {1}' -f 'total', $status.Total
    $workers = @(Get-QueueWorker @Common -ErrorAction Stop | Where-Object IsAlive)
    "Active workers: $($workers.Count)"
    foreach ($w in $workers) {
        $jobs = if ($w.CurrentJobs.Count) { $w.CurrentJobs -join ',' } else { 'idle' }
        '  {0}  pid {1} on {2}  {3}  {4}' -f $w.Id, $w.ProcessId, $w.HostName, $w.State.ToString().ToLowerInvariant(), $jobs
    }
}

function Invoke-QueueCtlList([string[]] $Rest, [hashtable] $Common) {
    $options, $positional = Read-QueueCtlOptions $Rest -Valued 'state', 'queue' -Flags @() -Topic 'list'
    Assert-NoArguments $positional 'list'
    $filter = @{}
    if ($options.queue) { $filter.Queue = @($options.queue -split ',') }
    if ($options.state) {
        $states = 'pending', 'processing', 'completed', 'failed', 'dead', 'cancelled'
        if ($options.state -notin $states) { throw [QueueCtlUsageException]::new("unknown state '$($options.state)'", 'list') }
        $filter.State = $options.state
    }
    Get-QueueJob @filter @Common -ErrorAction Stop | ForEach-Object { Format-QueueCtlJob $_ }
}

function Invoke-QueueCtlQueue([string[]] $Rest, [hashtable] $Common) {
    $action = if ($Rest.Count) { $Rest[0] } else { '' }
    $names = @($Rest | Select-Object -Skip 1)
    switch ($action) {
        'list' {
            Assert-NoArguments $names 'queue'
            Get-Queue @Common -ErrorAction Stop | ForEach-Object {
                "{0}`t{1}`t{2}`t{3}`t{4}" -f $_.Name, $(if ($_.IsPaused) { 'paused' } else { 'active' }), $_.Pending, $_.Failed, $_.Processing
            }
        }
        { $_ -in 'pause', 'resume' } {
            if (-not $names.Count) { throw [QueueCtlUsageException]::new("queue $action needs at least one queue name", 'queue') }
            $cmdlet = if ($action -eq 'pause') { 'Suspend-Queue' } else { 'Resume-Queue' }
            foreach ($queue in & $cmdlet -Name $names -PassThru -Confirm:$false @Common -ErrorAction Stop) {
                "Queue $($queue.Name) is $(if ($queue.IsPaused) { 'paused' } else { 'active' })"
            }
        }
        default { throw [QueueCtlUsageException]::new("unknown queue action '$action'", 'queue') }
    }
}

function Invoke-QueueCtlDlq([string[]] $Rest, [hashtable] $Common) {
    $action = if ($Rest.Count) { $Rest[0] } else { '' }
    $ids = @($Rest | Select-Object -Skip 1)
    switch ($action) {
        'list' {
            Assert-NoArguments $ids 'dlq'
            Get-QueueJob -State Dead @Common -ErrorAction Stop | ForEach-Object { "{0}`t{1}" -f (Format-QueueCtlJob $_), $_.LastError }
        }
        'retry' {
            if (-not $ids.Count) { throw [QueueCtlUsageException]::new('dlq retry needs at least one job id', 'dlq') }
            foreach ($id in $ids) {
                $job = Invoke-QueueDlqRetry -Id $id -PassThru -Confirm:$false @Common -ErrorAction Stop
                "Job $($job.Id) is pending again"
            }
        }
        default { throw [QueueCtlUsageException]::new("unknown dlq action '$action'", 'dlq') }
    }
}

function Invoke-QueueCtlConfig([string[]] $Rest, [hashtable] $Common) {
    $action = if ($Rest.Count) { $Rest[0] } else { '' }
    $values = @($Rest | Select-Object -Skip 1)
    switch ($action) {
        'get' {
            if ($values.Count -gt 1) { throw [QueueCtlUsageException]::new('config get takes at most one key', 'config') }
            $entries = if ($values.Count) { Get-QueueConfig -Name $values[0] @Common -ErrorAction Stop } else { Get-QueueConfig @Common -ErrorAction Stop }
            $entries | ForEach-Object { '{0} = {1}' -f $_.Name, (Format-QueueCtlValue $_.Value) }
        }
        'set' {
            if ($values.Count -ne 2) { throw [QueueCtlUsageException]::new('config set takes a key and a value', 'config') }
            $entry = Set-QueueConfig -Name $values[0] -Value $values[1] -PassThru -Confirm:$false @Common -ErrorAction Stop
            '{0} = {1}' -f $entry.Name, (Format-QueueCtlValue $entry.Value)
        }
        default { throw [QueueCtlUsageException]::new("unknown config action '$action'", 'config') }
    }
}

function Format-QueueCtlValue($Value) {
    if ($Value -is [TimeSpan]) { return $Value.TotalSeconds.ToString([Globalization.CultureInfo]::InvariantCulture) }
    return [string]$Value
}

Export-ModuleMember -Function queuectl
