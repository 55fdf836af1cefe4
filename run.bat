@echo off
rem Launcher for the total-order multicast lab (Windows).
rem
rem   run.bat [options]   start the network window and five middleware
rem                       windows, in this console
rem   run.bat demo [...]  the lab without windows: lists side by side
rem   run.bat check [logs\*.jsonl]  check the events logs of the last run
rem   run.bat timeline [logs]  the last run as a space-time diagram; with
rem                       -png F, -svg F or -shiviz F it writes a file instead
rem   run.bat compare [...]  the same seeded workload under every protocol:
rem                       one table and chart (logs\compare\compare.md, .png, .svg)
rem   run.bat test        run the tests (go mod verify, go vet, go test)
rem
rem Options: -max-sleep 3s  -drop 0.1  -dup 0.1  -seed 7  (network program)
rem          -protocol isis  -suspect-after 2s  -recover-after 10s  -fsync  -app auction  (middlewares)
rem          -n 5                                              (both)
rem          -port 8181  -control-base 9181  (other ports)   -v  (more logs)
rem          run.bat -help lists them all.
rem
rem From the download (bin\ holds the programs, no go.mod here) it needs
rem nothing else. From the source it builds them into bin\ first: that
rem needs Go 1.26+ and, for the windows, a C compiler for cgo (for example
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
rem The download: prebuilt programs in bin\, no source.
set "PREBUILT="
if not exist go.mod if exist bin\launch.exe set "PREBUILT=1"
if defined PREBUILT goto dispatch
if exist go.mod goto need_go
echo Neither the programs ^(bin\launch.exe^) nor the source ^(go.mod^) are beside run.bat: unpack the whole download and run it again.
set "RC=1"
goto end

:need_go
where go >nul 2>nul
if errorlevel 1 (
  echo Go is not installed: get Go 1.26 or later from https://go.dev/dl/ and run this again.
  set "RC=1"
  goto end
)

:dispatch
rem No parenthesised blocks below where arguments are used: %1..%9 in a
rem block are expanded before a shift inside it takes effect.
set "NEXT=lab"
if /i "%~1"=="demo" set "NEXT=demo"
if /i "%~1"=="check" set "NEXT=check"
if /i "%~1"=="timeline" set "NEXT=timeline"
if /i "%~1"=="compare" set "NEXT=compare"
if /i "%~1"=="test" set "NEXT=test"
if "%NEXT%"=="lab" goto lab
rem The subcommand's arguments, collected into ARGS.
shift
set "ARGS="
:args
if "%~1"=="" goto %NEXT%
set ARGS=%ARGS% %1
shift
goto args

:demo
if defined PREBUILT (bin\demo.exe%ARGS%) else (go run ./cmd/demo%ARGS%)
set "RC=%ERRORLEVEL%"
goto end

:compare
if defined PREBUILT (bin\compare.exe%ARGS%) else (go run ./cmd/compare%ARGS%)
set "RC=%ERRORLEVEL%"
goto end

:check
if defined PREBUILT (bin\checkorder.exe%ARGS%) else (go run ./cmd/checkorder%ARGS%)
set "RC=%ERRORLEVEL%"
goto end

:timeline
if defined PREBUILT goto timeline_run
rem From the source: with gcc, the window; without, files only (-png, -svg, -shiviz).
where gcc >nul 2>nul
if errorlevel 1 goto timeline_nogui
set CGO_ENABLED=1
go build -tags no_emoji -o bin\ ./cmd/timeline
if errorlevel 1 (
  echo the build failed ^(see above^)
  set "RC=1"
  goto end
)
:timeline_run
bin\timeline.exe%ARGS%
set "RC=%ERRORLEVEL%"
goto end
:timeline_nogui
go run -tags nogui ./cmd/timeline%ARGS%
set "RC=%ERRORLEVEL%"
goto end

:test
if defined PREBUILT (
  echo run.bat test needs the lab's source ^(go.mod^): this is the download, with the programs only. Try run.bat demo.
  set "RC=1"
  goto end
)
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
if defined PREBUILT goto lab_run
rem The options' help needs no build (and no gcc).
set "HELP="
if /i "%~1"=="-h" set "HELP=1"
if /i "%~1"=="-help" set "HELP=1"
if /i "%~1"=="--help" set "HELP=1"
if not defined HELP goto lab_build
go run ./cmd/launch -launcher run.bat -h
set "RC=%ERRORLEVEL%"
goto end
:lab_build
where gcc >nul 2>nul
if errorlevel 1 goto no_gcc
echo building into bin\ (the first build of the window driver takes a few minutes)...
set CGO_ENABLED=1
go build -tags no_emoji -o bin\ ./cmd/netsim ./cmd/middleware ./cmd/checkorder ./cmd/launch
if errorlevel 1 (
  echo the build failed ^(see above^)
  set "RC=1"
  goto end
)
:lab_run
rem The launcher checks the options (it gets them all, unparsed here);
rem only then does it start a fresh lab (-fresh: the last run's events
rem logs and state deleted, a new group secret in logs\group.key), start
rem every program in this console and stop exactly those.
bin\launch.exe -bin bin -launcher run.bat -fresh %*
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
