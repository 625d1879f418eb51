#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every sysfs attribute kvmshare and vpa create is described in
# Documentation/ABI (installed next to this script in abi/, issue #19).
# With a pool, a partition, an attached paging service and a vpa virtual
# adapter in place, walk /sys/fs/kvmshare, the software adapter's class
# device, the mdev device and both modules' parameters: one result per
# file, failing for a file no What: line of abi/ matches (<...> in a What:
# line stands for one path component).
#
# Not ours and not walked: the driver core's uevent and power/ in every
# device directory, and VFIO's vfio-dev/ in the mdev device.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"

pool=/tmp/abi-pool
name=abitest
store=/dev/shm/abi.store
uuid=6d5c4b3a-2f1e-4c7b-8e9d-0a1b2c3d4e5f
pat=/tmp/abi-what.re
list=/tmp/abi-files
loaded=""
pagerd=""

cleanup() {
	[ -n "$pagerd" ] && kill "$pagerd" 2>/dev/null && wait "$pagerd"
	[ -e /sys/bus/mdev/devices/$uuid ] &&
		echo 1 > /sys/bus/mdev/devices/$uuid/remove
	grep -q " $pool kvmshare " /proc/mounts && umount $pool
	rm -f $store $pat $list /tmp/abi-pagerd.pid /tmp/abi-pagerd.log
	for m in $loaded; do
		rmmod "$m"
	done
}
trap cleanup EXIT

for m in kvmshare vpa; do
	if ! grep -q "^$m " /proc/modules; then
		modprobe "$m" && loaded="$m $loaded"
	fi
done

# The What: lines as anchored extended regular expressions.
sed -n 's/^What:[[:space:]]*//p' "$here"/abi/sysfs-* |
	sed 's/[.]/\\./g; s|<[^>]*>|[^/]+|g; s/^/^/; s/$/$/' > $pat

setup=0
mkdir -p $pool
kvmsharectl mount $pool size=16M name=$name > /dev/null &&
	kvmsharectl create $pool/p 8M > /dev/null || setup=1
rm -f $store /tmp/abi-pagerd.pid
kvmshare-pagerd --pool $pool --backend file:$store --blocks 16384 \
	--pidfile /tmp/abi-pagerd.pid > /tmp/abi-pagerd.log 2>&1 &
pagerd=$!
for _ in $(seq 1 50); do
	[ -f /tmp/abi-pagerd.pid ] && break
	sleep 0.2
done
echo $uuid > /sys/class/vpa/vpa0/mdev_supported_types/vpa-small/create ||
	setup=1

# walk DIR PREFIX: the regular files under DIR, named PREFIX/relative path;
# symbolic links (driver, subsystem, iommu_group ...) are not followed.
walk() {
	(cd "$1" && find . -type f) | sed 's|^\./||' |
	while read -r f; do
		case "/$f" in
		*/uevent | */power/* | /vfio-dev/* | /$uuid/*) continue ;;
		esac
		echo "$2/$f"
	done
}
{
	walk /sys/fs/kvmshare /sys/fs/kvmshare
	walk /sys/class/vpa/vpa0 /sys/class/vpa/vpa0
	walk /sys/bus/mdev/devices/$uuid /sys/bus/mdev/devices/$uuid
	walk /sys/module/kvmshare/parameters /sys/module/kvmshare/parameters
	walk /sys/module/vpa/parameters /sys/module/vpa/parameters
} | LC_ALL=C sort -u > $list

echo "TAP version 13"
echo "1..$(($(wc -l < $list) + 5))"
is "a pool, a partition and a vpa-small virtual adapter are created" 0 $setup
is "the paging service is attached" 1 \
	"$(cat /sys/fs/kvmshare/$name/pagers 2>/dev/null)"
ok "the walk found the partition's files" \
	grep -q "^/sys/fs/kvmshare/$name/partitions/p/metrics/ok$" $list
ok "the walk found the virtual adapter's files" \
	grep -q "^/sys/bus/mdev/devices/$uuid/vpa/rid$" $list
ok "the walk found the adapter's and the parameters' files" \
	sh -c "grep -q '^/sys/class/vpa/vpa0/vpa_wq/free$' $list &&
	       grep -q '^/sys/module/kvmshare/parameters/evict_batch$' $list"
while read -r f; do
	n=$((n + 1))
	if echo "$f" | grep -qE -f $pat; then
		echo "ok $n in Documentation/ABI: $f"
	else
		echo "not ok $n not in Documentation/ABI: $f"
		fails=$((fails + 1))
	fi
done < $list
[ "$fails" = 0 ] || exit 1
