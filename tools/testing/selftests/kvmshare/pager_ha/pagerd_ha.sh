#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The reference paging daemon under failure and shutdown, in the test VM:
# a primary and a --standby kvmshare-pagerd on one backing file serve a
# partition larger than the pool. The active daemon is killed (SIGKILL)
# in the middle of reading the partition back, repeatedly, and a
# restarted one rejoins as standby: every byte reads back right. SIGTERM
# to the active daemon hands over to the standby; SIGTERM to the last one
# is refused while pages are out (it serves on, says so), and it stops
# once they are gone.

pool=/tmp/ksha-pool
name=kshad$$
store=/dev/shm/ksha.store
sys=/sys/fs/kvmshare/$name
n=0
fails=0

tap() {	# tap OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fails=$((fails + 1))
	fi
}

start() {	# start NAME [--standby]: a daemon, its pid in $NAME
	rm -f /tmp/$1.pid
	kvmshare-pagerd --pool $pool --backend file:$store --blocks 16384 \
		--pidfile /tmp/$1.pid $2 > /tmp/$1.log 2>&1 &
	eval "$1=$!"
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -f /tmp/$1.pid ] && return 0
		sleep 0.2
	done
	return 1
}

evict() {	# page the whole partition out
	echo 1 > $sys/partitions/p/target_pages
	for _ in $(seq 1 300); do
		[ "$(cat $sys/partitions/p/resident_pages)" -le 1 ] && break
		sleep 0.1
	done
	echo 0 > $sys/partitions/p/target_pages
	[ "$(cat $sys/partitions/p/paged_out_pages)" -ge 8000 ]
}

alive() { kill -0 "$1" 2>/dev/null; }

echo "TAP version 13"
echo "1..10"
mkdir -p $pool
rm -f $store
kvmsharectl mount $pool size=16M name=$name > /dev/null &&
	kvmsharectl create $pool/p 32M > /dev/null &&
	start A && start B --standby
tap $? "a primary and a standby daemon on one backing file"
dd if=/dev/urandom of=/tmp/ksha.data bs=1M count=32 2>/dev/null &&
	dd if=/tmp/ksha.data of=$pool/p bs=1M conv=notrunc 2>/dev/null
tap $? "a 32 MiB partition with random data over a 16 MiB pool"
want=$(md5sum < /tmp/ksha.data)

ok=0
for round in 1 2 3; do
	evict || ok=1
	active=$(cat $sys/active_pager)
	# Kill whichever daemon is active while the data is read back.
	if grep -q "pager $active:" /tmp/A.log; then
		victim=A
	else
		victim=B
	fi
	md5sum < $pool/p > /tmp/ksha.sum &
	reader=$!
	sleep 0.3
	eval "kill -9 \$$victim"
	eval "wait \$$victim" 2>/dev/null
	wait $reader
	[ "$(cat /tmp/ksha.sum)" = "$want" ] || ok=1
	echo "# round $round: killed $victim (service $active) mid-read;" \
	     "failovers $(cat $sys/failovers), reissued $(cat $sys/reissued_requests)"
	start $victim --standby || ok=1
done
tap $ok "the active daemon killed mid-read three times: every byte reads back"
[ "$(cat $sys/failovers)" -ge 3 ]
tap $? "each kill is a failover ($(cat $sys/failovers))"
[ "$(cat $sys/partitions/p/pagein_errors)" = 0 ] &&
	[ "$(cat $sys/partitions/p/pagein_timeouts)" = 0 ]
tap $? "no page-in failed or timed out"

# Controlled stop with a standby: the active one hands over and exits 0.
evict
active=$(cat $sys/active_pager)
if grep -q "pager $active:" /tmp/A.log; then first=A; second=B; else first=B; second=A; fi
pid=
eval "pid=\$$first"
kill -TERM "$pid"
wait "$pid"
rc=$?
grep -q "stopped\|hung up" /tmp/$first.log
tap $(( rc | $? )) "SIGTERM to the active daemon: it drains, the pool hangs up, exit 0"
[ "$(md5sum < $pool/p)" = "$want" ] && [ "$(cat $sys/failovers)" -ge 3 ]
tap $? "the standby took over: the data reads back"

# The last daemon: refused while pages are out, serves on.
evict
eval "pid=\$$second"
kill -TERM "$pid"
sleep 2
alive "$pid" && grep -q "refuses the stop" /tmp/$second.log
tap $? "SIGTERM to the last daemon with pages out: refused, it serves on"
[ "$(md5sum < $pool/p)" = "$want" ]
tap $? "the data reads back through it"
# The partition is larger than the pool: pages stay out until it goes.
kvmsharectl remove $pool/p
for _ in $(seq 1 50); do
	alive "$pid" || break
	sleep 0.2
done
wait "$pid"
rc=$?
[ $rc = 0 ] && grep -q "streams suspended" /tmp/$second.log &&
	[ "$(cat $sys/blocks_used)" = 0 ] && [ "$(cat $sys/pagers)" = 0 ]
tap $? "once the partition is gone, it stops: exit 0, the store is empty"
for f in A B; do sed "s/^/# $f: /" /tmp/$f.log | grep -E "stop|refuse|hung|fail" | tail -3; done
kvmsharectl umount $pool
rm -f $store /tmp/ksha.data /tmp/ksha.sum
[ $fails = 0 ]
