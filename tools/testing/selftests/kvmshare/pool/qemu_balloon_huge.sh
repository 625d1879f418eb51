#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end, issue 18 step 7 (Documentation/plans/large-pages.md): the
# host's unmodified QEMU boots a Linux guest whose RAM is a partition of
# a huge=on pool, mapped 2 MiB-aligned (memory-backend-file align=2M), so
# that the pool makes 2 MiB units and QEMU maps them by PMDs. The guest
# keeps a pattern in some memory, fills more, verifies and frees it
# (guest_mem), and a plain virtio-balloon is inflated through QMP. QEMU
# discards the balloon's pages 4 KiB at a time (its RAM block's page
# size); the pool defers those punches (huge_punch_split_pct 50): a unit
# keeps its PMD until more than half of it is punched, then it is split
# by copy and the punched memory leaves the pool. Checked: units and
# FilePmdMapped in QEMU's mapping; the punches deferred (their size is
# printed); units split past the threshold and the partition's resident
# memory down to the balloon's target but for the holes still deferred;
# the counts add up; the guest verifies every word it keeps. Then the
# balloon is deflated and the guest's second round (guest_mem's GAP:
# it waits for the deflation) writes FILL MiB again, into the pages the
# balloon gave back, deferred holes among them (stores through the PMD,
# unseen by the pool), and verifies every word (review s27 h7, T1); the
# balloon is inflated again, so that units holding re-written holes are
# punched and split, and the guest verifies what it keeps. Under TCG
# (suite e2e_tcg) with a smaller guest.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

POOL=e2eh
num() { cat "/sys/fs/kvmshare/$POOL/partitions/$1/$2"; }
MB=256		# pages per MiB
PCT=/sys/module/kvmshare/parameters/huge_punch_split_pct

# As pool/qemu_balloon.sh's g2.
if e2e_tcg; then
	MEM=192 KEEP=16 FILL=48 HOLD=8 BAL=128
else
	MEM=256 KEEP=4 FILL=96 HOLD=10 BAL=128
fi

echo "TAP version 13"
echo "1..16"
e2e_setup
pct_was=$(cat $PCT 2>/dev/null)
if [ -z "$pct_was" ]; then
	echo "Bail out! no huge_punch_split_pct: kvmshare.ko without deferred punch"
	exit 1
fi
echo 50 > $PCT
mkdir -p $E2E_RUN/pool
e2e_check "mount a huge=on pool in the chroot" \
	mount -t kvmshare -o size=$((MEM + 64))M,huge=on,name=$POOL \
	kvmshare $E2E_RUN/pool
e2e_check "create a ${MEM}M partition" \
	kvmsharectl create $E2E_RUN/pool/g ${MEM}M

GAP=$((300 * E2E_SLACK))
E2E_APPEND=kvmshare_mem=$KEEP,$FILL,2,$HOLD,$GAP
E2E_MEM_OPTS=,align=2M
e2e_qemu g /run/pool/g ${MEM}M mem -device virtio-balloon-pci,id=bal0
e2e_booted g 180 && e2e_wait g "GUEST-FILLED 1" 180
e2e_tap $? "the guest boots from the pool and fills $FILL MiB"

qpid=$(eval echo "\$E2E_PID_g")	# (e2e_qemu sets E2E_PID_<name>)
u=$(num g huge_units)
pmd=$(awk '/^FilePmdMapped:/ { kb += $2 } END { print kb + 0 }' \
	/proc/"$qpid"/smaps 2>/dev/null)
echo "# after fill: $u units, resident $(num g resident_pages) pages," \
     "QEMU's FilePmdMapped ${pmd:-?} kB"
grep -m1 "$E2E_RUN/pool/g\|/run/pool/g" /proc/"$qpid"/maps | sed 's/^/# QEMU maps: /'
[ "$u" -gt 0 ] && [ "${pmd:-0}" -gt 0 ]
e2e_tap $? "the guest's RAM is in 2 MiB units, mapped by PMDs in QEMU"

e2e_wait g "GUEST-FREED 1" 120
e2e_tap $? "the guest verifies and frees its $FILL MiB"
! grep -q 'GUEST-FREED.*BAD\|GUEST-ROUND.*BAD' $E2E_RUN/g.log
e2e_tap $? "every word the guest filled and kept was right"

r1=$(num g resident_pages)
p1=$(num g punched_pages)
d1=$(num g huge_punch_deferred)
s1=$(num g huge_punch_splits)
echo "# before balloon: resident $r1 punched $p1 deferred $d1 splits $s1"
e2e_qmp g "{\"execute\": \"balloon\", \"arguments\": {\"value\": $((BAL * 1048576))}}" >/dev/null
e2e_tap $? "QMP balloon of the guest to $BAL MiB accepted"
# Resident falls to the target, but for the holes still deferred (at
# most half of each unit the balloon touched; they stay in memory).
t=0
while [ $t -lt $((120 * E2E_SLACK)) ]; do
	r=$(num g resident_pages)
	pend=$(num g huge_punch_pending)
	[ "$r" -le $(((BAL + 8) * MB + pend)) ] && break
	sleep 1
	t=$((t + 1))
done
sleep 2		# (the last punches)
r=$(num g resident_pages)
pend=$(num g huge_punch_pending)
p2=$(( $(num g punched_pages) - p1 ))
d2=$(( $(num g huge_punch_deferred) - d1 ))
s2=$(( $(num g huge_punch_splits) - s1 ))
echo "# after balloon (${t}s): resident $r (was $r1), punched +$p2," \
     "deferred +$d2 (pending $pend), splits for punches +$s2," \
     "units $(num g huge_units), splits $(num g huge_splits)," \
     "held cuts $(num g huge_pinned_cuts)"
[ "$d2" -gt 0 ]
e2e_tap $? "balloon punches inside units were deferred (4 KiB punches)"
[ "$s2" -gt 0 ] && [ "$r" -le $(((BAL + 8) * MB + pend)) ]
e2e_tap $? "units past the threshold were split: memory back but for $pend deferred pages"
# The guest runs on (its pages faulted in): the counters are read
# between two reads of resident_pages that agree (the first run read
# resident 2 s before the others: 350 pages apart). A fault making a
# unit charges it a moment before it counts it allocated (the install),
# so a look that does not add up is taken again, up to 20 times 0.2 s
# apart: a wrong count stays, a fault ends. (A fault used to charge the
# unit before it allocated its 2 MiB: 512 apart for as long as that
# took; pool_huge_test's counters_add_up_while_a_unit_is_made.)
j=0
while [ $j -lt 20 ]; do
	i=0
	while [ $i -lt 10 ]; do
		r=$(num g resident_pages)
		a=$(num g allocated_pages)
		tr=$(num g truncated_pages)
		pt=$(num g punched_pages)
		pend=$(num g huge_punch_pending)
		[ "$(num g resident_pages)" = "$r" ] && break
		i=$((i + 1))
	done
	[ $((a - pt - tr)) = "$r" ] && break
	echo "# look $j: allocated $a punched $pt truncated $tr resident $r: again"
	sleep 0.2
	j=$((j + 1))
done
echo "# allocated $a punched $pt truncated $tr resident $r pending $pend"
[ $((a - pt - tr)) = "$r" ] && [ "$pend" -le "$r" ]
e2e_tap $? "allocated - punched - truncated is resident; deferred pages are resident"

# Deflate: the guest's second round takes the pages back and writes
# them, deferred holes too (through the PMD, unseen by the pool), and
# verifies every word: nothing is lost.
e2e_qmp g "{\"execute\": \"balloon\", \"arguments\": {\"value\": $((MEM * 1048576))}}" >/dev/null
e2e_wait g "GUEST-FREED 2" $((GAP + 180))
e2e_tap $? "after the deflation the guest writes, verifies and frees $FILL MiB again"
grep 'GUEST-GAP' $E2E_RUN/g.log | sed 's/^/# /'
! grep -q 'GUEST-FREED.*BAD\|GUEST-ROUND.*BAD' $E2E_RUN/g.log &&
	grep -q 'GUEST-GAP-END 1 deflated' $E2E_RUN/g.log
e2e_tap $? "every word written into the deflated pages (deferred holes too) was right"
echo "# after deflate and round 2: resident $(num g resident_pages)," \
     "pending $(num g huge_punch_pending), units $(num g huge_units)," \
     "splits for punches $(num g huge_punch_splits)"

# Inflate again: units whose holes were written are punched and split
# (the split keeps every page with data); the guest verifies its words.
s3=$(num g huge_punch_splits)
e2e_qmp g "{\"execute\": \"balloon\", \"arguments\": {\"value\": $((BAL * 1048576))}}" >/dev/null
sleep $((20 * E2E_SLACK))
echo "# after the second inflation: resident $(num g resident_pages)," \
     "pending $(num g huge_punch_pending), splits for punches" \
     "+$(( $(num g huge_punch_splits) - s3 ))"
e2e_qmp g "{\"execute\": \"balloon\", \"arguments\": {\"value\": $((MEM * 1048576))}}" >/dev/null
sleep $((5 * E2E_SLACK))
e2e_alive g
e2e_tap $? "the guest keeps running and verifying every word it keeps"
! grep -q 'GUEST-ALIVE.*BAD\|GUEST-ROUND.*BAD' $E2E_RUN/g.log
e2e_tap $? "no word the guest keeps went bad across both inflations"

e2e_stop g
e2e_logs_clean
kvmsharectl remove $E2E_RUN/pool/g
e2e_pool_empty $POOL "the pool is empty after the guest and its file are gone"
umount $E2E_RUN/pool
echo "$pct_was" > $PCT
[ $E2E_FAILS = 0 ]
