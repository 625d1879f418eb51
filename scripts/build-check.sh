#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: the modules build against the newest Debian 6.1 headers with W=1 and
# no warning; the user-space programs build with no warning; dkms.conf
# builds with `dkms build` (when dkms is installed).

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
krel=$("$top/scripts/kernel.sh" krel) || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "TAP version 13"
echo "1..3"
bad=0

result() {	# $1 test number, $2 description, $3 log to show on failure
	if [ "$ok" = 1 ]; then
		echo "ok $1 $2"
	else
		grep -E 'warning|error|Error' "$3" | head -40 | sed 's/^/# /'
		echo "not ok $1 $2"
		bad=1
	fi
}

# A clean build of the files git knows, in a copy of the tree, so that
# every warning shows and the work tree is left alone.
src=$(mktemp -d)
git ls-files -co --exclude-standard | grep -v '^build/' |
	tar -cf - -T - | tar -xf - -C "$src"
ok=0
make -C "/usr/src/linux-headers-$krel" M="$src" W=1 modules > "$log" 2>&1 &&
	! grep -qiE 'warning:|error:' "$log" && ok=1
result 1 "modules build for $krel with W=1 and no warning" "$log"
rm -rf "$src"

ok=0
make -B -C "$top" selftests > "$log" 2>&1 &&
	! grep -qiE 'warning:|error:' "$log" && ok=1
result 2 "tools and selftests build with no warning" "$log"

if ! command -v dkms >/dev/null; then
	echo "ok 3 dkms build # SKIP dkms is not installed"
	exit $bad
fi
tmp=$(mktemp -d)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
mkdir -p "$tmp/src/kvmshare-$ver" "$tmp/tree"
git ls-files -co --exclude-standard | grep -v '^build/' |
	tar -cf - -T - | tar -xf - -C "$tmp/src/kvmshare-$ver"
ok=0
dkms add --dkmstree "$tmp/tree" --sourcetree "$tmp/src" -m kvmshare \
	-v "$ver" > "$log" 2>&1 &&
dkms build --dkmstree "$tmp/tree" --sourcetree "$tmp/src" -m kvmshare \
	-v "$ver" -k "$krel" >> "$log" 2>&1 &&
	[ -n "$(find "$tmp/tree" -name 'kvmshare.ko*' -path "*/$krel/*")" ] &&
	[ -n "$(find "$tmp/tree" -name 'vpa.ko*' -path "*/$krel/*")" ] &&
	ok=1
result 3 "dkms build of kvmshare $ver (kvmshare.ko, vpa.ko) for $krel" "$log"
rm -rf "$tmp"
exit $bad
