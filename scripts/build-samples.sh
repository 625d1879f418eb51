#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel's sample mdev driver mtty (samples/vfio-mdev/mtty.c of
# Debian's linux-source-6.1) as a module against the kernel under test,
# into build/samples. The vpa benchmark measures an mdev's lifecycle
# against it in the same run. The source is unpacked into the build
# directory at build time, never into the tree.
#
#   scripts/build-samples.sh KDIR

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
kdir=$1
dir=$build/samples
tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-6.1.tar.*' | head -1)

if [ -z "$tarball" ]; then
	echo "build-samples.sh: linux-source-6.1 is not installed" \
	     "(run scripts/deps.sh)" >&2
	exit 1
fi
mkdir -p "$dir"
if [ ! -f "$dir/mtty.c" ]; then
	tar -xOf "$tarball" linux-source-6.1/samples/vfio-mdev/mtty.c \
		> "$dir/mtty.c.tmp"
	mv "$dir/mtty.c.tmp" "$dir/mtty.c"
fi
echo 'obj-m := mtty.o' > "$dir/Kbuild"
make -C "$kdir" M="$dir" modules
