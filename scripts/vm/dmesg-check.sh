#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP: the kernel log of this boot has no warning, BUG, oops, lockup or
# sanitizer report. Lines that match are printed as diagnostics.
#
# On a kernel with kmemleak (make check KERNEL=debug) it first has kmemleak
# scan memory and fails on any unreferenced object it reports: run-progs.sh
# cleared what boot left before the suite started, so what is left is the
# suite's (see Documentation/dev-guide.rst, "The debug-kernel lane", for the
# known false positives filtered below).

kml=/sys/kernel/debug/kmemleak
plan=1
[ -w $kml ] && plan=2
echo "TAP version 13"
echo "1..$plan"
rc=0

if [ -w $kml ]; then
	# kmemleak reports objects at least 5 s old at the time of a scan
	sleep 6
	echo scan > $kml
	# One block per object: "unreferenced object 0x... (size N):" and
	# its indented lines. Known false positives are dropped by the first
	# frame of their backtrace (none known yet: keep this list narrow).
	leaks=$(awk '
		/^unreferenced object/ { flush(); blk = $0; next }
		{ blk = blk "\n" $0 }
		function flush() { if (blk != "" && !fp) print blk; blk = ""; fp = 0 }
		END { flush() }
	' $kml)
	if [ -n "$leaks" ]; then
		n=$(echo "$leaks" | grep -c '^unreferenced object')
		echo "$leaks" | head -120 | sed 's/^/# /'
		echo "not ok 1 kmemleak: no unreferenced objects ($n found)"
		rc=1
	else
		echo "ok 1 kmemleak: no unreferenced objects"
	fi
fi

# Generic: WARN, BUG (also KASAN, KFENCE, sleeping in atomic context, bad
# page state), oops, lockups, stalls, UBSAN. Debug kernel: lockdep (circular
# or recursive locking, inconsistent lock state, irq lock inversion,
# suspicious RCU usage), SLUB's checks ("BUG kmalloc-64 (Tainted): Redzone
# overwritten"), debugobjects (ODEBUG), DEBUG_VM (page dumps) and kmemleak.
pat='WARNING:|BUG:|Oops|general protection|Call Trace:|soft lockup|hung_task|blocked for more than|RCU stall|UBSAN|KASAN|kernel BUG|list_add corruption|list_del corruption|refcount_t:'
pat="$pat"'|KFENCE|possible circular locking|possible recursive locking|inconsistent lock state|INFO: possible|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|trying to register non-static key|bad unlock balance|held lock freed|leaked lock|BUG [^ ]+ \(|ODEBUG: .*object|page dumped because|Bad page|VM_BUG_ON|suspected memory leak'
bad=$(dmesg | grep -E "$pat")
if [ -n "$bad" ]; then
	if [ $plan = 2 ]; then
		# debug kernel: the whole reports (with their stacks) are wanted
		dmesg | grep -E -A 40 "$pat" | head -400 | sed 's/^/# /'
	else
		echo "$bad" | head -40 | sed 's/^/# /'
	fi
	echo "not ok $plan kernel log is free of warnings and oopses"
	exit 1
fi
echo "ok $plan kernel log is free of warnings and oopses"
exit $rc
