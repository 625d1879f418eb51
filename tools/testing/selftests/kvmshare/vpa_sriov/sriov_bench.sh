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
# at a time (queue depth 1), SRIOV_BENCH_SECONDS (3) each, and reads
# back what it wrote. Both namespaces are 64 MiB sparse images on the
# same host file system.
# Figures (bench: NAME VALUE; the VF's mean over its rounds against the
# PF's; no timed assertion: a missed goal is reported, it fails nothing):
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
# disk NSID: stock nvme's disk of namespace NSID (30 s for the probe and
# the namespace scan, which nvme runs after the controller is live)
disk() {
	i=0
	while [ $i -lt 30 ]; do
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
# vf) with DRIVER (nvme or vfio); its RATE lines into $T/rates as
# "WHO DRIVER K PATTERN BYTES_PER_S", the rest as diagnostics
run() {
	rw=$1 rd=$2 rk=$3
	shift 3
	"$BIN" "$@" > $T/out 2>&1
	rc=$?
	grep -v '^RATE ' $T/out | sed "s/^/# $rw $rd $rk: /"
	awk -v p="$rw $rd $rk" '/^RATE / { print p, $2, $3 }' $T/out >> $T/rates
	[ $rc = 0 ] && [ "$(grep -c '^RATE ' $T/out)" = 4 ]
}

# one DEV NSID WHO K: DEV on stock nvme (namespace NSID's disk), then on
# vfio-pci (nvme_vfio), one TAP result
one() {
	dev=$1 ns=$2 who=$3 rn=$4
	ok=0
	blk=none
	if to "$dev" nvme && blk=$(disk "$ns"); then
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
	e2e_tap $ok "$who round $rn: $dev namespace $ns on stock nvme ($blk) and on nvme_vfio, four patterns each"
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
	e2e_check "VF round $1: VF 0 online with 3 VQ and 2 VI and namespace 2 ($ok: $(cat $T/wr.err))" \
		test $ok = 0 -a "$(cat $VF/0/state):$(cat $VF/0/nr_wq)/$(cat $VF/0/nr_vec) $(cat $VF/0/ns)" = "online:3/2 2"
	one "$(basename "$(readlink $P/virtfn0)")" 2 vf "$1"
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
echo "$autoprobe" > $P/sriov_drivers_autoprobe
echo "# rounds: $(($(date +%s) - t0)) s"

# The figures: each (who, driver, pattern)'s mean over its rounds, the
# VF's against the PF's; the PF's first and last rounds against each
# other show the drift over the run
awk -v pf_n=$((ROUNDS + 1)) -v vf_n="$ROUNDS" '
	{ s[$1, $2, $4] += $5; n[$1, $2, $4]++
	  if ($1 == "pf" && $3 == 1) first[$2, $4] = $5
	  if ($1 == "pf" && $3 == pf_n) last[$2, $4] = $5 }
	function m(w, d, p) { return n[w, d, p] ? s[w, d, p] / n[w, d, p] : 0 }
	function fig(name, a, b, goal) {
		if (a > 0 && b > 0)
			printf "bench: vpa_sriov.%s %.3f (%s)\n", name, a / b, goal
		else
			printf "# vpa_sriov.%s: not measured\n", name
	}
	END {
		split("seq_read seq_write rand_read rand_write", pat, " ")
		for (i = 1; i <= 4; i++) {
			p = pat[i]
			for (dd = 1; dd <= 2; dd++) {
				d = dd == 1 ? "nvme" : "vfio"
				printf "# %s %s: PF %.2f MiB/s (%d rounds, last/first %.3f), VF %.2f MiB/s (%d rounds)\n",
				       p, d, m("pf", d, p) / 1048576, n["pf", d, p],
				       first[d, p] ? last[d, p] / first[d, p] : 0,
				       m("vf", d, p) / 1048576, n["vf", d, p]
			}
			fig("vf_vs_pf_" p, m("vf", "nvme", p), m("pf", "nvme", p), "goal >= 0.8")
			fig("vfio_vf_vs_pf_" p, m("vf", "vfio", p), m("pf", "vfio", p), "goal >= 0.8")
			fig("vfio_vf_vs_nvme_pf_" p, m("vf", "vfio", p), m("pf", "nvme", p), "no goal")
		}
		if (n["pf", "nvme", "seq_read"] != pf_n || n["vf", "nvme", "seq_read"] != vf_n ||
		    n["pf", "vfio", "seq_read"] != pf_n || n["vf", "vfio", "seq_read"] != vf_n)
			exit 1
	}' $T/rates
e2e_tap $? "every round of the PF ($((ROUNDS + 1))) and of the VF ($ROUNDS) measured with both drivers; the ratios printed"

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
