@echo off
rem queuectl: QueueCtls original command line for cmd.exe. Put this folder on PATH.
setlocal
if "%QUEUECTL_PWSH%"=="" set QUEUECTL_PWSH=pwsh
"%QUEUECTL_PWSH%" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%~dp0queuectl.ps1" %*
exit /b %ERRORLEVEL%
