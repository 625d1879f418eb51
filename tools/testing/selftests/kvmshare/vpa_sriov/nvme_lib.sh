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

# seclist: Identify CNS 0x15 of $DEV through nvme-cli as "SCID SCS VFN
# NVQ NVI" lines (decimal) in $T/sec, the raw answer in $T/sec.raw (shown
# as diagnostics when nothing could be read from it)
seclist() {
	nv list-secondary "$DEV" > $T/sec.raw 2>&1
	awk '{ k = $1; n = split($0, a, ": "); split(a[n], b, " "); v = b[1] }
		k == "SCID" { s = v } k == "SCS" { c = v } k == "VFN" { f = v }
		k == "NVQ" { q = v }
		k == "NVI" { print s, c, f, q, v }' $T/sec.raw |
	while read -r s c f q v; do
		echo "$((s)) $((c)) $((f)) $((q)) $((v))"
	done > $T/sec
	echo "# list-secondary (SCID SCS VFN NVQ NVI): $(tr '\n' ';' < $T/sec)"
	[ -s $T/sec ] || sed 's/^/#   /' $T/sec.raw
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
