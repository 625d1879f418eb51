#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: scripts/emulator-death.sh, which decides when check.sh runs a suite
# once more because its test VM died of the emulator's known faults, on
# made-up result directories: what it must name, and what it must leave a
# failure. Run by the lint suite (host only).

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emulator-death-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=scripts/emulator-death.sh
. "$top/scripts/emulator-death.sh"
n=0
fails=0

panic='[   97.539107] Kernel panic - not syncing: corrupted stack end detected inside scheduler'
shut="# mvm: vCPU 0: it shut down at rip 0xffffffffbb60150d (KVM's kvm_exit trace)"
held="# mvm: vCPU 3: the guest holds the host's registers: the emulator's known fault (Documentation/dev-guide.rst); the vCPU is given up"
assert="qemu-system-x86_64: ../system/physmem.c:2678: iotlb_to_section: Assertion \`section_index < d->map.sections_nb' failed."

# case NAME WANT(pattern, or "" for none) CONSOLE RESULTS QEMU
case_() {
	local name=$1 want=$2 d=$tmp/$n got

	mkdir -p "$d"
	printf '%b' "$3" > "$d/console.log"
	printf '%b' "$4" > "$d/results.log"
	printf '%b' "$5" > "$d/qemu.log"
	got=$(emulator_death "$d")
	n=$((n + 1))
	if { [ -z "$want" ] && [ -z "$got" ]; } ||
	   { [ -n "$want" ] && printf '%s\n' "$got" | grep -qE -- "$want"; }; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		echo "# wanted '${want:-nothing}', got '$got'"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
echo "1..9"
case_ "the panic after a shutdown in host code is the emulator's" \
	"corrupted stack end" "boot\n$panic\n" "$shut\n" ""
case_ "the panic after a vCPU held the host's registers is the emulator's" \
	"corrupted stack end" "boot\r\n$panic\r\n" "$held\n" ""
case_ "the panic alone is not" "" "boot\n$panic\n" "# round 1\n" ""
case_ "the panic after an earlier KASAN report is not" "" \
	"[ 9.1] BUG: KASAN: use-after-free in kvmshare_fault\n$panic\n" \
	"$shut\n" ""
case_ "the panic after an earlier warning is not" "" \
	"[ 9.1] WARNING: CPU: 1 PID: 7 at kvm/pool_fault.c:10\n$panic\n" \
	"$held\n" ""
case_ "another panic after a vCPU held the host's registers is not" "" \
	"[ 9.1] Kernel panic - not syncing: Fatal exception\n" "$held\n" ""
case_ "a shutdown in guest memory is not the host's" "" \
	"$panic\n" "# mvm: vCPU 0: it shut down at rip 0x1000d9 (KVM's kvm_exit trace)\n" ""
case_ "the test VM's QEMU failing an assertion is the emulator's" \
	"^its QEMU: .*Assertion" "boot\n" "" "$assert\n"
case_ "a clean console, results and QEMU log name nothing" "" \
	"boot\n" "ok 1 x\n" ""
[ "$fails" = 0 ]
