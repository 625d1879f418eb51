#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmsharectl end to end: mount a pool, create and tune partitions, show
# status, refuse bad input with a message and a non-zero exit, clean up.

. "$(dirname "$0")/../lib/tap.sh"

P=/tmp/ctlpool
sys=/sys/fs/kvmshare/ctlpool
echo "TAP version 13"
echo "1..22"
ok "mount a 32M pool" kvmsharectl mount $P size=32M reserve=1M name=ctlpool
ok "create a partition with attributes" \
	kvmsharectl create $P/vm1 16M entitlement=4M limit=12M weight=200
has "entitlement is set" '^1024$' $sys/partitions/vm1/entitlement_pages
has "limit is set" '^3072$' $sys/partitions/vm1/limit_pages
has "weight is set" '^200$' $sys/partitions/vm1/weight
ok "create a second partition" kvmsharectl create $P/vm2 8M
ok "set an attribute" kvmsharectl set $P/vm2 weight=50
has "weight changed" '^50$' $sys/partitions/vm2/weight
kvmsharectl status $P > /tmp/status.out 2>&1
has "status shows the pool" 'pages: size 8192 used 0' /tmp/status.out
has "status lists vm1" '^vm1 +16.0 MiB .* 200 ' /tmp/status.out
has "status lists vm2" '^vm2 +8.0 MiB' /tmp/status.out
bad "entitlement above the pool is refused" \
	kvmsharectl set $P/vm2 entitlement=64M
bad "entitlement above the limit is refused" \
	kvmsharectl set $P/vm1 entitlement=13M
bad "bad weight is refused" kvmsharectl set $P/vm1 weight=0
bad "bad size is refused" kvmsharectl create $P/vm3 12X
n=$((n + 1))
if [ -e $P/vm3 ]; then
	echo "not ok $n a failed create leaves no file"
	fails=$((fails + 1))
else
	echo "ok $n a failed create leaves no file"
fi
bad "unknown attribute is refused" kvmsharectl set $P/vm1 colour=blue
bad "shrinking below entitlements is refused" kvmsharectl resize $P size=2M
bad "bad mount option is refused" kvmsharectl mount /tmp/x size=lots
ok "remove partitions" sh -c "kvmsharectl remove $P/vm1 && kvmsharectl remove $P/vm2"
ok "umount" kvmsharectl umount $P
n=$((n + 1))
if [ -e $sys ]; then
	echo "not ok $n pool left sysfs"
	fails=$((fails + 1))
else
	echo "ok $n pool left sysfs"
fi
[ $fails = 0 ]
