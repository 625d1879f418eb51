#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Spike for the SR-IOV back end (Documentation/plans/sriov.md, step 1; no
# vpa code): QEMU's NVMe PF below rp3 (VM_NVME_SRIOV=1) stays on stock
# nvme, and the host's nvme-cli (VM_HOSTROOT=1, run in the chroot of
# lib/e2e.sh) runs the plan's 1.3 sequence: the primary's capabilities,
# release of its flexible resources (Virtualization Management ACT 1, NR
# 0), an FLR of the PF through sysfs, two VFs with their drivers' autoprobe
# off, resources assigned to each secondary (ACT 8) and the secondaries
# online (ACT 9). Then: the VFs' BARs and IOMMU groups, a private namespace
# attached to each secondary, VF1 on stock nvme in the test VM (verified
# I/O), VF0 on vfio-pci given by the host's QEMU to a nested guest whose
# stock nvme verifies its I/O (guest job nvme), and finally VF Enable
# toggled: does each namespace stay attached, and its data.
#
# Each step is a TAP result; what the device and the kernel said is kept
# as diagnostics.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"

echo "TAP version 13"
e2e_setup

diag() {	# diag FILE: a file's lines as TAP diagnostics
	sed 's/^/#   /' "$1"
}

kmsg_mark=$(dmesg | wc -l)
kmsg() {	# kmsg: kernel lines since the last call, as diagnostics
	dmesg | tail -n +$((kmsg_mark + 1)) |
		grep -E "$PF_BDF|$BUS|nvme|vfio|DMAR|iommu|BAR|pci" |
		head -40 | sed 's/^/# kernel: /'
	kmsg_mark=$(dmesg | wc -l)
}

T=/tmp/sriov
mkdir -p $T

if ! PF_BDF=$(sriov_pf); then
	echo "Bail out! no NVMe PF with SR-IOV (VM_NVME_SRIOV=1)"
	exit 1
fi
BUS=${PF_BDF%:*}
P=/sys/bus/pci/devices/$PF_BDF
echo "# PF $PF_BDF: totalvfs $(cat $P/sriov_totalvfs), offset" \
     "$(cat $P/sriov_offset), stride $(cat $P/sriov_stride)," \
     "reset_method '$(cat $P/reset_method 2>/dev/null)'"
# The PF's resources: BAR0 and, as resource 7, the VFs' BAR0
awk '{ printf "#   resource %d: %s %s %s\n", NR - 1, $1, $2, $3 }' $P/resource |
	grep -v '0x0000000000000000 0x0000000000000000'

modprobe nvme
i=0
while [ ! -d $P/nvme ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
CTRL=$(basename "$(ls -d $P/nvme/nvme* 2>/dev/null | head -1)")
e2e_check "stock nvme drives the PF $PF_BDF ($CTRL)" test -n "$CTRL"
DEV=/dev/$CTRL

# ctrl_live: the PF's controller is live again (after a reset)
ctrl_live() {
	i=0
	while [ $i -lt 60 ]; do
		[ "$(cat /sys/class/nvme/$CTRL/state 2>/dev/null)" = live ] &&
			return 0
		sleep 1
		i=$((i + 1))
	done
	echo "# $CTRL state: $(cat /sys/class/nvme/$CTRL/state 2>/dev/null)"
	return 1
}
ctrl_live

nv id-ctrl $DEV > $T/idctrl 2>&1
oacs=$(field oacs < $T/idctrl)
PCID=$(field cntlid < $T/idctrl)
echo "# id-ctrl: cntlid $PCID oacs $oacs subnqn $(field subnqn < $T/idctrl)"
e2e_check "Identify: OACS has Virtualization Management (bit 7)" \
	test $(( ${oacs:-0} & 0x80 )) != 0

# caps TAG: Identify CNS 0x14 into $T/caps.TAG, printed
caps() {
	nv primary-ctrl-caps $DEV > $T/caps.$1 2>&1
	echo "# primary-ctrl-caps ($1):" \
	     "$(grep -E '^[a-z]+ *:' $T/caps.$1 | tr -s ' ' | tr '\n' ' ')"
}
cap() {	# cap TAG NAME: one value of caps TAG, decimal
	v=$(field "$2" < $T/caps.$1)
	echo $((${v:-0}))
}
caps boot
e2e_check "primary caps: VQFRT 16 VQPRT 3 VQFRSM 8, VIFRT 8 VIPRT 2 VIFRSM 4" \
	test "$(cap boot vqfrt) $(cap boot vqprt) $(cap boot vqfrsm)" = "16 3 8" -a \
	     "$(cap boot vifrt) $(cap boot viprt) $(cap boot vifrsm)" = "8 2 4"
# VQRFA/VIRFA: flexible resources assigned to the secondaries; VQRFAP/
# VIRFAP: those allocated to the primary now. The plan (1.1) expected
# VQRFAP = VQFRT and VIRFAP = VIFRT after realize; QEMU 10.0.2 shows 0:
# its power-on reset (a function reset) applies the primary's "next"
# allocation, which starts at 0. So the primary starts with its private
# resources only, and the first FLR below changes nothing.
e2e_check "at power-on the primary holds no flexible resources (VQRFA/VQRFAP/VIRFA/VIRFAP 0)" \
	test "$(cap boot vqrfa) $(cap boot vqrfap) $(cap boot virfa) $(cap boot virfap)" = "0 0 0 0"

# vm CNTLID RT ACT NR: Virtualization Management, its answer kept
vm() {
	nv virt-mgmt $DEV -c "$1" -r "$2" -a "$3" -n "$4" > $T/vm.out 2>&1
	r=$?
	echo "# virt-mgmt cntlid $1 rt $2 act $3 nr $4: rc $r: $(tr '\n' ' ' < $T/vm.out)"
	return $r
}
ok=0
vm "$PCID" 0 1 0 || ok=1
vm "$PCID" 1 1 0 || ok=1
e2e_tap $ok "ACT 1 (primary flexible allocation) NR 0 for VQ and VI"
caps after-act1

r=0
echo 1 > $P/reset || r=1
ctrl_live
e2e_tap $(( r | $? )) "FLR of the PF through sysfs reset; nvme brings the controller back"
kmsg
caps after-flr
e2e_check "after the FLR the primary holds no flexible resources (VQRFAP 0, VIRFAP 0)" \
	test "$(cap after-flr vqrfap) $(cap after-flr virfap)" = "0 0"

# When does ACT 1 take effect (plan 1.3: on an FLR, not on a controller
# reset)? Give the primary 4 VQ and 2 VI, reset the controller, then FLR;
# then take them back the same way.
ok=0
vm "$PCID" 0 1 4 || ok=1
vm "$PCID" 1 1 2 || ok=1
caps act1-4
echo 1 > /sys/class/nvme/"$CTRL"/reset_controller
ctrl_live
caps act1-4-ctrl-reset
e2e_check "ACT 1 NR 4/2 is only recorded: VQRFAP/VIRFAP stay 0, also after a controller reset" \
	test "$ok" = 0 -a "$(cap act1-4 vqrfap) $(cap act1-4 virfap)" = "0 0" -a \
	     "$(cap act1-4-ctrl-reset vqrfap) $(cap act1-4-ctrl-reset virfap)" = "0 0"
kmsg_mark=$(dmesg | wc -l)
echo 1 > $P/reset
ctrl_live
caps act1-4-flr
echo "# PF after the FLR: $(dmesg | tail -n +$((kmsg_mark + 1)) | grep -o '[0-9/]* default/read/poll queues' | tail -1)"
e2e_check "an FLR applies it (VQRFAP 4, VIRFAP 2)" \
	test "$(cap act1-4-flr vqrfap) $(cap act1-4-flr virfap)" = "4 2"
vm "$PCID" 0 1 0 && vm "$PCID" 1 1 0
echo 1 > $P/reset
ctrl_live
caps act1-0-flr
e2e_check "ACT 1 NR 0 and an FLR give them back (VQRFAP 0, VIRFAP 0)" \
	test "$(cap act1-0-flr vqrfap) $(cap act1-0-flr virfap)" = "0 0"
kmsg
echo "# PF queues after the FLR: $(ls -d /sys/block/"$CTRL"*n1/mq/* 2>/dev/null | wc -l)" \
     "(blk-mq hardware queues of its namespace)"

echo 0 > $P/sriov_drivers_autoprobe
echo 2 > $P/sriov_numvfs
e2e_check "autoprobe off, sriov_numvfs 2: virtfn0 and virtfn1 exist" \
	test -e $P/virtfn0 -a -e $P/virtfn1
VF0=$(basename "$(readlink $P/virtfn0)")
VF1=$(basename "$(readlink $P/virtfn1)")
echo "# VFs: $VF0 $VF1; drivers: $(basename "$(readlink /sys/bus/pci/devices/$VF0/driver)" 2>/dev/null)" \
     "$(basename "$(readlink /sys/bus/pci/devices/$VF1/driver)" 2>/dev/null)"
kmsg

seclist
SC0=$(awk '$3 == 1 { print $1 }' $T/sec)
SC1=$(awk '$3 == 2 { print $1 }' $T/sec)
e2e_check "list-secondary: VFN 1 and 2 have SCIDs ($SC0, $SC1), offline" \
	test -n "$SC0" -a -n "$SC1" -a \
	     "$(awk '$3 <= 2 { print $2 }' $T/sec | tr '\n' ' ')" = "0 0 "

# up SCID NVQ NVI: assign (ACT 8, VQ then VI) and online (ACT 9)
up() {
	vm "$1" 0 8 "$2" && vm "$1" 1 8 "$3" && vm "$1" 0 9 0
}
e2e_check "VF0: ACT 8 VQ 4, VI 2; ACT 9 online" up "$SC0" 4 2
e2e_check "VF1: ACT 8 VQ 2, VI 1; ACT 9 online" up "$SC1" 2 1
seclist
e2e_check "list-secondary: both online with what was assigned" \
	test "$(awk -v a="$SC0" -v b="$SC1" '$1 == a || $1 == b { print $2, $4, $5 }' $T/sec | tr '\n' ' ')" = "1 4 2 1 2 1 "
caps online
echo "# assigned to the secondaries now: VQRFA $(cap online vqrfa) of" \
     "$(cap online vqfrt), VIRFA $(cap online virfa) of $(cap online vifrt)"
kmsg

bars_ok=0
for v in $VF0 $VF1; do
	r0=$(head -1 /sys/bus/pci/devices/$v/resource)
	echo "# $v resource 0: $r0"
	set -- $r0
	[ "$(($1))" != 0 ] && [ "$(($2))" -gt "$(($1))" ] || bars_ok=1
done
e2e_tap $bars_ok "each VF's BAR0 is assigned (resource non-zero)"
dmesg | grep -iE "$BUS.*(BAR|no space|failed to assign|can't assign)" |
	head -10 | sed 's/^/# kernel: /'

g_pf=$(basename "$(readlink $P/iommu_group)")
G0=$(basename "$(readlink /sys/bus/pci/devices/$VF0/iommu_group)")
G1=$(basename "$(readlink /sys/bus/pci/devices/$VF1/iommu_group)")
echo "# IOMMU groups: PF $g_pf, VF0 $G0, VF1 $G1;" \
     "VF0's group holds $(ls /sys/kernel/iommu_groups/"$G0"/devices | tr '\n' ' ')"
e2e_check "the PF and each VF have an IOMMU group of their own" \
	test -n "$G0" -a -n "$G1" -a -n "$g_pf" -a "$G0" != "$G1" -a \
	     "$G0" != "$g_pf" -a "$G1" != "$g_pf" -a \
	     "$(ls /sys/kernel/iommu_groups/"$G0"/devices | wc -l)" = 1

# attach NSID SCID: Namespace Attachment, then the namespace's controllers
attach() {
	nv attach-ns $DEV -n "$1" -c "$2" > $T/att.out 2>&1
	r=$?
	echo "# attach-ns nsid $1 to $2: rc $r: $(tr '\n' ' ' < $T/att.out)"
	return $r
}
# attached NSID SCID: the namespace's controller list holds SCID
attached() {
	nv list-ctrl $DEV -n "$1" > $T/lc.out 2>&1
	echo "# list-ctrl nsid $1: $(tr '\n' ' ' < $T/lc.out)"
	sed -n 's/.*\]: *//p' $T/lc.out | while read -r c; do
		[ "$((c))" = "$2" ] && echo yes
	done | grep -q yes
}
e2e_check "attach nsid 2 to VF0's secondary" attach 2 "$SC0"
e2e_check "attach nsid 3 to VF1's secondary" attach 3 "$SC1"
attached 2 "$SC0" && attached 3 "$SC1"
e2e_tap $? "the namespaces' controller lists show them"

# vf_nvme VF NSID: bind VF to stock nvme in this VM; print its disk of
# namespace NSID
vf_nvme() {
	d=/sys/bus/pci/devices/$1
	echo nvme > $d/driver_override
	echo "$1" > /sys/bus/pci/drivers_probe
	i=0
	while [ $i -lt 30 ]; do
		for b in /sys/block/nvme*; do
			n=$(basename "$b")
			case $n in *c*) continue ;; esac
			[ "$(cat "$b/nsid" 2>/dev/null)" = "$2" ] &&
				[ -b /dev/"$n" ] && { echo "$n"; return 0; }
		done
		sleep 1
		i=$((i + 1))
	done
	return 1
}
vf_off() {	# vf_off VF: unbind VF, clear its driver_override
	d=/sys/bus/pci/devices/$1
	[ -e $d/driver ] && echo "$1" > $d/driver/unbind
	echo > $d/driver_override
}

B1=$(vf_nvme "$VF1" 3)
e2e_tap $? "VF1 on stock nvme in the test VM shows nsid 3 (${B1:-none})"
kmsg
SUM1=
if [ -n "$B1" ]; then
	dd if=/dev/urandom of=$T/w1 bs=1M count=4 2>/dev/null
	SUM1=$(md5sum < $T/w1 | cut -d' ' -f1)
	dd if=$T/w1 of=/dev/"$B1" bs=1M oflag=direct conv=fsync 2>/dev/null
	echo 3 > /proc/sys/vm/drop_caches
	s=$(dd if=/dev/"$B1" bs=1M count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	echo "# VF1 $B1: wrote $SUM1, read $s;" \
	     "$(ls -d /sys/block/"$B1"/mq/* | wc -l) hardware queues"
	e2e_check "VF1: 4 MiB written and read back the same" test "$s" = "$SUM1"
else
	e2e_skip "VF1: 4 MiB written and read back the same" "no disk"
fi
vf_off "$VF1"

# (vfio_pci does not pull in the type1 IOMMU back end: without it QEMU's
# vfio-pci says "No available IOMMU models")
modprobe vfio_pci && modprobe vfio_iommu_type1
echo vfio-pci > /sys/bus/pci/devices/$VF0/driver_override
echo "$VF0" > /sys/bus/pci/drivers_probe
e2e_check "VF0 binds to vfio-pci and /dev/vfio/$G0 exists" \
	test "$(basename "$(readlink /sys/bus/pci/devices/$VF0/driver)")" = vfio-pci -a \
	     -c /dev/vfio/"$G0"
echo "# vfio_iommu_type1 allow_unsafe_interrupts:" \
     "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)"
kmsg

if [ "${SPIKE_NO_GUEST:-0}" = 1 ]; then
	e2e_skip "a nested guest's nvme on VF0 does verified I/O" "SPIKE_NO_GUEST"
else
	E2E_APPEND="nvme_core.io_timeout=30" \
		e2e_qemu nv /run/nv.mem 256M nvme -device vfio-pci,host="$VF0"
	# (as e2e_wait, but a QEMU that exits ends the wait)
	t=0 r=1 qpid=
	eval "qpid=\$E2E_PID_nv"
	while [ $t -lt $((90 * E2E_SLACK)) ] && kill -0 "$qpid" 2>/dev/null; do
		grep -qE "GUEST-NVME-READY|GUEST-NVME-NODEV" $E2E_RUN/nv.log 2>/dev/null &&
			{ r=0; break; }
		sleep 1
		t=$((t + 1))
	done
	echo "# guest: $t s, QEMU $(kill -0 "$qpid" 2>/dev/null && echo running || echo exited)"
	grep -a -m1 "GUEST-NVME-" $E2E_RUN/nv.log | sed 's/^/# /'
	sed 's/^/# qemu: /' $E2E_RUN/nv.qemu.log | head -10
	if [ $r = 0 ] && ! grep -q GUEST-NVME-NODEV $E2E_RUN/nv.log; then
		e2e_wait nv "GUEST-NVME 3 " 60
		grep -a "GUEST-NVME [0-9]" $E2E_RUN/nv.log | head -3 | sed 's/^/# /'
		! grep -q "GUEST-NVME [0-9]* BAD" $E2E_RUN/nv.log &&
			grep -q "GUEST-NVME 3 ok" $E2E_RUN/nv.log
		e2e_tap $? "a nested guest's nvme on VF0 does verified I/O (3 rounds)"
	else
		grep -a -i "nvme\|vfio\|error" $E2E_RUN/nv.log | tail -10 | sed 's/^/# guest: /'
		e2e_tap 1 "a nested guest's nvme on VF0 does verified I/O (3 rounds)"
	fi
	kmsg
	e2e_stop nv
fi
vf_off "$VF0"

# VF Enable off and on: the secondaries go offline with no resources;
# does each private namespace stay attached (QEMU 10 re-creates its VFs)?
echo 0 > $P/sriov_numvfs
echo 2 > $P/sriov_numvfs
seclist
e2e_check "after VF Enable off/on both secondaries are offline with NVQ/NVI 0" \
	test "$(awk -v a="$SC0" -v b="$SC1" '$1 == a || $1 == b { print $2, $4, $5 }' $T/sec | tr '\n' ' ')" = "0 0 0 0 0 0 "
attached 2 "$SC0" && attached 3 "$SC1"
e2e_tap $? "the namespaces stay attached across VF Enable off/on"
up "$SC1" 2 1
e2e_tap $? "VF1 assigned and online again"
B1=$(vf_nvme "$VF1" 3)
if [ -n "$B1" ] && [ -n "$SUM1" ]; then
	s=$(dd if=/dev/"$B1" bs=1M count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	e2e_check "VF1 reads back its data after the toggle" test "$s" = "$SUM1"
else
	e2e_tap 1 "VF1 reads back its data after the toggle (disk ${B1:-none})"
fi
vf_off "$VF1"
kmsg

# The PF's own resets take every VF offline (plan 1.3): a controller
# reset (nvme's reset_controller: CC.EN 1 -> 0 -> 1), then an FLR with the
# VFs enabled (does VF Enable survive it? Linux restores the SR-IOV
# capability after the reset)
up "$SC0" 2 1
seclist
echo 1 > /sys/class/nvme/"$CTRL"/reset_controller
ctrl_live
seclist
e2e_check "a controller reset of the PF (CC.EN toggle) takes the secondaries offline" \
	test "$(awk -v a="$SC0" -v b="$SC1" '$1 == a || $1 == b { print $2, $4, $5 }' $T/sec | tr '\n' ' ')" = "0 0 0 0 0 0 "
up "$SC0" 2 1
up "$SC1" 2 1
seclist
r=0
echo 1 > $P/reset || r=1
ctrl_live || r=1
seclist
echo "# after the PF's FLR with VFs: numvfs $(cat $P/sriov_numvfs)," \
     "VF0 vendor $(cat /sys/bus/pci/devices/"$VF0"/vendor 2>/dev/null)," \
     "config $(od -An -tx4 -N8 /sys/bus/pci/devices/"$VF0"/config 2>/dev/null)"
e2e_check "an FLR of the PF with VFs enabled: secondaries offline, VFs still there" \
	test "$r" = 0 -a -e $P/virtfn0 -a \
	     "$(awk -v a="$SC0" -v b="$SC1" '$1 == a || $1 == b { print $2 }' $T/sec | tr '\n' ' ')" = "0 0 "
# Online again after the FLR: does the VF still answer (was VF Enable
# restored by Linux)?
up "$SC1" 2 1
B1=$(vf_nvme "$VF1" 3)
e2e_tap $? "after the PF's FLR VF1 comes back on stock nvme (${B1:-none})"
vf_off "$VF1"
kmsg
echo 0 > $P/sriov_numvfs

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
