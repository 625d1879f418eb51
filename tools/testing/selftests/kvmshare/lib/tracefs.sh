#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for shell tests of trace events, sourced after tap.sh (each
# check is one numbered result, as there):
#
#   tracefs_init PLAN      mount tracefs at $T if it is not; a kernel
#                          without event tracing gets PLAN skipped
#                          results and the script exits 0
#   tracefs_missing SYS    read "EVENT FIELD..." lines on stdin, print
#                          EVENT.FIELD for every field the format of
#                          event EVENT of system SYS lacks
#   trace EXPR DESCRIPTION a line of the trace matches EXPR (grep -E);
#                          if none does, the first lines of the same
#                          event are the diagnostics
#   trace_wait EXPR        wait until a line matches EXPR (at most 6 s)
#
# The trace is copied to $tout for the caller's own counts.

T=/sys/kernel/tracing
tout=/tmp/tracefs-test.$$

tracefs_init() {
	grep -q " $T tracefs " /proc/mounts ||
		mount -t tracefs nodev $T 2> /dev/null
	[ -d $T/events ] && return
	for i in $(seq 1 "$1"); do
		echo "ok $i # SKIP no event tracing in this kernel"
	done
	exit 0
}

tracefs_missing() {
	while read -r ev flds; do
		for x in $flds; do
			grep -q "field:.* $x\(\[[^]]*\]\)\{0,1\};" \
				"$T/events/$1/$ev/format" 2> /dev/null ||
				echo "$ev.$x"
		done
	done
}

trace() {
	n=$((n + 1))
	cat $T/trace > "$tout"
	if grep -qE "$1" "$tout"; then
		echo "ok $n $2"
	else
		echo "# no line matches: $1"
		grep "${1%%:*}:" "$tout" | head -5 | sed 's/^/# /'
		echo "not ok $n $2"
		fails=$((fails + 1))
	fi
}

trace_wait() {
	for _ in $(seq 1 30); do
		grep -qE "$1" $T/trace && return
		sleep 0.2
	done
}
