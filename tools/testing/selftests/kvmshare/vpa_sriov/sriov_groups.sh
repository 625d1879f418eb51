#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# VF groups of the SR-IOV back end (Documentation/plans/sriov.md, step 4)
# on QEMU's NVMe PF below rp3 (VM_NVME_SRIOV=1: 16 flexible VQ and 8 VI,
# at most 8 and 4 per VF, 4 VFs, namespaces 2 to 5 detached). vpa binds
# the PF; groups of the three policies are made for VFs and checked
# against the device: after every change, each VF's group in vpa_vfs/
# (state, nr_wq, nr_vec) must be what Identify CNS 0x15 says of its
# secondary controller (SCS, NVQ, NVI: debugfs vpa/<pf>/secondaries, read
# through vpa's own admin queue), the sums what Identify 0x14 says is
# assigned to secondaries (debugfs primary), and the adapter's free counts
# the rest. Then: refusals (bad VF number, over capacity, a duplicate,
# malformed writes), a namespace attached to a VF that stock nvme then
# drives, sriov_numvfs off and on with groups (refused while a VF has a
# driver), create/destroy/available_instances in parallel loops while
# sriov_numvfs toggles, and an unbind that leaves the device as found
# (checked with nvme-cli on stock nvme: list-secondary, list-ctrl).

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_groups
mkdir -p $T

nv() {	# nv ARGS...: the host's nvme-cli
	chroot $E2E_ROOT nvme "$@"
}

PF=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x0010 ] &&
		[ -e "$d/sriov_totalvfs" ] && { PF=$(basename "$d"); break; }
done
if [ -z "$PF" ]; then
	echo "Bail out! no NVMe PF with SR-IOV (VM_NVME_SRIOV=1)"
	exit 1
fi
P=/sys/bus/pci/devices/$PF
TY=$P/vpa_sriov_types
VF=$P/vpa_vfs
DBG=/sys/kernel/debug/vpa/$PF

driver() {	# driver: the PF's driver, or "none"
	if [ -e $P/driver ]; then
		basename "$(readlink $P/driver)"
	else
		echo none
	fi
}

kmark() {
	kmsg_mark=$(dmesg | wc -l)
}
kmsg() {	# kernel lines since kmark into $T/kmsg, as diagnostics
	dmesg | tail -n +$((kmsg_mark + 1)) > $T/kmsg
	grep -E "$PF|vpa|nvme" $T/kmsg | tail -20 | sed 's/^/# kernel: /'
}

# wr FILE VALUE: write VALUE; the error message in $T/wr.err
wr() {
	(echo "$2" > "$1") 2> $T/wr.err
}

# refused FILE VALUE TEXT: the write fails with the errno text TEXT
refused() {
	! wr "$1" "$2" && grep -q "$3" $T/wr.err
}

create() {	# create TYPE N
	wr $TY/"$1"/create "$2"
}

destroy() {	# destroy N
	wr $VF/"$1"/destroy 1
}

destroy_all() {
	for d in $VF/*; do
		[ "$(cat "$d/type")" = none ] || wr "$d/destroy" 1
	done
}

avail() {	# the five types' available_instances, in a fixed order
	for t in vf-small vf-large vf-half vf-quarter vf-fcfs; do
		cat $TY/$t/available_instances 2>/dev/null || echo -
	done | tr '\n' ' ' | sed 's/ $//'
}

# nrs: every VF's "N:type:state:nr_wq/nr_vec" on one line
nrs() {
	for d in $VF/*; do
		echo "$(basename "$d"):$(cat "$d/type"):$(cat "$d/state"):$(cat "$d/nr_wq")/$(cat "$d/nr_vec")"
	done | tr '\n' ' ' | sed 's/ $//'
}

# acct TAG: vpa's groups against the device, as described at the top;
# the reasons of a mismatch are diagnostics
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

# --- vpa binds the PF, no VFs

if [ "$(driver)" = nvme ]; then
	[ "$(cat $P/sriov_numvfs)" = 0 ] || echo 0 > $P/sriov_numvfs
	echo "$PF" > /sys/bus/pci/drivers/nvme/unbind
fi
echo 0 > $P/sriov_drivers_autoprobe
kmark
echo vpa > $P/driver_override
echo "$PF" 2> $T/bind.err > /sys/bus/pci/drivers/vpa/bind
kmsg
e2e_check "vpa binds the PF ($(cat $T/bind.err))" test "$(driver)" = vpa
if [ "$(driver)" != vpa ]; then
	echo "Bail out! vpa did not bind $PF"
	exit 1
fi
e2e_check "vpa_sriov_types/ has the five types, vpa_vfs/ the VFs 0 to 3" \
	test "$(ls $TY | tr '\n' ' ')" = "vf-fcfs vf-half vf-large vf-quarter vf-small " -a \
	     "$(ls $VF | tr '\n' ' ')" = "0 1 2 3 "
echo "# descriptions: $(for t in $TY/*; do echo "$(basename "$t"): $(cat "$t/description");"; done)"
e2e_check "VF directories: scid of each VF from the secondary list, no group" \
	test "$(cat $VF/0/scid) $(cat $VF/0/type) $(cat $VF/0/state) $(cat $VF/0/rid) $(cat $VF/0/ns)" = \
	     "$(awk '$3 == 1 { print $1 }' $DBG/secondaries) none none none 0"
e2e_check "no VFs enabled: available_instances 0 for every type" \
	test "$(avail)" = "0 0 0 0 0"
e2e_check "no VFs enabled: a group for VF 0 is refused (ENODEV)" \
	refused $TY/vf-small/create 0 "No such device"
check_acct none "no group: the device has every secondary offline and nothing assigned"

# --- sriov_configure: 4 VFs

kmark
wr $P/sriov_numvfs 4
r=$?
kmsg
e2e_check "sriov_numvfs 4 under vpa (rc $r: $(cat $T/wr.err))" \
	test $r = 0 -a "$(cat $P/sriov_numvfs)" = 4
e2e_check "4 VFs, no group: available_instances small 4, large 2, half 2, quarter 4, fcfs 4 ($(avail))" \
	test "$(avail)" = "4 2 2 4 4"

# --- absolute

ok=0
create vf-large 0 || ok=1
create vf-small 1 || ok=1
e2e_check "absolute: vf-large for VF 0 and vf-small for VF 1 ($ok: $(cat $T/wr.err))" \
	test $ok = 0 -a "$(nrs)" = "0:vf-large:online:8/4 1:vf-small:online:2/1 2:none:none:0/0 3:none:none:0/0"
check_acct abs "absolute: Identify 0x15 and 0x14 match vpa's groups and free counts"
vf0=$(basename "$(readlink $P/virtfn0)")
b=$(echo "$vf0" | cut -d: -f2)
df=$(echo "$vf0" | cut -d: -f3)
rid0=$(printf %04x $(( (0x$b << 8) | (0x${df%.*} << 3) | ${df#*.} )))
e2e_check "VF 0's group carries VF 0's routing id ($vf0: $rid0)" \
	test "$(cat $VF/0/rid)" = "$rid0"
e2e_check "free 6 VQ, 3 VI: available_instances small 2, large 0, half 0, quarter 1, fcfs 2 ($(avail))" \
	test "$(avail)" = "2 0 0 1 2"

# --- refusals: nothing changes

before=$(nrs)
e2e_check "over capacity: vf-large for VF 2 refused (ENOSPC)" \
	refused $TY/vf-large/create 2 "No space left on device"
e2e_check "duplicate: a second group for VF 0 refused (EEXIST)" \
	refused $TY/vf-small/create 0 "File exists"
ok=0
for v in 4 31 32 4294967295 99999999999 -1 abc "" "0 1" 0x1; do
	refused $TY/vf-small/create "$v" "Invalid argument" ||
		{ echo "# create '$v': $(cat $T/wr.err)"; ok=1; }
done
e2e_check "bad VF numbers and malformed writes refused (EINVAL)" test $ok = 0
ok=0
for v in 0 2 no ""; do
	refused $VF/0/destroy "$v" "Invalid argument" || ok=1
done
refused $VF/2/destroy 1 "No such file or directory" || ok=1
refused $VF/2/ns 2 "No such file or directory" || ok=1
refused $VF/0/ns 4294967295 "Invalid argument" || ok=1
refused $VF/0/ns abc "Invalid argument" || ok=1
e2e_check "destroy/ns: malformed or without a group refused (EINVAL, ENOENT)" test $ok = 0
e2e_check "after the refusals nothing changed" test "$(nrs)" = "$before"
check_acct refused "after the refusals the device still matches"

# --- a failure at each step of bringing a group online is undone
# (debugfs sriov_group_fail: 1 the VQ assignment, 2 the VI assignment,
# 3 the online, which fails after both assignments were made)

before=$(nrs)
for s in 1 2 3; do
	echo $s > /sys/kernel/debug/vpa/sriov_group_fail
	kmark
	refused $TY/vf-small/create 2 "Operation canceled"
	r=$?
	echo 0 > /sys/kernel/debug/vpa/sriov_group_fail
	kmsg
	e2e_check "a failure at step $s of bringing VF 2 online: create fails (ECANCELED), no group" \
		test $r = 0 -a "$(nrs)" = "$before"
	check_acct fail$s "after the failure at step $s: what was assigned was taken back (Identify 0x15, 0x14, free counts)"
done

# --- FCFS: what is free, up to 4/2, at least 2/1

ok=0
create vf-fcfs 2 || ok=1
create vf-fcfs 3 || ok=1
e2e_check "fcfs: VF 2 gets 4 VQ 2 VI, VF 3 what is left: 2 VQ 1 VI ($ok)" \
	test $ok = 0 -a "$(nrs)" = "0:vf-large:online:8/4 1:vf-small:online:2/1 2:vf-fcfs:online:4/2 3:vf-fcfs:online:2/1"
check_acct fcfs "fcfs: Identify 0x15 and 0x14 match, nothing free"
e2e_check "full: available_instances all 0 ($(avail))" test "$(avail)" = "0 0 0 0 0"
destroy 1
e2e_check "fcfs at its least: with 2 VQ 1 VI free, vf-fcfs for VF 1 gets 2/1" \
	sh -c "echo 1 > $TY/vf-fcfs/create && test \"\$(cat $VF/1/nr_wq)/\$(cat $VF/1/nr_vec)\" = 2/1"
destroy 3
destroy 1
e2e_check "fcfs: with 4 VQ 2 VI free and no min met twice, available 1 ($(avail))" \
	test "$(avail)" = "2 0 0 1 1"
check_acct fcfs2 "after destroys the device matches"

# --- relative

destroy_all
ok=0
create vf-half 0 || ok=1
create vf-half 3 || ok=1
e2e_check "relative: vf-half for VF 0 and VF 3: 8 VQ 4 VI each ($ok)" \
	test $ok = 0 -a "$(nrs)" = "0:vf-half:online:8/4 1:none:none:0/0 2:none:none:0/0 3:vf-half:online:8/4"
check_acct half "relative (half): Identify 0x15 and 0x14 match"
e2e_check "vf-quarter refused when two halves took everything (ENOSPC)" \
	refused $TY/vf-quarter/create 1 "No space left on device"
destroy_all
ok=0
for n in 0 1 2 3; do
	create vf-quarter $n || ok=1
done
e2e_check "relative: vf-quarter for every VF: 4 VQ 2 VI each ($ok)" \
	test $ok = 0 -a "$(nrs)" = "0:vf-quarter:online:4/2 1:vf-quarter:online:4/2 2:vf-quarter:online:4/2 3:vf-quarter:online:4/2"
check_acct quarter "relative (quarter): Identify 0x15 and 0x14 match"
destroy_all
check_acct empty "every group destroyed: the device has nothing assigned"
e2e_check "every group destroyed: free 16 VQ 8 VI" \
	test "$(cat $P/vpa_wq/free) $(cat $P/vpa_vec/free)" = "16 8"

# --- a namespace for a VF, which stock nvme then drives

ok=0
create vf-fcfs 3 || ok=1
wr $VF/3/ns 5 || { ok=1; echo "# ns 5: $(cat $T/wr.err)"; }
e2e_check "namespace 5 attached to VF 3's secondary ($ok)" \
	test $ok = 0 -a "$(cat $VF/3/ns)" = 5
create vf-small 2
e2e_check "namespace 5 for a second VF refused (EBUSY)" \
	refused $VF/2/ns 5 "Device or resource busy"
e2e_check "a second namespace for VF 3 refused (EBUSY)" \
	refused $VF/3/ns 4 "Device or resource busy"
VF3=$(basename "$(readlink $P/virtfn3)")
modprobe nvme
echo nvme > /sys/bus/pci/devices/"$VF3"/driver_override
echo "$VF3" > /sys/bus/pci/drivers/nvme/bind 2> $T/vfbind.err
live=
i=0
while [ $i -lt 30 ]; do
	c=$(basename "$(ls -d /sys/bus/pci/devices/"$VF3"/nvme/nvme* 2>/dev/null | head -1)")
	[ -n "$c" ] && [ "$(cat /sys/class/nvme/"$c"/state 2>/dev/null)" = live ] &&
		{ live=$c; break; }
	sleep 1
	i=$((i + 1))
done
ns5=
for b in /sys/block/nvme*; do
	[ "$(cat "$b/nsid" 2>/dev/null)" = 5 ] && ns5=$(basename "$b")
done
e2e_check "stock nvme drives VF 3 (controller ${live:-none}, online with vpa's 4 VQ 2 VI) and sees namespace 5 (${ns5:-none})" \
	test -n "$live" -a -n "$ns5"
[ -n "$live" ] && echo "# VF 3: $(nv get-feature /dev/"$live" -f 7 2>&1 | tr '\n' ' ')"

# --- sriov_numvfs 0 and back with groups

kmark
e2e_check "sriov_numvfs 0 refused while VF 3 has a driver (EBUSY)" \
	refused $P/sriov_numvfs 0 "Device or resource busy"
echo "$VF3" > /sys/bus/pci/drivers/nvme/unbind
echo > /sys/bus/pci/devices/"$VF3"/driver_override
wr $P/sriov_numvfs 0
r=$?
kmsg
e2e_check "sriov_numvfs 0 once no VF has a driver (rc $r): groups kept, offline" \
	test $r = 0 -a "$(cat $P/sriov_numvfs)" = 0 -a \
	     "$(nrs)" = "0:none:none:0/0 1:none:none:0/0 2:vf-small:offline:2/1 3:vf-fcfs:offline:4/2"
check_acct off "VFs disabled: every secondary offline with nothing assigned, the groups' resources still counted"
wr $P/sriov_numvfs 3
e2e_check "sriov_numvfs 3: VF 2's group online again, VF 3 (not enabled) stays offline" \
	test "$(nrs)" = "0:none:none:0/0 1:none:none:0/0 2:vf-small:online:2/1 3:vf-fcfs:offline:4/2"
check_acct on3 "3 VFs: Identify 0x15 and 0x14 match"
e2e_check "3 VFs, 2 without a group: available_instances small 2, large 1, half 1, quarter 2, fcfs 2 ($(avail))" \
	test "$(avail)" = "2 1 1 2 2"
destroy 3
e2e_check "destroying VF 3's group while its VF is not enabled" \
	test "$(cat $VF/3/type) $(cat $VF/3/ns) $(cat $P/vpa_wq/free)" = "none 0 14"
wr $P/sriov_numvfs 0
wr $P/sriov_numvfs 4
create vf-large 0
create vf-fcfs 3
wr $VF/3/ns 5
check_acct on4 "4 VFs again: Identify 0x15 and 0x14 match"

# --- concurrency: create/destroy and reads while sriov_numvfs toggles

kmark
end=$(($(date +%s) + 20))
(while [ "$(date +%s)" -lt $end ]; do
	echo 1 > $TY/vf-fcfs/create
	echo 2 > $TY/vf-quarter/create
	echo 1 > $VF/1/destroy
	echo 2 > $VF/2/destroy
done) 2> /dev/null &
p1=$!
(while [ "$(date +%s)" -lt $end ]; do
	cat $TY/*/available_instances $VF/*/state $DBG/primary
done) > /dev/null 2>&1 &
p2=$!
toggles=0
while [ "$(date +%s)" -lt $end ]; do
	wr $P/sriov_numvfs 0 && wr $P/sriov_numvfs 4 && toggles=$((toggles + 1))
done
wait $p1 $p2
kmsg
[ "$(cat $P/sriov_numvfs)" = 4 ] || { wr $P/sriov_numvfs 0; wr $P/sriov_numvfs 4; }
e2e_check "concurrency: $toggles sriov_numvfs toggles beside create/destroy/read loops; 4 VFs at the end" \
	test $toggles -gt 2 -a "$(cat $P/sriov_numvfs)" = 4
check_acct conc "after the loops: Identify 0x15 and 0x14 match vpa's groups and free counts"
e2e_check "after the loops: VF 0 and VF 3 kept their groups and VF 3 its namespace" \
	test "$(cat $VF/0/type):$(cat $VF/0/state) $(cat $VF/3/type):$(cat $VF/3/state):$(cat $VF/3/ns)" = \
	     "vf-large:online vf-fcfs:online:5"

# --- unbind with VFs enabled and groups: the device as found

kmark
echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
echo > $P/driver_override
kmsg
e2e_check "vpa unbinds with groups and VFs: VFs disabled, no vpa_vfs/" \
	test "$(driver)" = none -a "$(cat $P/sriov_numvfs)" = 0 -a ! -e $VF
echo "$PF" > /sys/bus/pci/drivers/nvme/bind
DEV=
i=0
while [ $i -lt 60 ]; do
	c=$(basename "$(ls -d $P/nvme/nvme* 2>/dev/null | head -1)")
	[ -n "$c" ] && [ "$(cat /sys/class/nvme/"$c"/state 2>/dev/null)" = live ] &&
		{ DEV=/dev/$c; break; }
	sleep 1
	i=$((i + 1))
done
nv list-secondary "$DEV" > $T/sec.raw 2>&1
# "SCID SCS VFN NVQ NVI" lines, decimal (as sriov_probe.sh's seclist)
awk '{ k = $1; n = split($0, a, ": "); split(a[n], b, " "); v = b[1] }
	k == "SCID" { s = v } k == "SCS" { c = v } k == "VFN" { f = v }
	k == "NVQ" { q = v }
	k == "NVI" { print s, c, f, q, v }' $T/sec.raw |
while read -r s c f q v; do
	echo "$((s)) $((c)) $((f)) $((q)) $((v))"
done > $T/sec.after
echo "# list-secondary (SCID SCS VFN NVQ NVI): $(tr '\n' ';' < $T/sec.after)"
nv list-ctrl "$DEV" -n 5 > $T/ctrl5 2>&1
echo "# list-ctrl -n 5: $(tr '\n' ' ' < $T/ctrl5)"
e2e_check "stock nvme ($DEV): every secondary offline with nothing assigned (list-secondary)" \
	test -n "$DEV" -a "$(wc -l < $T/sec.after)" = 4 -a \
	     "$(awk '$2 != 0 || $4 != 0 || $5 != 0' $T/sec.after | wc -l)" = 0
e2e_check "namespace 5 attached to no controller (list-ctrl)" \
	grep -q "num of ctrls present: 0" $T/ctrl5

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
