#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages kvmshare-dkms and kvmshare-tools with
# dpkg-buildpackage -us -uc -b, in a copy of the files git knows (the
# build leaves debian/ work files and must not touch the work tree), and
# put the .deb files in OUTDIR. The build log is OUTDIR/build.log.
#
#   scripts/build-deb.sh OUTDIR

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/kvmshare"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' |
	tar -cf - -T -) | tar -xf - -C "$tmp/kvmshare"

if ! (cd "$tmp/kvmshare" && dpkg-buildpackage -us -uc -b) \
	> "$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
mv "$tmp"/*.deb "$out/"
ls "$out"/*.deb
