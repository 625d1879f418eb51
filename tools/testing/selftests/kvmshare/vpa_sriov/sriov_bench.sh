#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The SR-IOV bench (Documentation/plans/sriov.md, step 9; make bench
# SUITES=vpa_sriov_e2e): I/O throughput of a VF of vpa's against its PF,
# in one boot of the test VM, the PF's rounds and the VF's alternating
# (PF, VF, PF, VF, PF by default) so that the emulator's drift over the
# run falls on both alike.
#   - PF rounds: vpa not bound; the PF on stock nvme (namespace 1, its
#     disk opened with O_DIRECT), then on vfio-pci driven by nvme_vfio;
#   - VF rounds: vpa binds the PF, VF 0 gets a group of 3 VQ and 2 VI
#     (the PF's own private resources: an admin queue, 2 I/O queues, 2
#     vectors; both then run one I/O queue, "1/0/0 default/read/poll
#     queues") and namespace 2; VF 0 on stock nvme, then on vfio-pci
#     driven by nvme_vfio; vpa unbound after (the VFs go with it).
# Each round of each driver: nvme_vfio's loop (blkbench on the block
# device, bench through VFIO; the same program, sizes, offsets and data)
# fills the first 16 MiB of the namespace, then runs sequential writes
# and reads of 128 KiB and random writes and reads of 4 KiB, one command
# at a time (queue depth 1), SRIOV_BENCH_SECONDS (3) each, checks every
# read (each 4 KiB block's tag words) and reads all 16 MiB back. Both
# namespaces are 64 MiB sparse images on the same host file system.
# A driver's figures of a round count only if its run passed (exit 0,
# PASS bench, four rates), stock nvme made one I/O queue ("1/0/0
# default/read/poll queues" for the function's controller in the kernel
# log) and, in a VF round, VF 0's setup (3/2, namespace 2) passed; a
# figure is printed only when every round of both functions counted.
# Figures (bench: NAME VALUE; the VF's mean over its rounds against the
# PF's, then the pair ratios' range, each VF round against the mean of
# the PF rounds before and after it; no timed assertion: a missed goal
# is reported, it fails nothing):
#   vpa_sriov.vf_vs_pf_<pattern>        stock nvme on both (goal >= 0.8:
#                                       vpa is on neither data path)
#   vpa_sriov.vfio_vf_vs_pf_<pattern>   nvme_vfio on both (goal >= 0.8)
#   vpa_sriov.vfio_vf_vs_nvme_pf_<pattern>
#                                       a VF through nvme_vfio against the
#                                       PF on stock nvme (no goal: two
#                                       drivers, not two functions)
# with <pattern> seq_read, seq_write, rand_read, rand_write. A VF inside
# a nested guest is not measured: under TCG its figure would be the
# second level of emulation's, not the VF's (the guest's I/O is checked
# by sriov_e2e.sh). SRIOV_BENCH_ROUNDS (2) is the number of VF rounds
# (PF rounds: one more); both variables reach the VM through
# KVMSHARE_VM_APPEND.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_bench
mkdir -p $T
BIN=$(dirname "$0")/nvme_vfio
SECS=${SRIOV_BENCH_SECONDS:-3}
ROUNDS=${SRIOV_BENCH_ROUNDS:-2}
case "$SECS$ROUNDS" in
*[!0-9]*) echo "Bail out! SRIOV_BENCH_SECONDS '$SECS' or SRIOV_BENCH_ROUNDS '$ROUNDS' not a number"; exit 1 ;;
esac
[ "$SECS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] || {
	echo "Bail out! SRIOV_BENCH_SECONDS and SRIOV_BENCH_ROUNDS must be at least 1"
	exit 1
}

sriov_init
rm -f $T/rates
F=${KVMSHARE_TIMEOUT_FACTOR:-1}
autoprobe=

# On any exit (a bail-out too): no driver on the PF (vpa's unbind takes
# its VFs), its driver_override cleared, autoprobe as it was
cleanup() {
	case "$(driver)" in
	none) ;;
	vpa) echo "$PF" > /sys/bus/pci/drivers/vpa/unbind ;;
	*) echo "$PF" > $P/driver/unbind ;;
	esac
	echo > $P/driver_override
	[ -z "$autoprobe" ] || echo "$autoprobe" > $P/sriov_drivers_autoprobe
}
trap cleanup EXIT

# to DEV DRIVER: bind the PCI function DEV (a BDF) to DRIVER through its
# driver_override; true once bound
to() {
	d=/sys/bus/pci/devices/$1
	echo "$2" > $d/driver_override
	echo "$1" 2> $T/bind.err > /sys/bus/pci/drivers/"$2"/bind
	[ "$(drv $d)" = "$2" ] || { echo "# $2 bind $1: $(cat $T/bind.err)"; return 1; }
}
off() {		# off DEV: DEV unbound, its driver_override cleared
	d=/sys/bus/pci/devices/$1
	[ "$(drv $d)" = none ] || echo "$1" > $d/driver/unbind
	echo > $d/driver_override
}
# disk NSID: stock nvme's disk of namespace NSID (30 s times the timeout
# factor for the probe and the namespace scan, which nvme runs after the
# controller is live)
disk() {
	i=0
	while [ $i -lt $((30 * F)) ]; do
		for b in /sys/block/nvme*; do
			n=$(basename "$b")
			case $n in *c*) continue ;; esac	# (a path, not the disk)
			[ "$(cat "$b/nsid" 2> /dev/null)" = "$1" ] &&
				[ -b /dev/"$n" ] && [ "$(cat "$b/size")" -gt 0 ] &&
				{ echo "$n"; return 0; }
		done
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# run WHO DRIVER K ARGS...: nvme_vfio ARGS... for round K of WHO (pf or
# vf) with DRIVER (nvme or vfio), its output as diagnostics; only a run
# that exited 0, passed its data check (PASS bench) and printed four
# rates counts: its RATE lines into $T/rates as "WHO DRIVER K PATTERN
# BYTES_PER_S"; true then
run() {
	rw=$1 rd=$2 rk=$3
	shift 3
	"$BIN" "$@" > $T/out 2>&1
	rc=$?
	grep -v '^RATE ' $T/out | sed "s/^/# $rw $rd $rk: /"
	if [ $rc = 0 ] && grep -q '^PASS bench:' $T/out &&
	   [ "$(grep -c '^RATE ' $T/out)" = 4 ]; then
		awk -v p="$rw $rd $rk" '/^RATE / { print p, $2, $3 }' $T/out >> $T/rates
		return 0
	fi
	echo "# $rw $rd $rk: exit $rc, $(grep -c '^RATE ' $T/out) rates: not counted"
	return 1
}

# queues DEV: the last "default/read/poll queues" line of stock nvme for
# DEV's controller since kmark; true if it reads 1/0/0, the one I/O queue
# the comparison assumes of the PF and of the VF
queues() {
	c=none
	for q in /sys/bus/pci/devices/"$1"/nvme/nvme*; do
		[ -e "$q" ] && c=$(basename "$q")
	done
	q=$(e2e_klog_since "$kmsg_mark" |
	    grep "nvme $c: [0-9]*/[0-9]*/[0-9]* default/read/poll queues" |
	    tail -1 | grep -o '[0-9]*/[0-9]*/[0-9]* default')
	q=${q% default}
	echo "# $who $rn: $1 (controller $c): ${q:-no} default/read/poll queues"
	[ "$q" = 1/0/0 ]
}

# one DEV NSID WHO K: DEV on stock nvme (namespace NSID's disk; counted
# only with one I/O queue), then on vfio-pci (nvme_vfio), one TAP result
one() {
	dev=$1 ns=$2 who=$3 rn=$4
	ok=0
	blk=none
	kmark
	if to "$dev" nvme && blk=$(disk "$ns") && queues "$dev"; then
		run "$who" nvme "$rn" blkbench /dev/"$blk" "$SECS" || ok=1
	else
		ok=1
	fi
	off "$dev"
	if to "$dev" vfio-pci; then
		run "$who" vfio "$rn" bench "$dev" "$ns" "$SECS" || ok=1
	else
		ok=1
	fi
	off "$dev"
	e2e_tap $ok "$who round $rn: $dev namespace $ns on stock nvme ($blk, one I/O queue) and on nvme_vfio, four patterns each, the data checked"
}

pf_round() {	# pf_round K: the PF without vpa
	[ "$(driver)" = none ] || off "$PF"
	one "$PF" 1 pf "$1"
}

vf_round() {	# vf_round K: VF 0 of vpa's with the PF's private resources
	vpa_take_pf
	ok=0
	wr $P/sriov_numvfs 1 || ok=1
	wr $TY/vf-fcfs/create 0 || ok=1
	wr $VF/0/nr_wq 3 || ok=1
	wr $VF/0/ns 2 || ok=1
	st="$(cat $VF/0/state):$(cat $VF/0/nr_wq)/$(cat $VF/0/nr_vec) $(cat $VF/0/ns)"
	[ $ok = 0 ] && [ "$st" = "online:3/2 2" ]
	ok=$?
	e2e_tap $ok "VF round $1: VF 0 online with 3 VQ and 2 VI and namespace 2 ($st; $(cat $T/wr.err))"
	# (a VF with other counts is not the PF's like: not measured)
	if [ $ok = 0 ]; then
		one "$(basename "$(readlink $P/virtfn0)")" 2 vf "$1"
	else
		e2e_tap 1 "vf round $1: not measured (VF 0's setup failed)"
	fi
	echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
	echo > $P/driver_override
}

echo "# PF $PF: driver $(driver); $ROUNDS VF rounds, $((ROUNDS + 1)) PF rounds, $SECS s a pattern"
modprobe vfio-pci
modprobe nvme
autoprobe=$(cat $P/sriov_drivers_autoprobe)
echo 0 > $P/sriov_drivers_autoprobe
[ "$(driver)" = vpa ] && echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
t0=$(date +%s)
k=1
while [ $k -le "$ROUNDS" ]; do
	pf_round $k
	vf_round $k
	k=$((k + 1))
done
pf_round $k
echo "# rounds: $(($(date +%s) - t0)) s"

# The figures: each (who, driver, pattern)'s mean over its rounds, the
# VF's against the PF's, printed only when every round of both counted
# (else the P V P V P order that cancels the drift is broken); after it
# the range of the pair ratios (VF round k against the mean of PF rounds
# k and k + 1, each corrected for the drift); the PF's first and last
# rounds against each other show the drift over the run
touch $T/rates
awk -v pf_n=$((ROUNDS + 1)) -v vf_n="$ROUNDS" '
	{ s[$1, $2, $4] += $5; n[$1, $2, $4]++; v[$1, $2, $4, $3] = $5 }
	function m(w, d, p) { return n[w, d, p] ? s[w, d, p] / n[w, d, p] : 0 }
	function full(w, d, p) { return n[w, d, p] == (w == "pf" ? pf_n : vf_n) }
	# fig NAME VF_DRIVER PF_DRIVER PATTERN GOAL
	function fig(name, vd, pd, p, goal,    k, r, lo, hi) {
		if (!full("vf", vd, p) || !full("pf", pd, p) || m("pf", pd, p) <= 0) {
			printf "# vpa_sriov.%s: not measured (VF %d of %d rounds, PF %d of %d)\n",
			       name, n["vf", vd, p], vf_n, n["pf", pd, p], pf_n
			bad = 1
			return
		}
		for (k = 1; k <= vf_n; k++) {
			r = 2 * v["vf", vd, p, k] / (v["pf", pd, p, k] + v["pf", pd, p, k + 1])
			if (k == 1 || r < lo)
				lo = r
			if (k == 1 || r > hi)
				hi = r
		}
		printf "bench: vpa_sriov.%s %.3f (%s) pairs %.3f-%.3f\n", name,
		       m("vf", vd, p) / m("pf", pd, p), goal, lo, hi
	}
	END {
		split("seq_read seq_write rand_read rand_write", pat, " ")
		for (i = 1; i <= 4; i++) {
			p = pat[i]
			for (dd = 1; dd <= 2; dd++) {
				d = dd == 1 ? "nvme" : "vfio"
				printf "# %s %s: PF %.2f MiB/s (%d rounds, last/first %.3f), VF %.2f MiB/s (%d rounds)\n",
				       p, d, m("pf", d, p) / 1048576, n["pf", d, p],
				       v["pf", d, p, 1] ? v["pf", d, p, pf_n] / v["pf", d, p, 1] : 0,
				       m("vf", d, p) / 1048576, n["vf", d, p]
			}
			fig("vf_vs_pf_" p, "nvme", "nvme", p, "goal >= 0.8")
			fig("vfio_vf_vs_pf_" p, "vfio", "vfio", p, "goal >= 0.8")
			fig("vfio_vf_vs_nvme_pf_" p, "vfio", "nvme", p, "no goal")
		}
		exit bad
	}' $T/rates
e2e_tap $? "every round of the PF ($((ROUNDS + 1))) and of the VF ($ROUNDS) counted with both drivers and all four patterns; the ratios printed"

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
