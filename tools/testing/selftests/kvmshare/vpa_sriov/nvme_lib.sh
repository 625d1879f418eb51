#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the vpa_sriov scripts, sourced after ../lib/e2e.sh: the
# host's nvme-cli in the chroot, its "NAME : value" output, and the test
# VM's NVMe function with SR-IOV (VM_NVME_SRIOV=1).

nv() {	# nv ARGS...: the host's nvme-cli
	chroot $E2E_ROOT nvme "$@"
}

# field NAME: the value of "NAME : value" lines (nvme-cli's normal output)
# on stdin
field() {
	awk -F: -v k="$1" '{ n = $1; gsub(/[ \t]/, "", n) }
		n == k { v = $2; gsub(/^[ \t]+/, "", v); split(v, a, " ")
			 print a[1]; exit }'
}

# sriov_pf: the BDF of QEMU's NVMe with SR-IOV (1b36:0010 with
# sriov_totalvfs); false without one
sriov_pf() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1b36 ] &&
			[ "$(cat "$d/device")" = 0x0010 ] &&
			[ -e "$d/sriov_totalvfs" ] && { basename "$d"; return 0; }
	done
	return 1
}
