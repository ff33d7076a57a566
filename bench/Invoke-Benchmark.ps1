<#
.SYNOPSIS
    QueueCtl's benchmark suite: prints a table and writes it as JSON. Never part of the tests.
.DESCRIPTION
    Runs each workload several times against real queue files and real worker processes, and reports the median and
    the spread (min-max). Baselines are measured in the same run. Run through build.ps1:
        dotnet pwsh ./build.ps1 Bench
        dotnet pwsh ./build.ps1 Bench -BenchArgs '-Quick'
.PARAMETER Quick
    Smaller workloads (a tenth) and no 1M-job scale test: a smoke run, not figures to quote.
.PARAMETER Workload
    The workloads to run (all by default): Enqueue, Drain, Shell, Latency, Idle, Scale.
.PARAMETER Engine
    The storage engines to measure, each with the same workloads: SQLite (a file in a temporary folder) and PostgreSQL
    (a fresh schema on the server $env:QUEUECTL_TEST_POSTGRES names; build.ps1 Bench starts a throwaway one).
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 3,
    [int] $Concurrency = 8,
    [switch] $Quick,
    [ValidateSet('SQLite', 'PostgreSQL')][string[]] $Engine = @('SQLite', 'PostgreSQL'),
    [ValidateSet('Enqueue', 'Drain', 'Shell', 'Latency', 'Idle', 'Scale')][string[]] $Workload = @('Enqueue', 'Drain', 'Shell', 'Latency', 'Idle', 'Scale'),
    [string] $OutFile
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'QueueCtl.psd1')

$scale = if ($Quick) { 0.1 } else { 1.0 }
$work = Join-Path ([IO.Path]::GetTempPath()) "queuectl-bench-$PID"
$null = New-Item -ItemType Directory $work -Force
$results = [Collections.Generic.List[object]]::new()

$script:CurrentEngine = 'SQLite'
$script:BenchQueues = [Collections.Generic.List[string]]::new()

function New-BenchQueue([string] $Name) {
    if ($script:CurrentEngine -eq 'PostgreSQL') {
        $address = "$env:QUEUECTL_TEST_POSTGRES$(if ($env:QUEUECTL_TEST_POSTGRES.Contains('?')) { '&' } else { '?' })schema=bench_$($Name -replace '\W', '_')_$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $script:BenchQueues.Add($address)
        return $address
    }
    $path = Join-Path $work "$Name.db"
    Remove-Item "$path*" -Force -ErrorAction SilentlyContinue
    Remove-Item (Join-Path $work "$Name.workers") -Recurse -Force -ErrorAction SilentlyContinue
    $script:BenchQueues.Add($path)
    return $path
}

function Invoke-Sql([string] $Database, [string] $Sql) {
    # Direct SQL, only for setting up the 1M-job queue: the measured paths all go through the cmdlets.
    if ($Database -match '^postgres') {
        $schema = [regex]::Match($Database, 'schema=(\w+)').Groups[1].Value
        $uri = $Database -replace '[?&]schema=\w+', ''
        $psql = @(Get-ChildItem /usr/lib/postgresql/*/bin/psql | Sort-Object FullName)[-1].FullName
        # The password stays in PGPASSWORD (the environment), never on psql's command line.
        $Sql | & $psql -X -q -v ON_ERROR_STOP=1 -d $uri -c "SET search_path TO $schema" -f - | Out-Null
        if ($LASTEXITCODE) { throw "psql failed ($LASTEXITCODE)." }
        return
    }
    $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$Database;Pooling=False")
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = 'PRAGMA busy_timeout = 60000'
        $null = $command.ExecuteNonQuery()
        $command.CommandText = $Sql
        $null = $command.ExecuteNonQuery()
    }
    finally { $connection.Dispose() }
}

function Measure-Median([double[]] $Values) {
    $sorted = $Values | Sort-Object
    $mid = [math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { $sorted[$mid] } else { ($sorted[$mid - 1] + $sorted[$mid]) / 2 }
}

function Get-Percentile([double[]] $Values, [double] $P) {
    $sorted = $Values | Sort-Object
    $sorted[[math]::Min($sorted.Count - 1, [math]::Ceiling($P / 100 * $sorted.Count) - 1)]
}

function Add-Result([string] $Workload, [string] $Metric, [string] $Unit, [double[]] $Values, [string] $Target = '', [string] $Note = '') {
    $row = [pscustomobject]@{
        Engine = $script:CurrentEngine; Workload = $Workload; Metric = $Metric; Unit = $Unit
        Median = [math]::Round((Measure-Median $Values), 2)
        Min = [math]::Round(($Values | Measure-Object -Minimum).Minimum, 2)
        Max = [math]::Round(($Values | Measure-Object -Maximum).Maximum, 2)
        Runs = $Values.Count; Target = $Target; Note = $Note
    }
    $results.Add($row)
    Write-Host ("  {0,-10} {1,-22} {2,-34} {3,12:N2} {4,-8} [{5:N2} .. {6:N2}]" -f $script:CurrentEngine, $Workload, $Metric, $row.Median, $Unit, $row.Min, $row.Max)
}

function Get-DrainRate([string] $Database, [string[]] $Ids) {
    # From the first claim to the last completion, by the queue's own timestamps.
    $jobs = @(Get-QueueJob -Id $Ids -Database $Database)
    $done = @($jobs | Where-Object State -EQ 'Completed').Count
    if ($done -ne $Ids.Count) { throw "Only $done of $($Ids.Count) jobs completed." }
    $first = ($jobs.StartedAt | Measure-Object -Minimum).Minimum
    $last = ($jobs.FinishedAt | Measure-Object -Maximum).Maximum
    return $Ids.Count / ($last - $first).TotalSeconds
}

function Wait-Drained([string] $Database, [int] $Count, [int] $TimeoutSeconds = 600) {
    # Drains are timed by the jobs' own timestamps, so how often this looks changes no figure; looking every 50 ms
    # took a tenth of a core from the workers being measured.
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ((Get-QueueStatus -Database $Database).Completed -lt $Count) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Drain of $Count jobs did not finish in $TimeoutSeconds s." }
        Start-Sleep -Milliseconds 250
    }
}

function Invoke-Drain([string] $Database, [scriptblock] $Enqueue, [int] $Count, [int] $Workers, [int] $PerWorker) {
    # Measures a drain by warm workers: they are started and run a tenth as many jobs of the same kind first (worker
    # start-up and the JIT's first compilations are not drain throughput), then $Count jobs are enqueued at once and
    # timed from their first claim to their last completion. Jobs already in the queue stay completed.
    $started = Start-QueueWorker -Database $Database -Count $Workers -Concurrency $PerWorker
    try {
        $before = (Get-QueueStatus -Database $Database).Completed
        $warm = [math]::Max(200, [int]($Count / 10))
        $null = Invoke-Enqueue $Enqueue $Database $warm
        Wait-Drained $Database ($before + $warm)
        $ids = @(Invoke-Enqueue $Enqueue $Database $Count)
        Wait-Drained $Database ($before + $warm + $Count)
        Get-DrainRate $Database $ids
    }
    finally { Stop-QueueWorker -Database $Database -All -Force -ErrorAction SilentlyContinue }
}

function Invoke-Enqueue([scriptblock] $Enqueue, [string] $Database, [int] $Count) {
    # In a PowerShell process of its own, which is gone before the drain: an enqueue of thousands leaves this process
    # recompiling hot code (tiered JIT) for seconds afterwards, and that took a tenth of a core or more from the
    # workers being measured. Outputs the ids.
    $pwsh = if ([Environment]::ProcessPath -match 'dotnet(\.exe)?$') { @([Environment]::ProcessPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @([Environment]::ProcessPath) }
    $script = "Import-Module '$((Get-Module QueueCtl).Path -replace "'", "''")'; function Get-DueAfterEnqueue { $(${function:Get-DueAfterEnqueue}) }; & { $Enqueue } '$($Database -replace "'", "''")' $Count"
    $ids = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE) { throw "The enqueue of $Count jobs failed ($LASTEXITCODE)." }
    $ids
}

# The jobs of one enqueue all fall due together, once the enqueue is over: the drain is timed without the enqueue
# competing with it for the CPU.
function Get-DueAfterEnqueue { param([int] $Count) [DateTime]::UtcNow.AddSeconds([math]::Max(2, $Count / 5000)) }
$enqueueNoop = {
    param($Database, $Count)
    $due = Get-DueAfterEnqueue $Count
    1..$Count | ForEach-Object { [pscustomobject]@{ ScriptBlock = {}; RunAt = $due } } | New-QueueJob -Database $Database | ForEach-Object Id
}
$enqueueTrue = {
    param($Database, $Count)
    New-QueueJob -Command (@('true') * $Count) -RunAt (Get-DueAfterEnqueue $Count) -Database $Database | ForEach-Object Id
}

function Wait-WorkersSettled([string] $Database, [int] $Count, [int] $Seconds) {
    # Until the workers run, then a little longer so their start-up work is over.
    while (@(Get-QueueWorker -Database $Database -State Running).Count -lt $Count) { Start-Sleep -Milliseconds 100 }
    Start-Sleep -Seconds $Seconds
}

function Get-ProcessTree([int] $ProcessId) {
    # The process and its descendants, by the parent pid in /proc/<pid>/stat.
    $children = @{}
    foreach ($stat in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -Match '^\d+$') {
        $text = Get-Content "$($stat.FullName)/stat" -Raw -ErrorAction Ignore
        if (-not $text) { continue }
        $parent = [int](($text.Substring($text.LastIndexOf(')') + 2) -split ' ')[1])
        $children[$parent] += @([int]$stat.Name)
    }
    $found = [Collections.Generic.List[int]]::new()
    $todo = [Collections.Generic.Queue[int]]::new()
    $todo.Enqueue($ProcessId)
    while ($todo.Count) {
        $next = $todo.Dequeue()
        $found.Add($next)
        foreach ($child in @($children[$next])) { if ($child) { $todo.Enqueue($child) } }
    }
    $found
}

function Get-ProcessCpuMs([int] $ProcessId) {
    $stat = Get-Content "/proc/$ProcessId/stat" -Raw
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2) -split ' '
    ([long]$fields[11] + [long]$fields[12]) * 1000 / 100   # utime + stime, in clock ticks of 10 ms
}

$machine = [pscustomobject]@{
    Cores = [Environment]::ProcessorCount; OS = [Runtime.InteropServices.RuntimeInformation]::OSDescription
    PowerShell = $PSVersionTable.PSVersion.ToString(); QueueCtl = (Get-Module QueueCtl).Version.ToString()
    Synchronous = 'FULL'; Concurrency = $Concurrency; Runs = $Runs; Quick = [bool]$Quick; Date = (Get-Date).ToString('o')
}
Write-Host "QueueCtl benchmark: $($machine.Cores) cores, $($machine.OS), PowerShell $($machine.PowerShell), synchronous=FULL, $Runs runs each" -ForegroundColor Cyan

try {
    foreach ($engineName in $Engine) {
        $script:CurrentEngine = $engineName
        if ($engineName -eq 'PostgreSQL' -and -not $env:QUEUECTL_TEST_POSTGRES) {
            Write-Warning 'PostgreSQL rows SKIPPED: QUEUECTL_TEST_POSTGRES is not set (build.ps1 Bench starts a server).'
            continue
        }
        Write-Host "== $engineName ==" -ForegroundColor Cyan
        # The issues' targets: PostgreSQL's were set against graphile-worker measured on this machine.
        $target = if ($engineName -eq 'SQLite') { @{ Enqueue = '>= 25000'; Drain = '>= 2000'; P50 = '<= 5'; P95 = '<= 20' } }
        else { @{ Enqueue = '>= 20000'; Drain = '>= 3000'; P50 = '<= 3'; P95 = '<= 10' } }
        if ('Enqueue' -in $Workload) {
            # 1. Enqueue: through the pipeline, and the bulk path (an array bound to -Command). Baseline: the bare pipeline.
            Write-Host "1. Enqueue" -ForegroundColor Cyan
            $count = [int](100000 * $scale)
            $commands = foreach ($i in 1..$count) { "echo $i" }
            $pipeline = @(); $bulk = @(); $bare = @()
            for ($r = 0; $r -lt $Runs; $r++) {
                $db = New-BenchQueue 'enqueue'
                $t = [Diagnostics.Stopwatch]::StartNew(); $commands | New-QueueJob -Database $db | Out-Null; $pipeline += $count / $t.Elapsed.TotalSeconds
                $db = New-BenchQueue 'enqueue'
                $t = [Diagnostics.Stopwatch]::StartNew(); New-QueueJob -Command $commands -Database $db | Out-Null; $bulk += $count / $t.Elapsed.TotalSeconds
                $t = [Diagnostics.Stopwatch]::StartNew(); $commands | ForEach-Object { $_ } | Out-Null; $bare += $count / $t.Elapsed.TotalSeconds
            }
            Add-Result 'enqueue' "$count via ... | New-QueueJob" 'jobs/s' $pipeline $target.Enqueue
            Add-Result 'enqueue' "$count via -Command <array>" 'jobs/s' $bulk
            Add-Result 'enqueue' 'baseline: bare pipeline' 'items/s' $bare '' 'ForEach-Object { $_ } | Out-Null'
        }

        if ('Drain' -in $Workload) {
            # 2. Drain, no-op: empty script blocks, and the cheapest command ('true'), with 2 worker processes.
            Write-Host "2. Drain, no-op" -ForegroundColor Cyan
            $count = [int](20000 * $scale)
            $script = @(); $command = @()
            for ($r = 0; $r -lt $Runs; $r++) {
                $script += Invoke-Drain (New-BenchQueue 'noop') $enqueueNoop $count 2 $Concurrency
                $command += Invoke-Drain (New-BenchQueue 'noop-true') $enqueueTrue $count 2 $Concurrency
            }
            Add-Result 'drain no-op' "$count empty script blocks, 2 workers" 'jobs/s' $script $target.Drain "-Concurrency $Concurrency"
            Add-Result 'drain no-op' "$count 'true' commands, 2 workers" 'jobs/s' $command '' "-Concurrency $Concurrency"

            # 2b. SQLite's opt-in, less durable mode, measured apart: synchronous=NORMAL (no fsync per commit).
            if ($engineName -eq 'SQLite') {
                $normal = @()
                for ($r = 0; $r -lt $Runs; $r++) {
                    $db = New-BenchQueue 'noop-normal'
                    Set-QueueConfig -Synchronous NORMAL -Database $db
                    $normal += Invoke-Drain $db $enqueueNoop $count 2 $Concurrency
                }
                Add-Result 'drain no-op NORMAL' "$count empty script blocks, 2 workers" 'jobs/s' $normal '' 'opt-in: synchronous=NORMAL'
            }
        }

        if ('Shell' -in $Workload) {
            # 3. Drain, shell: 'true' x 2000 with 2 workers, against xargs -P 2 in the same run.
            Write-Host "3. Drain, shell" -ForegroundColor Cyan
            $count = [int](2000 * $scale)
            $narrow = @(); $wide = @(); $xargs = @(); $narrowRatio = @(); $wideRatio = @()
            for ($r = 0; $r -lt $Runs; $r++) {
                $t = [Diagnostics.Stopwatch]::StartNew()
                bash -c "seq $count | xargs -P 2 -I{} sh -c true"
                $base = $count / $t.Elapsed.TotalSeconds
                $rate2 = Invoke-Drain (New-BenchQueue 'shell') $enqueueTrue $count 2 2
                $rateN = Invoke-Drain (New-BenchQueue 'shell') $enqueueTrue $count 2 $Concurrency
                $xargs += $base; $narrow += $rate2; $wide += $rateN; $narrowRatio += $rate2 / $base; $wideRatio += $rateN / $base
            }
            Add-Result 'drain shell' 'baseline: seq | xargs -P 2 sh -c true' 'jobs/s' $xargs
            Add-Result 'drain shell' "$count 'true', 2 workers x 2" 'jobs/s' $narrow '' '-Concurrency 2: as many processes at once as xargs'
            Add-Result 'drain shell' 'ratio QueueCtl (x 2) / xargs' 'x' $narrowRatio '>= 0.6'
            Add-Result 'drain shell' "$count 'true', 2 workers x $Concurrency" 'jobs/s' $wide '' "-Concurrency $Concurrency"
            Add-Result 'drain shell' "ratio QueueCtl (x $Concurrency) / xargs" 'x' $wideRatio '>= 0.6'
        }

        if ('Latency' -in $Workload) {
            # 4. Pickup latency: idle workers, jobs enqueued one at a time at random gaps; enqueue to start (claim).
            Write-Host "4. Pickup latency" -ForegroundColor Cyan
            $count = [int](200 * [math]::Max($scale, 0.5))
            $p50 = @(); $p95 = @(); $p99 = @()
            for ($r = 0; $r -lt $Runs; $r++) {
                $db = New-BenchQueue 'latency'
                $null = Start-QueueWorker -Database $db -Count 2
                try {
                    Wait-WorkersSettled $db 2 -Seconds 2
                    $random = [Random]::new($r)
                    for ($i = 0; $i -lt $count; $i++) {
                        New-QueueJob -Command 'true' -Database $db | Out-Null
                        Start-Sleep -Milliseconds $random.Next(5, 50)
                    }
                    Wait-Drained $db $count
                    $latencies = Get-QueueJob -Database $db | ForEach-Object { ($_.StartedAt - $_.CreatedAt).TotalMilliseconds }
                    $p50 += Get-Percentile $latencies 50; $p95 += Get-Percentile $latencies 95; $p99 += Get-Percentile $latencies 99
                }
                finally { Stop-QueueWorker -Database $db -All -Force -ErrorAction SilentlyContinue }
            }
            Add-Result 'pickup latency' "p50 of $count, random 5-50 ms gaps" 'ms' $p50 $target.P50
            Add-Result 'pickup latency' 'p95' 'ms' $p95 $target.P95
            Add-Result 'pickup latency' 'p99' 'ms' $p99
        }

        if ('Idle' -in $Workload) {
            # 5. Idle cost: CPU of 2 idle workers (with their supervisors and script hosts) in two windows: the first
            # 30 s after a 10 s settle, while the runtime still compiles the heartbeat's code at its optimizing tier
            # (a method is recompiled once it has been called 30 times: at one heartbeat per 5 s that takes minutes),
            # and the same length once 2 minutes have passed, which is what a worker left idle costs from then on.
            # Resident memory of one worker, with its supervisor and script host.
            Write-Host "5. Idle cost" -ForegroundColor Cyan
            $seconds = if ($Quick) { 5 } else { 30 }
            $steadyAfter = if ($Quick) { 15 } else { 120 }
            $warm = @(); $cpu = @(); $rss = @()
            for ($r = 0; $r -lt $Runs; $r++) {
                $db = New-BenchQueue 'idle'
                $workers = Start-QueueWorker -Database $db -Count 2
                try {
                    Wait-WorkersSettled $db 2 -Seconds 10
                    $started = [Diagnostics.Stopwatch]::StartNew()
                    # Everything a worker keeps running: its supervisor, the worker, its script host.
                    $tree = @($workers | ForEach-Object { Get-ProcessTree $_.ProcessId })
                    $measure = {
                        $before = ($tree | ForEach-Object { Get-ProcessCpuMs $_ } | Measure-Object -Sum).Sum
                        Start-Sleep -Seconds $seconds
                        $after = ($tree | ForEach-Object { Get-ProcessCpuMs $_ } | Measure-Object -Sum).Sum
                        100 * ($after - $before) / ($seconds * 1000)
                    }
                    $warm += & $measure
                    while ($started.Elapsed.TotalSeconds -lt $steadyAfter) { Start-Sleep -Milliseconds 500 }
                    $cpu += & $measure
                    $rss += (Get-ProcessTree $workers[0].ProcessId | ForEach-Object {
                        [double]((Get-Content "/proc/$_/status" | Where-Object { $_ -like 'VmRSS:*' }) -replace '\D', '') / 1024
                    } | Measure-Object -Sum).Sum
                }
                finally { Stop-QueueWorker -Database $db -All -Force -ErrorAction SilentlyContinue }
            }
            Add-Result 'idle cost' "CPU of 2 idle workers, first $seconds s" '% core' $warm '' 'while the runtime still tiers up the heartbeat path'
            Add-Result 'idle cost' "CPU of 2 idle workers after $steadyAfter s" '% core' $cpu '<= 1'
            Add-Result 'idle cost' 'resident memory of an idle worker' 'MiB' $rss '' 'supervisor, worker and one script host'
        }

        if ('Scale' -in $Workload) {
            # 6. Scale: a queue holding 1,000,000 jobs, mostly completed.
            if (-not $Quick) {
                Write-Host "6. Scale (1,000,000 jobs)" -ForegroundColor Cyan
                $big = New-BenchQueue 'million'
                $chunk = foreach ($i in 1..100000) { "echo $i" }
                for ($i = 0; $i -lt 10; $i++) { New-QueueJob -Command $chunk -Database $big | Out-Null }
                # Finish them as a worker would have: 999,000 Completed and 1,000 Dead, in one statement each.
                Invoke-Sql $big "UPDATE jobs SET state = 'Completed', attempts = 1, runs = 1, started_at = created_at, finished_at = created_at + 5, exit_code = 0 WHERE seq > 1000"
                Invoke-Sql $big "UPDATE jobs SET state = 'Dead', attempts = 4, runs = 4, started_at = created_at, finished_at = created_at + 5, exit_code = 1, last_error = 'Exited with code 1.' WHERE seq <= 1000"
                if ($engineName -eq 'SQLite') { Invoke-Sql $big 'PRAGMA wal_checkpoint(TRUNCATE)' }
                # Two bulk updates of a million rows leave a million dead rows and index entries that steady use never
                # piles up (autovacuum keeps pace with jobs finishing a few thousand at a time); without this, the
                # first drain measures autovacuum's catching up instead of the claim.
                else { Invoke-Sql $big 'VACUUM (ANALYZE) jobs' }
                $status = @(); $dead = @()
                for ($r = 0; $r -lt 5; $r++) {
                    $status += (Measure-Command { $null = Get-QueueStatus -Database $big }).TotalMilliseconds
                    $dead += (Measure-Command { $null = Get-QueueJob -Database $big -State Dead -First 50 }).TotalMilliseconds
                }
                Add-Result 'scale 1M' 'Get-QueueStatus' 'ms' $status '<= 100'
                Add-Result 'scale 1M' 'Get-QueueJob -State Dead -First 50' 'ms' $dead
                if ($engineName -eq 'SQLite') { Add-Result 'scale 1M' 'database size per job' 'bytes' @((Get-Item $big).Length / 1000000) }

                $count = 20000
                $full = @(); $empty = @()
                for ($r = 0; $r -lt $Runs; $r++) {
                    $full += Invoke-Drain $big $enqueueNoop $count 2 $Concurrency
                    $empty += Invoke-Drain (New-BenchQueue 'scale-empty') $enqueueNoop $count 2 $Concurrency
                }
                Add-Result 'scale 1M' "drain $count no-op, 1M queue" 'jobs/s' $full
                Add-Result 'scale 1M' "drain $count no-op, empty queue" 'jobs/s' $empty
                Add-Result 'scale 1M' 'ratio 1M / empty' 'x' @(0..($Runs - 1) | ForEach-Object { $full[$_] / $empty[$_] }) '>= 0.8'
            }
        }
    }
}
finally {
    foreach ($queue in $script:BenchQueues) {
        Stop-QueueWorker -Database $queue -All -Force -ErrorAction SilentlyContinue
        if ($queue -match '^postgres') { try { Invoke-Sql $queue "DROP SCHEMA $([regex]::Match($queue, 'schema=(\w+)').Groups[1].Value) CASCADE" } catch { Write-Warning $_ } }
    }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

Write-Host ''
$results | Format-Table Engine, Workload, Metric, Median, Unit, Min, Max, Target, Note -AutoSize | Out-String -Width 200 | Write-Host
if (-not $OutFile) {
    $folder = Join-Path (Split-Path $ModulePath) 'bench'
    $null = New-Item -ItemType Directory $folder -Force
    $OutFile = Join-Path $folder ("bench-{0:yyyyMMdd-HHmmss}.json" -f (Get-Date))
}
[pscustomobject]@{ Machine = $machine; Results = $results } | ConvertTo-Json -Depth 4 | Set-Content $OutFile
Write-Host "Results: $OutFile"
