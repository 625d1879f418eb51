#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The vpa tracepoints through tracefs (issue #19,
# Documentation/admin-guide/tracing.rst): with the events of
# TRACE_SYSTEM vpa on, descriptors a VFIO client runs (one good, two refused), a doorbell with
# a foreign requester id, a resize, a refused resize and a reassignment
# of closed virtual adapters, and an error recovery (debugfs) that one
# open adapter acknowledges and one closed adapter sits out, each leave
# their events with the right fields. With the events off, the same
# descriptors record nothing.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
# shellcheck source=../lib/tracefs.sh
. "$here/../lib/tracefs.sh"

parent=/sys/class/vpa/vpa0
dbg=/sys/kernel/debug/vpa/vpa0
u1=7e6d5c4b-3a2f-4e1d-8c0b-9a8f7e6d5c4b
u2=8f7e6d5c-4b3a-4f2e-9d1c-0b9a8f7e6d5c
zero=00000000-0000-0000-0000-000000000000
client=""
tmo=""
plan=23

cleanup() {
	[ -d $T/events/vpa ] && echo 0 > $T/events/vpa/enable
	[ -n "$client" ] && kill "$client" 2> /dev/null && wait "$client"
	[ -n "$tmo" ] && echo "$tmo" > /sys/module/vpa/parameters/ack_timeout_ms
	for u in $u1 $u2; do
		[ -e /sys/bus/mdev/devices/$u ] &&
			echo 1 > /sys/bus/mdev/devices/$u/remove
	done
	rm -f $tout /tmp/vpa-trace-client.out
}
trap cleanup EXIT

echo "TAP version 13"
echo "1..$plan"

tracefs_init $plan

# Every event is there with the fields the documentation names.
missing=$(tracefs_missing vpa <<EOF
vpa_desc_done adapter uuid wq head size fault_addr opcode status err
vpa_desc_rejected adapter uuid wq head size fault_addr opcode status err
vpa_doorbell_refused adapter global err rid
vpa_change adapter uuid to_uuid type count now outcome ret reassign
vpa_aer adapter step ret errors acked failed frozen
vpa_aer_vdev adapter uuid step ack_us
EOF
)
is "tracefs has every vpa event with its fields" "" "$(echo $missing)"

echo $u1 > $parent/mdev_supported_types/vpa-small/create
echo $u2 > $parent/mdev_supported_types/vpa-small/create

# Off: descriptors record nothing.
echo 0 > $T/events/vpa/enable
echo > $T/trace
ok "events off: the client's descriptors" "$here/vpa_trace_client" $u1 desc
is "events off: nothing recorded" 0 "$(grep -c vpa_ $T/trace)"

echo 1 > $T/events/vpa/enable
echo > $T/trace
ok "the client's descriptors end as expected" \
	"$here/vpa_trace_client" $u1 desc
trace "vpa_desc_done: vpa0 $u1 wq=0 head=[0-9]+ op=memmove size=4096 status=0x1 err=0 fault_addr=0(x0)?$" \
	"memmove done: adapter, uuid, queue, op, status, no error"
trace "vpa_desc_rejected: vpa0 $u1 wq=0 head=[0-9]+ op=0x5 size=0 status=0x10 err=-22 " \
	"unknown opcode rejected: bad opcode, EINVAL"
trace "vpa_desc_rejected: vpa0 $u1 wq=0 head=[0-9]+ op=fill size=4096 status=0x21 err=-[0-9]+ fault_addr=0x100400000$" \
	"fill of unmapped memory rejected: DMA write fault at its address"

# A doorbell from a requester id that owns nothing.
bad "a doorbell from requester id fff0 is refused" \
	sh -c "echo 'fff0 0 1' > $dbg/inject"
trace "vpa_doorbell_refused: vpa0 rid=0xfff0 wq=0 err=-1$" \
	"doorbell refused: rid, queue, EPERM"

# Resize (a revoke) and reassignment of closed adapters: no quiesce.
ok "resize u1 to 1 window" sh -c "echo 1 > /sys/bus/mdev/devices/$u1/vpa/nr_win"
trace "vpa_change: vpa0 $u1 resize win 1 to=$zero now=1 quiesce=none ret=0$" \
	"resize: type, count, what it owns now, ret 0"
bad "resize u1 to 0 windows is refused" \
	sh -c "echo 0 > /sys/bus/mdev/devices/$u1/vpa/nr_win"
trace "vpa_change: vpa0 $u1 resize win 0 to=$zero now=1 quiesce=none ret=-22$" \
	"refused resize: EINVAL, nothing changed"
ok "reassign a vector from u1 to u2" sh -c \
	"echo $u2 > /sys/bus/mdev/devices/$u1/vpa/give_to &&
	 echo 1 > /sys/bus/mdev/devices/$u1/vpa/give_vec"
trace "vpa_change: vpa0 $u1 reassign vec 1 to=$u2 now=1 quiesce=none ret=0$" \
	"reassign: from, to, type, count"

# Error recovery: u2 open and acknowledging, u1 closed.
tmo=$(cat /sys/module/vpa/parameters/ack_timeout_ms)
echo 20000 > /sys/module/vpa/parameters/ack_timeout_ms
"$here/vpa_trace_client" $u2 ack 60 > /tmp/vpa-trace-client.out 2>&1 &
client=$!
for _ in $(seq 1 50); do
	grep -q ready /tmp/vpa-trace-client.out && break
	sleep 0.2
done
echo 1 > $dbg/error
wait $client
is "the client acknowledged and resumed" 0 $?
client=""
trace "vpa_aer_vdev: vpa0 $u1 step=idle " "recovery: closed u1 idle"
trace "vpa_aer_vdev: vpa0 $u2 step=notify " "recovery: open u2 notified"
trace "vpa_aer_vdev: vpa0 $u2 step=ack ack_us=[0-9]+$" \
	"recovery: u2 acknowledged, with its latency"
trace "vpa_aer: vpa0 error=[1-9][0-9]* step=detected acked=1 failed=0 frozen=0 ret=0$" \
	"recovery detected: 1 acked, 0 failed"
trace "vpa_aer: vpa0 error=[1-9][0-9]* step=reset acked=1 failed=0 frozen=0 ret=0$" \
	"recovery: the adapter reset"
trace "vpa_aer_vdev: vpa0 $u2 step=resume " "recovery: u2 resumed"
trace "vpa_aer: vpa0 error=[1-9][0-9]* step=done acked=1 failed=0 frozen=0 ret=0$" \
	"recovery done"

echo 0 > $T/events/vpa/enable
[ $fails = 0 ]
