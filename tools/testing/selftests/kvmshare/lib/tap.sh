#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for shell tests, sourced: each call is one numbered result,
# counted in $n; failures in $fails.

n=0
fails=0

ok() {		# ok DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $d"
	else
		echo "$out" | sed 's/^/# /'
		echo "not ok $n $d"
		fails=$((fails + 1))
	fi
}

bad() {		# bad DESCRIPTION COMMAND...: must fail, saying why
	d=$1; shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "# unexpectedly succeeded: $out"
		echo "not ok $n $d"
		fails=$((fails + 1))
	elif [ -z "$out" ]; then
		echo "not ok $n $d (no message)"
		fails=$((fails + 1))
	else
		echo "# $out" | head -1
		echo "ok $n $d"
	fi
}

has() {		# has DESCRIPTION PATTERN FILE: the file has a matching line
	n=$((n + 1))
	if grep -qE "$2" "$3"; then
		echo "ok $n $1"
	else
		sed 's/^/# /' "$3"
		echo "not ok $n $1"
		fails=$((fails + 1))
	fi
}

is() {		# is DESCRIPTION EXPECTED ACTUAL
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n $1"
	else
		echo "# expected '$2', got '$3'"
		echo "not ok $n $1"
		fails=$((fails + 1))
	fi
}

exits() {	# exits DESCRIPTION STATUS PATTERN COMMAND...: the command
		# exits with STATUS, its output (stdout and stderr) has a
		# line matching PATTERN (grep -E)
	d=$1 tap_want=$2 tap_pat=$3; shift 3
	n=$((n + 1))
	out=$("$@" 2>&1)
	tap_rc=$?
	if [ "$tap_rc" = "$tap_want" ] &&
	   printf '%s\n' "$out" | grep -qE -- "$tap_pat"; then
		printf '%s\n' "$out" | head -1 | sed 's/^/# /'
		echo "ok $n $d"
	else
		printf '%s\n' "$out" | head -20 | sed 's/^/# /'
		echo "# exit status $tap_rc (expected $tap_want), a line matching '$tap_pat' expected"
		echo "not ok $n $d"
		fails=$((fails + 1))
	fi
}

absent() {	# absent DESCRIPTION PATH...: none of the paths exists
	d=$1; shift
	n=$((n + 1))
	tap_there=
	for tap_p in "$@"; do
		[ -e "$tap_p" ] && tap_there="$tap_there $tap_p"
	done
	if [ -z "$tap_there" ]; then
		echo "ok $n $d"
	else
		echo "# left behind:$tap_there"
		echo "not ok $n $d"
		fails=$((fails + 1))
	fi
}
