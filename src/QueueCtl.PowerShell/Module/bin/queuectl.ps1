# Runs the queuectl command in a fresh pwsh; the bin/queuectl and bin/queuectl.cmd launchers call this.
Import-Module (Join-Path (Split-Path $PSScriptRoot) 'QueueCtl.psd1')
queuectl @args
exit $LASTEXITCODE
