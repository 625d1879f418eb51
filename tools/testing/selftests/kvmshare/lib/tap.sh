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
