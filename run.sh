#!/usr/bin/env bash
# Launcher for the total-order multicast lab (Linux/macOS).
#
#   ./run.sh [options]    build into bin/ and start the network window and
#                         five middleware windows; Ctrl-C stops them all
#   ./run.sh test         install what is missing, then run every test
#   ./run.sh demo         the lab without a display: lists side by side
#   ./run.sh check [logs] check the events logs of the last run
#   ./run.sh bench [-quick]  benchmarks (see README)
#   ./run.sh smoke        the whole lab in real windows under Xvfb
#   ./run.sh timeline [logs]  the last run as a space-time diagram; with
#                         -png F, -svg F or -shiviz F it writes a file instead
#   ./run.sh compare [-pause] [-max-sleep 1s] [-each 20]  the same seeded
#                         workload under every protocol: one table and chart
#                         (logs/compare/compare.md, .png, .svg)
#   ./run.sh dist [-verify]  the downloads for Windows and Linux, with the
#                         prebuilt programs, into dist/ (see README)
#
# From the download (bin/ holds the programs, no go.mod here) it needs no Go
# and no C compiler; from the source it builds the programs first.
#
# Options: -max-sleep 3s -drop 0.1 -dup 0.1 -seed 7 go to the network
# program; -protocol isis -suspect-after 2s -recover-after 10s -fsync -app auction go to
# the middlewares; -n 5 goes to both. -port 8181 moves the network program
# (and the data ports to 8182…), -control-base 9181 the control ports (to
# 9182…). -v: the programs log what they do, not only errors.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '%s\n' "$*" >&2; }

# The download: prebuilt programs in bin/, no source beside them.
prebuilt=""
if [ ! -f go.mod ] && [ -x bin/netsim ]; then prebuilt=1; fi
exec 3>&2 # progress lines go here, even from a step whose output is sent elsewhere

# --- set-up -----------------------------------------------------------------

need_go() {
	if [ -n "$prebuilt" ]; then return 0; fi
	if ! command -v go >/dev/null 2>&1; then
		say "Go is not installed: get Go 1.26 or later from https://go.dev/dl/ and run this again."
		exit 1
	fi
	install_debs "${BASE_DEBS[@]}" || exit 1
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
	else return 1
	fi
}

# Debian/Ubuntu packages, by what needs them.
# Go fetches modules over HTTPS (without these: x509 errors).
BASE_DEBS=(ca-certificates)
# The C compiler, pkg-config and the X11/GL headers Fyne's window driver
# (GLFW, cgo) builds against.
GUI_DEBS=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev)
# Build tags of the window programs: without Fyne's bundled emoji font,
# which the lab never draws, each window holds about 14 MB less
# (docs/memory.md).
GUI_TAGS=no_emoji
# The tests: pgrep (leftover processes), the real-window smoke test
# (Xvfb, xdotool, a screenshot) and the Windows cross-build (mingw-w64).
TEST_DEBS=(procps xvfb xauth xdotool imagemagick gcc-mingw-w64-x86-64)
# What the download's windowed programs load at run time (no headers).
RUNTIME_DEBS=(libgl1 libx11-6 libxcursor1 libxrandr2 libxinerama1 libxi6 libxxf86vm1)
# The downloads: git archive of the commit, the Windows resources (windres).
DIST_DEBS=(git gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64)

apt_updated=""
# install_debs installs the Debian/Ubuntu packages named that are missing.
install_debs() {
	command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian-like: nothing we can do
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! as_root true 2>/dev/null; then
		say "missing packages; as root (or with sudo) run:"
		say "  apt-get install -y ${missing[*]}"
		return 1
	fi
	local log
	log=$(mktemp)
	if [ -z "$apt_updated" ]; then
		if ! step "apt-get update" "reading the package lists" \
			as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			say "apt-get update failed (above): check the network and /etc/apt/sources.list"
			return 1
		fi
		apt_updated=1
	fi
	if ! step "installing ${missing[*]}" "apt-get downloads and unpacks them with their dependencies" \
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		say "could not install ${missing[*]} (above). Run:"
		say "  sudo apt-get install -y ${missing[*]}"
		return 1
	fi
	rm -f "$log"
}

# --- progress -------------------------------------------------------------------

ticker_pid=""
# step WHAT WHY CMD...: runs CMD; if it takes more than 3 s, says WHAT it
# is doing and WHY that takes long, then every 15 s how long it has been
# going. Quick steps (a build with a warm cache) say nothing.
step() {
	local what=$1 why=$2
	shift 2
	ticker_start "$what" "$why"
	local rc=0
	"$@" || rc=$?
	ticker_stop
	return "$rc"
}

# ticker_start starts the background ticker that step stops. It owns one
# sleep at a time and kills it when told to stop, so nothing outlives it.
ticker_start() {
	local what=$1 why=$2
	(
		s=""
		trap '[ -z "$s" ] || kill "$s" 2>/dev/null; exit 0' TERM
		t=0 wait_s=3
		while :; do
			sleep "$wait_s" </dev/null >/dev/null 2>&1 &
			s=$!
			wait "$s"
			t=$((t + wait_s))
			if [ "$wait_s" = 3 ]; then
				printf '%s (%s)…\n' "$what" "$why" >&3
				wait_s=15
			else
				printf '  … %d:%02d still %s\n' $((t / 60)) $((t % 60)) "$what" >&3
			fi
		done
	) &
	ticker_pid=$!
}

# (bash may already have reaped a ticker that ended on its own; its
# "No record of process" warning is not for the user.)
ticker_stop() {
	[ -n "$ticker_pid" ] || return 0
	kill -TERM "$ticker_pid" 2>/dev/null || true
	wait "$ticker_pid" 2>/dev/null || true
	ticker_pid=""
} 2>/dev/null

# go_build builds the lab's programs into bin/ (the download has them:
# it only makes sure the libraries they load are there).
go_build() {
	if [ -n "$prebuilt" ]; then
		install_debs "${RUNTIME_DEBS[@]}" || exit 1
		return 0
	fi
	install_debs "${GUI_DEBS[@]}" || exit 1
	go_download
	step "building into bin/" "the first build compiles Fyne's window driver, GLFW and OpenGL in C, for several minutes; later builds take seconds" \
		go build -tags "$GUI_TAGS" -o bin/ ./cmd/netsim ./cmd/middleware ./cmd/checkorder ./cmd/timeline
}

# go_download fetches the modules first, so that the build's long silence
# is not mistaken for a download, or the other way round.
go_download() {
	step "fetching Go modules" "Fyne and its dependencies, about 60 MB the first time" \
		go mod download
}

# A UTF-8 locale Fyne can parse, so it does not print "Error parsing user locale C".
fix_locale() {
	case "${LC_ALL:-${LANG:-}}" in
	*_*.UTF-8 | *_*.utf8) ;;
	*) export LANG=en_US.UTF-8 LC_ALL= ;;
	esac
}

# --- the lab ----------------------------------------------------------------

pids=() names=()
stop_all() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
	for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
	pids=() names=()
}

cleanup() {
	ticker_stop
	stop_all
}
trap cleanup EXIT

# start NAME CMD...: starts a program of the lab and says so in one line.
start() {
	local name=$1
	shift
	"$@" </dev/null &
	pids+=($!)
	names+=("$name")
	say "started $name (pid $!)"
}

# wait_any waits until one program of the lab exits; it sets exited to its
# index in pids (-1 if unknown) and status to its exit status.
wait_any() {
	exited=-1 status=0
	local v=$((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1])) pid="" k
	if [ "$v" -ge 501 ]; then
		wait -n -p pid || status=$?
	elif [ "$v" -ge 403 ]; then
		wait -n || status=$?
		for k in "${!pids[@]}"; do # the first one gone (bash reaps early: a guess if two went at once)
			if ! kill -0 "${pids[$k]}" 2>/dev/null; then pid=${pids[$k]}; break; fi
		done
	else # bash before 4.3 (macOS's): only the network program is watched
		wait "${pids[0]}" || status=$?
		pid=${pids[0]}
	fi
	for k in "${!pids[@]}"; do
		if [ "${pids[$k]}" = "$pid" ]; then exited=$k; fi
	done
}

# taken_ports lists the lab's ports (the network program's, the data and
# the control ports) on which something accepts connections now: checked,
# not guessed, when a program of the lab failed.
taken_ports() {
	local port=$1 n=$2 control_base=$3 p out=""
	for p in "$port" $(seq $((port + 1)) $((port + n))) $(seq $((control_base + 1)) $((control_base + n))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then out="$out $p"; fi
	done
	printf '%s' "$out"
}

run_lab() {
	# max_sleep: the network program's default, or the -max-sleep given,
	# as given: the middlewares are told it (-net-max-sleep).
	local net_args=() mw_args=() n=5 port=8081 control_base=9081 verbose=() max_sleep=2s
	while [ $# -gt 0 ]; do
		case "$1" in
		-max-sleep) max_sleep="$2"; net_args+=("$1" "$2"); shift 2 ;;
		-max-sleep=*) max_sleep="${1#-max-sleep=}"; net_args+=("$1"); shift ;;
		-drop | -dup | -seed) net_args+=("$1" "$2"); shift 2 ;;
		-drop=* | -dup=* | -seed=*) net_args+=("$1"); shift ;;
		-protocol | -suspect-after | -recover-after | -app) mw_args+=("$1" "$2"); shift 2 ;;
		-protocol=* | -suspect-after=* | -recover-after=* | -app=* | -fsync) mw_args+=("$1"); shift ;;
		-n) n="$2"; shift 2 ;;
		-n=*) n="${1#-n=}"; shift ;;
		-port) port="$2"; shift 2 ;;
		-port=*) port="${1#-port=}"; shift ;;
		-control-base) control_base="$2"; shift 2 ;;
		-control-base=*) control_base="${1#-control-base=}"; shift ;;
		-v) verbose=(-v); shift ;;
		-version | --version) need_go; go_build; bin/netsim -version; bin/middleware -version; exit 0 ;;
		-h | -help | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) say "unknown option $1 (see ./run.sh -help)"; exit 2 ;;
		esac
	done
	if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" != Darwin ]; then
		say "no display found (DISPLAY is not set): the lab needs a desktop."
		say "Try ./run.sh demo, which runs the same lab without windows."
		exit 1
	fi
	need_go
	go_build
	fix_locale
	mkdir -p logs
	rm -f logs/middleware-*.jsonl logs/middleware-*.jsonl.reserve logs/netsim.jsonl logs/selection.json # a fresh run: ./run.sh check verifies exactly this one
	rm -rf state                  # and a fresh lab: no middleware takes up an older one's order
	# A fresh group secret per lab, readable by this user only.
	bin/middleware -new-group-key-file logs/group.key || exit 1

	local peers="" i
	for i in $(seq 1 "$n"); do peers+="${peers:+,}$i=127.0.0.1:$((control_base + i))"; done
	trap 'exit 0' INT TERM # a normal stop: cleanup (on EXIT) stops the programs
	# -events: what the Timeline (a button in the Network window) draws.
	# The windows say what happens; the terminal shows errors only (-v: more).
	local net_log=(-quiet)
	[ ${#verbose[@]} -eq 0 ] || net_log=(-v)
	rm -f logs/.netsim-error
	start "the network program" env NETSIM_ERROR_FILE=logs/.netsim-error bin/netsim -gui -reuse -port "$port" -n "$n" -events logs/netsim.jsonl "${net_log[@]}" ${net_args[@]+"${net_args[@]}"}
	for i in $(seq 1 "$n"); do
		start "Middleware $i" bin/middleware -id "$i" -n "$n" -reuse -net-port "$port" -group-key-file logs/group.key -events-control -net-max-sleep "$max_sleep" \
			-control-port $((control_base + i)) -peers "$peers" ${verbose[@]+"${verbose[@]}"} ${mw_args[@]+"${mw_args[@]}"}
	done
	say "lab running: close the Network window or press Ctrl-C to stop everything; then ./run.sh check"

	# The network program ending (its window closed) ends the lab. A
	# program that exits with an error it reported (status 1 or 2: a port
	# in use, bad options, no display) ends it too, with that status. A
	# middleware closed or killed by hand does not: the others go on.
	while :; do
		wait_any
		local name="a program"
		[ "$exited" -lt 0 ] || name=${names[$exited]}
		if [ "$status" = 1 ] || [ "$status" = 2 ]; then
			if [ "$exited" = 0 ] && [ -s logs/.netsim-error ]; then
				say "$name failed: $(cat logs/.netsim-error)"
				say "Stopping the lab."
			else
				say "$name failed (its error is above): stopping the lab."
			fi
			local taken
			stop_all # ours first: what still listens then is someone else's
			taken=$(taken_ports "$port" "$n" "$control_base")
			if [ -n "$taken" ]; then
				say "Another program listens on port$taken: ./run.sh -port $((port + 100)) -control-base $((control_base + 100)) moves the lab's ports."
			fi
			exit "$status"
		fi
		if [ "$exited" = 0 ]; then
			[ "$status" = 0 ] || say "the network program stopped (status $status): stopping the lab."
			exit "$status"
		fi
		if [ "$exited" -gt 0 ]; then
			say "$name stopped (status $status); the others go on."
			unset "pids[$exited]" "names[$exited]"
		fi
	done
}

# --- the timeline ---------------------------------------------------------------

# run_timeline draws a run's logs (default logs/): a window, or with -png,
# -svg or -shiviz a file, which needs no display and no C compiler.
run_timeline() {
	need_go
	fix_locale
	if [ -n "$prebuilt" ]; then
		install_debs "${RUNTIME_DEBS[@]}" || exit 1
		exec bin/timeline "$@"
	fi
	local a
	for a in "$@"; do
		case "$a" in
		-png | -png=* | -svg | -svg=* | -shiviz | -shiviz=*)
			go run -tags nogui ./cmd/timeline "$@"
			return
			;;
		esac
	done
	if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" != Darwin ]; then
		say "no display found: try ./run.sh timeline -png timeline.png (or -svg, -shiviz)"
		exit 1
	fi
	install_debs "${GUI_DEBS[@]}" || exit 1
	go build -tags "$GUI_TAGS" -o bin/ ./cmd/timeline
	bin/timeline "$@"
}

# --- tests --------------------------------------------------------------------

# from_source_only WHAT: the download has no source to test or build.
from_source_only() {
	if [ -n "$prebuilt" ]; then
		say "./run.sh $1 needs the lab's source (go.mod): this is the download, with the programs only. Try ./run.sh demo."
		exit 1
	fi
}

run_tests() {
	from_source_only test
	need_go
	install_debs "${GUI_DEBS[@]}" "${TEST_DEBS[@]}" || exit 1
	go_download
	say "== modules: go.mod tidy, downloads verified"
	go mod tidy -diff || { say "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	go mod verify >/dev/null || { say "go mod verify failed (above)"; exit 1; }
	say "== gofmt / go vet"
	local unformatted
	unformatted=$(gofmt -l .)
	if [ -n "$unformatted" ]; then say "gofmt needed: $unformatted"; exit 1; fi
	step "go vet" "type-checks every package, the window driver's C code included" go vet ./...
	say "== Windows build (cross-compiled with mingw-w64)"
	windows_build
	say "== the downloads, built twice: the same bytes (reproducible)"
	install_debs "${DIST_DEBS[@]}" || exit 1
	step "building the downloads twice" "every program for Linux and for Windows, twice from two copies of the commit; the first time this compiles Fyne's window driver for Linux once more (-trimpath)" \
		go run ./cmd/dist -verify
	say "== unit, simulation and loopback tests (race detector, short simulations)"
	step "go test -race -short" "builds every package again with the race detector, then runs the simulations" \
		go test -race -short -count=1 ./...
	say "== full simulations (1,000 seeds per protocol and scenario)"
	step "full simulations" "thousands of simulated runs, each checked by the order checker" \
		go test -count=1 -timeout 60m ./middleware/core/
	say "== a seeded random fault soak of real processes (every protocol)"
	step "fault soak" "five middlewares per protocol, all sending, while pauses, cut links, restarts come one after another" \
		go test -count=1 -run TestSoak -timeout 20m ./internal/lab/
	say "== real windows under Xvfb"
	run_smoke
	say "all tests passed"
}

# windows_build cross-compiles the Windows programs (cgo with mingw-w64)
# into bin/windows/ and vets the code as Windows sees it. -trimpath, as the
# downloads are built: they share what it compiles.
windows_build() {
	local env=(GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc)
	step "building for Windows into bin/windows/" "the first build compiles Fyne's window driver for Windows with mingw-w64, for several minutes" \
		env "${env[@]}" go build -trimpath -tags "$GUI_TAGS" -o bin/windows/ ./cmd/netsim ./cmd/middleware ./cmd/checkorder ./cmd/launch
	step "go vet for Windows" "type-checks every package as built for Windows" \
		env "${env[@]}" go vet ./...
}

# run_smoke starts the whole lab via this script under Xvfb, clicks Send
# in every window, checks the events logs and a screenshot.
run_smoke() {
	from_source_only smoke
	need_go
	install_debs "${GUI_DEBS[@]}" "${TEST_DEBS[@]}" || exit 1
	go_build
	step "smoke test" "five real windows under Xvfb, three clicks on Send in each, then a check of the order" \
		go run ./cmd/smoke -script "$0" "$@"
}

# run_dist builds the downloads into dist/ (cmd/dist): Linux and Windows
# archives and their SHA256SUMS.
run_dist() {
	from_source_only dist
	need_go
	install_debs "${GUI_DEBS[@]}" "${DIST_DEBS[@]}" || exit 1
	go_download
	step "building the downloads" "every program for Linux and for Windows; the first time this compiles Fyne's window driver twice, for many minutes" \
		go run ./cmd/dist "$@"
}

# tool NAME ARGS...: a program of the lab: the download's, or go run.
tool() {
	local name=$1
	shift
	if [ -n "$prebuilt" ]; then exec "bin/$name" "$@"; fi
	need_go
	exec go run "./cmd/$name" "$@"
}

case "${1:-}" in
test) shift; run_tests "$@" ;;
demo) shift; tool demo "$@" ;;
check)
	shift
	if [ $# -eq 0 ]; then set -- logs/*.jsonl; fi
	tool checkorder "$@"
	;;
bench) shift; from_source_only bench; need_go; go run ./cmd/bench "$@" ;;
compare) shift; tool compare "$@" ;;
dist) shift; run_dist "$@" ;;
smoke) shift; run_smoke "$@" ;;
timeline) shift; run_timeline "$@" ;;
*) run_lab "$@" ;;
esac
