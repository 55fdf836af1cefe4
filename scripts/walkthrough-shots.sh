#!/usr/bin/env bash
# Makes one screenshot of the whole lab for the README's "See it go wrong"
# walk-through: the lab (./run.sh) under Xvfb with the protocol given and
# maxSleepTime 1 s, its six windows tiled three by two, three clicks on
# Send in each middleware window (round robin, so messages cross), then,
# once every window has all 15 messages Ready and the agreement lines have
# settled, a picture of the screen.
#
#   scripts/walkthrough-shots.sh PROTOCOL OUT.png [more ./run.sh options]
#   scripts/walkthrough-shots.sh none docs/walkthrough-none.png
#
# Environment: SCALE (FYNE_SCALE, default 0.9: three windows side by side
# in 1600 px), WIDTH and HEIGHT (the screen, default 1600x1320), CLICKS
# (default 3), MAX_SLEEP (default 1s), PORT and CONTROL_BASE (default
# 27081 and 27181, as ./run.sh -port and -control-base).
# Needs Xvfb, xdotool and ImageMagick (./run.sh test installs them). Like
# ./run.sh it starts a fresh lab in this checkout (logs/ and state/ are
# replaced); it runs on its own ports and display, and stops everything
# it started, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
protocol=$1 out=$2
shift 2
scale=${SCALE:-0.9} width=${WIDTH:-1600} height=${HEIGHT:-1320}
clicks=${CLICKS:-3} max_sleep=${MAX_SLEEP:-1s} n=5
port=${PORT:-27081} control_base=${CONTROL_BASE:-27181}

say() { printf 'walkthrough: %s\n' "$*" >&2; }

# A display nobody uses.
d=90
while [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ]; do d=$((d + 1)); done
display=":$d"

tmp=$(mktemp -d)
xvfb_pid="" lab_pid=""
cleanup() {
	if [ -n "$lab_pid" ]; then # the lab and everything it started: its own process group
		kill -INT -- "-$lab_pid" 2>/dev/null || true
		for _ in $(seq 1 40); do kill -0 "$lab_pid" 2>/dev/null || break; sleep 0.5; done
		kill -KILL -- "-$lab_pid" 2>/dev/null || true
	fi
	if [ -n "$xvfb_pid" ]; then
		kill -TERM "$xvfb_pid" 2>/dev/null || true
		wait "$xvfb_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 "${width}x${height}x24" -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.2; done
export DISPLAY=$display FYNE_SCALE=$scale XDG_CONFIG_HOME=$tmp/config LANG=C LC_ALL=

say "starting the lab: -protocol $protocol -max-sleep $max_sleep $*"
setsid ./run.sh -protocol "$protocol" -max-sleep "$max_sleep" -n "$n" \
	-port "$port" -control-base "$control_base" "$@" >"$tmp/lab.log" 2>&1 </dev/null &
lab_pid=$!

names=(Network)
for i in $(seq 1 "$n"); do names+=("Middleware $i"); done
declare -A win
for name in "${names[@]}"; do
	for t in $(seq 1 1200); do # the first build takes minutes
		id=$(xdotool search --name "^$name\$" 2>/dev/null | tail -1 || true)
		[ -n "$id" ] && break
		kill -0 "$lab_pid" 2>/dev/null || { cat "$tmp/lab.log" >&2; say "the lab stopped"; exit 1; }
		sleep 0.5
	done
	[ -n "$id" ] || { cat "$tmp/lab.log" >&2; say "no window $name"; exit 1; }
	win[$name]=$id
done

# No window manager under Xvfb: tile the windows three by two. A window
# just mapped may still apply its own first size after ours, so tile
# again until every window has the place and size asked for.
cw=$((width / 3)) ch=$((height / 2))
for try in $(seq 1 20); do
	ok=1
	for k in "${!names[@]}"; do
		id=${win[${names[$k]}]}
		x=$(((k % 3) * cw)) y=$(((k / 3) * ch))
		eval "$(xdotool getwindowgeometry --shell "$id")"
		if [ "$X" != "$x" ] || [ "$Y" != "$y" ] || [ "$WIDTH" != "$cw" ] || [ "$HEIGHT" != "$ch" ]; then
			ok=""
			xdotool windowmove "$id" "$x" "$y"
			xdotool windowsize "$id" "$cw" "$ch"
		fi
	done
	[ -n "$ok" ] && [ "$try" -gt 2 ] && break
	sleep 1
done
[ -n "$ok" ] || say "warning: some window would not take its place"
sleep 3 # let them lay out again and show the status (and -protocol none's warning)

# click WINDOW X Y: a click at X,Y inside the window.
click() { xdotool mousemove --window "$1" "$2" "$3" click 1; }

# Where the blue Send button is in each window: the highest pixels of
# its colour near the top left (the tab underline below is the same blue).
declare -A sendx sendy
for i in $(seq 1 "$n"); do
	id=${win[Middleware $i]}
	import -window "$id" "$tmp/w.png"
	read -r x y < <(convert "$tmp/w.png" -crop 160x260+0+0 +repage txt:- |
		awk -F'[,: ]+' '/#296FF6/ { if (miny == "" || $2 < miny) miny = $2; xs[$2] = xs[$2] " " $1 }
			END { if (miny == "") exit; y = miny + 12; split(xs[y], a, " "); mn = 1e9; mx = 0
				for (j in a) { if (a[j] + 0 < mn) mn = a[j] + 0; if (a[j] + 0 > mx) mx = a[j] + 0 }
				print int((mn + mx) / 2), y }')
	[ -n "${y:-}" ] || { say "no Send button found in Middleware $i"; exit 1; }
	sendx[$i]=$x sendy[$i]=$y
done

say "clicking Send $clicks times in each window"
for _ in $(seq 1 "$clicks"); do
	for i in $(seq 1 "$n"); do
		click "${win[Middleware $i]}" "${sendx[$i]}" "${sendy[$i]}"
		sleep 0.02
	done
done

want=$((n * clicks))
for t in $(seq 1 300); do
	low=$want
	for i in $(seq 1 "$n"); do
		c=$(grep -c '"event":"ready"' "logs/middleware-$i.jsonl" 2>/dev/null || true)
		[ "${c:-0}" -lt "$low" ] && low=${c:-0}
	done
	[ "$low" -ge "$want" ] && break
	sleep 0.5
done
[ "$low" -ge "$want" ] || { say "only $low of $want ready in the slowest window"; exit 1; }

sleep 5 # the agreement lines compare digests with the peers; then a repaint

mkdir -p "$(dirname "$out")"
import -window root "$tmp/root.png"
convert "$tmp/root.png" -strip "$out"
say "wrote $out"
