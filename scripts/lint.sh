#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: checkpatch --strict --no-tree on every C source and header of ours,
# sparse (make C=2) over the kernel modules, and every uapi header alone
# through g++ -fsyntax-only and gcc -std=c99 -pedantic (a C++ VMM and a
# strict C program must be able to include it), and the sysfs ABI files
# (Documentation/ABI) through the kernel's scripts/get_abi.pl validate,
# and the documentation through Sphinx with warnings as errors, each
# kselftest directory's settings timeout against its suite's TIMEOUT, and
# every shell script through ShellCheck.
# Checkpatch and get_abi.pl come from Debian's linux-source-6.1
# (scripts/kernel-tools.sh).
#
# User-space files (tools/) are held to the same rules except those that
# ask for kernel-only macros user space does not have: BIT() and
# __printf().

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
ktools=$("$top/scripts/kernel-tools.sh") || exit 1
krel=$("$top/scripts/kernel.sh" krel) || exit 1
cp=(perl "$ktools/scripts/checkpatch.pl" --strict --no-tree --quiet
    --show-types --no-summary --no-signoff)

mapfile -t files < <(git ls-files -co --exclude-standard -- \
	'*.c' '*.h' | grep -v '^build/' | LC_ALL=C sort)

mapfile -t uapi < <(git ls-files -co --exclude-standard -- \
	'include/uapi/linux/*.h' | LC_ALL=C sort)

# quiet_ok RC OUT NAME: one TAP result for a check that must succeed and
# print nothing; its output becomes the diagnostics.
quiet_ok() {
	if [ "$1" = 0 ] && [ -z "$2" ]; then
		echo "ok $n $3"
	else
		echo "$2" | sed 's/^/# /'
		echo "not ok $n $3"
		bad=1
	fi
}

echo "TAP version 13"
echo "1..$(( ${#files[@]} + 1 + ${#uapi[@]} + 4 ))"
n=0 bad=0
for f in "${files[@]}"; do
	n=$((n + 1))
	extra=()
	case "$f" in
	tools/*) extra=(--ignore BIT_MACRO,PREFER_DEFINED_ATTRIBUTE_MACRO) ;;
	esac
	out=$("${cp[@]}" "${extra[@]}" -f "$f" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n checkpatch $f"
	else
		echo "$out" | sed 's/^/# /'
		echo "not ok $n checkpatch $f"
		bad=1
	fi
done

n=$((n + 1))
log=$(mktemp)
# C=2 checks every source file whether or not it is recompiled.
if make -C "/usr/src/linux-headers-$krel" M="$top" C=2 CHECK=sparse \
	modules > "$log" 2>&1; then
	warn=$(grep -E 'warning:|error:' "$log")
else
	warn=$(tail -20 "$log")
	[ -n "$warn" ] || warn="make C=2 failed"
fi
rm -f "$log"
if [ -z "$warn" ]; then
	echo "ok $n sparse (make C=2) over the modules"
else
	echo "$warn" | sed 's/^/# /'
	echo "not ok $n sparse (make C=2) over the modules"
	bad=1
fi

# Each header on its own, as the first include, with -Werror: C++ (a
# member named like a C++ keyword, an implicit void * conversion) and C99
# -pedantic (no GNU extensions beyond what <linux/types.h> gives).
for h in "${uapi[@]}"; do
	n=$((n + 1))
	src="#include <linux/${h##*/}>"
	out=$( { echo "$src" | g++ -x c++ -fsyntax-only -Wall -Wextra \
			-Werror -I include/uapi - &&
		 echo "$src" | gcc -x c -std=c99 -pedantic -fsyntax-only \
			-Wall -Wextra -Werror -I include/uapi -; } 2>&1)
	quiet_ok $? "$out" "uapi $h builds as C++ and as C99 -pedantic"
done

# get_abi.pl validate warns (unknown tags, an attribute defined twice,
# a What: without a description) but exits 0: any output is a failure.
n=$((n + 1))
out=$(perl "$ktools/scripts/get_abi.pl" --dir "$top/Documentation/ABI" \
	validate 2>&1)
if [ $? = 0 ] && [ -z "$out" ] &&
   [ -n "$(perl "$ktools/scripts/get_abi.pl" --dir "$top/Documentation/ABI" \
	   search 'vpa/rid$' 2>/dev/null)" ]; then
	echo "ok $n Documentation/ABI: get_abi.pl validate"
else
	echo "$out" | sed 's/^/# /'
	echo "not ok $n Documentation/ABI: get_abi.pl validate"
	bad=1
fi

# A kselftest directory's settings (timeout=) and the suite of the same
# name (TIMEOUT) give the tests the same time under either runner.
n=$((n + 1))
out=
for f in tools/testing/selftests/kvmshare/*/settings; do
	d=$(basename "$(dirname "$f")")
	want=$(sed -n 's/^timeout=//p' "$f")
	[ -f "scripts/suites/$d.conf" ] || continue
	# shellcheck disable=SC1090
	have=$(export KVMSHARE_MODE=check; TIMEOUT=300; . "scripts/suites/$d.conf"
	       echo "$TIMEOUT")
	[ "$want" = "$have" ] ||
		out="$out$f: timeout=$want, scripts/suites/$d.conf: TIMEOUT=$have
"
done
quiet_ok 0 "$out" "kselftest settings match the suites' TIMEOUT"

# Sphinx from Debian (python3-sphinx, deps.sh lint), every warning an
# error: docutils' markup errors, a document outside the toctree, a broken
# :doc: reference.
n=$((n + 1))
doc=${KVMSHARE_BUILD:-$top/build}/doc
rm -rf "$doc"
out=$(sphinx-build -W --keep-going -b html -q -d "$doc/.doctrees" \
	"$top/Documentation" "$doc" 2>&1)
quiet_ok $? "$out" "Documentation builds with sphinx-build -W"

# ShellCheck from Debian (deps.sh lint) on every shell script of ours,
# following what each sources (source= directives, relative to the
# script). SC2054 is off: QEMU's options are comma-separated words in
# bash arrays, not mistaken array separators.
n=$((n + 1))
mapfile -t sh < <( { git ls-files -co --exclude-standard -- '*.sh'
		    echo .ci/run; echo dist/examples/libvirt-hook-qemu
		    echo scripts/vm/init; echo scripts/vm/guest-init; } |
		  grep -v '^build/' | LC_ALL=C sort -u)
out=$(shellcheck -x -P SCRIPTDIR -S warning -e SC2054 -f gcc "${sh[@]}" 2>&1)
quiet_ok $? "$out" "${#sh[@]} shell scripts are clean under shellcheck -S warning"
exit $bad
