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
# exits DESCRIPTION STATUS PATTERN COMMAND...: the daemon must exit with
# STATUS and print a line matching PATTERN
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"


f="file:$tmp/store"
exits "--help prints the usage" 0 "^Usage:.*--pool DIR" "$pagerd" --help
exits "--pool, --backend and --blocks are required" 2 "required" "$pagerd" \
	--backend "$f" --blocks 8
exits "--blocks is required" 2 "required" "$pagerd" --pool "$tmp" --backend "$f"
exits "unknown option" 2 "unrecognized option" "$pagerd" --pool "$tmp" \
	--backend "$f" --blocks 8 --bogus
exits "unknown back end" 2 "bad --backend" "$pagerd" --pool "$tmp" \
	--backend "nbd:/dev/nbd0" --blocks 8
exits "zero blocks" 2 "bad value for --blocks" "$pagerd" --pool "$tmp" \
	--backend "$f" --blocks 0
exits "negative blocks" 2 "bad value for --blocks" "$pagerd" --pool "$tmp" \
	--backend "$f" --blocks -1
exits "entries not a power of two" 2 "bad value for --entries" "$pagerd" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 100
exits "entries beyond the maximum" 2 "bad value for --entries" "$pagerd" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 8192
exits "no slots" 2 "bad value for --slots" "$pagerd" --pool "$tmp" \
	--backend "$f" --blocks 8 --slots 0
exits "more slots than entries" 2 "is more than --entries" "$pagerd" \
	--pool "$tmp" --backend "$f" --blocks 8 --entries 16 --slots 32
exits "fail-read-page without index" 2 "bad value for --fail-read-page" "$pagerd" \
	--pool "$tmp" --backend "$f" --blocks 8 --fail-read-page 3
exits "die-after not a number" 2 "bad value for --die-after" "$pagerd" \
	--pool "$tmp" --backend "$f" --blocks 8 --die-after soon
exits "stray argument" 2 "unexpected argument" "$pagerd" --pool "$tmp" \
	--backend "$f" --blocks 8 extra
: > "$tmp/plain"
exits "blockdev back end on a regular file" 1 "not a block device" "$pagerd" \
	--pool "$tmp" --backend "blockdev:$tmp/plain" --blocks 8
exits "attaching to a directory that is no pool" 1 \
	"attach to .*: Inappropriate ioctl" "$pagerd" \
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
