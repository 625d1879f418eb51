#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: vpa bound to the e1000e function below the q35 root port
# rp1 (VM_Q35=1), one virtual adapter given by the host's unmodified QEMU
# to a Linux guest through vfio-pci (sysfsdev=). The guest's vpa_guest
# driver runs verified descriptors in rounds; then QEMU's
# pcie_aer_inject_error on rp1 (the test VM's monitor, VM_AGENT=1) makes
# the test VM's kernel run error recovery: the guest must acknowledge,
# resume, and go on with correct results.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/hostcmd.sh
. "$(dirname "$0")/../lib/hostcmd.sh"

echo "TAP version 13"
echo "1..7"
e2e_setup

bdf=
for d in /sys/bus/pci/devices/0000:01:*; do
	[ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x10d3 ] &&
		bdf=$(basename $d) && break
done
if [ -z "$bdf" ]; then
	echo "Bail out! no e1000e below rp1 (VM_Q35=1)"
	exit 1
fi
P=/sys/bus/pci/devices/$bdf
if [ ! -d $P/mdev_supported_types ]; then
	echo vpa > $P/driver_override
	echo $bdf > /sys/bus/pci/drivers_probe
fi
e2e_check "vpa drives $bdf" test -d $P/mdev_supported_types

U=$(cat /proc/sys/kernel/random/uuid)
e2e_check "create a vpa-large virtual adapter" \
	sh -c "echo $U > $P/mdev_supported_types/vpa-large/create"
R=/sys/bus/mdev/devices/$U/vpa_recovery
echo 5000 > /sys/module/vpa/parameters/ack_timeout_ms

e2e_qemu vg /run/vg.mem 256M vpa -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$U
e2e_wait vg "GUEST-VPA 2 ok" 240
e2e_tap $? "the guest's vpa_guest runs verified descriptors"
grep -m1 "virtual adapter" $E2E_RUN/vg.log | sed 's/^/# /'

before=$(cat $P/vpa_recovery/resets)
hostcmd_hmp "pcie_aer_inject_error rp1 POISON_TLP" > /dev/null
t=0
while [ $t -lt 60 ]; do
	[ "$(cat $P/vpa_recovery/resets)" -gt "$before" ] &&
		[ "$(cat $P/vpa_recovery/state)" = normal ] && break
	sleep 1
	t=$((t + 1))
done
grep . $R/* | sed "s|^$R/|# |"
e2e_check "one adapter reset after the injected error" \
	test "$(cat $P/vpa_recovery/resets)" -eq $((before + 1))
e2e_check "the guest acknowledged in time and resumed" sh -c \
	"[ \"\$(cat $R/last_outcome)\" = acked ] && [ \"\$(cat $R/resumed)\" = 1 ]"

e2e_wait vg "GUEST-VPA [0-9]+ ok .*acks 1 resumes 1 " 180
e2e_tap $? "the guest goes on after recovery with verified results"
# the console's last line may still be being written: take a whole one
grep -a "GUEST-VPA [0-9]* ok" $E2E_RUN/vg.log | tail -2 | head -1 | sed 's/^/# /'
! grep -q "GUEST-VPA [0-9]* BAD" $E2E_RUN/vg.log
e2e_tap $? "no round failed"

e2e_stop vg
echo 2000 > /sys/module/vpa/parameters/ack_timeout_ms
echo 1 > /sys/bus/mdev/devices/$U/remove
[ $E2E_FAILS = 0 ]
