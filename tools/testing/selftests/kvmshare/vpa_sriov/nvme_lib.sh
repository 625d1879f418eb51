#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the vpa_sriov scripts, sourced after ../lib/e2e.sh: the
# host's nvme-cli in the chroot, its "NAME : value" output, the test VM's
# NVMe function with SR-IOV (VM_NVME_SRIOV=1), drivers and the kernel log.

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

# sriov_init: PF (the BDF), P, TY and VF (its sysfs directory, vpa's
# types and VF groups there), or a TAP bail-out without such a PF
sriov_init() {
	if ! PF=$(sriov_pf); then
		echo "Bail out! no NVMe PF with SR-IOV (VM_NVME_SRIOV=1)"
		exit 1
	fi
	P=/sys/bus/pci/devices/$PF
	# shellcheck disable=SC2034 # (used by the scripts)
	TY=$P/vpa_sriov_types
	# shellcheck disable=SC2034
	VF=$P/vpa_vfs
}

wr() {	# wr FILE VALUE: write VALUE; the error message in $T/wr.err
	(echo "$2" > "$1") 2> $T/wr.err
}

# refused FILE VALUE TEXT: the write fails with the errno text TEXT
refused() {
	! wr "$1" "$2" && grep -q "$3" $T/wr.err
}

# drv DIR: the driver of the device whose sysfs directory is DIR, or "none"
drv() {
	if [ -e "$1/driver" ]; then
		basename "$(readlink "$1/driver")"
	else
		echo none
	fi
}

driver() {	# driver: the PF's driver ($P, its sysfs directory), or "none"
	drv "$P"
}

# cfg OFF N: N (2 or 4) bytes of the PF's config at OFF, in hex, as the
# hardware has them (sysfs config: the PCI core reads the device)
cfg() {
	od -An -tx"$2" -j"$1" -N"$2" "$P/config" | tr -d ' '
}

# sriov_ctrl: the PF's SR-IOV Control (hex), empty if the capability is
# not found in the extended list
sriov_ctrl() {
	off=256
	while [ "$off" -ge 256 ]; do
		h=$(cfg "$off" 4)
		[ -n "$h" ] || return 0
		if [ $((0x$h & 0xffff)) = 16 ]; then
			cfg $((off + 8)) 2
			return 0
		fi
		off=$(((0x$h >> 20) & 0xffc))
	done
}

# pf_decodes BAR0: the PF decodes memory and masters the bus (Command),
# its BAR0 reads BAR0 (as before an error), VF Enable is set
pf_decodes() {
	c=$(cfg 4 2)
	v=$(sriov_ctrl)
	echo "# PF config: Command 0x$c, BAR0 0x$(cfg 16 4) (0x$1 before), SR-IOV Control 0x$v"
	[ -n "$c" ] && [ $((0x$c & 6)) = 6 ] && [ "$(cfg 16 4)" = "$1" ] &&
		[ -n "$v" ] && [ $((0x$v & 1)) = 1 ]
}

# kmark, then kmsg: the kernel's lines in between into $T/kmsg, those
# about the PF ($PF), vpa, nvme, vfio and the IOMMU shown as diagnostics
kmsg_mark=$(e2e_klog_mark)
kmark() {
	kmsg_mark=$(e2e_klog_mark)
}
kmsg() {
	e2e_klog_since "$kmsg_mark" > $T/kmsg
	grep -E "$PF|vpa|nvme|vfio|DMAR" $T/kmsg | tail -30 | sed 's/^/# kernel: /'
}

# vpa_take_pf: the PF from stock nvme (its VFs disabled first) or from no
# driver to vpa, as a TAP result; a bail-out if vpa does not bind it
vpa_take_pf() {
	if [ "$(driver)" = nvme ]; then
		[ "$(cat $P/sriov_numvfs)" = 0 ] || echo 0 > $P/sriov_numvfs
		echo "$PF" > /sys/bus/pci/drivers/nvme/unbind
	fi
	kmark
	echo vpa > $P/driver_override
	echo "$PF" 2> $T/bind.err > /sys/bus/pci/drivers/vpa/bind
	kmsg
	e2e_check "vpa binds the PF ($(cat $T/bind.err))" test "$(driver)" = vpa
	if [ "$(driver)" != vpa ]; then
		echo > $P/driver_override
		echo "Bail out! vpa did not bind $PF"
		exit 1
	fi
}

# The accounting check of the groups against the device (sriov_groups.sh,
# sriov_owner.sh), for the suite's PF (16 flexible VQ, 8 VI); needs DBG
# (vpa's debugfs directory of the PF).

# nrs: every VF's "N:type:state:nr_wq/nr_vec" on one line
nrs() {
	for d in $VF/*; do
		echo "$(basename "$d"):$(cat "$d/type"):$(cat "$d/state"):$(cat "$d/nr_wq")/$(cat "$d/nr_vec")"
	done | tr '\n' ' ' | sed 's/ $//'
}

# acct TAG: each VF's group (state, nr_wq, nr_vec) against what Identify
# CNS 0x15 says of its secondary (SCS, NVQ, NVI), the online groups' sums
# against what Identify 0x14 says is assigned to secondaries, and the
# adapter's free counts against the rest; the reasons of a mismatch are
# diagnostics
acct() {
	ok=0
	cat $DBG/secondaries > $T/sec.$1 2> $T/sec.err || ok=1
	cat $DBG/primary > $T/pri.$1 2>> $T/sec.err || ok=1
	sq=0
	si=0
	for d in $VF/*; do
		n=$(basename "$d")
		state=$(cat "$d/state")
		q=$(cat "$d/nr_wq")
		i=$(cat "$d/nr_vec")
		dev=$(awk -v f=$((n + 1)) '$3 == f { print $2, $4, $5 }' $T/sec.$1)
		case $state in
		online) want="1 $q $i" ;;
		error) want=$dev ;;	# unknown: checked by its test
		*) want="0 0 0" ;;
		esac
		if [ "$dev" != "$want" ]; then
			echo "# acct $1: VF $n $state $q/$i, secondary (SCS NVQ NVI) '$dev'"
			ok=1
		fi
		[ "$state" = online ] && { sq=$((sq + q)); si=$((si + i)); }
		# every group counts in the core, online or not
		[ "$state" = none ] || { gq=$((${gq:-0} + q)); gi=$((${gi:-0} + i)); }
	done
	read -r vqrfa virfa vqrfap virfap < $T/pri.$1
	if [ "$vqrfa $virfa $vqrfap $virfap" != "$sq $si 0 0" ]; then
		echo "# acct $1: Identify 0x14 assigned/allocated '$vqrfa $virfa $vqrfap $virfap', online groups $sq $si"
		ok=1
	fi
	fq=$(cat $P/vpa_wq/free)
	fi_=$(cat $P/vpa_vec/free)
	if [ "$fq $fi_" != "$((16 - ${gq:-0})) $((8 - ${gi:-0}))" ]; then
		echo "# acct $1: free $fq VQ $fi_ VI, groups hold ${gq:-0} ${gi:-0}"
		ok=1
	fi
	gq=0
	gi=0
	return $ok
}

# check_acct TAG DESCRIPTION: acct as a TAP result
check_acct() {
	acct "$1"
	e2e_tap $? "$2 [$(nrs)]"
}

# two_vfs TYPE0 TYPE1: vpa takes the PF (vfio-pci and nvme loaded, VF
# autoprobe off: the old value in $autoprobe), two VFs with groups of
# TYPE0 and TYPE1 on namespaces 2 and 3, both on vfio-pci; $ok is 1 if a
# step failed (the last error in $T/wr.err), the kernel's lines shown
two_vfs() {
	modprobe vfio-pci
	modprobe nvme
	[ "$(driver)" = vpa ] && echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
	# shellcheck disable=SC2034 # restored by the scripts that source this
	autoprobe=$(cat $P/sriov_drivers_autoprobe)
	echo 0 > $P/sriov_drivers_autoprobe
	vpa_take_pf

	kmark
	ok=0
	wr $P/sriov_numvfs 2 || ok=1
	wr $TY/"$1"/create 0 || ok=1
	wr $TY/"$2"/create 1 || ok=1
	wr $VF/0/ns 2 || ok=1
	wr $VF/1/ns 3 || ok=1
	bind_vfio 0 || ok=1
	bind_vfio 1 || ok=1
	kmsg
}

# --- VFs and their owners (sriov_aer.sh, sriov_e2e.sh, sriov_owner.sh):
# $P the PF's and $VF its vpa_vf directory, $BIN nvme_vfio, $F the
# timeout factor; a script with a deadline of its own defines in_time
# after sourcing this file (here: no deadline)

in_time() {	# in_time: the script's deadline is not yet past
	:
}

ms_now() {	# milliseconds since boot (/proc/uptime: 10 ms steps)
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

twr() {		# twr FILE VALUE: wr, its time in ms in $MS
	t0=$(ms_now)
	wr "$1" "$2"
	r=$?
	# shellcheck disable=SC2034 # read by the scripts that source this
	MS=$(($(ms_now) - t0))
	return $r
}

rec() {		# rec N FILE: VF N's vpa_recovery/FILE
	cat $VF/"$1"/vpa_recovery/"$2"
}

prec() {	# prec FILE: the PF's vpa_recovery/FILE
	cat $P/vpa_recovery/"$1"
}

vfbdf() {	# vfbdf N: VF N's BDF
	basename "$(readlink $P/virtfn"$1")"
}

# bind_vfio N: VF N to vfio-pci (a VF it drives already is left as it
# is). Its variables are not e2e_check's d, which names the check
bind_vfio() {
	vd=$(vfbdf "$1")
	echo vfio-pci > /sys/bus/pci/devices/"$vd"/driver_override
	[ "$(drv /sys/bus/pci/devices/"$vd")" = vfio-pci ] && return 0
	echo "$vd" 2> $T/vfio.err > /sys/bus/pci/drivers/vfio-pci/bind
	[ -s $T/vfio.err ] && echo "# vfio-pci bind $vd: $(cat $T/vfio.err)"
	[ "$(drv /sys/bus/pci/devices/"$vd")" = vfio-pci ]
}

unbind_vf() {	# unbind_vf N: VF N from its driver
	vd=$(vfbdf "$1")
	[ "$(drv /sys/bus/pci/devices/"$vd")" = none ] ||
		echo "$vd" > /sys/bus/pci/devices/"$vd"/driver/unbind
	echo > /sys/bus/pci/devices/"$vd"/driver_override
}

# owner NAME N NS [MODE [COUNT]]: nvme_vfio as VF N's owner on namespace
# NS for COUNT requests (default 1), answering MODE (ack, the default, or
# silent), in the background (output in $T/NAME); true once it did its
# first round and waits (60 s). The output file is emptied here, before
# the owner starts: the owner's own redirection runs in the background
# and may come after the first grep, which would then find the ready line
# of an earlier owner of that name (the second VM run of step 6: changes
# made before the owner had the VF open went on as idle)
owner() {
	: > $T/"$1"
	"$BIN" owner "$(vfbdf "$2")" "$3" "$VF/$2" "${4:-ack}" "${5:-1}" \
		> $T/"$1" 2>&1 &
	echo $! > $T/"$1".pid
	i=0
	while [ $i -lt $((60 * F)) ] && in_time; do
		grep -q '^# owner ready' $T/"$1" && return 0
		kill -0 "$(cat $T/"$1".pid)" 2> /dev/null || break
		sleep 1
		i=$((i + 1))
	done
	echo "# owner $1 not ready:"
	sed 's/^/#   /' $T/"$1"
	return 1
}

# owner_end NAME [SECONDS]: wait (30 s by default) for owner NAME to exit,
# then stop it (a section that failed leaves it waiting for requests that
# never come); its output as diagnostics, its exit status in $T/NAME.rc
# (143 if stopped)
owner_end() {
	pid=$(cat $T/"$1".pid)
	i=0
	while [ $i -lt $((${2:-30} * F)) ] && kill -0 "$pid" 2> /dev/null; do
		sleep 1
		i=$((i + 1))
	done
	kill -0 "$pid" 2> /dev/null && { echo "# $1 still waiting: stopped"; kill "$pid"; }
	wait "$pid"
	echo $? > $T/"$1".rc
	sed "s/^/# $1: /" $T/"$1"
}

# npass NAME CHECK: how many "PASS CHECK:" lines owner NAME printed
npass() {
	grep -c "^PASS $2:" $T/"$1"
}

# owner_ok NAME CHECK[:COUNT]...: owner NAME exited 0, no check failed,
# and each CHECK passed COUNT times (once without a count)
owner_ok() {
	n=$1
	shift
	[ "$(cat $T/"$n".rc)" = 0 ] || return 1
	! grep -q '^FAIL' $T/"$n" || return 1
	for c in "$@"; do
		case $c in
		*:*) [ "$(npass "$n" "${c%:*}")" = "${c#*:}" ] || return 1 ;;
		*) [ "$(npass "$n" "$c")" = 1 ] || return 1 ;;
		esac
	done
}

# recovered ERRORS: wait (60 s) until the PF's recovery state reads
# normal and its error count reached ERRORS; else say where it stands
recovered() {
	i=0
	while [ $i -lt $((60 * F)) ] && in_time; do
		[ "$(prec errors)" -ge "$1" ] && [ "$(prec state)" = normal ] && return 0
		sleep 1
		i=$((i + 1))
	done
	echo "# not recovered: state $(prec state), errors $(prec errors), abandoned $(prec abandoned), vpa_nvme/state $(cat $P/vpa_nvme/state)"
	return 1
}
