#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The shipped libvirt hook (dist/examples/libvirt-hook-qemu) on a real
# pool, called as libvirtd calls it: a pool where libvirt 9.0 puts its
# domains' RAM (<memory_backing_dir>/libvirt/qemu/<id>-<name>/pc.ram), the
# domain's XML on stdin. At "started" it gives the partition the
# attributes of <kvmshare:partition> and binds the control file named by
# metrics=; it refuses bad values and names, a missing control file and a
# domain without RAM on the pool, each with a message and exit status 1
# (libvirt then does not start the domain); at "release" it removes the
# control file. The suite libvirt runs it under libvirtd itself.

# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# the source tree's hook: the host's, in the test VM (VM_HOSTROOT=1), or
# the one of the tree this script is in
HOOK=/host${KVMSHARE_SRCDIR:-/nonexistent}/dist/examples/libvirt-hook-qemu
[ -f "$HOOK" ] ||
	HOOK=$(dirname "$0")/../../../../../dist/examples/libvirt-hook-qemu
MBD=/tmp/lvhook
P=$MBD/libvirt/qemu
sys=/sys/fs/kvmshare/lvhook
part="$sys/partitions/7-vm1!pc.ram"
NS=urn:kvmshare:partition:1
echo "TAP version 13"
echo "1..19"

if [ ! -f "$HOOK" ]; then
	echo "Bail out! no dist/examples/libvirt-hook-qemu (in the test VM the suite needs VM_HOSTROOT=1)"
	exit 1
fi
echo "memory_backing_dir = \"$MBD\"" > /tmp/lvhook-qemu.conf

# hook PHASE ID ATTRIBUTES: the hook for domain vm1 (id ID) whose XML has
# <kvmshare:partition ATTRIBUTES/> (none when ATTRIBUTES is '-')
hook() {
	{
		echo "<domain type='kvm' id='$2'>"
		echo "  <name>vm1</name>"
		[ "$3" = - ] ||
			echo "  <metadata><kvmshare:partition xmlns:kvmshare=\"$NS\" $3/></metadata>"
		echo "</domain>"
	} | KVMSHARE_QEMU_CONF=/tmp/lvhook-qemu.conf sh "$HOOK" vm1 "$1" begin -
}

ok "a pool at memory_backing_dir/libvirt/qemu, vm1's RAM in 7-vm1/pc.ram" \
	sh -c "mkdir -p $P && kvmsharectl mount $P size=64M name=lvhook &&
	       mkdir $P/7-vm1 && kvmsharectl create $P/7-vm1/pc.ram 16M"
# QEMU's memory-backend-file creates the control file it is given.
ok "QEMU's control file vm1.metrics in the pool's root" \
	kvmsharectl create $P/vm1.metrics 1M

exits "phases other than started and release: nothing done" 0 '' \
	hook prepare 7 'weight="not-a-number"'
exits "a domain without <kvmshare:partition>: left alone" 0 '' hook started 7 -
is "  its weight is the pool's default" 100 "$(cat "$part/weight")"
exits "started: attributes and metrics= applied" 0 '' \
	hook started 7 'entitlement="8M" limit="32M" weight="300" metrics="vm1.metrics"'
is "  entitlement, limit, weight and the control file read back" \
	"2048 8192 300 vm1.metrics" \
	"$(cat "$part/entitlement_pages" "$part/limit_pages" "$part/weight" \
	       "$part/metrics_file" | tr '\n' ' ' | sed 's/ $//')"

exits "a bad value is refused" 1 'bad weight="3;x"' \
	hook started 7 'weight="3;x"'
exits "a value kvmsharectl refuses fails the start" 1 \
	'kvmsharectl set .* failed' hook started 7 'weight="0"'
for name in ../x .hidden a/b 'a b'; do
	exits "metrics=\"$name\" is refused" 1 "bad metrics=" \
		hook started 7 "metrics=\"$name\""
done
exits "a control file that does not exist fails the start" 1 \
	'no control file .*/nope.metrics' hook started 7 'metrics="nope.metrics"'
exits "a domain with no RAM file on the pool fails the start" 1 \
	'no guest RAM file in' hook started 8 'weight="200"'
absent "  and nothing was made for it" $P/nope.metrics

exits "release: the hook removes the control file" 0 '' \
	hook release 7 'metrics="vm1.metrics"'
absent "  gone, and with it the binding" $P/vm1.metrics
is "  the partition has no control file" "" "$(cat "$part/metrics_file")"

kvmsharectl remove $P/7-vm1/pc.ram >/dev/null 2>&1
rmdir $P/7-vm1 2>/dev/null
kvmsharectl umount $P >/dev/null 2>&1 || umount $P
rm -rf $MBD /tmp/lvhook-qemu.conf
[ $fails = 0 ]
