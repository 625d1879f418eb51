#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack the few files we use from Debian's linux-source-6.1 (checkpatch and
# its data, get_abi.pl, the kselftest harness headers, the kselftest build
# and runner: selftests/Makefile, lib.mk, run_kselftest.sh, kselftest/ and
# the scripts/subarch.include that Makefile reads) into build/linux-tools
# and print that directory. They are used as build-time tools, never copied
# into the tree.
#
# Our selftests appear in that kernel tree as
# tools/testing/selftests/kvmshare, a symbolic link to the source tree's
# directory (made again on every call), so that its Makefile takes
# TARGETS=kvmshare/<suite>.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
dir=$build/linux-tools
# Bump when the list below changes, so that older unpacked copies are redone.
stamp=$dir/.done-3

if [ ! -f "$stamp" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -1)
	if [ -z "$tarball" ]; then
		echo "kernel-tools.sh: linux-source-6.1 is not installed" \
		     "(run scripts/deps.sh)" >&2
		exit 1
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/scripts/get_abi.pl \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/scripts/subarch.include \
		linux-source-6.1/tools/testing/selftests/Makefile \
		linux-source-6.1/tools/testing/selftests/lib.mk \
		linux-source-6.1/tools/testing/selftests/run_kselftest.sh \
		linux-source-6.1/tools/testing/selftests/kselftest
	touch "$stamp"
fi
link=$dir/tools/testing/selftests/kvmshare
[ "$(readlink "$link")" = "$top/tools/testing/selftests/kvmshare" ] ||
	ln -sfn "$top/tools/testing/selftests/kvmshare" "$link"
echo "$dir"
