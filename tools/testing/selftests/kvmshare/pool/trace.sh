#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kvmshare tracepoints through tracefs (issue #19,
# Documentation/admin-guide/tracing.rst): with the events of
# TRACE_SYSTEM kvmshare off, a page-out and a page-in record nothing; with them on, a small
# workload on a pool with a paging service - a write refused at a
# partition's limit, a page-out and a page-in, an eviction to a target,
# a policy step, a failover to a standby, a controlled stop refused and
# then done - leaves each event with the right fields.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=../lib/tracefs.sh
. "$here/../lib/tracefs.sh"

pool=/tmp/trace-pool
name=trpool
sys=/sys/fs/kvmshare/$name
store=/dev/shm/trace.store
p1=""
p2=""
plan=23

cleanup() {
	[ -d $T/events/kvmshare ] && echo 0 > $T/events/kvmshare/enable
	for p in $p1 $p2; do
		kill -9 "$p" 2> /dev/null && wait "$p" 2> /dev/null
	done
	grep -q " $pool kvmshare " /proc/mounts && umount $pool
	rm -f $store $tout /tmp/trace-p[12].pid /tmp/trace-p[12].log
}
trap cleanup EXIT

echo "TAP version 13"
echo "1..$plan"

tracefs_init $plan
grep -q "^kvmshare " /proc/modules || modprobe kvmshare

# Every event is there with the fields the documentation names: one
# "event.field" for each that is missing.
missing=$(tracefs_missing kvmshare <<EOF
kvmshare_refused part index err fault
kvmshare_pagein_start part index block ahead
kvmshare_pagein_end part index result ahead async latency_ns
kvmshare_pageout_start part index block
kvmshare_pageout_end part index result dropped latency_ns
kvmshare_evict_pass part wanted done short_by sampled
kvmshare_pager_attach pager entries slots standby active
kvmshare_pager_detach pager reissued
kvmshare_pager_failover from to reason reissued
kvmshare_pager_stop pager out inflight step
kvmshare_policy part old_target target old_enforced enforced stress_ppm state
EOF
)
is "tracefs has every kvmshare event with its fields" "" "$(echo $missing)"

# wait_out FILE N: until partition FILE has N pages paged out (10 s).
wait_out() {
	for _ in $(seq 1 50); do
		[ "$(cat $sys/partitions/$1/paged_out_pages)" = "$2" ] && return
		sleep 0.2
	done
}

mkdir -p $pool
kvmsharectl mount $pool size=16M name=$name > /dev/null &&
	kvmsharectl create $pool/p 8M > /dev/null &&
	kvmsharectl create $pool/q 4M limit=1M > /dev/null
ino=$(stat -c %i $pool/p)
qino=$(stat -c %i $pool/q)

echo 1 > $T/events/kvmshare/enable
echo > $T/trace

# A write past q's limit, with no paging service: refused, ENOSPC.
dd if=/dev/urandom of=$pool/q bs=1M count=2 conv=notrunc 2> /dev/null
trace "kvmshare_refused: pool=$name part=$qino index=256 err=-28 \(ENOSPC\) read/write$" \
	"refused write at the limit: part, index 256, ENOSPC"

rm -f $store
kvmshare-pagerd --pool $pool --backend file:$store --blocks 4096 \
	--pidfile /tmp/trace-p1.pid > /tmp/trace-p1.log 2>&1 &
p1=$!
trace_wait "kvmshare_pager_attach: pool=$name pager=1 "
trace "kvmshare_pager_attach: pool=$name pager=1 role=primary active entries=[0-9]+ slots=[0-9]+$" \
	"attach: the primary, active"

# Off: a page-out and a page-in (and the eviction work's passes
# meanwhile) record nothing.
echo 0 > $T/events/kvmshare/enable
echo > $T/trace
dd if=/dev/urandom of=$pool/p bs=64k count=4 conv=notrunc 2> /dev/null
kvmsharectl pageout $pool/p 0 256K > /dev/null
wait_out p 64
is "events off: 64 pages paged out" 64 \
	"$(cat $sys/partitions/p/paged_out_pages)"
dd if=$pool/p of=/dev/null bs=64k count=4 2> /dev/null
wait_out p 0
sleep 1
is "events off: nothing recorded" 0 "$(grep -c kvmshare_ $T/trace)"
echo 1 > $T/events/kvmshare/enable
echo > $T/trace

# 1 MiB of data paged out, then read back.
dd if=/dev/urandom of=$pool/p bs=64k count=16 conv=notrunc 2> /dev/null
kvmsharectl pageout $pool/p 0 1M > /dev/null
wait_out p 256
is "256 pages paged out" 256 "$(cat $sys/partitions/p/paged_out_pages)"
trace "kvmshare_pageout_start: pool=$name part=$ino index=0 block=[0-9]+$" \
	"page-out start: part, index 0, block"
trace "kvmshare_pageout_end: pool=$name part=$ino index=0 result=0 \(ok\) dropped=1 latency_ns=[1-9][0-9]*$" \
	"page-out end: dropped, result 0, a latency"
is "one page-out start per page" 256 \
	"$(grep -c "kvmshare_pageout_start: pool=$name part=$ino " $tout)"
is "every page-out ended, dropped" 256 \
	"$(grep -c "kvmshare_pageout_end: pool=$name part=$ino .* dropped=1 " $tout)"

dd if=$pool/p of=/dev/null bs=64k count=16 2> /dev/null
wait_out p 0
is "paged in again" 0 "$(cat $sys/partitions/p/paged_out_pages)"
trace "kvmshare_pagein_start: pool=$name part=$ino index=0 block=[0-9]+ ahead=0$" \
	"page-in start: index 0, not ahead"
trace "kvmshare_pagein_start: pool=$name part=$ino index=[0-9]+ block=[0-9]+ ahead=1$" \
	"page-in start: read-ahead"
trace "kvmshare_pagein_end: pool=$name part=$ino index=0 result=0 \(ok\) ahead=0 async=0 latency_ns=[1-9][0-9]*$" \
	"page-in end: index 0, result 0, waited for, a latency"
is "every page-in ended" \
	"$(grep -c "kvmshare_pagein_start: pool=$name part=$ino " $tout)" \
	"$(grep -c "kvmshare_pagein_end: pool=$name part=$ino " $tout)"

# Eviction to a target: a pass over p that wanted pages and got them.
kvmsharectl set $pool/p target=512K > /dev/null
trace_wait "kvmshare_evict_pass: pool=$name part=$ino wanted=[1-9]"
trace "kvmshare_evict_pass: pool=$name part=$ino wanted=[1-9][0-9]* done=[1-9][0-9]* pool_short_by=[0-9]+ sampled=[0-9]+$" \
	"eviction pass: wanted and done"
kvmsharectl set $pool/p target=0 > /dev/null

# The policy: a step records each partition's decision.
echo 1 > $sys/policy_enabled
trace_wait "kvmshare_policy: pool=$name part=$ino "
echo 0 > $sys/policy_enabled
kvmsharectl set $pool/p target=0 > /dev/null
kvmsharectl set $pool/q target=0 > /dev/null
trace "kvmshare_policy: pool=$name part=$ino target=[0-9]+->[0-9]+ enforced=[0-9]+->[0-9]+ stress_ppm=[0-9]+ state=" \
	"policy step: targets, stress, state"

# A standby, then the primary dies: failover, reason gone.
kvmshare-pagerd --pool $pool --backend file:$store --blocks 4096 --standby \
	--pidfile /tmp/trace-p2.pid > /tmp/trace-p2.log 2>&1 &
p2=$!
trace_wait "kvmshare_pager_attach: pool=$name pager=2 "
trace "kvmshare_pager_attach: pool=$name pager=2 role=standby waiting" \
	"attach: a standby, waiting"
kill -9 $p1
wait $p1 2> /dev/null
p1=""
trace_wait kvmshare_pager_failover
trace "kvmshare_pager_detach: pool=$name pager=1 reissued=[0-9]+$" \
	"detach of the primary"
trace "kvmshare_pager_failover: pool=$name from=1 to=2 reason=gone reissued=[0-9]+$" \
	"failover from 1 to 2, reason gone"

# A stop with pages out and no other service is refused; once they are
# back, the service is stopping, then stopped.
kvmsharectl pageout $pool/p 0 64K > /dev/null
sleep 1
kvmsharectl pager-stop $pool 2 > /dev/null 2>&1
trace "kvmshare_pager_stop: pool=$name pager=2 step=refused inflight=[0-9]+ paged_out=[1-9][0-9]*$" \
	"stop refused with pages out"
dd if=$pool/p of=/dev/null bs=64k count=16 2> /dev/null
dd if=$pool/q of=/dev/null bs=64k count=16 2> /dev/null
wait_out p 0
wait_out q 0
kvmsharectl pager-stop $pool 2 > /dev/null 2>&1
trace_wait "pager=2 step=stopped"
trace "kvmshare_pager_stop: pool=$name pager=2 step=stopping inflight=[0-9]+ paged_out=0$" \
	"stop: stopping"
trace "kvmshare_pager_stop: pool=$name pager=2 step=stopped inflight=0 paged_out=0$" \
	"stop: stopped"

echo 0 > $T/events/kvmshare/enable
[ $fails = 0 ]
