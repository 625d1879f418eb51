# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts/check.sh (which runs a suite once more in a fresh VM
# when this names a cause) and scripts/emulator-death-check.sh (its test).
#
# Why a test VM that did not finish died of the emulator's known faults
# (Documentation/dev-guide.rst, "The emulator"), printed; nothing when it
# did not. $1 results directory. Two cases only:
#  - the test VM's own QEMU failed an assertion (seen: QEMU 10.0.2 under
#    TCG in iotlb_to_section, 12 s into a boot): the emulator's bug
#    whatever its guest did;
#  - the test VM's kernel panicked with "corrupted stack end detected
#    inside scheduler", that panic was its first kernel report, and the
#    same run had already caught a KVM guest holding the host's registers
#    (lib/mvm.c: a guest rip in host kernel text, which the guest program
#    cannot reach): the emulated SVM had mixed host and guest state in
#    that VM (CI of stop 34: a shutdown in the host's interrupt entry
#    code, then the panic in that vCPU's process).
emulator_death() {
	local first

	if grep -qE "Assertion .* failed" "$1/qemu.log" 2>/dev/null; then
		echo "its QEMU: $(grep -m1 -E "Assertion .* failed" \
			"$1/qemu.log" | cut -c1-160)"
		return
	fi
	first=$(tr -d '\r' < "$1/console.log" 2>/dev/null | grep -m1 -E \
		'BUG:|Oops|general protection|kernel BUG|WARNING: CPU|KASAN|Kernel panic')
	case $first in
	*"Kernel panic - not syncing: corrupted stack end detected inside scheduler"*)
		grep -qE "the guest holds the host's registers|shut down at rip 0xffff" \
			"$1/results.log" 2>/dev/null &&
			echo "kernel panic, corrupted stack end, after a KVM guest held the host's registers"
		;;
	esac
}
