#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end (manual suite pager_apf_e2e): asynchronous restore. A Linux
# guest booted by the host's QEMU runs guest_apf: 32 pages of a process
# are paged out (kvmsharectl pageout, by guest frame number) to a paging
# service that holds every page-in 300 ms, then read back while another
# process of the same guest ticks every 10 ms. With asynchronous restore
# (kvmshare's async_restore=Y) KVM's asynchronous page fault
# lets the guest run the ticker while a page comes back; with it off the
# vCPU waits for each page and the ticker nearly stops. g1 runs with it
# on, then g2 with it off.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2eapf
param=/sys/module/kvmshare/parameters

# run_apf GUEST ASYNC: boot GUEST, page its 32 pages out, read them back.
run_apf() {
	echo "$2" > $param/async_restore
	e2e_qemu "$1" "/run/pool/$1" 256M apf
	e2e_booted "$1" 180 && e2e_wait "$1" GUEST-PFNS 120 || return 1
	for pfn in $(sed -n 's/.*GUEST-PFNS [0-9]* //p' $E2E_RUN/$1.log |
		     tr -d '\r'); do
		kvmsharectl pageout $E2E_RUN/pool/$1 $((pfn * 4096)) 4096 ||
			return 1
	done
	sleep 2
	echo "# $1: paged out $(cat $pool/partitions/$1/paged_out_pages)"
	[ "$(cat $pool/partitions/$1/paged_out_pages)" -ge 32 ] || return 1
	e2e_wait "$1" GUEST-APF 240 || return 1
	grep GUEST-APF $E2E_RUN/$1.log | tr -d '\r' | sed "s/^/# $1: /"
	echo "# $1: async restores $(cat $pool/partitions/$1/async_restores)"
	e2e_stop "$1"
}

val() { grep GUEST-APF $E2E_RUN/$1.log | tr -d '\r' |
	sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }

echo "TAP version 13"
echo "1..5"
e2e_setup
mkdir -p $E2E_RUN/pool
echo 1 > $param/pagein_cluster
kvmsharectl mount $E2E_RUN/pool size=600M name=e2eapf > /dev/null &&
	kvmsharectl create $E2E_RUN/pool/g1 256M > /dev/null &&
	kvmsharectl create $E2E_RUN/pool/g2 256M > /dev/null &&
	kvmshare-pagerd --pool $E2E_RUN/pool --delay-read-ms 300 \
		--backend file:$E2E_RUN/pagerd.store --blocks 65536 \
		--pidfile $E2E_RUN/pagerd.pid > $E2E_RUN/pagerd.log 2>&1 &
pagerd=$!
sleep 2
[ "$(cat $pool/active_pager)" != 0 ]
e2e_tap $? "a pool, two partitions, a paging service holding page-ins 300 ms"

run_apf g1 1
e2e_tap $? "g1 (async restore on): 32 pages paged out and read back"
run_apf g2 0
e2e_tap $? "g2 (async restore off): 32 pages paged out and read back"

t1=$(val g1 ticks) x1=$(val g1 expected)
t2=$(val g2 ticks) x2=$(val g2 expected)
# With it, the other task ran for most of the wait; without, it did not.
[ -n "$t1" ] && [ -n "$t2" ] && [ "${x1:-0}" -gt 0 ] &&
	[ "${x2:-0}" -gt 0 ] && [ $((t1 * 100 / x1)) -ge 40 ] &&
	[ $((t1 * 100 / x1)) -ge $((3 * t2 * 100 / x2)) ] &&
	grep -q 'GUEST-APF.* ok' $E2E_RUN/g1.log &&
	grep -q 'GUEST-APF.* ok' $E2E_RUN/g2.log
e2e_tap $? "the guest's other task runs while pages come back only with async restore ($t1 of $x1 ticks, against $t2 of $x2)"

kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
kill -TERM $pagerd
wait $pagerd
rc=$?
kvmsharectl umount $E2E_RUN/pool
echo 16 > $param/pagein_cluster
echo 1 > $param/async_restore
[ $rc = 0 ]
e2e_tap $? "the paging service stops cleanly"
[ $E2E_FAILS = 0 ]
