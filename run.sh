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
#
# Options pass through: -max-sleep 3s -drop 0.1 -dup 0.1 -seed 7 go to the
# network program; -protocol isis -recover-after 10s -fsync go to the
# middlewares; -n 5 goes to both.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '%s\n' "$*" >&2; }

# --- set-up -----------------------------------------------------------------

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		say "Go is not installed: get Go 1.26 or later from https://go.dev/dl/ and run this again."
		exit 1
	fi
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
	else return 1
	fi
}

apt_updated=""
# install_debs installs the Debian/Ubuntu packages named that are missing.
install_debs() {
	command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian-like: nothing we can do
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}…"
	if [ -z "$apt_updated" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || {
			say "cannot install packages (need root or sudo). Run:"
			say "  sudo apt-get install -y ${missing[*]}"
			return 1
		}
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || {
		say "could not install ${missing[*]}. Run:"
		say "  sudo apt-get install -y ${missing[*]}"
		return 1
	}
}

# The C compiler and the X11/GL headers Fyne's window driver builds against.
GUI_DEBS=(gcc libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev)
# What the real-window smoke test needs.
XVFB_DEBS=(xvfb xauth x11-utils xdotool imagemagick)

build_gui() {
	need_go
	install_debs "${GUI_DEBS[@]}" || exit 1
	say "building into bin/ (the first build of the window driver takes a few minutes)…"
	go build -o bin/ ./cmd/netsim ./cmd/middleware ./cmd/checkorder
}

# A UTF-8 locale Fyne can parse, so it does not print "Error parsing user locale C".
fix_locale() {
	case "${LC_ALL:-${LANG:-}}" in
	*_*.UTF-8 | *_*.utf8) ;;
	*) export LANG=en_US.UTF-8 LC_ALL= ;;
	esac
}

# --- the lab ----------------------------------------------------------------

pids=()
stop_all() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

run_lab() {
	local net_args=() mw_args=() n=5
	while [ $# -gt 0 ]; do
		case "$1" in
		-max-sleep | -drop | -dup | -seed) net_args+=("$1" "$2"); shift 2 ;;
		-max-sleep=* | -drop=* | -dup=* | -seed=*) net_args+=("$1"); shift ;;
		-protocol | -suspect-after | -recover-after) mw_args+=("$1" "$2"); shift 2 ;;
		-protocol=* | -suspect-after=* | -recover-after=* | -fsync) mw_args+=("$1"); shift ;;
		-n) n="$2"; shift 2 ;;
		-n=*) n="${1#-n=}"; shift ;;
		-h | -help | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) say "unknown option $1 (see ./run.sh -help)"; exit 2 ;;
		esac
	done
	if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" != Darwin ]; then
		say "no display found (DISPLAY is not set): the lab needs a desktop."
		say "Try ./run.sh demo, which runs the same lab without windows."
		exit 1
	fi
	build_gui
	fix_locale
	mkdir -p logs
	rm -f logs/middleware-*.jsonl logs/netsim.jsonl logs/selection.json # a fresh run: ./run.sh check verifies exactly this one
	rm -rf state                  # and a fresh lab: no middleware takes up an older one's order
	# A fresh group secret per lab, readable by this user only.
	bin/middleware -new-group-key-file logs/group.key || exit 1
	trap stop_all INT TERM EXIT
	# -events: what the Timeline (a button in the Network window) draws.
	bin/netsim -gui -reuse -n "$n" -events logs/netsim.jsonl "${net_args[@]}" </dev/null &
	local net_pid=$!
	pids+=("$net_pid")
	for i in $(seq 1 "$n"); do
		bin/middleware -id "$i" -n "$n" -reuse -group-key-file logs/group.key -events-control "${mw_args[@]}" </dev/null &
		pids+=($!)
	done
	say "lab running: close the Network window or press Ctrl-C to stop everything; then ./run.sh check"
	wait "$net_pid" || true
	stop_all
}

# --- the timeline ---------------------------------------------------------------

# run_timeline draws a run's logs (default logs/): a window, or with -png,
# -svg or -shiviz a file, which needs no display and no C compiler.
run_timeline() {
	need_go
	fix_locale
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
	go build -o bin/ ./cmd/timeline
	bin/timeline "$@"
}

# --- tests --------------------------------------------------------------------

run_tests() {
	need_go
	install_debs "${GUI_DEBS[@]}" "${XVFB_DEBS[@]}" || say "continuing without the window tests' packages"
	say "== gofmt / go vet"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	if [ -n "$unformatted" ]; then say "gofmt needed: $unformatted"; exit 1; fi
	go vet ./...
	say "== unit, simulation and loopback tests (race detector, short simulations)"
	go test -race -short -count=1 ./...
	say "== full simulations (1,000 seeds per protocol and scenario)"
	go test -count=1 -timeout 60m ./middleware/core/
	say "== real windows under Xvfb"
	if command -v Xvfb >/dev/null 2>&1; then
		run_smoke
	else
		say "Xvfb is not installed: skipping the real-window smoke test"
	fi
	say "all tests passed"
}

# run_smoke starts the whole lab via this script under Xvfb, turns on
# auto-send in every window, checks the events logs and a screenshot.
run_smoke() {
	need_go
	install_debs "${GUI_DEBS[@]}" "${XVFB_DEBS[@]}" || exit 1
	go build -o bin/ ./cmd/netsim ./cmd/middleware ./cmd/checkorder ./cmd/timeline
	go run ./cmd/smoke -script "$0" "$@"
}

case "${1:-}" in
test) shift; run_tests "$@" ;;
demo) shift; need_go; go run ./cmd/demo "$@" ;;
check)
	shift; need_go
	if [ $# -eq 0 ]; then set -- logs/*.jsonl; fi
	go run ./cmd/checkorder "$@"
	;;
bench) shift; need_go; go run ./cmd/bench "$@" ;;
smoke) shift; run_smoke "$@" ;;
timeline) shift; run_timeline "$@" ;;
*) run_lab "$@" ;;
esac
