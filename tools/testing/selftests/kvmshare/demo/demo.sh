#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make demo, inside the test VM: the memory pool and the partitioned
# adapter at work, on an embedded default configuration.

bin=$(cd "$(dirname "$0")/.." && pwd)
P=/tmp/demo-pool
step() { echo "# ---- $*"; }
run() { echo "# \$ $*"; "$@" 2>&1 | sed 's/^/#   /'; }

step "memory pool: a 48 MiB pool, two partitions (128 MiB of guest RAM)"
run modprobe kvmshare
run kvmsharectl mount $P size=48M name=demo
run kvmsharectl create $P/vm1 96M entitlement=8M weight=200
run kvmsharectl create $P/vm2 32M
step "host paging: kvmshare-pagerd serves the pool from a file"
kvmshare-pagerd --pool $P --backend file:/dev/shm/demo.store --blocks 65536 \
	--pidfile /tmp/pagerd.pid > /tmp/pagerd.log 2>&1 &
sleep 1
run cat /sys/fs/kvmshare/demo/active_pager
step "a nested KVM guest whose RAM is vm1 (96 MiB > the pool) writes and verifies it all"
"$bin/demo/guest_demo" $P/vm1 > /tmp/guest.out 2>&1
rc=$?
sed -e '/^TAP version/d' -e 's/^1\.\./# plan 1../' /tmp/guest.out
run kvmsharectl status $P
step "controlled stop of the paging service: refused while pages are out, done once the partitions are gone"
pid=$(cat /tmp/pagerd.pid)
kill -TERM "$pid" 2>/dev/null
sleep 1
run kvmsharectl remove $P/vm1
run kvmsharectl remove $P/vm2
for _ in 1 2 3 4 5 6 7 8 9 10; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
grep -E 'refuses the stop|stopping|stopped|streams' /tmp/pagerd.log | sed 's/^/#   /'
run kvmsharectl umount $P

step "partitioned adapter: one software adapter carved into VFIO mdevs"
run modprobe vfio_iommu_type1
run modprobe vpa
for t in /sys/class/mdev_bus/*/mdev_supported_types/*; do
	[ -d "$t" ] || continue
	echo "#   type $(basename "$t"): $(cat "$t/name" 2>/dev/null)," \
	     "available_instances $(cat "$t/available_instances")"
done
step "a VFIO client (standing in for QEMU) drives virtual adapters: DMA copy, fill, compare, crc32c, isolation"
if "$bin/vpa/vpa_vfio" > /tmp/vpa.out 2>&1; then
	grep -E '^(ok|not ok) ' /tmp/vpa.out | sed 's/^/#   vpa: /'
	echo "ok 3 the partitioned adapter ran verified DMA for VMs"
else
	grep -E '^(ok|not ok) |^# .*Expected' /tmp/vpa.out | sed 's/^/#   vpa: /'
	echo "not ok 3 the partitioned adapter's VFIO client failed"
	rc=1
fi
echo "1..3"
echo "# ---- summary: pool of 48 MiB served 128 MiB of guest RAM with host paging;"
echo "# ---- the adapter was carved into virtual adapters with checked DMA."
exit $rc
