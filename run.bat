@echo off
rem Launcher for the total-order multicast lab (Windows).
rem
rem   run.bat [options]   build into bin\ and start the network window and
rem                       five middleware windows, each in its own process
rem   run.bat demo        the lab without windows: lists side by side
rem   run.bat check       check the events logs of the last run
rem   run.bat test        run the tests (go vet, go test)
rem
rem Options: -max-sleep 3s  -drop 0.1  -dup 0.1  -seed 7  (network program)
rem          -protocol isis  -suspect-after 2s                (middlewares)
rem          -n 5                                              (both)
rem
rem Needs Go 1.26+ and, for the windows, a C compiler for cgo (for example
rem TDM-GCC or MSYS2 mingw-w64 gcc on PATH): Fyne's window driver uses it.
setlocal EnableExtensions EnableDelayedExpansion
cd /d "%~dp0"

where go >nul 2>nul
if errorlevel 1 (
  echo Go is not installed: get Go 1.26 or later from https://go.dev/dl/ and run this again.
  exit /b 1
)

if /i "%~1"=="demo" (
  shift
  go run ./cmd/demo %1 %2 %3 %4 %5 %6 %7 %8 %9
  exit /b !errorlevel!
)
if /i "%~1"=="check" (
  go run ./cmd/checkorder logs/*.jsonl
  exit /b !errorlevel!
)
if /i "%~1"=="test" (
  go vet ./... || exit /b 1
  go test -short ./... || exit /b 1
  go test ./middleware/core/ || exit /b 1
  echo all tests passed
  exit /b 0
)

set "NET_ARGS="
set "MW_ARGS="
set "N=5"
:parse
if "%~1"=="" goto parsed
if /i "%~1"=="-max-sleep" ( set "NET_ARGS=!NET_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-drop" ( set "NET_ARGS=!NET_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-dup" ( set "NET_ARGS=!NET_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-seed" ( set "NET_ARGS=!NET_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-protocol" ( set "MW_ARGS=!MW_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-suspect-after" ( set "MW_ARGS=!MW_ARGS! %~1 %~2" & shift & shift & goto parse )
if /i "%~1"=="-n" ( set "N=%~2" & shift & shift & goto parse )
echo unknown option %~1 (see the top of run.bat)
exit /b 2
:parsed

where gcc >nul 2>nul
if errorlevel 1 (
  echo The windows need a C compiler for cgo ^(gcc on PATH, e.g. from MSYS2 or TDM-GCC^).
  echo Without one, try: run.bat demo
  exit /b 1
)

echo building into bin\ (the first build of the window driver takes a few minutes)...
set CGO_ENABLED=1
go build -o bin\ ./cmd/netsim ./cmd/middleware ./cmd/checkorder
if errorlevel 1 exit /b 1

if not exist logs mkdir logs
del /q logs\middleware-*.jsonl 2>nul
rem A fresh group secret per lab (the middlewares prove it to each other).
bin\middleware.exe -new-group-key-file logs\group.key
if errorlevel 1 exit /b 1

rem Each program in its own process (consoles minimised); the titles
rem let "stop" below find them again.
start "lab-netsim" bin\netsim.exe -gui -reuse -n %N% %NET_ARGS%
for /l %%i in (1,1,%N%) do (
  start "lab-middleware-%%i" /min bin\middleware.exe -id %%i -n %N% -reuse -group-key-file logs\group.key %MW_ARGS%
)
echo Lab running. Close the Network window to stop everything; then: run.bat check

rem Wait for the network program to exit (its window was closed), then
rem stop the middlewares so no process is left behind.
:wait
timeout /t 1 /nobreak >nul
tasklist /fi "imagename eq netsim.exe" 2>nul | find /i "netsim.exe" >nul
if not errorlevel 1 goto wait
taskkill /im middleware.exe /t >nul 2>nul
timeout /t 2 /nobreak >nul
taskkill /im middleware.exe /t /f >nul 2>nul
echo Lab stopped.
endlocal
