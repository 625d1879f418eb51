#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Ours or the emulator's (issue 14): the balloon scenario that has reset
# nested guests, run RUNS times in each of four settings - guest RAM on
# tmpfs files or on pool partitions, guests on the test VM's KVM or under
# TCG - and the outcome of every run in a table (Documentation/dev-guide.rst,
# "Ours or the emulator's").
#
#   scripts/balloon-matrix.sh [RUNS [SECONDS]]     (default 10 runs, 120 s)
#
# The scenario is pool/qemu_soak.sh (manual suites soak_pool, soak_tmpfs):
# two guests churn 64 MiB in a loop with free page reporting while g2's
# balloon goes up and down every 10 s, for SECONDS. Each run is a make
# check of its own (a test VM that dies ends that run only), in the order
# tmpfs/kvm, pool/kvm, tmpfs/tcg, pool/tcg, RUNS times over, so that a
# partial matrix still covers the four settings evenly. Outcomes:
#   ok        every result of the suite passed
#   reset     a guest's QEMU ended before the end (a guest reset)
#   data      a guest found a bad word (GUEST-CHURN ... BAD)
#   vm-died   the test VM ended or hung before the suite completed
#   failed    another result failed (the first one is shown)
# Logs: build/matrix/<run>-<backing>-<accel>.log. Needs an idle machine
# (one test VM at a time): two VMs on two cores starve nested guests.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
secs=${2:-120}
out=$top/build/matrix
mkdir -p "$out"
table=$out/table.txt
: > "$table"

outcome() {	# outcome RC LOG: one word and a detail
	local rc=$1 log=$2 first
	if [ "$rc" = 0 ]; then
		echo "ok -"
	elif grep -q 'soak-outcome: .* reset [g ]*g[12]' "$log" &&
	     ! grep -q 'soak-outcome: .* reset none' "$log"; then
		echo "reset $(sed -n 's/.*soak-outcome: .* reset \(.*\)/\1/p' "$log" |
			      head -1 | tr ' ' ',')"
	elif grep -q 'GUEST-CHURN .* BAD' "$log"; then
		echo "data $(grep -m1 -o 'g[12]: [0-9]* rounds ok, [0-9]* bad' "$log" | tr ' ' '_')"
	elif grep -q 'did not complete\|VM console, last' "$log" &&
	     ! grep -q 'qemu_soak.sh: 5 ' "$log"; then
		echo "vm-died -"
	else
		first=$(grep -m1 'not ok' "$log" | sed 's/.*not ok *//' |
			cut -c1-60 | tr ' ' '_')
		echo "failed ${first:--}"
	fi
}

printf '%-4s %-6s %-4s %-8s %6s  %s\n' run ram accel outcome secs detail |
	tee -a "$table"
for i in $(seq "$runs"); do
	for accel in kvm tcg; do
		for backing in tmpfs pool; do
			log=$out/$i-$backing-$accel.log
			t0=$(date +%s)
			KVMSHARE_VM_APPEND="KVMSHARE_E2E_ACCEL=$accel SOAK_S=$secs" \
				make -C "$top" check SUITES="soak_$backing" \
				> "$log" 2>&1
			rc=$?
			read -r what detail < <(outcome "$rc" "$log")
			printf '%-4s %-6s %-4s %-8s %6s  %s\n' "$i" "$backing" \
			       "$accel" "$what" "$(($(date +%s) - t0))" \
			       "$detail" | tee -a "$table"
		done
	done
done
echo "summary (ok of runs per setting):" | tee -a "$table"
for accel in kvm tcg; do
	for backing in tmpfs pool; do
		n=$(awk -v b="$backing" -v a="$accel" \
			'$2 == b && $3 == a' "$table" | wc -l)
		k=$(awk -v b="$backing" -v a="$accel" \
			'$2 == b && $3 == a && $4 == "ok"' "$table" | wc -l)
		echo "  $backing/$accel: $k of $n" | tee -a "$table"
	done
done
