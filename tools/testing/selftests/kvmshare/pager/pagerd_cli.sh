#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmshare-pagerd's command line, without a pool: every bad option is
# refused with exit status 2 and a message, failures to open the back end
# or to attach with status 1, before anything is served.

here=$(cd "$(dirname "$0")" && pwd)
pagerd=$(command -v kvmshare-pagerd)
for p in "${KVMSHARE_PROGDIR:-$here/..}/../tools/kvmshare-pagerd" \
	 "$here/../../tools/kvmshare-pagerd"; do
	[ -x "$p" ] && pagerd=$p && break
done

echo "TAP version 13"
echo "1..17"
if [ -z "$pagerd" ]; then
	i=1
	while [ $i -le 17 ]; do
		echo "not ok $i kvmshare-pagerd not found"
		i=$((i + 1))
	done
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/pagerd-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

# exits STATUS PATTERN DESCRIPTION ARG...: the daemon must exit with STATUS
# and print a line matching PATTERN.
exits() {
	want=$1 pat=$2 d=$3
	shift 3
	n=$((n + 1))
	out=$("$pagerd" "$@" 2>&1)
	got=$?
	if [ "$got" = "$want" ] && printf '%s\n' "$out" | grep -qE "$pat"; then
		printf '%s\n' "$out" | head -1 | sed 's/^/# /'
		echo "ok $n $d"
	else
		printf '%s\n' "$out" | head -5 | sed 's/^/# /'
		echo "# exit status $got, wanted $want and /$pat/"
		echo "not ok $n $d"
		fails=$((fails + 1))
	fi
}

f="file:$tmp/store"
exits 0 "^Usage:.*--pool DIR" "--help prints the usage" --help
exits 2 "required" "--pool, --backend and --blocks are required" \
	--backend "$f" --blocks 8
exits 2 "required" "--blocks is required" --pool "$tmp" --backend "$f"
exits 2 "unrecognized option" "unknown option" --pool "$tmp" \
	--backend "$f" --blocks 8 --bogus
exits 2 "bad --backend" "unknown back end" --pool "$tmp" \
	--backend "nbd:/dev/nbd0" --blocks 8
exits 2 "bad value for --blocks" "zero blocks" --pool "$tmp" \
	--backend "$f" --blocks 0
exits 2 "bad value for --blocks" "negative blocks" --pool "$tmp" \
	--backend "$f" --blocks -1
exits 2 "bad value for --entries" "entries not a power of two" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 100
exits 2 "bad value for --entries" "entries beyond the maximum" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 8192
exits 2 "bad value for --slots" "no slots" --pool "$tmp" \
	--backend "$f" --blocks 8 --slots 0
exits 2 "is more than --entries" "more slots than entries" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 16 --slots 32
exits 2 "bad value for --fail-read-page" "fail-read-page without index" \
	--pool "$tmp" --backend "$f" --blocks 8 --fail-read-page 3
exits 2 "bad value for --die-after" "die-after not a number" \
	--pool "$tmp" --backend "$f" --blocks 8 --die-after soon
exits 2 "unexpected argument" "stray argument" --pool "$tmp" \
	--backend "$f" --blocks 8 extra
: > "$tmp/plain"
exits 1 "not a block device" "blockdev back end on a regular file" \
	--pool "$tmp" --backend "blockdev:$tmp/plain" --blocks 8
exits 1 "attach to .*: Inappropriate ioctl" \
	"attaching to a directory that is no pool" \
	--pool "$tmp" --backend "$f" --blocks 8 --pidfile "$tmp/pid"

# The failed attach left a sized sparse store and no pidfile behind.
n=$((n + 1))
size=$(stat -c %s "$tmp/store" 2>/dev/null)
if [ "$size" = 32768 ] && [ ! -e "$tmp/pid" ]; then
	echo "ok $n the file back end is created with the capacity"
else
	echo "# size '$size', pidfile: $(ls "$tmp")"
	echo "not ok $n the file back end is created with the capacity"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ]
