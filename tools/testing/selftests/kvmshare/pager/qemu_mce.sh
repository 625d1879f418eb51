#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end (manual suite mce_e2e): a page lost by the paging service
# costs the guest the one process that touches it. A Linux guest booted by
# the host's unmodified QEMU on the test VM's KVM, modelled as an Intel CPU
# (QEMU then gives it MCA recovery: MCG_SER_P, action-required machine
# checks), runs guest_mce: a ticker process and, one after the other, three
# victim processes each holding one page with a pattern:
#   lost      its frame is paged out (kvmsharectl pageout) to a paging
#             service that fails that page's page-in (kvmshare-pagerd
#             --fail-read-page): the vCPU's fault ends in SIGBUS
#             BUS_MCEERR_AR for QEMU, which injects a machine check; the
#             guest kernel's memory-failure handling kills the victim;
#   hmp       control: QEMU's HMP "mce" injects an action-optional machine
#             check for its frame (the guest poisons the page; the victim's
#             next read gets SIGBUS BUS_MCEERR_AR);
#   hwpoison  control: the victim poisons its own page (MADV_HWPOISON).
# Each victim must get SIGBUS BUS_MCEERR_AR at its page in its own handler,
# the ticker must keep ticking (same process) and the guest kernel must stay
# up. The module runs with its defaults (async_restore=N).

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2emce
param=/sys/module/kvmshare/parameters
log=$E2E_RUN/g1.log

# ready CASE: the victim's frame number once it is ready, else nothing
ready() {
	e2e_wait g1 "GUEST-MCE-READY $1 " 120 || return 1
	sed -n "s/.*GUEST-MCE-READY $1 \([0-9]*\).*/\1/p" $log | tr -d '\r' |
		head -1
}

# victim_ok CASE: its handler saw BUS_MCEERR_AR (4) at its page, 4 KiB
victim_ok() {
	e2e_wait g1 "GUEST-MCE-DONE $1 " 180 || return 1
	grep -E "GUEST-MCE-(SIGBUS|DONE|BAD|TIMEOUT|ERROR) $1 " $log |
		tr -d '\r' | sed 's/^/# g1: /'
	grep -q "GUEST-MCE-SIGBUS $1 code=4 lsb=12 addr=ok" $log &&
		grep -q "GUEST-MCE-DONE $1 exit=0" $log
}

# ticks: the ticker's lines so far, and from how many processes
ticks() { grep -c 'GUEST-TICK ' $log; }
tickers() { sed -n 's/.*GUEST-TICK \([0-9]*\) .*/\1/p' $log | sort -u | wc -l; }

echo "TAP version 13"
echo "1..11"
e2e_setup
mkdir -p $E2E_RUN/pool

# The test VM's own MCG_CAP (its emulator's CPU), for comparison with
# the guest's (GUEST-MCE-MCGCAP)
modprobe msr 2>/dev/null
echo "# test VM: $("$(dirname "$0")/../guest/guest_mce" cap 2>&1)"
[ "$(cat $param/async_restore)" = N ]
e2e_tap $? "the module runs with its defaults (async_restore=N)"

kvmsharectl mount $E2E_RUN/pool size=600M name=e2emce > /dev/null &&
	kvmsharectl create $E2E_RUN/pool/g1 256M > /dev/null
e2e_tap $? "a pool and a partition for the guest"

E2E_CPU="host,vendor=GenuineIntel"
E2E_APPEND="kvmshare_mce=hwpoison,hmp,lost kvmshare_mce_wait=300"
e2e_qemu g1 /run/pool/g1 256M mce
e2e_booted g1 180 && e2e_wait g1 GUEST-MCE-MCGCAP 60 &&
	grep -E 'GUEST-MCE-(CPU|LOG|MCGCAP)' $log | tr -d '\r' | sed 's/^/# g1: /' &&
	grep -q 'GUEST-MCE-CPU vendor_id:GenuineIntel mca=1' $log
e2e_tap $? "the guest boots as an Intel CPU with machine-check architecture"
# MCA recovery: Linux kills one process for a machine check only when the
# CPU has MCG_SER_P (Intel) or SUCCOR (AMD). KVM on AMD (svm_setup_mce in
# 6.1) keeps bits 8:0 of MCG_CAP only and offers no SUCCOR, so no guest
# on an AMD host has it - the test VM's emulated CPU is one.
ser=$(sed -n 's/.*GUEST-MCE-MCGCAP .* ser=\([01]\).*/\1/p' $log | tr -d '\r' |
      head -1)
norecovery="the guest has no MCA recovery (MCG_SER_P clear: KVM on an AMD host, Documentation/admin-guide/paging.rst)"
[ "$ser" = 1 ] || echo "# $norecovery"

# The controls first: they show that the guest's machine-check handling
# works at all, whatever the paging service does.
pfn_hwp=$(ready hwpoison)
echo "# hwpoison: frame $pfn_hwp"
victim_ok hwpoison
e2e_tap $? "control: MADV_HWPOISON in the guest: SIGBUS BUS_MCEERR_AR"

# hmp: an action-optional machine check (memory scrubbing, 0xc0) for the
# frame: MCi_STATUS VAL|UC|EN|MISCV|ADDRV|S, MCG_STATUS MCIP|RIPV, MCi_MISC
# physical address with its least significant bit 12. Without recovery
# Linux grades it "Uncorrected", fatal when it lands in the kernel: the
# guest skips that case then (GUEST-MCE-SKIP).
if [ "$ser" = 1 ]; then
	pfn_hmp=$(ready hmp)
	echo "# hmp: frame $pfn_hmp"
	[ -n "$pfn_hmp" ] &&
		e2e_qmp g1 "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"mce 0 9 0xbd000000000000c0 0x5 $((pfn_hmp * 4096)) 0x8c\"}}" |
		sed 's/^/# qmp: /'
	victim_ok hmp
	e2e_tap $? "control: QEMU's HMP mce on the victim's frame: SIGBUS BUS_MCEERR_AR"
else
	pfn_hmp=
	e2e_skip "control: QEMU's HMP mce on the victim's frame" "$norecovery"
fi

# lost: a paging service that fails this one page's page-in
pfn_lost=$(ready lost)
t_lost=$(ticks)
id=$(stat -c %i $E2E_RUN/pool/g1)
echo "# lost: frame $pfn_lost, partition $id"
pagerd=
if [ -n "$pfn_lost" ]; then
	kvmshare-pagerd --pool $E2E_RUN/pool \
		--backend file:$E2E_RUN/pagerd.store --blocks 4096 \
		--fail-read-page "$id:$pfn_lost" \
		--pidfile $E2E_RUN/pagerd.pid > $E2E_RUN/pagerd.log 2>&1 &
	pagerd=$!
	for _ in $(seq 30); do
		[ "$(cat $pool/active_pager)" != 0 ] && break
		sleep 1
	done
	# (eviction skips a page that is busy at that moment: try again)
	for _ in $(seq 10); do
		kvmsharectl pageout $E2E_RUN/pool/g1 $((pfn_lost * 4096)) 4096 2>&1 |
			sed 's/^/# pageout: /'
		sleep 1
		[ "$(cat $pool/partitions/g1/pageouts)" -ge 1 ] && break
	done
fi
echo "# lost: pageouts $(cat $pool/partitions/g1/pageouts)," \
     "paged out $(cat $pool/partitions/g1/paged_out_pages)," \
     "pinned skips $(cat $pool/partitions/g1/pinned_skips)," \
     "resident $(cat $pool/partitions/g1/resident_pages)"
# QEMU got SIGBUS BUS_MCEERR_AR for the page and injected a machine check
# at its guest-physical address; the guest's kernel took it in user mode
# (cs 0x33) with that address.
gpa=$(printf '%x' $((${pfn_lost:-0} * 4096)))
e2e_wait g1 "ADDR $gpa " 120 &&
	grep -q "GUEST addr 0x$gpa of type BUS_MCEERR_AR injected" $E2E_RUN/g1.qemu.log &&
	grep -q 'Machine Check Exception: .* Bank 9: .*134' $log &&
	grep -q 'mce: \[Hardware Error\]: RIP 33:' $log &&
	[ "$(cat $pool/partitions/g1/pagein_errors)" -ge 1 ]
e2e_tap $? "a page lost by the paging service reaches the guest as an action-required machine check at its address"
echo "# lost: page-in errors $(cat $pool/partitions/g1/pagein_errors)," \
     "machine checks QEMU injected $(grep -c 'Guest MCE Memory Error' $E2E_RUN/g1.qemu.log)"

if [ "$ser" = 1 ]; then
	victim_ok lost
	e2e_tap $? "the lost page's process, and only it, gets SIGBUS BUS_MCEERR_AR in the guest"

	e2e_wait g1 GUEST-MCE-EXIT 60
	t0=$(ticks)
	sleep $((5 * E2E_SLACK))
	t1=$(ticks)
	echo "# ticker: $t0 -> $t1 ticks, $(tickers) process(es);" \
	     "$(grep GUEST-MCE-EXIT $log | tr -d '\r')"
	[ "$t1" -gt "$t0" ] && [ "$(tickers)" = 1 ] &&
		grep -q 'GUEST-MCE-EXIT 0' $log
	e2e_tap $? "the ticker process lives on through the machine checks"

	e2e_alive g1 && ! grep -q 'Kernel panic' $log &&
		eval "kill -0 \$E2E_PID_g1"
	e2e_tap $? "the guest kernel and QEMU stay up"
else
	# The guest logs the machine check, grades it "Uncorrected" in a
	# user process, takes no action and returns to the same load: the
	# vCPU loops on it (QEMU injects it again each time).
	e2e_skip "the lost page's process, and only it, gets SIGBUS BUS_MCEERR_AR in the guest" "$norecovery"
	echo "# ticker: $t_lost ticks before the lost page, $(tickers) process(es)"
	[ "${t_lost:-0}" -gt 0 ] && [ "$(tickers)" = 1 ]
	e2e_tap $? "the ticker process lives on through the controls"
	! grep -q 'Kernel panic' $log && eval "kill -0 \$E2E_PID_g1"
	e2e_tap $? "the guest kernel does not panic and QEMU stays up"
fi

# The lines the three machine checks cause by design; any other is bad.
hex() { printf '%x' "$1"; }
E2E_LOGS_EXPECTED="Memory failure: 0x($(hex "${pfn_lost:-0}")|$(hex "${pfn_hmp:-0}")|$(hex "${pfn_hwp:-0}")):|mce: \[Hardware Error\]|Machine check events logged|guest_mce:[0-9]+ due to hardware memory corruption"
if [ $E2E_FAILS != 0 ]; then
	echo "# g1's console but for its heartbeats:"
	grep -v 'GUEST-TICK\|GUEST-ALIVE' $log | tr -d '\r' | tail -80 |
		sed 's/^/#   /'
	echo "# g1's QEMU:"
	uniq -c $E2E_RUN/g1.qemu.log | tail -10 | sed 's/^/#   /'
fi
e2e_stop g1
e2e_logs_clean

kvmsharectl remove $E2E_RUN/pool/g1
rc=1
if [ -n "$pagerd" ]; then
	kill -TERM $pagerd
	wait $pagerd
	rc=$?
fi
kvmsharectl umount $E2E_RUN/pool
[ $rc = 0 ]
e2e_tap $? "the paging service stops cleanly"
[ $E2E_FAILS = 0 ]
