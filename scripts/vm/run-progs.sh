#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the programs of one suite, each wrapped in KVMSHARE-BEGIN/END markers
# with its TAP output between them. Used inside the test VM (busybox sh) and
# natively on the host for native suites.
#
# A suite is described by suites/<name>.conf (a shell fragment); see
# scripts/check.sh for its variables. This runs one list of it:
#
#   run-progs.sh SUITE [vm|host]
#
# vm (default) runs PROGS, host runs HOST_PROGS; in bench and demo mode
# BENCH_PROGS / HOST_BENCH_PROGS and DEMO_PROGS / HOST_DEMO_PROGS instead.
# Environment: KVMSHARE_MODE=check|demo|bench is passed to each program.

suite=$1
where=${2:-vm}
here=$(cd "$(dirname "$0")" && pwd)
# Inside the VM the suites are in /kvmshare/suites and the programs in
# /kvmshare/bin; natively the caller points these at the source tree.
suites=${KVMSHARE_SUITES:-$here/suites}
progdir=${KVMSHARE_PROGDIR:-$here/bin}
conf=$suites/$suite.conf

if [ ! -f "$conf" ]; then
	echo "KVMSHARE-BEGIN suite-$suite"
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 suite $suite has no $conf"
	echo "KVMSHARE-END suite-$suite 1"
	exit 1
fi

MODULES=
TIMEOUT=300
# shellcheck source=/dev/null
. "$conf"
TIMEOUT=$((TIMEOUT * ${KVMSHARE_TIMEOUT_FACTOR:-1}))

var=PROGS
case "${KVMSHARE_MODE:-check}" in
bench) var=BENCH_PROGS ;;
demo) var=DEMO_PROGS ;;
esac
[ "$where" = host ] && var=HOST_$var
eval "PROGS=\${$var:-}"

# kmemleak (debug kernel): forget what boot left behind, so that the scan at
# the end of the suite (dmesg-check.sh) reports only what the suite leaked.
if [ "$where" = vm ] && [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
fi

[ "$where" = vm ] && for m in $MODULES; do
	if ! modprobe "$m" 2>/tmp/modprobe.err; then
		echo "KVMSHARE-BEGIN modprobe-$m"
		echo "1..1"
		echo "not ok 1 modprobe $m: $(cat /tmp/modprobe.err)"
		echo "KVMSHARE-END modprobe-$m 1"
	fi
done

# Inside the VM KVM's static keys are held from boot (kvm-hold): a key
# flipped by a test's VM live-patches kernel text, which the emulator
# handles badly. Checked before the suite's programs and after them.
static_keys() {
	[ -n "${KVMSHARE_VM:-}" ] && [ -c /dev/kvm ] || return 0
	echo "KVMSHARE-BEGIN static-keys$1"
	if [ -s /run/kvm-hold.pid ] && kill -0 "$(cat /run/kvm-hold.pid)"; then
		"$progdir/lib/kvm-hold" --check
	else
		echo "1..1"
		echo "not ok 1 kvm-hold is not running: KVM's static keys are not held"
	fi
	echo "KVMSHARE-END static-keys$1 $?"
}
[ "$where" = vm ] && static_keys

for p in $PROGS; do
	case "$p" in
	/*) path=$p ;;
	*) path=$progdir/$p ;;
	esac
	name=$(basename "$p")
	echo "KVMSHARE-BEGIN $name"
	if [ -x "$path" ]; then
		(cd "$(dirname "$path")" && timeout -s KILL "$TIMEOUT" "$path")
		rc=$?
	else
		echo "not ok 1 $name is missing or not executable"
		rc=127
	fi
	echo "KVMSHARE-END $name $rc"
done

[ "$where" = vm ] && static_keys -end

# Inside the VM every suite ends with a look at the kernel log: a warning,
# BUG, oops or lockup anywhere in the run fails the suite.
if [ -n "${KVMSHARE_VM:-}" ]; then
	echo "KVMSHARE-BEGIN kernel-log"
	"$here/dmesg-check.sh"
	echo "KVMSHARE-END kernel-log $?"
fi
exit 0
