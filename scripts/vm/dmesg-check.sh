#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP: the kernel log of this boot has no warning, BUG, oops, lockup or
# sanitizer report. Lines that match are printed as diagnostics.

pat='WARNING:|BUG:|Oops|general protection|Call Trace:|soft lockup|hung_task|blocked for more than|RCU stall|UBSAN|KASAN|kernel BUG|list_add corruption|list_del corruption|refcount_t:'
echo "TAP version 13"
echo "1..1"
bad=$(dmesg | grep -E "$pat")
if [ -n "$bad" ]; then
	echo "$bad" | head -40 | sed 's/^/# /'
	echo "not ok 1 kernel log is free of warnings and oopses"
	exit 1
fi
echo "ok 1 kernel log is free of warnings and oopses"
