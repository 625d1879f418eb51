#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The load order of Documentation/admin-guide/installing.rst, "Without
# installing (insmod)", command by command (issue #16): kvmshare.ko alone
# with its parameters, then the kernel's vfio_iommu_type1 and mdev by
# modprobe, then vpa.ko, which creates vpa0; vpa.ko before them is
# refused; unloading in the reverse order. The .ko files are the VM's
# copies in /lib/modules/$(uname -r)/extra.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"

ko=/lib/modules/$(uname -r)/extra

loaded() {
	grep -q "^$1 " /proc/modules
}

# none of ours, and not what vpa needs (so that order matters)
unloaded() {
	for m in vpa kvmshare vfio_iommu_type1 mdev; do
		if loaded "$m" && ! rmmod "$m"; then
			echo "$m is loaded and cannot be unloaded"
			return 1
		fi
	done
}

kvmshare_alone() {
	insmod "$ko/kvmshare.ko" sample_ms=1000 pager_timeout_ms=10000 &&
		loaded kvmshare &&
		crc_impl_named &&
		[ "$(cat /sys/module/kvmshare/parameters/pager_timeout_ms)" = 10000 ] &&
		[ "$(cat /sys/module/kvmshare/parameters/sample_ms)" = 1000 ]
}

# The load message names the crc32c of page-outs and page-ins and, when
# the crypto API has one (crc32c_intel loaded, as scripts/vm/init does and
# udev would), what each took for a page: the faster one is in use.
crc_impl_named() {
	line=$(dmesg | grep 'kvmshare: version .* loaded' | tail -1)
	echo "# $line"
	case "$line" in
	*"(crc32c: lib/crc32)"|*"(crc32c: "*"; a page: lib/crc32 "*) ;;
	*) return 1 ;;
	esac
	case "$line" in *"; a page: "*) ;; *) return 0 ;; esac
	# shellcheck disable=SC2046 # (three words, split on purpose)
	set -- $(echo "$line" | sed -n 's/.*crc32c: \([^;]*\); a page: lib\/crc32 \([0-9]*\) ns, crypto API \([0-9]*\) ns.*/\1 \2 \3/p')
	[ $# = 3 ] || return 1
	if [ "$1" = lib/crc32 ]; then
		[ "$2" -le "$3" ]
	else
		[ "$3" -le "$2" ]
	fi
}

vfio_mdev() {
	modprobe vfio_iommu_type1 && modprobe mdev &&
		loaded vfio && loaded vfio_iommu_type1 && loaded mdev
}

vpa_after() {
	insmod "$ko/vpa.ko" sw_adapters=1 && loaded vpa &&
		[ -e /sys/class/vpa/vpa0 ]
}

unload() {
	rmmod vpa && rmmod kvmshare && ! loaded vpa && ! loaded kvmshare
}

echo "TAP version 13"
echo "1..6"
ok "start: vpa, kvmshare, vfio_iommu_type1, mdev not loaded" unloaded
bad "insmod vpa.ko before vfio and mdev is refused" insmod "$ko/vpa.ko"
ok "insmod kvmshare.ko sample_ms=1000 pager_timeout_ms=10000, nothing else needed; its crc32c named" \
	kvmshare_alone
ok "modprobe vfio_iommu_type1; modprobe mdev" vfio_mdev
ok "insmod vpa.ko sw_adapters=1 after them: vpa0 exists" vpa_after
ok "rmmod vpa; rmmod kvmshare" unload
rmmod vfio_iommu_type1 mdev 2>/dev/null
[ "$fails" = 0 ]
