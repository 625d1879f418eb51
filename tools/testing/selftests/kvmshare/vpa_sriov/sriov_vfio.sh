#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VFs of the SR-IOV back end owned through vfio-pci by an L1 VFIO NVMe
# client (Documentation/plans/sriov.md, step 5, and the "Test plan"'s DMA
# isolation). vpa binds the PF below rp3 (VM_NVME_SRIOV=1); VF 1 (A) and
# VF 2 (B) get vf-small groups and the private namespaces 3 and 4; each VF
# must have an IOMMU group of its own, and is bound to vfio-pci
# (driver_override, VF driver autoprobe off). nvme_vfio, in a type1
# container of its own per VF, then:
#   - io: writes and reads back verified pages of each VF's namespace; no
#     DMAR fault meanwhile;
#   - isolate: A's controller aims DMA at an IOVA that only B's container
#     maps (a Read into it, a Write from it, a PRP list there): B's page
#     unchanged, none of it in A's namespace, the PRP-list command failed,
#     A still works; the kernel's log has DMAR faults naming A's requester
#     id at that IOVA ("DMA Write" for the Read) and none naming B;
#   - verify: each namespace still holds the data io left, and A cannot
#     see B's namespace.
# Then vfio-pci lets go, the groups are destroyed and vpa unbinds.
# This is the first vfio-pci device on a real IOMMU group in the test VM:
# the groups, the VFIO steps (with errno) and the kernel's IOMMU lines are
# printed as diagnostics.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_vfio
mkdir -p $T
BIN=$(dirname "$0")/nvme_vfio

sriov_init
A=1		# the VFs and their namespaces
B=2
NS_A=3
NS_B=4

rid() {		# rid BDF: the requester id as the DMAR lines print it
	echo "${1#*:}"
}

# run NAME ARGS...: nvme_vfio ARGS, its output in $T/NAME (shown as
# diagnostics) and its exit status in $T/NAME.rc
run() {
	f=$1
	shift
	"$BIN" "$@" > $T/"$f" 2>&1
	echo $? > $T/"$f".rc
	sed 's/^/# /' $T/"$f"
}

# passed NAME CHECK: nvme_vfio's output NAME has "PASS CHECK:"
passed() {
	grep -q "^PASS $2:" $T/"$1"
}

# line NAME CHECK: the text of CHECK's result in output NAME
line() {
	sed -n "s/^[A-Z]* $2: //p" $T/"$1" | head -1
}

# dmar: the DMAR fault lines of the last kmsg into $T/dmar
dmar() {
	grep 'DMAR: \[DMA' $T/kmsg > $T/dmar
	sed 's/^/# kernel: /' $T/dmar
}

echo "# PF $PF: driver $(driver), sriov_numvfs $(cat $P/sriov_numvfs), vfio_iommu_type1 $(test -d /sys/module/vfio_iommu_type1 && echo loaded || echo missing)"
modprobe vfio-pci
# a fresh probe of vpa, VF driver autoprobe off (else nvme takes the VFs)
[ "$(driver)" = vpa ] && echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
autoprobe=$(cat $P/sriov_drivers_autoprobe)
echo 0 > $P/sriov_drivers_autoprobe
vpa_take_pf

# --- two VFs with groups and namespaces

kmark
wr $P/sriov_numvfs 3 || echo "# sriov_numvfs 3: $(cat $T/wr.err)"
ok=0
for v in "$A:$NS_A" "$B:$NS_B"; do
	n=${v%:*}
	wr $TY/vf-small/create "$n" || { ok=1; echo "# create VF $n: $(cat $T/wr.err)"; }
	wr $VF/"$n"/ns "${v#*:}" || { ok=1; echo "# ns of VF $n: $(cat $T/wr.err)"; }
done
kmsg
BDF_A=$(vfbdf $A)
BDF_B=$(vfbdf $B)
e2e_check "VFs $A ($BDF_A) and $B ($BDF_B): vf-small groups online with namespaces $NS_A and $NS_B" \
	test $ok = 0 -a "$(cat $VF/$A/state):$(cat $VF/$A/ns) $(cat $VF/$B/state):$(cat $VF/$B/ns)" = \
	     "online:$NS_A online:$NS_B"
# (rid: 4 hex digits, bus and devfn)
r=0x$(cat $VF/$A/rid)
case $r in 0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;; *) echo "# rid: '$r'"; r=0xffff ;; esac
e2e_check "the group's rid is the VF's routing id (VF $A: $r, $BDF_A)" \
	test "$(printf '%02x:%02x.%x' $((r >> 8)) $(((r >> 3) & 31)) $((r & 7)))" = \
	     "$(rid "$BDF_A")"

# each VF in an IOMMU group of its own (else two containers cannot hold
# them apart, and vfio-pci cannot hand one out alone)
ok=0
for d in "$BDF_A" "$BDF_B"; do
	g=$(readlink /sys/bus/pci/devices/"$d"/iommu_group)
	echo "# $d: iommu_group ${g:-none}: $(ls "/sys/bus/pci/devices/$d/iommu_group/devices" 2>/dev/null | tr '\n' ' ')"
	[ -n "$g" ] || ok=1
	[ "$(ls "/sys/bus/pci/devices/$d/iommu_group/devices" 2>/dev/null)" = "$d" ] || ok=1
done
echo "# IOMMU: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')default domain $(dmesg | grep -o 'Default domain type: [A-Za-z]*' | tail -1)"
GA=$(basename "$(readlink /sys/bus/pci/devices/"$BDF_A"/iommu_group)")
GB=$(basename "$(readlink /sys/bus/pci/devices/"$BDF_B"/iommu_group)")
e2e_check "each VF has an IOMMU group of its own (A: ${GA:-none}, B: ${GB:-none})" \
	test $ok = 0 -a -n "$GA" -a "$GA" != "$GB"

# vfio-pci binds both VFs
kmark
for d in "$BDF_A" "$BDF_B"; do
	echo vfio-pci > /sys/bus/pci/devices/"$d"/driver_override
	echo "$d" 2> $T/vfio.err > /sys/bus/pci/drivers/vfio-pci/bind
	[ -s $T/vfio.err ] && echo "# vfio-pci bind $d: $(cat $T/vfio.err)"
done
kmsg
e2e_check "vfio-pci binds both VFs: /dev/vfio/${GA:-?} and /dev/vfio/${GB:-?} ($(ls /dev/vfio | tr '\n' ' '))" \
	test "$(drv /sys/bus/pci/devices/"$BDF_A") $(drv /sys/bus/pci/devices/"$BDF_B")" = \
	     "vfio-pci vfio-pci" -a -c "/dev/vfio/$GA" -a -c "/dev/vfio/$GB"

# --- verified I/O on each VF

kmark
run io.a io "$BDF_A" $NS_A 4
run io.b io "$BDF_B" $NS_B 4
kmsg
e2e_check "io: $(line io.a io)" \
	test "$(cat $T/io.a.rc)" = 0 -a "$(passed io.a io && echo y)" = y
e2e_check "io: $(line io.b io)" \
	test "$(cat $T/io.b.rc)" = 0 -a "$(passed io.b io && echo y)" = y
dmar
e2e_check "verified I/O raised no DMAR fault ($(wc -l < $T/dmar) lines)" test ! -s $T/dmar
# the device's word (Identify 0x15 through vpa's admin queue: SCID SCS
# VFN NVQ NVI; VFN = VF number + 1)
sec=$(awk -v a=$((A + 1)) -v b=$((B + 1)) '$3 == a || $3 == b { printf "%s %s %s %s;", $3, $2, $4, $5 }' \
	/sys/kernel/debug/vpa/"$PF"/secondaries 2>&1)
e2e_check "the secondaries stay online with 2 VQ and 1 VI after vfio-pci's resets of the VFs (VFN SCS NVQ NVI: $sec)" \
	test "$(cat $VF/$A/state) $(cat $VF/$B/state) $sec" = \
	     "online online $((A + 1)) 1 2 1;$((B + 1)) 1 2 1;"

# --- A's DMA aimed at an IOVA only B's container maps

kmark
run iso isolate "$BDF_A" "$BDF_B" $NS_A
sleep 1
kmsg
for c in groups read-into-b write-from-b prp-list-in-b a-works; do
	e2e_check "isolate: $c: $(line iso $c)" passed iso $c
done
e2e_check "isolate: nvme_vfio exit status 0 ($(cat $T/iso.rc))" test "$(cat $T/iso.rc)" = 0
iova=$(sed -n 's/^# b-iova \(0x[0-9a-f]*\).*/\1/p' $T/iso)
dmar
ra=$(rid "$BDF_A")
rb=$(rid "$BDF_B")
e2e_check "DMAR: a write fault of A [$ra] at B's IOVA ${iova:-?} (the Read into it)" \
	grep -qE "\[DMA Write[^]]*\] Request device \[$ra\] fault addr ${iova:-none} " $T/dmar
e2e_check "DMAR: a read fault of A [$ra] at B's IOVA ${iova:-?} (the Write from it, the PRP list)" \
	grep -qE "\[DMA Read[^]]*\] Request device \[$ra\] fault addr ${iova:-none} " $T/dmar
e2e_check "DMAR: no fault names B [$rb]" sh -c "! grep -q '\[$rb\]' $T/dmar"

# --- each namespace still holds io's data; A cannot see B's namespace

run ver.a verify "$BDF_A" $NS_A 4
run ver.b verify "$BDF_B" $NS_B 4
e2e_check "verify: $(line ver.a verify)" passed ver.a verify
e2e_check "verify: $(line ver.b verify)" passed ver.b verify
run ver.ab verify "$BDF_A" $NS_B 4
e2e_check "A does not see B's namespace $NS_B (exit $(cat $T/ver.ab.rc), 2 expected)" \
	sh -c "test \"\$(cat $T/ver.ab.rc)\" = 2 && grep -qE 'not attached|Identify Namespace $NS_B:' $T/ver.ab"
e2e_check "the groups and namespaces are as before (A $(cat $VF/$A/state):$(cat $VF/$A/ns), B $(cat $VF/$B/state):$(cat $VF/$B/ns))" \
	test "$(cat $VF/$A/state):$(cat $VF/$A/ns) $(cat $VF/$B/state):$(cat $VF/$B/ns)" = \
	     "online:$NS_A online:$NS_B"

# --- vfio-pci lets go, the groups go, vpa unbinds

kmark
for d in "$BDF_A" "$BDF_B"; do
	[ "$(drv /sys/bus/pci/devices/"$d")" = vfio-pci ] &&
		echo "$d" > /sys/bus/pci/drivers/vfio-pci/unbind
	echo > /sys/bus/pci/devices/"$d"/driver_override
done
ok=0
for n in $A $B; do
	wr $VF/$n/destroy 1 || { ok=1; echo "# destroy VF $n: $(cat $T/wr.err)"; }
done
kmsg
e2e_check "vfio-pci unbinds both VFs and their groups are destroyed" \
	test $ok = 0 -a "$(drv /sys/bus/pci/devices/"$BDF_A") $(drv /sys/bus/pci/devices/"$BDF_B")" = \
	     "none none" -a "$(cat $VF/$A/type) $(cat $VF/$B/type)" = "none none"
wr $P/sriov_numvfs 0 || echo "# sriov_numvfs 0: $(cat $T/wr.err)"
echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
echo > $P/driver_override
echo "$autoprobe" > $P/sriov_drivers_autoprobe
kmsg
e2e_check "vpa unbinds, VFs disabled" \
	test "$(driver)" = none -a "$(cat $P/sriov_numvfs)" = 0

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
