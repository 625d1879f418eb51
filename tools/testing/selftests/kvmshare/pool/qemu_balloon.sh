#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: the host's unmodified QEMU boots two Linux guests whose RAM
# is a partition file each (memory-backend-file, share=on). g1 has
# virtio-balloon with free page reporting, g2 a plain virtio-balloon that
# is inflated through QMP. Each guest keeps a pattern in some memory and
# fills more with another (guest_mem, job mem), holds it, verifies every
# word and frees it. Pages g1 frees and pages g2's balloon takes go back
# to the pool at once (PUNCH_HOLE, counted), and both keep verifying every
# word they kept. Under TCG (suite e2e_tcg) with smaller guests.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

num() { cat "/sys/fs/kvmshare/e2e/partitions/$1/$2"; }
MB=256		# pages per MiB

# MEM guest RAM, KEEP kept with a pattern, FILL filled, held HOLD s and
# freed, BAL g2's balloon target (MiB). Free page reporting works in
# 2 MiB blocks and only while a zone has 64 MiB free above its low
# watermark (32 blocks, mm/page_reporting.c): a 160 MiB guest never
# reported a page here, so the guests have 192 MiB.
if e2e_tcg; then
	MEM=192 KEEP=16 FILL=48 HOLD=8 BAL=128
else
	MEM=256 KEEP=4 FILL=96 HOLD=10 BAL=128
fi

echo "TAP version 13"
echo "1..14"
e2e_setup
mkdir -p $E2E_RUN/pool
e2e_check "mount a pool in the chroot" \
	kvmsharectl mount $E2E_RUN/pool size=$((MEM * 2 + 64))M name=e2e
e2e_check "create two ${MEM}M partitions" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 ${MEM}M &&
	 kvmsharectl create $E2E_RUN/pool/g2 ${MEM}M"

E2E_APPEND=kvmshare_mem=$KEEP,$FILL,1,$HOLD
e2e_qemu g1 /run/pool/g1 ${MEM}M mem \
	-device virtio-balloon-pci,id=bal0,free-page-reporting=on
e2e_qemu g2 /run/pool/g2 ${MEM}M mem -device virtio-balloon-pci,id=bal0
e2e_booted g1 180 && e2e_booted g2 180 &&
	e2e_wait g1 "GUEST-FILLED 1" 180 && e2e_wait g2 "GUEST-FILLED 1" 60
e2e_tap $? "both guests boot from the pool and fill $FILL MiB"
f1=$(num g1 resident_pages)
f2=$(num g2 resident_pages)
echo "# resident after fill: g1 $f1, g2 $f2 pages"
[ "$f1" -gt $(((KEEP + FILL) * MB)) ] && [ "$f2" -gt $(((KEEP + FILL) * MB)) ]
e2e_tap $? "guest memory is resident in the partitions"

e2e_wait g1 "GUEST-FREED 1" 120 && e2e_wait g2 "GUEST-FREED 1" 60
e2e_tap $? "both guests verify and free their $FILL MiB"
grep -h 'GUEST-FREED\|GUEST-ROUND' $E2E_RUN/g1.log $E2E_RUN/g2.log |
	tr -d '\r' | sed 's/^/# /'
! grep -q 'GUEST-FREED.*BAD\|GUEST-ROUND.*BAD' $E2E_RUN/g1.log $E2E_RUN/g2.log
e2e_tap $? "every word the guests filled and kept was right"

# g1: free page reporting punches the freed memory out.
t=0
while [ $t -lt $((60 * E2E_SLACK)) ]; do
	[ "$(num g1 punched_pages)" -ge $((FILL * 3 / 4 * MB)) ] && break
	sleep 1
	t=$((t + 1))
done
echo "# g1: free page reporting returned $(num g1 punched_pages) pages" \
     "in ${t}s; resident $(num g1 resident_pages)"
[ "$(num g1 punched_pages)" -ge $((FILL * 3 / 4 * MB)) ]
e2e_tap $? "free page reporting returns freed guest memory to the pool"

# g2: without reporting the freed memory stays resident until ballooned.
r1=$(num g2 resident_pages)
p1=$(num g2 punched_pages)
echo "# g2 before balloon: resident $r1 punched $p1"
[ "$r1" -gt $(((KEEP + FILL) * MB)) ] && [ "$p1" -lt 1024 ]
e2e_tap $? "without a balloon, freed guest memory stays in the partition"
e2e_qmp g2 "{\"execute\": \"balloon\", \"arguments\": {\"value\": $((BAL * 1048576))}}" >/dev/null
e2e_tap $? "QMP balloon of g2 to $BAL MiB accepted"
t=0
while [ $t -lt $((120 * E2E_SLACK)) ]; do
	r=$(num g2 resident_pages)
	[ "$r" -le $(((BAL + 8) * MB)) ] && break
	sleep 1
	t=$((t + 1))
done
p2=$(( $(num g2 punched_pages) - p1 ))
echo "# g2 after balloon: resident $r (was $r1), punched +$p2 in ${t}s"
[ "$r" -le $(((BAL + 8) * MB)) ] && [ "$p2" -ge $((r1 - r)) ]
ret=$?
if [ $ret != 0 ]; then
	# Whose side stopped: the guest's driver (actual stays at the
	# full size) or the host's discard of what the guest gave back.
	echo "# g2 query-balloon: $(e2e_qmp g2 '{"execute": "query-balloon"}' 2>&1 | tr -d '\r')"
	tail -5 $E2E_RUN/g2.log 2>/dev/null | tr -d '\r' | sed 's/^/#   g2: /'
fi
e2e_tap $ret "balloon inflation returns pages: g2 at most $((BAL + 8)) MiB resident"

for g in g1 g2; do
	e2e_alive $g
	e2e_tap $? "$g keeps running and verifying every word it keeps"
done

e2e_stop g1
e2e_stop g2
e2e_logs_clean
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
e2e_pool_empty e2e "the pool is empty after the guests and their files are gone"
kvmsharectl umount $E2E_RUN/pool
[ $E2E_FAILS = 0 ]
