#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Find the newest installed Debian kernel headers and make the matching
# kernel image available for the test VM (downloaded, never installed).
#
#   scripts/kernel.sh krel     print the kernel release (e.g. 6.1.0-56-amd64)
#   scripts/kernel.sh fetch    unpack linux-image-$KREL into
#                              $KVMSHARE_KCACHE/$KREL and print that directory
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

case "${1:-}" in
krel) krel ;;
fetch) mkdir -p "$kcache"; fetch ;;
*) echo "usage: $0 krel|fetch" >&2; exit 2 ;;
esac
