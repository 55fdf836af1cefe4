#!/usr/bin/env bash
# Repeats the "fresh machine" check: the README's two commands on a freshly
# bootstrapped Debian 12 (debootstrap --variant=minbase bookworm) that has
# nothing but Go. Run it as root on a Debian-like Linux host with network
# access (Debian's mirrors and the Go module proxy); it takes a while
# (about a quarter of an hour on two cores), is not part of CI, and
# leaves nothing behind unless -keep is given.
#
#   scripts/fresh-machine.sh [-keep] [-suite bookworm] [-mirror URL]
#
# What it does, in a chroot made for the purpose:
#   1. copies this working tree (the files git knows, committed or not) and
#      this machine's Go ($(go env GOROOT)); apt there uses this host's
#      sources and resolv.conf;
#   2. ./run.sh with no display: it must say so and fail (status 1);
#   3. ./run.sh with a display that does not exist: it must install what
#      it needs, build the lab, and fail cleanly (non-zero, one error
#      line per program, nothing left running);
#   4. ./run.sh test: must pass.
# Every line the commands print is kept, with the seconds since the step
# began, in fresh-machine-logs/ (the longest silence is reported). The exit
# status is non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm mirror="" keep=""
while [ $# -gt 0 ]; do
	case "$1" in
	-keep) keep=1; shift ;;
	-suite) suite=$2; shift 2 ;;
	-mirror) mirror=$2; shift 2 ;;
	*) echo "usage: $0 [-keep] [-suite bookworm] [-mirror URL]" >&2; exit 2 ;;
	esac
done

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "fresh-machine: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (debootstrap and chroot need it)"
command -v go >/dev/null || die "Go is not installed here: it is copied into the chroot"
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || die "cannot install debootstrap"
fi
if [ -z "$mirror" ]; then
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	mirror=${mirror:-http://deb.debian.org/debian}
fi

logs=$PWD/fresh-machine-logs
mkdir -p "$logs"
root=$(mktemp -d /var/tmp/fresh-machine.XXXXXX)
mounted=()
cleanup() {
	local m pids p
	# Anything still running inside the chroot is a finding: report, then end it.
	pids=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"; done || true)
	if [ -n "$pids" ]; then
		say "left running in the chroot: $(echo $pids | xargs -n1 sh -c 'cat /proc/$0/comm 2>/dev/null' | tr '\n' ' ')"
		kill -TERM $pids 2>/dev/null || true
	fi
	for ((m = ${#mounted[@]} - 1; m >= 0; m--)); do umount -l "${mounted[$m]}" 2>/dev/null || true; done
	if [ -z "$keep" ]; then rm -rf --one-file-system "$root"; else say "kept the chroot: $root"; fi
}
trap cleanup EXIT

t0=$(date +%s)
say "debootstrap --variant=minbase $suite ($mirror) into $root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
	die "debootstrap failed: see $logs/debootstrap.log"
say "debootstrap took $(($(date +%s) - t0)) s"

# The host's apt sources and name resolution; nothing else of the host's.
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$root/etc/apt/sources.list.d/" 2>/dev/null || true
# A host behind a TLS-inspecting proxy trusts that proxy's CA through
# /usr/local/share/ca-certificates; the chroot's ca-certificates (once
# run.sh installs it) must too, or every module download fails with x509
# errors that a machine on the open internet would not see.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	say "the host's own CA certificates go in too: $(cd /usr/local/share/ca-certificates && echo *.crt)"
fi

for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$root/$m"
	mounted+=("$root/$m")
done

say "copying Go ($(go env GOROOT)) and the lab"
cp -a "$(go env GOROOT)" "$root/usr/local/go"
mkdir -p "$root/home/lab"
git ls-files -z -co --exclude-standard | grep -zv '^fresh-machine-logs/' | tar -c --null -T - | tar -x -C "$root/home/lab"

# in_chroot NAME CMD: runs CMD (a shell command) in the lab's directory in
# the chroot as a newcomer would, logs every line with the seconds since
# the step began, and returns CMD's status.
in_chroot() {
	local name=$1 cmd=$2 start status
	start=$(date +%s)
	say "step $name: $cmd"
	set +e
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		${DISPLAY_FOR_STEP:+DISPLAY=$DISPLAY_FOR_STEP} \
		/bin/bash -c "cd /home/lab && $cmd" </dev/null 2>&1 |
		stamp "$start" | tee "$logs/$name.log" >&2
	status=${PIPESTATUS[0]}
	set -e
	local took=$(($(date +%s) - start)) gap
	gap=$(awk '{ t = $1 + 0; if (t - prev > max) max = t - prev; prev = t } END { print max + 0 }' "$logs/$name.log")
	say "step $name: status $status after ${took} s; longest silence ${gap} s"
	printf '%s\tstatus %s\t%s s\tlongest silence %s s\n' "$name" "$status" "$took" "$gap" >>"$logs/summary.tsv"
	return "$status"
}

# stamp START prefixes every line with the seconds since START.
stamp() {
	local line now
	while IFS= read -r line; do
		printf -v now '%(%s)T' -1
		printf '%5d %s\n' $((now - $1)) "$line"
	done
}

: >"$logs/summary.tsv"
failed=0

# 2. No display: a clear message and status 1, before anything is installed.
rc=0
in_chroot run-no-display "./run.sh" || rc=$?
if [ "$rc" != 1 ] || ! grep -q "no display found" "$logs/run-no-display.log"; then
	say "FAIL: ./run.sh without a display should say so and exit 1 (got $rc)"
	failed=1
fi

# 3. A display that is not there: installs, builds, then every program
# fails to open its window, and run.sh stops the lab with an error.
rc=0
DISPLAY_FOR_STEP=:77 in_chroot run-bad-display "./run.sh" || rc=$?
if [ "$rc" = 0 ] || [ ! -x "$root/home/lab/bin/middleware" ]; then
	say "FAIL: ./run.sh with a display that does not exist should build bin/ and then fail (got $rc)"
	failed=1
fi

# 4. The tests.
in_chroot run-test "./run.sh test" || { say "FAIL: ./run.sh test"; failed=1; }

say "total $(($(date +%s) - t0)) s; logs in fresh-machine-logs/"
column -t -s $'\t' "$logs/summary.tsv" >&2 || cat "$logs/summary.tsv" >&2
exit "$failed"
