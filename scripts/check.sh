#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run test suites (make check), benchmarks (make bench) or the demo
# (make demo) and sum the results.
#
#   scripts/check.sh [--mode check|bench|demo] [SUITE...]
#
# Suites are described by scripts/suites/<name>.conf, a shell fragment:
#   HOST_PROGS=...   programs run natively on this machine (unit tests,
#                    lint); paths relative to build/selftests or absolute
#   PROGS=...        programs run inside the test VM; relative to
#                    /kvmshare/bin there (= build/selftests)
#   BENCH_PROGS, HOST_BENCH_PROGS, DEMO_PROGS, HOST_DEMO_PROGS
#                    the same for make bench and make demo
#   MODULES=...      our modules loaded in the VM before PROGS
#   TIMEOUT=secs     per program (default 300)
#   MANUAL=1         only run when named (make check SUITES=...)
#   VM_MEM, VM_SMP, VM_NUMA, VM_HOSTROOT=1, VM_Q35=1, VM_IVSHMEM=1, VM_AGENT=1,
#   VM_NVME_SRIOV=1 (QEMU's NVMe with SR-IOV on rp3; implies VM_Q35),
#   VM_TIMEOUT=secs (see scripts/vm-run.sh)
# Every program prints TAP (see scripts/tap-sum.awk for what counts).
#
# The last line is "N passed, N failed, N skipped" summed over every suite;
# the exit status is non-zero if anything failed. In bench mode the run
# ends with "goals: N of M met" after it: every "bench: NAME VALUE (goal OP X)"
# line of the run judged against its goal (a missed goal is reported, it
# does not fail the run; a benchmark that must fail on it says so itself).
#
# KVMSHARE_KERNEL_LANE=debug (make check KERNEL=debug): the modules are
# built against, and the VM boots, the debug kernel of scripts/kernel.sh
# (built first if the cache has none). Without SUITES it runs the suites
# that use the VM (every default one, plus stress and fuzz when they exist),
# with every timeout multiplied by KVMSHARE_TIMEOUT_FACTOR (default 4 there,
# 1 otherwise) and the VM's memory by 3/2.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
# Suite files may name programs of the source tree through this.
export KVMSHARE_SRCDIR=$top
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
		# shellcheck disable=SC1090
		. "$top/scripts/suites/$1.conf"
		eval "echo \"\${$2:-}\""
	)
}

mode_var=PROGS
[ "$mode" = bench ] && mode_var=BENCH_PROGS
[ "$mode" = demo ] && mode_var=DEMO_PROGS

lane=${KVMSHARE_KERNEL_LANE:-}
debug_extra="stress fuzz"	# MANUAL suites the debug lane runs too
case "$lane" in
"") export KVMSHARE_TIMEOUT_FACTOR=${KVMSHARE_TIMEOUT_FACTOR:-1} ;;
debug) export KVMSHARE_TIMEOUT_FACTOR=${KVMSHARE_TIMEOUT_FACTOR:-4} ;;
*) echo "check.sh: unknown KERNEL '$lane' (debug or empty)" >&2; exit 2 ;;
esac

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
		if [ -n "$lane" ]; then
			# the debug lane: suites that run in the VM only
			[ -n "$(suite_var "$s" $mode_var)" ] || continue
			case " $debug_extra " in
			*" $s "*) suites="$suites $s"; continue ;;
			esac
		fi
		[ "$(suite_var "$s" MANUAL)" = 1 ] && continue
		[ -n "$(suite_var "$s" $mode_var)$(suite_var "$s" HOST_$mode_var)" ] &&
			suites="$suites $s"
	done
fi
echo "kvmshare $mode: suites:$suites${lane:+ (kernel: $lane)}"

results=$build/results
mkdir -p "$results"
rm -f "$results/failures.txt" "$results/reruns.txt"
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
	[ -n "$(suite_var "$s" $mode_var)" ] && need_vm=1
done
deps=all
[ -n "$lane" ] && deps=kernel	# the debug kernel is built here
"$top/scripts/deps.sh" $deps || exit 1
if [ -n "$lane" ]; then
	kstart=$(date +%s)
	kdir=$("$top/scripts/kernel.sh" fetch) || exit 1
	echo "kernel: $(cat "$kdir/krel") ($kdir;" \
	     "built in $(cat "$kdir/build-seconds")s, ready after" \
	     "$(( $(date +%s) - kstart ))s)"
fi
if [ "$need_vm" = 1 ]; then
	# the test VM's emulator (downloaded once: scripts/qemu.sh)
	qemu=$("$top/scripts/qemu.sh" fetch) || exit 1
	echo "emulator: $("$qemu" --version | head -1) ($qemu)"
fi
initrd=$build/initrd.gz
build_ok=1
targets="modules selftests kselftest-install"
[ "$mode" = bench ] && targets="$targets samples"
# shellcheck disable=SC2086
if ! make -s -C "$top" $targets > "$results/build.log" 2>&1; then
	build_ok=0
	echo "check.sh: build failed:"
	tail -40 "$results/build.log"
fi
if [ "$need_vm" = 1 ] && [ "$build_ok" = 1 ]; then
	if ! "$top/scripts/mkinitrd.sh" "$initrd" "$build/guest-initrd.gz" \
		> "$results/initrd.log" 2>&1; then
		build_ok=0
		echo "check.sh: initramfs build failed:"
		tail -20 "$results/initrd.log"
	fi
fi

# The head of the first kernel report on a VM console that did not finish
# (the CI log shows only its tail, where a panic's cause has scrolled away):
# the report's first line, where it ran, the first frames, and the panic's
# reason. $1 label, $2 console log
crash_summary() {
	tr -d '\r' < "$2" 2>/dev/null | awk -v l="[$1]   console:" '
		/Kernel panic - not syncing/ { reason = $0 }
		!start && /BUG:|Oops|general protection|soft lockup|kernel BUG|WARNING: CPU|hung_task|blocked for more than|Kernel panic/ {
			start = 1
		}
		start && n < 14 && (/RIP:/ || !/\] (R[0-9A-Z]+|FS|CS|CR2|DR[0-7]|Code|PKRU):/) {
			print l, substr($0, 1, 200); n++
			if ($0 == reason) reason = ""
		}
		END { if (reason != "") print l, reason }'
}

# The console's "Show Blocked State" section (sysrq w, vm-run.sh's last
# look at a VM that ran out of time). $1 console log
blocked_tasks() {
	tr -d '\r' < "$1" 2>/dev/null |
		sed -n '/sysrq: Show Blocked State/,/sysrq: Show backtrace/p'
}

# Sum one results log into the totals; show details when it failed.
# $1 label, $2 results log, $3 VM console log (may be absent)
judge() {
	local verbose=0
	[ "$mode" = check ] || verbose=1
	# (a VM that never booted leaves none: that is a suite not completed)
	[ -e "$2" ] || : > "$2"
	awk -v suite="$1" -v countfile="$2.counts" -v verbose=$verbose \
	    -f "$top/scripts/tap-sum.awk" "$2" | tee "$2.sum"
	if ! add_counts "$2.counts"; then
		echo "--- $1: failure details ($2)"
		grep -E '^(#|not ok)' "$2" | tail -60
		if [ -s "${3:-}" ]; then
			echo "--- $1: VM console, last 60 lines ($3)"
			tail -60 "$3"
			# (vm-run.sh asked a VM it killed for its blocked tasks)
			if grep -q 'sysrq: Show Blocked State' "$3"; then
				echo "--- $1: the VM's blocked tasks before the kill"
				blocked_tasks "$3" | head -120
			fi
		fi
		# for the summary at the end (CI logs show their tail)
		{
			grep -F 'not ok' "$2.sum" | head -10
			# a bail-out's reason and the last diagnostics
			grep -E '^Bail out!' "$2" | head -3 | sed "s/^/[$1] /"
			grep -E '^# ' "$2" | tail -8 | sed "s/^/[$1]   /"
			grep -q '^KVMSHARE-DONE' "$2" || {
				echo "[$1] the run did not finish; console's" \
				     "last line: $(tail -n 1 "${3:-/dev/null}" \
				     2>/dev/null | tr -d '\r')"
				crash_summary "$1" "${3:-/dev/null}"
				blocked_tasks "${3:-/dev/null}" | grep 'task:' |
					head -5 | sed "s/^/[$1]   blocked: /"
			}
		} >> "$results/failures.txt"
	fi
}

run_host_progs() {
	: > "$2/host.log"
	if [ "$build_ok" = 1 ]; then
		KVMSHARE_MODE=$mode KVMSHARE_SUITES=$top/scripts/suites \
		KVMSHARE_PROGDIR=$build/selftests KVMSHARE_SRCDIR=$top \
			sh "$top/scripts/vm/run-progs.sh" "$1" host \
			> "$2/host.log" 2>&1
		echo KVMSHARE-DONE >> "$2/host.log"
	fi
	judge "$1" "$2/host.log"
}

# emulator_death(): the test VM's deaths that are the emulator's own
. "$top/scripts/emulator-death.sh"

run_vm_progs() {
	local v vmopts=(--initrd "$initrd" --out "$2" --mode "$mode")
	local try=1 why

	: > "$2/results.log"
	if [ "$build_ok" = 1 ]; then
		v=$(suite_var "$1" VM_MEM)
		# KASAN's shadow, its quarantine and SLUB's red zones
		[ -n "$lane" ] && v=$(( ${v:-2048} * 3 / 2 ))
		[ -n "$v" ] && vmopts+=(--mem "$v")
		v=$(suite_var "$1" VM_SMP); [ -n "$v" ] && vmopts+=(--smp "$v")
		v=$(suite_var "$1" VM_NUMA); [ -n "$v" ] && vmopts+=(--numa "$v")
		v=$(suite_var "$1" VM_TIMEOUT)
		[ -n "$v" ] && vmopts+=(--timeout "$v")
		[ "$(suite_var "$1" VM_HOSTROOT)" = 1 ] && vmopts+=(--hostroot)
		[ "$(suite_var "$1" VM_Q35)" = 1 ] && vmopts+=(--q35)
		[ "$(suite_var "$1" VM_NVME_SRIOV)" = 1 ] && vmopts+=(--nvme-sriov)
		[ "$(suite_var "$1" VM_IVSHMEM)" = 1 ] && vmopts+=(--ivshmem)
		[ "$(suite_var "$1" VM_AGENT)" = 1 ] && vmopts+=(--agent)
		"$top/scripts/vm-run.sh" "${vmopts[@]}" "$1"
		# once more in a fresh VM after the emulator's known death
		# (above), the first run's logs kept in run1/ and named at
		# the end; KVMSHARE_EMU_RERUNS=0 turns that off
		while [ "$try" -le "${KVMSHARE_EMU_RERUNS:-1}" ] &&
		      ! grep -q '^KVMSHARE-DONE' "$2/results.log" &&
		      why=$(emulator_death "$2") && [ -n "$why" ]; do
			mkdir -p "$2/run$try"
			mv "$2"/*.log "$2/run$try/"
			echo "check.sh: $1: the test VM died of the emulator's" \
			     "known fault ($why); the suite runs again in a" \
			     "fresh VM (first run's logs: $2/run$try)"
			echo "$1: run $try: $why" >> "$results/reruns.txt"
			try=$((try + 1))
			: > "$2/results.log"
			"$top/scripts/vm-run.sh" "${vmopts[@]}" "$1"
		done
	fi
	judge "$1" "$2/results.log" "$2/console.log"
}

for s in $suites; do
	dir=$results/$s
	mkdir -p "$dir"
	rm -f "$dir"/*.log "$dir"/*.counts "$dir"/*.sum
	start=$(date +%s)
	sp=$passed sf=$failed ss=$skipped
	echo "=== suite $s"
	[ -n "$(suite_var "$s" HOST_$mode_var)" ] && run_host_progs "$s" "$dir"
	[ -n "$(suite_var "$s" $mode_var)" ] && run_vm_progs "$s" "$dir"
	echo "=== suite $s: $((passed - sp)) passed, $((failed - sf)) failed," \
	     "$((skipped - ss)) skipped in $(( $(date +%s) - start ))s"
done

if [ -s "$results/failures.txt" ]; then
	echo "--- what failed (details above, logs in $results):"
	head -80 "$results/failures.txt"
fi
if [ -s "$results/reruns.txt" ]; then
	echo "--- suites run again after the emulator's known fault" \
	     "(Documentation/dev-guide.rst, \"The emulator\"):"
	cat "$results/reruns.txt"
fi
echo "$passed passed, $failed failed, $skipped skipped"
# make bench ends with every figure judged against its goal.
if [ "$mode" = bench ]; then
	for s in $suites; do
		cat "$results/$s"/*.log.sum 2>/dev/null
	done | awk -f "$top/scripts/bench-goals.awk" | tee "$results/goals.txt"
fi
[ "$failed" = 0 ]
