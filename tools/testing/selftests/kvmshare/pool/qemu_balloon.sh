#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: the host's unmodified QEMU boots two Linux guests whose RAM
# is a partition file each (memory-backend-file, share=on). g1 has
# virtio-balloon with free page reporting, g2 a plain virtio-balloon that
# is inflated through QMP. Pages g1 frees and pages g2's balloon takes go
# back to the pool at once (PUNCH_HOLE, counted), and both keep working.

. "$(dirname "$0")/../lib/e2e.sh"

num() { cat "/sys/fs/kvmshare/e2e/partitions/$1/$2"; }

echo "TAP version 13"
echo "1..12"
e2e_setup
mkdir -p $E2E_RUN/pool
e2e_check "mount a 600M pool in the chroot" \
	kvmsharectl mount $E2E_RUN/pool size=600M name=e2e
e2e_check "create two 256M partitions" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 256M &&
	 kvmsharectl create $E2E_RUN/pool/g2 256M"

e2e_qemu g1 /run/pool/g1 256M balloon \
	-device virtio-balloon-pci,id=bal0,free-page-reporting=on
e2e_qemu g2 /run/pool/g2 256M balloon -device virtio-balloon-pci,id=bal0
e2e_booted g1 180 && e2e_booted g2 180 &&
	e2e_wait g1 GUEST-FILLED 180 && e2e_wait g2 GUEST-FILLED 60
e2e_tap $? "both guests boot from the pool and fill 96 MiB"
f1=$(num g1 resident_pages)
f2=$(num g2 resident_pages)
echo "# resident after fill: g1 $f1, g2 $f2 pages"
[ "$f1" -gt $((96 * 256)) ] && [ "$f2" -gt $((96 * 256)) ]
e2e_tap $? "guest memory is resident in the partitions"

e2e_wait g1 GUEST-FREED 60 && e2e_wait g2 GUEST-FREED 60
e2e_tap $? "both guests free their 96 MiB"

# g1: free page reporting punches the freed memory out.
t=0
while [ $t -lt 40 ]; do
	[ "$(num g1 punched_pages)" -ge $((64 * 256)) ] && break
	sleep 1
	t=$((t + 1))
done
echo "# g1: free page reporting returned $(num g1 punched_pages) pages" \
     "in ${t}s; resident $(num g1 resident_pages)"
[ "$(num g1 punched_pages)" -ge $((64 * 256)) ]
e2e_tap $? "free page reporting returns freed guest memory to the pool"

# g2: without reporting the freed memory stays resident until ballooned.
r1=$(num g2 resident_pages)
p1=$(num g2 punched_pages)
echo "# g2 before balloon: resident $r1 punched $p1"
[ "$r1" -gt $((160 * 256)) ] && [ "$p1" -lt 1024 ]
e2e_tap $? "without a balloon, freed guest memory stays in the partition"
e2e_qmp g2 '{"execute": "balloon", "arguments": {"value": 134217728}}' >/dev/null
e2e_tap $? "QMP balloon of g2 to 128 MiB accepted"
t=0
while [ $t -lt 60 ]; do
	r=$(num g2 resident_pages)
	[ "$r" -le $((136 * 256)) ] && break
	sleep 1
	t=$((t + 1))
done
p2=$(( $(num g2 punched_pages) - p1 ))
echo "# g2 after balloon: resident $r (was $r1), punched +$p2 in ${t}s"
[ "$r" -le $((136 * 256)) ] && [ "$p2" -ge $((r1 - r)) ]
e2e_tap $? "balloon inflation returns pages: g2 at most 136 MiB resident"

for g in g1 g2; do
	e2e_alive $g
	e2e_tap $? "$g keeps running with its data intact"
done

e2e_stop g1
e2e_stop g2
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
used=$(cat /sys/fs/kvmshare/e2e/used_pages)
kvmsharectl umount $E2E_RUN/pool
[ "$used" = 0 ]
e2e_tap $? "the pool is empty after the guests and their files are gone"
[ $E2E_FAILS = 0 ]
