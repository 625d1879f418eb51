#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The sysfs steps mdevctl and libvirt take, done by hand: list types and
# their attributes, define (create) by UUID, find the device's type and
# IOMMU group, stop (remove). Then the PCI back end: a function handed to
# vpa through driver_override becomes an adapter whose requester ids are
# its own.

parent=${VPA_PARENT:-/sys/class/vpa/vpa0}
n=0
bad=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
nok() { n=$((n + 1)); echo "not ok $n $*"; bad=1; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else nok "$desc"; fi; }

echo "TAP version 13"
echo "1..12"

types=$(ls "$parent/mdev_supported_types" 2>/dev/null | tr '\n' ' ')
check "types listed: $types" [ "$types" = "vpa-fcfs vpa-half vpa-large vpa-quarter vpa-small " ]
t=$parent/mdev_supported_types/vpa-small
type_ok() {
	[ "$(cat "$t/name")" = small ] &&
	[ "$(cat "$t/device_api")" = vfio-pci ] &&
	[ -d "$t/devices" ] && [ -n "$(cat "$t/description")" ]
}
check "type attributes" type_ok
avail=$(cat $t/available_instances)
uuid=4b3c2a1d-0e0f-4a5b-8c6d-7e8f9a0b1c2d
check "create by UUID" sh -c "echo $uuid > $t/create"
dev=/sys/bus/mdev/devices/$uuid
check "device in /sys/bus/mdev" [ -d "$dev" ]
check "mdev_type link" [ "$(basename "$(readlink $dev/mdev_type)")" = vpa-small ]
check "listed under the type" [ -e "$t/devices/$uuid" ]
grp=$(basename "$(readlink $dev/iommu_group)")
check "IOMMU group /dev/vfio/$grp" [ -c "/dev/vfio/$grp" ]
check "available_instances one less" [ "$(cat $t/available_instances)" -eq $((avail - 1)) ]
check "remove" sh -c "echo 1 > $dev/remove"
check "gone and available again" [ ! -e "$dev" -a "$(cat $t/available_instances)" -eq "$avail" ]

# PCI back end: the first function with no driver (the VM has a few).
fn=
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/driver" ] && continue
	cls=$(cat "$d/class")
	case "$cls" in 0x0600*|0x0604*) continue ;; esac	# bridges
	fn=$d
	break
done
if [ -z "$fn" ]; then
	echo "ok 11 PCI back end # SKIP no unbound PCI function in the VM"
	echo "ok 12 PCI requester ids # SKIP no unbound PCI function"
	exit $bad
fi
bdf=$(basename "$fn")
echo vpa > "$fn/driver_override"
echo "$bdf" > /sys/bus/pci/drivers_probe
check "PCI function $bdf bound to vpa" [ "$(basename "$(readlink $fn/driver)")" = vpa ]
# requester id of the function: bus << 8 | dev << 3 | fn
b=$(echo "$bdf" | cut -d: -f2)
df=$(echo "$bdf" | cut -d: -f3)
rid=$(( (0x$b << 8) | (0x${df%.*} << 3) | ${df#*.} ))
uuid=5c4d3b2a-1f0e-4b6a-9d7e-8f9a0b1c2d3e
echo $uuid > "$fn/mdev_supported_types/vpa-small/create"
got=$(cat /sys/bus/mdev/devices/$uuid/vpa/rid 2>/dev/null)
check "virtual adapter rid $got = function rid + 1" \
	[ "$((0x${got:-0}))" -eq $((rid + 1)) ]
echo 1 > /sys/bus/mdev/devices/$uuid/remove
echo "$bdf" > /sys/bus/pci/drivers/vpa/unbind
echo > "$fn/driver_override"
exit $bad
