#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Ours or the emulator's (issue 14): the balloon scenario that has reset
# nested guests, run RUNS times in each of four settings - guest RAM on
# tmpfs files or on pool partitions, guests on the test VM's KVM or under
# TCG - and the outcome of every run in a table (Documentation/dev-guide.rst,
# "Ours or the emulator's").
#
#   scripts/balloon-matrix.sh [RUNS [SECONDS [FIRST]]]
#                                     (default 10 runs, 120 s, from run 1)
#
# The scenario is pool/qemu_soak.sh (manual suites soak_pool, soak_tmpfs):
# two guests churn 64 MiB (16 MiB under TCG) in a loop with free page
# reporting while g2's balloon goes up and down every 10 s, for SECONDS.
# Each run is a make check of its own (a test VM that dies ends that run
# only), in the order tmpfs/kvm, pool/kvm, tmpfs/tcg, pool/tcg, RUNS
# times over, so that a partial matrix still covers the four settings
# evenly. FIRST above 1
# goes on with a matrix an earlier call began (runs FIRST to
# FIRST+RUNS-1, appended to its table; the summary counts the whole
# table), so that one can be run in parts. Outcomes:
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
first=${3:-1}
out=$top/build/matrix
mkdir -p "$out"
table=$out/table.txt

outcome() {	# outcome RC LOG: one word and a detail
	local rc=$1 log=$2 first
	# (the soak's own outcome line is in the log when it failed)
	if [ "$rc" = 0 ]; then
		echo "ok -"
	elif ! grep -q 'soak-outcome: ' "$log"; then
		echo "vm-died -"
	elif ! grep -q 'soak-outcome: .* reset none' "$log"; then
		# each guest that ended: its QEMU's exit status and when
		echo "reset $(sed -n 's/.*soak-death: \(g[12]\) QEMU exit status \([0-9]*\), found gone at \([0-9a-z ]*\).*/\1:rc\2:\3/p' "$log" |
			      sort -u | tr ' \n' '_,' | sed 's/,$//')"
	elif grep -q 'g[12]: [0-9]* rounds ok, [1-9][0-9]* bad' "$log"; then
		echo "data $(grep -m1 -o 'g[12]: [0-9]* rounds ok, [1-9][0-9]* bad' "$log" | tr ' ' '_')"
	else
		first=$(grep -m1 'not ok' "$log" | sed 's/.*not ok *//' |
			cut -c1-60 | tr ' ' '_')
		echo "failed ${first:--}"
	fi
}

if [ "$first" = 1 ] || [ ! -f "$table" ]; then
	printf '%-4s %-6s %-4s %-8s %6s  %s\n' run ram accel outcome secs \
	       detail | tee "$table"
else
	sed -i '/^summary/,$d' "$table"
fi
for i in $(seq "$first" $((first + runs - 1))); do
	for accel in kvm tcg; do
		for backing in tmpfs pool; do
			log=$out/$i-$backing-$accel.log
			t0=$(date +%s)
			# (every death counted here: no second run of a
			# test VM the emulator killed, scripts/check.sh)
			KVMSHARE_EMU_RERUNS=0 \
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
