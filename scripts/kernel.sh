#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Find the newest installed Debian kernel headers and make the matching
# kernel image available for the test VM (downloaded, never installed).
#
#   scripts/kernel.sh krel     print the kernel release (e.g. 6.1.0-56-amd64)
#   scripts/kernel.sh fetch    unpack linux-image-$KREL into
#                              $KVMSHARE_KCACHE/$KREL and print that directory
#   scripts/kernel.sh kdir     print the tree modules are built against
#
# With KVMSHARE_KERNEL_LANE=debug (make check KERNEL=debug) the same commands
# name the debug kernel instead: Debian's linux-source-6.1 configured as
# Debian's own image (trimmed to what the test VM loads) plus
# scripts/debug-kernel.config (KASAN, lockdep, kmemleak ...). `fetch` builds
# it the first time into $KVMSHARE_KCACHE/debug-<version>-<hash>, a
# directory laid out like the unpacked image (vmlinuz, root/lib/modules,
# root/boot/config-*) plus build/ (the kernel tree for M= module builds);
# the hash covers the fragment and the module list below, so editing either
# rebuilds. The build runs under nice -n 19; its log is build.log there.
#
# The ABI number is derived from /usr/src every time: Debian may move to a
# newer one at any point. The unpacked image lives outside the source tree
# (default /var/tmp/kvmshare-kernel): `make -C ... M=<tree> clean` deletes
# every *.ko below the tree, which would take the image's modules with it.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kcache=${KVMSHARE_KCACHE:-/var/tmp/kvmshare-kernel}

krel() {
	local k
	k=$(ls /usr/src 2>/dev/null |
	    sed -n 's/^linux-headers-\(6\.1\..*-amd64\)$/\1/p' | sort -V | tail -1)
	if [ -z "$k" ]; then
		echo "kernel.sh: no linux-headers-6.1.*-amd64 in /usr/src" \
		     "(run scripts/deps.sh)" >&2
		exit 1
	fi
	echo "$k"
}

fetch() {
	local k dir tmp deb
	k=$(krel)
	dir=$kcache/$k
	if [ -f "$dir/.done" ]; then
		echo "$dir"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	tmp=$(mktemp -d "$kcache/dl.XXXXXX")
	# apt-get download writes into the current directory; run it as a
	# user that can write there (root in CI, the _apt sandbox otherwise).
	if ! (cd "$tmp" && apt-get download -q "linux-image-$k" >&2 2>/dev/null); then
		(cd "$tmp" && apt-get update -q >/dev/null &&
		 apt-get download -q "linux-image-$k" >&2)
	fi
	deb=$(ls "$tmp"/linux-image-"$k"_*.deb)
	dpkg-deb -x "$deb" "$dir/root"
	rm -rf "$tmp"
	cp "$dir/root/boot/vmlinuz-$k" "$dir/vmlinuz"
	# the package ships no modules.dep: it is made at install time
	depmod -b "$dir/root" "$k"
	touch "$dir/.done"
	echo "$dir"
}

# In-tree modules the test VM loads (scripts/mkinitrd.sh, scripts/vm/init):
# the debug kernel is trimmed with `make localmodconfig` to these and what
# they depend on, so that it builds in reasonable time on two cores.
debug_mods="kvm kvm_amd irqbypass vfio vfio_iommu_type1
	vfio_virqfd vfio_pci vfio_pci_core mdev 9p 9pnet 9pnet_virtio netfs
	fscache virtio virtio_ring virtio_pci virtio_pci_legacy_dev
	virtio_pci_modern_dev virtio_balloon virtio_net net_failover failover
	aer_inject hwpoison_inject mce_inject zram zsmalloc lzo lzo_rle
	nvme nvme_core"
fragment=$top/scripts/debug-kernel.config

debug_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
		{ echo "kernel.sh: linux-source-6.1 is not installed" \
		       "(run scripts/deps.sh)" >&2; exit 1; }
}

# $KVMSHARE_KCACHE/debug-<package version>-<hash of fragment + module list>
debug_dir() {
	local v h
	v=$(debug_version)
	h=$( (cat "$fragment"; echo "$debug_mods") | sha256sum | cut -c1-12)
	echo "$kcache/debug-$v-$h"
}

debug_build() {
	local dir src k lsmod m jobs start sym
	dir=$(debug_dir)
	[ -f "$dir/.done" ] && return
	src=$dir/build
	start=$(date +%s)
	echo "kernel.sh: building the debug kernel in $dir" \
	     "(log: $dir/build.log; takes long the first time)" >&2
	# Debian's config of the prebuilt image: same features and module ABI.
	k=$(fetch)
	if [ ! -f "$dir/.unpacked" ]; then
		rm -rf "$dir"
		mkdir -p "$src"
		tar -xaf /usr/src/linux-source-6.1.tar.xz -C "$src" \
			--strip-components=1
		touch "$dir/.unpacked"
	fi
	# (an interrupted build resumes: the same config, make rebuilds
	# only what is missing)
	cp "$k/root/boot/config-$(krel)" "$src/.config"
	lsmod=$dir/lsmod
	echo "Module Size Used by" > "$lsmod"
	for m in $debug_mods; do
		echo "$m 0 0" >> "$lsmod"
	done
	jobs=$(nproc)
	# (each step is chained: set -e has no effect in a subshell whose
	# status is tested, so a failed step would not stop the next)
	(
		cd "$src" &&
		make olddefconfig &&
		LSMOD=$lsmod make localmodconfig < /dev/null &&
		scripts/kconfig/merge_config.sh -m .config "$fragment" &&
		make olddefconfig || exit 1
		# every line of the fragment must have survived the merge
		# (an option left out for an unmet dependency is off too)
		grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$fragment" |
		while read -r line; do
			grep -qxF "$line" .config && continue
			case $line in
			"# "*) sym=${line#"# "}
			       grep -q "^${sym%% *}=" .config || continue ;;
			esac
			echo "kernel.sh: WARNING: fragment line not in .config: $line"
		done
		nice -n 19 make -j"$jobs" bzImage modules &&
		nice -n 19 make modules_install INSTALL_MOD_PATH="$dir/root" \
			INSTALL_MOD_STRIP=1 DEPMOD=/bin/true
	) > "$dir/build.log" 2>&1 || {
		echo "kernel.sh: debug kernel build failed; last lines of" \
		     "$dir/build.log:" >&2
		tail -30 "$dir/build.log" >&2
		exit 1
	}
	k=$(cat "$src/include/config/kernel.release")
	echo "$k" > "$dir/krel"
	mkdir -p "$dir/root/boot"
	cp "$src/.config" "$dir/root/boot/config-$k"
	cp "$src/System.map" "$dir/root/boot/System.map-$k"
	cp "$src/arch/x86/boot/bzImage" "$dir/vmlinuz"
	depmod -b "$dir/root" "$k"
	rm -f "$dir/root/lib/modules/$k/build" "$dir/root/lib/modules/$k/source"
	echo "$(( $(date +%s) - start ))" > "$dir/build-seconds"
	echo "kernel.sh: debug kernel $k built in" \
	     "$(( $(date +%s) - start ))s" >&2
	touch "$dir/.done"
}

debug_locked() {	# one build at a time; the others wait for it
	local dir
	dir=$(debug_dir)
	mkdir -p "$kcache"
	exec 9> "$dir.lock"
	flock 9
	"$@"
}

if [ "${KVMSHARE_KERNEL_LANE:-}" = debug ]; then
	case "${1:-}" in
	krel) debug_locked debug_build; cat "$(debug_dir)/krel" ;;
	fetch) debug_locked debug_build; debug_dir ;;
	kdir) echo "$(debug_dir)/build" ;;
	*) echo "usage: $0 krel|fetch|kdir" >&2; exit 2 ;;
	esac
	exit 0
elif [ -n "${KVMSHARE_KERNEL_LANE:-}" ]; then
	echo "kernel.sh: unknown kernel '$KVMSHARE_KERNEL_LANE' (debug or empty)" >&2
	exit 2
fi

case "${1:-}" in
krel) krel ;;
fetch) mkdir -p "$kcache"; fetch ;;
kdir) echo "/usr/src/linux-headers-$(krel)" ;;
*) echo "usage: $0 krel|fetch|kdir" >&2; exit 2 ;;
esac
