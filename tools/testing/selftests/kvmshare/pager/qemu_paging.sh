#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: two Linux guests, booted by the host's unmodified QEMU,
# whose RAM together (2 x 256 MiB) exceeds their pool (256 MiB), with the
# reference paging service (kvmshare-pagerd, file back end) attached. Each
# guest writes 64 MiB of random data and verifies its checksums three
# times: every checksum must be right while the pool pages them out and
# back in.

. "$(dirname "$0")/../lib/e2e.sh"

pool=/sys/fs/kvmshare/e2epg
num() { cat "$pool/partitions/$1/$2"; }

echo "TAP version 13"
echo "1..10"
e2e_setup
mkdir -p $E2E_RUN/pool
e2e_check "mount a 256M pool" \
	kvmsharectl mount $E2E_RUN/pool size=256M name=e2epg
kvmshare-pagerd --pool $E2E_RUN/pool --backend file:$E2E_RUN/pagerd.store \
	--blocks 196608 --pidfile $E2E_RUN/pagerd.pid \
	> $E2E_RUN/pagerd.log 2>&1 &
pagerd=$!
t=0
while [ "$(cat $pool/active_pager)" = 0 ] && [ $t -lt 20 ]; do
	sleep 1
	t=$((t + 1))
done
[ "$(cat $pool/active_pager)" != 0 ]
e2e_tap $? "kvmshare-pagerd attaches as the active paging service"
e2e_check "create two 256M partitions" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 256M &&
	 kvmsharectl create $E2E_RUN/pool/g2 256M"

e2e_qemu g1 /run/pool/g1 256M checksum
e2e_qemu g2 /run/pool/g2 256M checksum
e2e_booted g1 180 && e2e_booted g2 180 &&
	e2e_wait g1 GUEST-DONE 600 && e2e_wait g2 GUEST-DONE 300
rc=$?
for g in g1 g2; do
	grep GUEST- $E2E_RUN/$g.log | tail -3 | sed "s/^/# $g: /"
done
e2e_tap $rc "both guests write and verify 64 MiB three times"
for g in g1 g2; do
	ok=$(grep -c 'GUEST-CHECK .* ok' $E2E_RUN/$g.log)
	grep 'GUEST-CHECK .* BAD' $E2E_RUN/$g.log | sed 's/^/# /'
	echo "# $g: resident $(num $g resident_pages) paged out" \
	     "$(num $g paged_out_pages) zero $(num $g zero_pages)" \
	     "pageouts $(num $g pageouts) pageins $(num $g pageins)"
	[ "$ok" = 3 ]
	e2e_tap $? "$g: every checksum is right in all three passes"
done
out=$(( $(num g1 pageouts) + $(num g2 pageouts) ))
in=$(( $(num g1 pageins) + $(num g2 pageins) ))
echo "# pool: used $(cat $pool/used_pages) of $(cat $pool/size_pages);" \
     "blocks used $(cat $pool/blocks_used); pageouts $out, pageins $in"
[ $out -gt 0 ] && [ $in -gt 0 ]
e2e_tap $? "the guests were paged out and back in ($out out, $in in)"
[ $(( $(num g1 pagein_errors) + $(num g2 pagein_errors) )) = 0 ]
e2e_tap $? "no page-in failed"
[ "$(cat $pool/used_pages)" -le "$(cat $pool/size_pages)" ]
e2e_tap $? "the pool never holds more than its size"

e2e_stop g1
e2e_stop g2
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
t=0
while [ "$(cat $pool/blocks_used)" != 0 ] && [ $t -lt 20 ]; do
	sleep 1
	t=$((t + 1))
done
kill -TERM $pagerd
wait $pagerd
rc=$?
sed 's/^/# pagerd: /' $E2E_RUN/pagerd.log | tail -4
used=$(cat $pool/used_pages)
blocks=$(cat $pool/blocks_used)
kvmsharectl umount $E2E_RUN/pool
[ $rc = 0 ] && [ "$used" = 0 ] && [ "$blocks" = 0 ]
e2e_tap $? "SIGTERM stops the service cleanly; the pool and store are empty"
[ $E2E_FAILS = 0 ]
