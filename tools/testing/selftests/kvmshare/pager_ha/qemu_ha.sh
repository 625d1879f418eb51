#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end (manual suite pager_ha_e2e): two Linux guests booted by the
# host's unmodified QEMU over an overcommitted pool (2 x 256 MiB over
# 256 MiB), served by a primary and a standby kvmshare-pagerd on one
# backing file. While both write and verify their checksums, the active
# daemon is killed (SIGKILL) three times and restarted as standby: every
# checksum must be right. Then a controlled stop: the guests go, their
# partitions are removed, SIGTERM stops both daemons (exit 0).

. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2eha
num() { cat "$pool/partitions/$1/$2"; }

start() {	# start NAME [--standby]
	rm -f $E2E_RUN/$1.pid
	kvmshare-pagerd --pool $E2E_RUN/pool \
		--backend file:$E2E_RUN/pagerd.store --blocks 196608 \
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
echo "1..8"
e2e_setup
mkdir -p $E2E_RUN/pool
kvmsharectl mount $E2E_RUN/pool size=256M name=e2eha > /dev/null &&
	start A && start B --standby &&
	kvmsharectl create $E2E_RUN/pool/g1 256M > /dev/null &&
	kvmsharectl create $E2E_RUN/pool/g2 256M > /dev/null
e2e_tap $? "a 256M pool, a primary and a standby daemon, two 256M partitions"

e2e_qemu g1 /run/pool/g1 256M checksum
e2e_qemu g2 /run/pool/g2 256M checksum
e2e_booted g1 180 && e2e_booted g2 180
e2e_tap $? "both guests boot"

kills=0
while [ $kills -lt 3 ]; do
	sleep 20
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
e2e_tap $? "both guests finish writing and verifying 64 MiB three times"
for g in g1 g2; do
	ok=$(grep -c 'GUEST-CHECK .* ok' $E2E_RUN/$g.log)
	grep 'GUEST-CHECK .* BAD' $E2E_RUN/$g.log | sed 's/^/# /'
	echo "# $g: pageouts $(num $g pageouts) pageins $(num $g pageins)" \
	     "errors $(num $g pagein_errors) timeouts $(num $g pagein_timeouts)" \
	     "async restores $(num $g async_restores)"
	[ "$ok" = 3 ]
	e2e_tap $? "$g: every checksum is right in all three passes"
done
[ "$(cat $pool/failovers)" -ge "$kills" ] && [ "$kills" -ge 1 ] &&
	[ $(( $(num g1 pagein_errors) + $(num g2 pagein_errors) )) = 0 ]
e2e_tap $? "$kills kills, each a failover, no page lost"

e2e_stop g1
e2e_stop g2
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
used=$(cat $pool/used_pages)
kvmsharectl umount $E2E_RUN/pool
[ "$used" = 0 ]
e2e_tap $? "the pool is empty"
[ $E2E_FAILS = 0 ]
