#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: scripts/tap-sum.awk, the judge of every suite, on made-up result
# streams: what it must count as passed, failed and skipped. Run by the
# lint suite (host only).

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tap-sum-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

# judge NAME "PASSED FAILED SKIPPED" PATTERN: the stream on stdin sums to
# the counts, and a line of the output matches PATTERN (grep -E; "" for
# none)
judge() {
	local name=$1 want=$2 pat=$3 got out

	cat > "$tmp/in"
	out=$(awk -v suite=t -v countfile="$tmp/counts" \
		-f "$top/scripts/tap-sum.awk" "$tmp/in")
	got=$(cat "$tmp/counts" 2>/dev/null)
	n=$((n + 1))
	if [ "$got" = "$want" ] &&
	   { [ -z "$pat" ] || printf '%s\n' "$out" | grep -qE -- "$pat"; }; then
		echo "ok $n $name"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		echo "# counts '$got', expected '$want', a line matching '$pat'"
		echo "not ok $n $name"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
echo "1..9"

judge "a clean run: every result counted" "1 0 2" "" <<EOF
KVMSHARE-BEGIN a
1..3
ok 1 x
ok 2 y # SKIP no device
not ok 3 z # TODO later
KVMSHARE-END a 0
KVMSHARE-DONE
EOF
judge "a failing result fails" "1 1 0" "not ok  a: 2 y" <<EOF
KVMSHARE-BEGIN a
1..2
ok 1 x
not ok 2 y
KVMSHARE-END a 1
KVMSHARE-DONE
EOF
judge "fewer results than planned fail" "1 1 0" "reported 1 of 2 planned" <<EOF
KVMSHARE-BEGIN a
1..2
ok 1 x
KVMSHARE-END a 0
KVMSHARE-DONE
EOF
judge "more results than planned fail" "3 1 0" "reported 3 results, more than the 2 planned" <<EOF
KVMSHARE-BEGIN a
1..2
ok 1 x
ok 2 y
ok 3 z
KVMSHARE-END a 0
KVMSHARE-DONE
EOF
judge "a non-zero exit without a failing result fails" "1 1 0" "exited with status 3" <<EOF
KVMSHARE-BEGIN a
1..1
ok 1 x
KVMSHARE-END a 3
KVMSHARE-DONE
EOF
judge "a bail-out fails with its reason" "0 1 0" "Bail out! no device" <<EOF
KVMSHARE-BEGIN a
1..2
Bail out! no device
KVMSHARE-END a 1
KVMSHARE-DONE
EOF
judge "a program that never ended fails" "2 1 0" "did not finish" <<EOF
KVMSHARE-BEGIN a
1..2
ok 1 x
KVMSHARE-BEGIN b
1..1
ok 1 y
KVMSHARE-END b 0
KVMSHARE-DONE
EOF
judge "a run without KVMSHARE-DONE fails" "1 1 0" "suite did not complete" <<EOF
KVMSHARE-BEGIN a
1..1
ok 1 x
KVMSHARE-END a 0
EOF
judge "a program with no result fails" "0 1 0" "reported no result" <<EOF
KVMSHARE-BEGIN a
KVMSHARE-END a 0
KVMSHARE-DONE
EOF
[ "$fails" = 0 ]
