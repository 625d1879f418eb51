#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test VM's initramfs: busybox-static, the in-tree modules the
# tests need (with their dependencies) from the Debian kernel image package,
# our modules, the test programs and the suite descriptions.
#
#   scripts/mkinitrd.sh OUT.gz
#
# Expects `make modules` and `make selftests` to have run.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
out=$1

kdir=$("$top/scripts/kernel.sh" fetch)
krel=$("$top/scripts/kernel.sh" krel)
kroot=$kdir/root

# In-tree modules the tests use; dependencies are resolved by modprobe.
intree="kvm_amd kvm_intel vfio_iommu_type1 vfio_pci mdev 9pnet_virtio 9p
	virtio_pci virtio_balloon virtio_net aer_inject hwpoison_inject
	mce-inject"

stage=$(mktemp -d "$build/initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,kvmshare/bin}
mkdir -p "$stage/lib/modules/$krel/extra"
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$top/scripts/vm/init" "$stage/init"
chmod 755 "$stage/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
echo "root:x:0:" > "$stage/etc/group"

for m in $intree; do
	modprobe -d "$kroot" -S "$krel" --show-depends "$m" 2>/dev/null |
		awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r f; do
	rel=${f#"$kroot"}
	mkdir -p "$stage/$(dirname "$rel")"
	cp "$f" "$stage/$rel"
done
cp "$kroot/lib/modules/$krel/modules.order" \
   "$kroot/lib/modules/$krel/modules.builtin" \
   "$kroot/lib/modules/$krel/modules.builtin.modinfo" \
   "$stage/lib/modules/$krel/"

# Our modules (every .ko the Kbuild tree produced).
while read -r ko; do
	cp "$ko" "$stage/lib/modules/$krel/extra/"
done < <(find "$top/kvm" "$top/drivers" -name '*.ko' 2>/dev/null)
depmod -b "$stage" "$krel"

# Test programs, suite descriptions and the in-VM runner.
cp "$top/scripts/vm/run-progs.sh" "$top/scripts/vm/dmesg-check.sh" \
   "$stage/kvmshare/"
cp -r "$top/scripts/suites" "$stage/kvmshare/suites"
if [ -d "$build/selftests" ]; then
	cp -r "$build/selftests/." "$stage/kvmshare/bin/"
fi
# The tools (kvmsharectl, paging service ...), on the VM's PATH.
if [ -d "$build/tools" ]; then
	find "$build/tools" -maxdepth 1 -type f -perm -u+x \
		-exec cp {} "$stage/kvmshare/bin/" \;
fi

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
	gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
