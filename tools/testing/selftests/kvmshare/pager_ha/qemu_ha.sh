#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: two Linux guests booted by the host's unmodified QEMU over
# an overcommitted pool (2 x 256 MiB over 256 MiB; under TCG, suite
# e2e_tcg, 2 x 160 MiB over 128 MiB), served by a primary and a standby
# kvmshare-pagerd on one backing file. While both keep a pattern and fill
# more in rounds, verifying every word (guest_mem, job mem), the active
# daemon is killed (SIGKILL) up to KILLS times and restarted as standby:
# every word must be right. Then a controlled stop: the guests go, their
# partitions are removed, SIGTERM stops both daemons (exit 0).

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2eha
num() { cat "$pool/partitions/$1/$2"; }

# MEM guest RAM, POOL the pool, KEEP kept and FILL filled in each of
# ROUNDS rounds (MiB); KILLS of the active daemon, EVERY s apart (under
# TCG: at every second round of g1, however long a round takes)
if e2e_tcg; then
	MEM=160 POOL=160 KEEP=32 FILL=24 ROUNDS=5 KILLS=2 EVERY=
else
	MEM=256 POOL=256 KEEP=64 FILL=64 ROUNDS=3 KILLS=3 EVERY=20
fi

start() {	# start NAME [--standby]
	rm -f $E2E_RUN/$1.pid
	kvmshare-pagerd --pool $E2E_RUN/pool \
		--backend file:$E2E_RUN/pagerd.store --blocks $((MEM * 2 * 256 * 3 / 2)) \
		--pidfile $E2E_RUN/$1.pid $2 > $E2E_RUN/$1.log 2>&1 &
	eval "$1=$!"
	t=0
	while [ ! -f $E2E_RUN/$1.pid ] && [ $t -lt 50 ]; do
		sleep 0.2
		t=$((t + 1))
	done
	[ -f $E2E_RUN/$1.pid ]
}

echo "TAP version 13"
echo "1..10"
e2e_setup
mkdir -p $E2E_RUN/pool
kvmsharectl mount $E2E_RUN/pool size=${POOL}M name=e2eha > /dev/null &&
	start A && start B --standby &&
	kvmsharectl create $E2E_RUN/pool/g1 ${MEM}M > /dev/null &&
	kvmsharectl create $E2E_RUN/pool/g2 ${MEM}M > /dev/null
e2e_tap $? "a ${POOL}M pool, a primary and a standby daemon, two ${MEM}M partitions"

E2E_APPEND=kvmshare_mem=$KEEP,$FILL,$ROUNDS,0
e2e_qemu g1 /run/pool/g1 ${MEM}M mem
e2e_qemu g2 /run/pool/g2 ${MEM}M mem
e2e_booted g1 180 && e2e_booted g2 180
e2e_tap $? "both guests boot"

kills=0
while [ $kills -lt $KILLS ]; do
	if [ -n "$EVERY" ]; then
		sleep $EVERY
	else
		e2e_wait g1 "GUEST-ROUND $((kills * 2 + 1)) " 300 > /dev/null
	fi
	grep -q GUEST-DONE $E2E_RUN/g1.log && grep -q GUEST-DONE $E2E_RUN/g2.log &&
		break
	active=$(cat $pool/active_pager)
	if grep -q "pager $active:" $E2E_RUN/A.log; then v=A; else v=B; fi
	eval "kill -9 \$$v"
	eval "wait \$$v" 2>/dev/null
	kills=$((kills + 1))
	echo "# kill $kills: daemon $v (service $active); failovers" \
	     "$(cat $pool/failovers), reissued $(cat $pool/reissued_requests)"
	start $v --standby || echo "# restarting $v failed"
done
e2e_wait g1 GUEST-DONE 600 && e2e_wait g2 GUEST-DONE 300
e2e_tap $? "both guests finish keeping $KEEP MiB and filling $FILL MiB $ROUNDS times"
for g in g1 g2; do
	ok=$(grep -c 'GUEST-\(ROUND\|FREED\) .* ok' $E2E_RUN/$g.log)
	grep 'GUEST-.* BAD' $E2E_RUN/$g.log | sed 's/^/# /'
	echo "# $g: pageouts $(num $g pageouts) pageins $(num $g pageins)" \
	     "errors $(num $g pagein_errors) timeouts $(num $g pagein_timeouts)" \
	     "async restores $(num $g async_restores)"
	[ "$ok" = $((ROUNDS * 2)) ]
	e2e_tap $? "$g: every word is right in all $ROUNDS rounds"
done
[ "$(cat $pool/failovers)" -ge "$kills" ] && [ "$kills" -ge 1 ] &&
	[ $(( $(num g1 pagein_errors) + $(num g2 pagein_errors) )) = 0 ]
e2e_tap $? "$kills kills, each a failover, no page lost"

out=$(( $(num g1 pageouts) + $(num g2 pageouts) ))
in=$(( $(num g1 pageins) + $(num g2 pageins) ))
[ $out -gt 0 ] && [ $in -gt 0 ]
e2e_tap $? "the guests were paged out and back in ($out out, $in in)"

e2e_stop g1
e2e_stop g2
e2e_logs_clean
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
kill -TERM $A $B
wait $A
ra=$?
wait $B
rb=$?
grep -h "stopped\|hung up" $E2E_RUN/A.log $E2E_RUN/B.log | sed 's/^/# /'
[ $ra = 0 ] && [ $rb = 0 ] && [ "$(cat $pool/pagers)" = 0 ] &&
	[ "$(cat $pool/blocks_used)" = 0 ]
e2e_tap $? "SIGTERM stops both daemons (exit 0); the store is empty"
e2e_pool_empty "$(basename "$pool")" "the pool is empty"
kvmsharectl umount $E2E_RUN/pool
[ $E2E_FAILS = 0 ]
