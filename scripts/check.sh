#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run test suites (make check), benchmarks (make bench) or the demo
# (make demo) and sum the results.
#
#   scripts/check.sh [--mode check|bench|demo] [SUITE...]
#
# Suites are described by scripts/suites/<name>.conf:
#   KIND=native|vm   where the programs run
#   PROGS=...        programs (TAP producers); BENCH_PROGS, DEMO_PROGS
#   MODULES=...      our modules loaded before the programs (vm)
#   TIMEOUT=secs     per program
#   VM_MEM, VM_SMP, VM_HOSTROOT=1, VM_Q35=1, VM_TIMEOUT=secs (vm)
#
# The last line is "N passed, N failed, N skipped" summed over every suite;
# the exit status is non-zero if anything failed.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
mode=check
if [ "${1:-}" = --mode ]; then
	mode=$2
	shift 2
fi

all_suites() {
	local f
	for f in "$top"/scripts/suites/*.conf; do
		basename "$f" .conf
	done
}

# Suites that take part in a mode: check runs those with PROGS, bench those
# with BENCH_PROGS, demo those with DEMO_PROGS.
suite_var() {
	(
		PROGS= BENCH_PROGS= DEMO_PROGS= KIND=vm
		# shellcheck disable=SC1090
		. "$top/scripts/suites/$1.conf"
		eval "echo \"\${$2:-}\""
	)
}

mode_var=PROGS
[ "$mode" = bench ] && mode_var=BENCH_PROGS
[ "$mode" = demo ] && mode_var=DEMO_PROGS

if [ $# -gt 0 ]; then
	suites="$*"
	for s in $suites; do
		if [ ! -f "$top/scripts/suites/$s.conf" ]; then
			echo "check.sh: no suite '$s'; suites: $(all_suites | tr '\n' ' ')" >&2
			exit 2
		fi
	done
else
	suites=
	for s in $(all_suites); do
		[ -n "$(suite_var "$s" $mode_var)" ] && suites="$suites $s"
	done
fi
echo "kvmshare $mode: suites:$suites"

results=$build/results
mkdir -p "$results"
passed=0 failed=0 skipped=0

add_counts() {
	local p f s
	read -r p f s < "$1"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" = 0 ]
}

# Build everything once; a broken build fails every VM suite.
need_vm=0
for s in $suites; do
	[ "$(suite_var "$s" KIND)" = vm ] && need_vm=1
done
"$top/scripts/deps.sh" all || exit 1
initrd=$build/initrd.gz
build_ok=1
if ! make -s -C "$top" modules selftests > "$results/build.log" 2>&1; then
	build_ok=0
	echo "check.sh: build failed:"
	tail -40 "$results/build.log"
fi
if [ "$need_vm" = 1 ] && [ "$build_ok" = 1 ]; then
	if ! "$top/scripts/mkinitrd.sh" "$initrd" > "$results/initrd.log" 2>&1; then
		build_ok=0
		echo "check.sh: initramfs build failed:"
		tail -20 "$results/initrd.log"
	fi
fi

for s in $suites; do
	kind=$(suite_var "$s" KIND)
	dir=$results/$s
	mkdir -p "$dir"
	start=$(date +%s)
	echo "=== suite $s ($kind)"
	if [ "$kind" = native ]; then
		KVMSHARE_MODE=$mode KVMSHARE_SUITES=$top/scripts/suites \
		KVMSHARE_PROGDIR=$top KVMSHARE_SRCDIR=$top \
			sh "$top/scripts/vm/run-progs.sh" "$s" > "$dir/results.log" 2>&1
		echo KVMSHARE-DONE >> "$dir/results.log"
	elif [ "$build_ok" = 1 ]; then
		vmopts=(--initrd "$initrd" --out "$dir" --mode "$mode")
		v=$(suite_var "$s" VM_MEM); [ -n "$v" ] && vmopts+=(--mem "$v")
		v=$(suite_var "$s" VM_SMP); [ -n "$v" ] && vmopts+=(--smp "$v")
		v=$(suite_var "$s" VM_TIMEOUT); [ -n "$v" ] && vmopts+=(--timeout "$v")
		[ "$(suite_var "$s" VM_HOSTROOT)" = 1 ] && vmopts+=(--hostroot)
		[ "$(suite_var "$s" VM_Q35)" = 1 ] && vmopts+=(--q35)
		[ "$mode" = demo ] && vmopts+=(--console)
		"$top/scripts/vm-run.sh" "${vmopts[@]}" "$s"
	else
		: > "$dir/results.log"
	fi
	awk -v suite="$s" -v countfile="$dir/counts" \
	    -v verbose=$([ "$mode" = check ] && echo 0 || echo 1) \
	    -f "$top/scripts/tap-sum.awk" "$dir/results.log"
	if ! add_counts "$dir/counts"; then
		echo "--- $s: failure details ($dir/results.log)"
		grep -v '^KVMSHARE-' "$dir/results.log" | grep -E '^(#|not ok)' |
			tail -60
		if [ -s "$dir/console.log" ]; then
			echo "--- $s: VM console, last 60 lines ($dir/console.log)"
			tail -60 "$dir/console.log"
		fi
	fi
	echo "=== suite $s: $(cat "$dir/counts" |
		awk '{ printf("%d passed, %d failed, %d skipped", $1, $2, $3) }')" \
		"in $(( $(date +%s) - start ))s"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
