#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: two Linux guests, booted by the host's unmodified QEMU,
# whose RAM together exceeds their pool, with the reference paging service
# (kvmshare-pagerd, file back end) attached. Each guest keeps a pattern in
# some memory and, in rounds, fills more with another, verifies every word
# of both and frees what it filled (guest_mem, job mem): every word must be
# right while the pool pages them out and back in. Under TCG (suite
# e2e_tcg) with smaller guests and pool.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2epg
num() { cat "$pool/partitions/$1/$2"; }

# MEM guest RAM, POOL the pool, KEEP kept and FILL filled in each of
# ROUNDS rounds (MiB)
if e2e_tcg; then
	MEM=160 POOL=160 KEEP=32 FILL=24 ROUNDS=3
else
	MEM=256 POOL=256 KEEP=64 FILL=64 ROUNDS=3
fi

echo "TAP version 13"
echo "1..11"
e2e_setup
mkdir -p $E2E_RUN/pool
e2e_check "mount a ${POOL}M pool" \
	kvmsharectl mount $E2E_RUN/pool size=${POOL}M name=e2epg
kvmshare-pagerd --pool $E2E_RUN/pool --backend file:$E2E_RUN/pagerd.store \
	--blocks $((MEM * 2 * 256 * 3 / 2)) --pidfile $E2E_RUN/pagerd.pid \
	> $E2E_RUN/pagerd.log 2>&1 &
pagerd=$!
t=0
while [ "$(cat $pool/active_pager)" = 0 ] && [ $t -lt 20 ]; do
	sleep 1
	t=$((t + 1))
done
[ "$(cat $pool/active_pager)" != 0 ]
e2e_tap $? "kvmshare-pagerd attaches as the active paging service"
e2e_check "create two ${MEM}M partitions" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 ${MEM}M &&
	 kvmsharectl create $E2E_RUN/pool/g2 ${MEM}M"

E2E_APPEND=kvmshare_mem=$KEEP,$FILL,$ROUNDS,0
e2e_qemu g1 /run/pool/g1 ${MEM}M mem
e2e_qemu g2 /run/pool/g2 ${MEM}M mem
e2e_booted g1 180 && e2e_booted g2 180 &&
	e2e_wait g1 GUEST-DONE 600 && e2e_wait g2 GUEST-DONE 300
rc=$?
for g in g1 g2; do
	grep GUEST- $E2E_RUN/$g.log | tr -d '\r' | tail -3 | sed "s/^/# $g: /"
done
e2e_tap $rc "both guests keep $KEEP MiB and fill $FILL MiB $ROUNDS times"
for g in g1 g2; do
	ok=$(grep -c 'GUEST-\(ROUND\|FREED\) .* ok' $E2E_RUN/$g.log)
	grep 'GUEST-.* BAD' $E2E_RUN/$g.log | sed 's/^/# /'
	echo "# $g: resident $(num $g resident_pages) paged out" \
	     "$(num $g paged_out_pages) zero $(num $g zero_pages)" \
	     "pageouts $(num $g pageouts) pageins $(num $g pageins)"
	[ "$ok" = $((ROUNDS * 2)) ]
	e2e_tap $? "$g: every word is right in all $ROUNDS rounds"
done
out=$(( $(num g1 pageouts) + $(num g2 pageouts) ))
in=$(( $(num g1 pageins) + $(num g2 pageins) ))
echo "# pool: used $(cat $pool/used_pages) of $(cat $pool/size_pages);" \
     "blocks used $(cat $pool/blocks_used); pageouts $out, pageins $in"
[ $out -gt 0 ] && [ $in -gt 0 ]
e2e_tap $? "the guests were paged out and back in ($out out, $in in)"
[ $(( $(num g1 pagein_errors) + $(num g2 pagein_errors) )) = 0 ]
e2e_tap $? "no page-in failed"
[ "$(cat $pool/used_pages)" -le "$(cat $pool/size_pages)" ]
e2e_tap $? "the pool never holds more than its size"

e2e_stop g1
e2e_stop g2
e2e_logs_clean
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
t=0
while [ "$(cat $pool/blocks_used)" != 0 ] && [ $t -lt 20 ]; do
	sleep 1
	t=$((t + 1))
done
kill -TERM $pagerd
wait $pagerd
rc=$?
sed 's/^/# pagerd: /' $E2E_RUN/pagerd.log | tail -4
e2e_pool_settle e2epg
empty=$?
blocks=$(cat $pool/blocks_used)
kvmsharectl umount $E2E_RUN/pool
[ $rc = 0 ] && [ $empty = 0 ] && [ "$blocks" = 0 ]
e2e_tap $? "SIGTERM stops the service cleanly; the pool and store are empty"
[ $E2E_FAILS = 0 ]
