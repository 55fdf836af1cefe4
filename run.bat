@echo off
rem Launcher for the total-order multicast lab (Windows).
rem
rem   run.bat [options]   build into bin\ and start the network window and
rem                       five middleware windows, in this console
rem   run.bat demo [...]  the lab without windows: lists side by side
rem   run.bat check       check the events logs of the last run
rem   run.bat compare [...]  the same seeded workload under every protocol:
rem                       one table and chart (logs\compare\compare.md, .png, .svg)
rem   run.bat test        run the tests (go mod verify, go vet, go test)
rem
rem Options: -max-sleep 3s  -drop 0.1  -dup 0.1  -seed 7  (network program)
rem          -protocol isis  -suspect-after 2s  -recover-after 10s  -fsync  -app auction  (middlewares)
rem          -n 5                                              (both)
rem          -port 8181  -control-base 9181  (other ports)   -v  (more logs)
rem
rem Needs Go 1.26+ and, for the windows, a C compiler for cgo (for example
rem TDM-GCC or MSYS2 mingw-w64 gcc on PATH): Fyne's window driver uses it.
rem Ctrl-C or closing the Network window stops the lab; so does closing
rem this console. Started by a double click, it waits for a key at the end
rem so that its messages can be read (set RUN_BAT_NO_PAUSE=1 to skip).
setlocal EnableExtensions DisableDelayedExpansion
cd /d "%~dp0"

rem Started from Explorer (cmd /c "...run.bat"): pause before the window closes.
set "PAUSE_AT_END="
for %%a in (%cmdcmdline%) do if /i "%%~a"=="/c" set "PAUSE_AT_END=1"
if defined RUN_BAT_NO_PAUSE set "PAUSE_AT_END="

set "RC=0"
where go >nul 2>nul
if errorlevel 1 (
  echo Go is not installed: get Go 1.26 or later from https://go.dev/dl/ and run this again.
  set "RC=1"
  goto end
)

rem No parenthesised blocks below where arguments are used: %1..%9 in a
rem block are expanded before a shift inside it takes effect.
if /i "%~1"=="demo" goto demo
if /i "%~1"=="check" goto check
if /i "%~1"=="compare" goto compare
if /i "%~1"=="test" goto test
goto lab

:demo
shift
set "ARGS="
:demo_args
if "%~1"=="" goto demo_run
set ARGS=%ARGS% %1
shift
goto demo_args
:demo_run
go run ./cmd/demo%ARGS%
set "RC=%ERRORLEVEL%"
goto end

:compare
shift
set "ARGS="
:compare_args
if "%~1"=="" goto compare_run
set ARGS=%ARGS% %1
shift
goto compare_args
:compare_run
go run ./cmd/compare%ARGS%
set "RC=%ERRORLEVEL%"
goto end

:check
go run ./cmd/checkorder logs/*.jsonl
set "RC=%ERRORLEVEL%"
goto end

:test
rem Without a C compiler, the tests build without the windows (-tags nogui).
set "TAGS="
where gcc >nul 2>nul
if errorlevel 1 set "TAGS=-tags=nogui"
if defined TAGS echo No gcc on PATH: testing without the windows ^(-tags nogui^).
go mod verify
if errorlevel 1 goto test_failed
go vet %TAGS% ./...
if errorlevel 1 goto test_failed
go test %TAGS% -short ./...
if errorlevel 1 goto test_failed
go test %TAGS% -timeout 60m ./middleware/core/
if errorlevel 1 goto test_failed
echo all tests passed
goto end
:test_failed
echo tests FAILED ^(see above^)
set "RC=1"
goto end

:lab
where gcc >nul 2>nul
if errorlevel 1 goto no_gcc
echo building into bin\ (the first build of the window driver takes a few minutes)...
set CGO_ENABLED=1
go build -o bin\ ./cmd/netsim ./cmd/middleware ./cmd/checkorder ./cmd/launch
if errorlevel 1 (
  echo the build failed ^(see above^)
  set "RC=1"
  goto end
)
if not exist logs mkdir logs
del /q logs\middleware-*.jsonl 2>nul
rem A fresh lab: no middleware takes up an older one's order.
if exist state rmdir /s /q state
rem A fresh group secret per lab (the middlewares prove it to each other).
bin\middleware.exe -new-group-key-file logs\group.key
if errorlevel 1 (
  set "RC=1"
  goto end
)
rem The launcher starts every program in this console and stops exactly
rem those (it checks the options: it gets them all, unparsed here).
bin\launch.exe -bin bin -launcher run.bat -group-key-file logs\group.key %*
set "RC=%ERRORLEVEL%"
if "%RC%"=="0" echo Lab stopped. Check it: run.bat check
goto end

:no_gcc
echo The windows need a C compiler for cgo ^(gcc on PATH, e.g. from MSYS2 or TDM-GCC^).
echo Without one, try: run.bat demo
set "RC=1"
goto end

:end
if defined PAUSE_AT_END pause
exit /b %RC%
