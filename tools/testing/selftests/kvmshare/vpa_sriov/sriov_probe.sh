#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The SR-IOV back end's probe (Documentation/plans/sriov.md, step 3):
# QEMU's NVMe PF below rp3 (VM_NVME_SRIOV=1) is handed to vpa with
# driver_override. First, on stock nvme, the host's nvme-cli (VM_HOSTROOT=1)
# reads what the device reports and gives the primary flexible resources
# (Virtualization Management ACT 1 + FLR) and a secondary an assignment
# (ACT 8), so that vpa's probe has something to take back. Then: vpa binds
# and reports in vpa_nvme/ what Identify 0x14 says (the values vm-run.sh
# configures: 16 VQ and 8 VI flexible, at most 8 and 4 per VF), with the
# primary's flexible resources released; unbind leaves nothing behind;
# a second bind works; a probe failing at each of its steps unwinds; a
# PF with VFs enabled is refused; a function reset while bound is
# survived; and stock nvme drives the PF again afterwards.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_probe
mkdir -p $T

sriov_init
V=$P/vpa_nvme
DBG=/sys/kernel/debug/vpa
echo "# PF $PF: totalvfs $(cat $P/sriov_totalvfs), class $(cat $P/class)"

# ctrl_live: stock nvme drives the PF and its controller is live; sets
# CTRL and DEV
ctrl_live() {
	i=0
	while [ $i -lt 60 ]; do
		CTRL=$(basename "$(ls -d $P/nvme/nvme* 2>/dev/null | head -1)")
		[ -n "$CTRL" ] &&
			[ "$(cat /sys/class/nvme/"$CTRL"/state 2>/dev/null)" = live ] &&
			{ DEV=/dev/$CTRL; return 0; }
		sleep 1
		i=$((i + 1))
	done
	echo "# PF driver $(driver), controller '${CTRL:-}' not live"
	return 1
}

nvme_bind() {	# nvme_bind: the PF back to stock nvme
	echo > $P/driver_override
	[ "$(driver)" = nvme ] || echo "$PF" > /sys/bus/pci/drivers/nvme/bind
	ctrl_live
}

nvme_unbind() {
	[ "$(driver)" = nvme ] && echo "$PF" > /sys/bus/pci/drivers/nvme/unbind
	[ "$(driver)" = none ]
}

# vpa_bind: bind the PF to vpa; the write's error in $T/bind.err
vpa_bind() {
	echo vpa > $P/driver_override
	echo "$PF" 2> $T/bind.err > /sys/bus/pci/drivers/vpa/bind
}

vpa_unbind() {
	[ "$(driver)" = vpa ] && echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
	echo > $P/driver_override
	[ "$(driver)" = none ]
}

# caps TAG: Identify CNS 0x14 through nvme-cli into $T/caps.TAG, printed
caps() {
	nv primary-ctrl-caps "$DEV" > $T/caps.$1 2>&1
	echo "# primary-ctrl-caps ($1):" \
	     "$(grep -E '^[a-z]+ *:' $T/caps.$1 | tr -s ' ' | tr '\n' ' ')"
}
cap() {	# cap TAG NAME: one value of caps TAG, decimal
	v=$(field "$2" < $T/caps.$1)
	echo $((${v:-0}))
}

# vm CNTLID RT ACT NR: Virtualization Management through nvme-cli
vm() {
	nv virt-mgmt "$DEV" -c "$1" -r "$2" -a "$3" -n "$4" > $T/vm.out 2>&1
	r=$?
	echo "# virt-mgmt cntlid $1 rt $2 act $3 nr $4: rc $r: $(tr '\n' ' ' < $T/vm.out)"
	return $r
}

# vals FILE...: the files' values on one line ("-" for a missing one)
vals() {
	for f in "$@"; do
		cat "$f" 2>/dev/null || echo -
	done | tr '\n' ' ' | sed 's/ $//'
}

nvme_vals() {	# the vpa_nvme/ values, in a fixed order
	vals $V/cntlid $V/vq_flexible $V/vi_flexible $V/vq_max_per_vf \
	     $V/vi_max_per_vf $V/vq_private $V/vi_private $V/vq_released \
	     $V/vi_released $V/secondaries
}

# --- On stock nvme: what the device says; resources for vpa to take back

modprobe nvme
ctrl_live
e2e_tap $? "stock nvme drives the PF $PF (${CTRL:-none})"
nv id-ctrl "$DEV" > $T/idctrl 2>&1
PCID=$(field cntlid < $T/idctrl)
PCID=$((${PCID:-0}))
echo "# id-ctrl: cntlid $PCID, oacs $(field oacs < $T/idctrl)"
caps boot
e2e_check "nvme-cli: VQFRT 16, VQFRSM 8, VQPRT 3, VIFRT 8, VIFRSM 4, VIPRT 2 (vm-run.sh --nvme-sriov)" \
	test "$(cap boot vqfrt) $(cap boot vqfrsm) $(cap boot vqprt)" = "16 8 3" -a \
	     "$(cap boot vifrt) $(cap boot vifrsm) $(cap boot viprt)" = "8 4 2"

# The power-on reset left the primary nothing (spike): give it 4 VQ and
# 2 VI (ACT 1, applied by an FLR), so that the probe's release has work.
ok=0
vm $PCID 0 1 4 || ok=1
vm $PCID 1 1 2 || ok=1
echo 1 > $P/reset || ok=1
ctrl_live || ok=1
caps given
e2e_check "the primary holds 4 VQ and 2 VI (ACT 1 + FLR): the probe must release them" \
	test $ok = 0 -a "$(cap given vqrfap) $(cap given virfap)" = "4 2"

# A secondary assigned resources while offline (ACT 8 needs no VF):
# the probe must take them back.
seclist
SC0=$(awk '$3 == 1 { print $1 }' $T/sec)
ASSIGNED=0
if [ -n "$SC0" ] && vm "$SC0" 0 8 2 && vm "$SC0" 1 8 1; then
	seclist
	[ "$(awk -v s="$SC0" '$1 == s { print $2, $4, $5 }' $T/sec)" = "0 2 1" ] &&
		ASSIGNED=1
fi
echo "# secondary $SC0 of VF 1 assigned 2 VQ, 1 VI while offline: $ASSIGNED"

e2e_check "nvme unbinds from the PF" nvme_unbind

# --- vpa binds the PF

kmark
vpa_bind
r=$?
kmsg
e2e_check "vpa binds the PF (bind rc $r: $(cat $T/bind.err))" \
	test "$r" = 0 -a "$(driver)" = vpa
e2e_check "probe: Virtualization Management released the primary's 4 VQ and 2 VI (kernel log)" \
	grep -q "the primary gave back 4 flexible VQ and 2 VI" $T/kmsg
# (QEMU may already have cleared the assignment at nvme's controller
# disable or the probe's FLR; the end of the script checks the result)
if grep -q "took back 1 secondaries" $T/kmsg; then
	echo "# secondary $SC0's assignment: taken back by vpa's probe"
else
	echo "# secondary $SC0's assignment: none left for vpa (assigned $ASSIGNED)"
fi
echo "# vpa_nvme: $(cd $V 2>/dev/null && grep . ./* | tr '\n' ' ')"
e2e_check "vpa_nvme: vq_flexible 16, vi_flexible 8, vq_max_per_vf 8, vi_max_per_vf 4" \
	test "$(vals $V/vq_flexible $V/vi_flexible $V/vq_max_per_vf $V/vi_max_per_vf)" = "16 8 8 4"
e2e_check "vpa_nvme: vq_private 3, vi_private 2, cntlid $PCID, secondaries 4" \
	test "$(vals $V/vq_private $V/vi_private $V/cntlid $V/secondaries)" = "3 2 $PCID 4"
e2e_check "vpa_nvme: vq_released 4, vi_released 2" \
	test "$(vals $V/vq_released $V/vi_released)" = "4 2"
FIRST=$(nvme_vals)
echo "# adapter: $(cd $P && grep . vpa_rid vpa_*/total vpa_*/free | tr '\n' ' ')"
e2e_check "adapter: wq 16 of 16 free, vec 8 of 8, no win, db, eng" \
	test "$(vals $P/vpa_wq/total $P/vpa_wq/free $P/vpa_vec/total $P/vpa_vec/free)" = "16 16 8 8" -a \
	     "$(vals $P/vpa_win/total $P/vpa_db/total $P/vpa_eng/total)" = "0 0 0"
b=$(echo "$PF" | cut -d: -f2)
df=$(echo "$PF" | cut -d: -f3)
rid=$(printf %04x $(( (0x$b << 8) | (0x${df%.*} << 3) | ${df#*.} )))
e2e_check "adapter: requester id $rid (the PF's routing id), no mdev types" \
	test "$(cat $P/vpa_rid 2>/dev/null)" = "$rid" -a ! -e $P/mdev_supported_types
e2e_check "vpa_nvme/ is read-only (a write fails)" \
	sh -c "! echo 1 2>/dev/null > $V/vq_flexible && test \"\$(cat $V/vq_flexible)\" = 16"

# --- unbind: nothing left

kmark
e2e_check "vpa unbinds" vpa_unbind
kmsg
e2e_check "after unbind: no vpa_nvme/, no vpa claim in /proc/iomem, no debugfs directory" \
	test ! -e $V -a ! -e $DBG/"$PF" -a \
	     "$(grep -c 'vpa' /proc/iomem)" = 0
e2e_check "unbind logged no admin queue or controller trouble" \
	sh -c "! grep -E 'not disabled|admin (queue|command)|timed out' $T/kmsg"

# --- a second probe: nothing to release now

kmark
vpa_bind
r=$?
kmsg
e2e_check "vpa binds the PF again (rc $r: $(cat $T/bind.err))" \
	test "$r" = 0 -a "$(driver)" = vpa
e2e_check "second probe: the same values, nothing released (vq_released, vi_released 0)" \
	test "$(nvme_vals)" = "$(echo "$FIRST" | awk '{ $8 = 0; $9 = 0; print }')" -a \
	     "$(grep -c 'gave back' $T/kmsg)" = 0

# A function reset while bound (sysfs reset): the reset takes the admin
# queue, vpa restarts it (reset_done), nothing breaks, unbind is clean.
kmark
r=0
echo 1 > $P/reset || r=1
kmsg
e2e_check "a function reset while bound: the admin queue is restarted, the adapter up (rc $r, state $(cat $V/state 2>&1))" \
	test "$r" = 0 -a "$(cat $V/state 2>&1)" = up -a \
	     "$(grep -c 'function reset: admin queue restarted, 0 groups offline' $T/kmsg)" = 1
vpa_unbind
e2e_check "after the reset vpa unbinds, nothing left" \
	test "$(driver)" = none -a ! -e $V -a "$(grep -c 'vpa' /proc/iomem)" = 0

# --- a probe that fails at each of its steps unwinds

# unwound LOGLINE ERROR: the last bind failed with ERROR, logged LOGLINE
# once, and left the PF unbound with nothing of vpa's behind
unwound() {
	test "$(driver)" = none -a ! -e $V -a \
	     "$(grep -c 'vpa' /proc/iomem)" = 0 -a \
	     "$(grep -cE "$1" $T/kmsg)" = 1 &&
		grep -q "$2" $T/bind.err
}

steps=0
s=1
while [ $s -le 12 ]; do
	echo $s > $DBG/sriov_probe_fail
	kmark
	vpa_bind
	r=$?
	kmsg
	if [ $r = 0 ]; then
		# past the last step: the probe succeeded
		echo "# step $s: no such step, the probe succeeded"
		vpa_unbind
		break
	fi
	steps=$s
	e2e_check "probe failing at step $s: bind fails ($(sed 's/.*: //' $T/bind.err)), nothing bound, nothing claimed" \
		unwound "failure injected at step $s\$" 'Operation canceled'
	s=$((s + 1))
done
echo 0 > $DBG/sriov_probe_fail
e2e_check "the probe has 10 steps that can fail ($steps failed)" test $steps = 10
kmark
vpa_bind
r=$?
kmsg
e2e_check "after the failed probes vpa binds with the same values (rc $r)" \
	test "$r" = 0 -a "$(nvme_vals)" = "$(echo "$FIRST" | awk '{ $8 = 0; $9 = 0; print }')"
vpa_unbind

# --- a PF with VFs enabled is refused

VFS=0
if nvme_bind; then
	echo 0 > $P/sriov_drivers_autoprobe
	echo 1 > $P/sriov_numvfs && VFS=1
	nvme_unbind
fi
if [ $VFS = 1 ] && [ "$(cat $P/sriov_numvfs)" = 1 ]; then
	kmark
	vpa_bind
	r=$?
	kmsg
	e2e_check "with a VF enabled, vpa refuses the PF (rc $r: $(sed 's/.*: //' $T/bind.err))" \
		unwound '1 VFs enabled: disable them' 'Device or resource busy'
	echo > $P/driver_override
else
	e2e_tap 1 "with a VF enabled, vpa refuses the PF (no VF could be enabled: numvfs $(cat $P/sriov_numvfs))"
fi
nvme_bind && echo 0 > $P/sriov_numvfs

# --- a primary flexible allocation left pending by an earlier owner

# ACT 1 without the FLR that applies it: the primary holds nothing now,
# but the next function reset would give it 4 VQ and 2 VI. vpa's probe
# records an allocation of 0, so a reset while vpa owns the PF leaves the
# primary nothing and vpa's free counts stay true.
ok=0
nvme_bind || ok=1
vm $PCID 0 1 4 || ok=1
vm $PCID 1 1 2 || ok=1
caps pending
[ "$(cap pending vqrfap) $(cap pending virfap)" = "0 0" ] || ok=1
nvme_unbind || ok=1
kmark
vpa_bind || ok=1
echo 1 > $P/reset || ok=1
kmsg
vpa_unbind || ok=1
nvme_bind || ok=1
caps pending2
e2e_check "an allocation an earlier owner left pending is cancelled: after a reset under vpa the primary holds $(cap pending2 vqrfap) VQ, $(cap pending2 virfap) VI (0 0; steps ok $ok)" \
	test $ok = 0 -a "$(cap pending2 vqrfap) $(cap pending2 virfap)" = "0 0"
nvme_unbind

# --- stock nvme again: what vpa left

nvme_bind
caps after
seclist
e2e_check "stock nvme drives the PF again; the primary holds no flexible resources" \
	test -n "$DEV" -a "$(cap after vqrfap) $(cap after virfap)" = "0 0" -a \
	     "$(cap after vqfrt) $(cap after vifrt)" = "16 8"
e2e_check "every secondary is offline with nothing assigned (secondary $SC0 had 2 VQ, 1 VI: $ASSIGNED)" \
	test -s $T/sec -a "$(awk '$2 != 0 || $4 != 0 || $5 != 0' $T/sec | wc -l)" = 0

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
