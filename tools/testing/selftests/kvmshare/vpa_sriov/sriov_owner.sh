#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The owner protocol of VF groups (Documentation/plans/sriov.md, step 6):
# resize (vpa_vfs/<n>/nr_wq, nr_vec), give (give_to, give_wq, give_vec)
# and destroy of a group whose VF is online with a driver bound ask its
# owner first (event, event_kind, event_nr_*, ack) and go on after
# ack_timeout_ms without an answer. vpa binds the PF below rp3
# (VM_NVME_SRIOV=1: 16 flexible VQ, 8 VI, at most 8 and 4 per VF, 4 VFs,
# namespaces 2 to 5 private and detached); after every change the groups
# are checked against Identify 0x15 and 0x14 (acct, nvme_lib.sh).
#   - refusals with no driver bound: counts outside the group limits or
#     above what is free, give without give_to or to a VF without a
#     group, malformed writes, acks with nothing pending; a fuzz of VF 0's
#     files; changes without an owner ("idle": no wait); commands the
#     device fails in the middle of a change (debugfs sriov_group_fail,
#     sriov_undo_fail); a give to an offline group and to groups whose VFs
#     are disabled; EPERM without CAP_SYS_ADMIN;
#   - nvme_vfio (an L1 VFIO NVMe client) as owner of VFs bound to
#     vfio-pci: acked resizes (its data before, after, the request's
#     kind and counts as it read them), an acked give (both owners
#     asked), the shell as owner of a VF nvme_vfio holds open (busy
#     refusals while a request is out, sriov_numvfs 0 refused, wrong and
#     repeated acks), vfio-pci unbound while its owner is asked (EAGAIN,
#     nothing changed), vfio-pci with no user (no request, no wait), a
#     forced resize (a silent owner: its next
#     command on its old queue fails, its late ack is refused, it starts
#     again) while another VF does verified I/O, two groups resized at
#     once by two owners while a third VF does I/O, an acked destroy and
#     a forced one (the controller gone, the other VFs untouched);
#   - stock nvme (a host driver, which cannot be asked): destroy, resize
#     and a give to it refused (EBUSY) at once, its reads go on;
#   - an unbind of vpa while a change waits for an owner: it stops waiting
#     (ENODEV, not counted as forced).
# Owners that are still waiting when their section is over are stopped,
# so that a failure costs seconds, not the program's timeout.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_owner
mkdir -p $T
BIN=$(dirname "$0")/nvme_vfio

sriov_init
DBG=/sys/kernel/debug/vpa/$PF
ACK=/sys/module/vpa/parameters/ack_timeout_ms
ack0=$(cat $ACK)

# the waits scale with KVMSHARE_TIMEOUT_FACTOR as the suites' do
F=${KVMSHARE_TIMEOUT_FACTOR:-1}

# owner_at NAME CHECK K: wait (30 s) until owner NAME reported CHECK K
# times (the end of its K-th request); false at once if it exited
owner_at() {
	i=0
	while [ $i -lt $((30 * F)) ]; do
		[ "$(grep -cE "^(PASS|FAIL) $2:" $T/"$1")" -ge "$3" ] && return 0
		kill -0 "$(cat $T/"$1".pid)" 2> /dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# holder NAME N: nvme_vfio holds VF N open through vfio-pci (a user to
# ask; the shell answers) for at most 300 s; true once it is open (its
# output file emptied first, as owner()'s)
holder() {
	: > $T/"$1"
	"$BIN" hold "$(vfbdf "$2")" 300 > $T/"$1" 2>&1 &
	echo $! > $T/"$1".pid
	i=0
	while [ $i -lt $((20 * F)) ]; do
		grep -q '^# holder ready' $T/"$1" && return 0
		kill -0 "$(cat $T/"$1".pid)" 2> /dev/null || break
		sleep 1
		i=$((i + 1))
	done
	sed 's/^/#   /' $T/"$1"
	return 1
}

holder_end() {	# holder_end NAME: close the holder's device
	kill "$(cat $T/"$1".pid)" 2> /dev/null
	wait "$(cat $T/"$1".pid)"
	sed "s/^/# $1: /" $T/"$1"
}

# wrbg FILE VALUE NAME: wr in the background, its exit status in
# $T/NAME.rc and its error in $T/NAME.err (not wr.err, which the
# foreground's checks use); its pid in $bg
wrbg() {
	( (echo "$2" > "$1") 2> $T/"$3".err; echo $? > $T/"$3".rc ) &
	bg=$!
}

# io_start N NS: verified I/O on VF N's namespace NS until io_end (pid
# in $io); io_end: stop it, its output as diagnostics, its status in $r
io_start() {
	"$BIN" io "$(vfbdf "$1")" "$2" 0 > $T/io 2>&1 &
	io=$!
}
io_end() {
	kill -TERM $io 2> /dev/null
	wait $io
	r=$?
	sed 's/^/# io: /' $T/io
}

# wait_event N: wait (20 s) until VF N's event reads non-zero
wait_event() {
	i=0
	while [ $i -lt 20 ]; do
		[ "$(cat $VF/"$1"/event)" != 0 ] && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# vfen N: VF N's enable count (pci_is_enabled(), what vpa reads as "a
# user has vfio-pci's device open"), for the messages
vfen() {
	cat /sys/bus/pci/devices/"$(vfbdf "$1")"/enable
}

echo "# PF $PF: driver $(driver), sriov_numvfs $(cat $P/sriov_numvfs), ack_timeout_ms $ack0"
modprobe vfio-pci
modprobe nvme
[ "$(driver)" = vpa ] && echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
autoprobe=$(cat $P/sriov_drivers_autoprobe)
echo 0 > $P/sriov_drivers_autoprobe
vpa_take_pf

kmark
wr $P/sriov_numvfs 4 || echo "# sriov_numvfs 4: $(cat $T/wr.err)"
ok=0
wr $TY/vf-small/create 0 || ok=1
wr $TY/vf-fcfs/create 1 || ok=1
kmsg
e2e_check "4 VFs; groups vf-small for VF 0 and vf-fcfs for VF 1 ($ok: $(cat $T/wr.err))" \
	test $ok = 0 -a "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
e2e_check "no request out: event 0, event_kind none, the counters 0, last_outcome none, last_ack_us -1" \
	test "$(cat $VF/1/event) $(cat $VF/1/event_kind) $(cat $VF/1/event_nr_wq) $(rec 1 events) $(rec 1 acked) $(rec 1 forced) $(rec 1 last_outcome) $(rec 1 last_ack_us)" = \
	     "0 none 0 0 0 0 none -1"

# --- refusals (no driver bound): nothing changes

before=$(nrs)
ok=0
for v in 1 9 0 -1 abc "" 0x4 "2 3" 99999999999 4294967298; do
	refused $VF/1/nr_wq "$v" "Invalid argument" ||
		{ ok=1; echo "# nr_wq '$v': $(cat $T/wr.err)"; }
done
for v in 0 5; do
	refused $VF/1/nr_vec "$v" "Invalid argument" ||
		{ ok=1; echo "# nr_vec '$v': $(cat $T/wr.err)"; }
done
e2e_check "resize below 2 VQ or 1 VI, above 8 VQ or 4 VI, or malformed: EINVAL" test $ok = 0
ok=0
refused $VF/1/give_wq 1 "No such file or directory" || ok=1
for v in 1 4 32 abc -1 "" 0x2; do
	refused $VF/1/give_to "$v" "Invalid argument" ||
		{ ok=1; echo "# give_to '$v': $(cat $T/wr.err)"; }
done
e2e_check "give without give_to (ENOENT); give_to itself, a VF number without a directory or malformed (EINVAL); give_to reads none" \
	test $ok = 0 -a "$(cat $VF/1/give_to)" = none
wr $VF/1/give_to 3
e2e_check "give to VF 3, which has no group: ENOENT (give_to reads 3)" \
	sh -c "test \"\$(cat $VF/1/give_to)\" = 3 && ! echo 1 2> $T/wr.err > $VF/1/give_wq && grep -q 'No such file' $T/wr.err"
wr $VF/1/give_to 0
ok=0
for v in 0 3 5 abc; do
	refused $VF/1/give_wq "$v" "Invalid argument" ||
		{ ok=1; echo "# give_wq '$v': $(cat $T/wr.err)"; }
done
refused $VF/1/give_vec 2 "Invalid argument" || ok=1
refused $VF/0/give_wq 1 "No such file or directory" || ok=1
e2e_check "give of 0, of more than it has, leaving less than 2 VQ or 1 VI, malformed: EINVAL" test $ok = 0
ok=0
for v in abc 0 "" -1; do
	refused $VF/1/ack "$v" "Invalid argument" || ok=1
done
refused $VF/1/ack 1 "Stale file handle" || ok=1
e2e_check "ack malformed or 0 (EINVAL), with no request out (ESTALE)" test $ok = 0
e2e_check "after the refusals nothing changed" test "$(nrs)" = "$before"
check_acct refused "after the refusals the device matches"

# --- changes with no owner (no driver bound): no request, no wait (a
# 60 s deadline: "at once" is no race with it)

echo 60000 > $ACK
twr $VF/1/nr_wq 2
r=$?
e2e_check "VF 1 without a driver: nr_wq 2 at once ($r, $MS ms), last_outcome idle, no request, changes 1" \
	test $r = 0 -a "$(cat $VF/1/nr_wq) $(rec 1 last_outcome) $(rec 1 events) $(rec 1 changes)" = "2 idle 0 1" -a $MS -lt 1000
check_acct idle "after the resize without an owner the device matches"
twr $VF/1/give_vec 1
r=$?
e2e_check "VF 1 gives 1 VI to VF 0, no owners ($r, $MS ms): 2/1 and 2/2" \
	test $r = 0 -a "$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec) $(cat $VF/0/nr_wq)/$(cat $VF/0/nr_vec)" = "2/1 2/2"
check_acct idlegive "after the give without owners the device matches"

# --- commands the device fails in the middle of a change, and changes of
# groups that are offline (VF 0 2/2, VF 1 2/1 online; no driver bound)

HOOK=/sys/kernel/debug/vpa
echo 3 > $HOOK/sriov_group_fail
refused $VF/1/nr_wq 4 "Input/output error"
r=$?
echo 0 > $HOOK/sriov_group_fail
e2e_check "the device fails VF 1's online in a resize to 4 VQ (sriov_group_fail 3): EIO ($r), VF 1 offline with its new counts 4/1" \
	test $r = 0 -a "$(cat $VF/1/state):$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec)" = "offline:4/1"
check_acct groupfail "after the failed online the device matches (VF 1 offline, nothing assigned)"
wr $VF/0/give_to 1
twr $VF/0/give_vec 1
r=$?
e2e_check "VF 0 gives 1 VI to VF 1, which is offline ($r): VF 0 online 2/1, VF 1 offline 4/2" \
	test $r = 0 -a "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:offline:4/2 2:none:none:0/0 3:none:none:0/0"
check_acct offgive "after the give to an offline group the device matches"
ok=0
wr $P/sriov_numvfs 0 || { ok=1; echo "# sriov_numvfs 0: $(cat $T/wr.err)"; }
wr $VF/1/give_to 0
wr $VF/1/give_vec 1 || ok=1
wr $VF/0/nr_wq 3 || ok=1
a=$(nrs)
wr $P/sriov_numvfs 4 || { ok=1; echo "# sriov_numvfs 4: $(cat $T/wr.err)"; }
e2e_check "VFs disabled: VF 1 gives 1 VI to VF 0 and VF 0 grows to 3 VQ in the core ($ok: $a); enabled again, both online with their new counts" \
	test $ok = 0 -a "$a" = "0:vf-small:offline:3/2 1:vf-fcfs:offline:4/1 2:none:none:0/0 3:none:none:0/0" -a \
	     "$(nrs)" = "0:vf-small:online:3/2 1:vf-fcfs:online:4/1 2:none:none:0/0 3:none:none:0/0"
check_acct disabled "after the changes with the VFs disabled the device matches"
echo 1 > $HOOK/sriov_undo_fail
refused $VF/1/give_wq 1 "Input/output error"
r=$?
e2e_check "the device fails the giver's offline in a give (sriov_undo_fail 1): EIO ($r), VF 1 in state error with its old counts 4/1, VF 0 untouched online 3/2" \
	test $r = 0 -a "$(cat $HOOK/sriov_undo_fail) $(nrs)" = "0 0:vf-small:online:3/2 1:vf-fcfs:error:4/1 2:none:none:0/0 3:none:none:0/0"
wr $VF/1/destroy 1
r=$?
wr $TY/vf-fcfs/create 1
e2e_check "VF 1's group in state error destroyed ($r) and made again: VF 1 online 4/2" \
	test $r = 0 -a "$(cat $VF/1/state):$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec)" = "online:4/2"
check_acct undofail "after the destroy of the group in state error the device matches"
wr $VF/1/give_to 0
"$BIN" eperm $VF/1 > $T/eperm 2>&1
r=$?
sed 's/^/# eperm: /' $T/eperm
e2e_check "without CAP_SYS_ADMIN every write of nr_wq, nr_vec, give_to, give_wq, give_vec, ack, destroy and ns is refused (EPERM) ($r)" \
	test $r = 0 -a "$(grep -c '^PASS eperm' $T/eperm)" = 8
e2e_check "after the refused writes nothing changed" \
	test "$(cat $VF/1/give_to) $(nrs)" = "0 0:vf-small:online:3/2 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
wr $VF/1/give_to none

# --- a fuzz of VF 0's files (no driver bound: a value that is valid is
# applied at once): every write succeeds or fails with a documented errno

wr $VF/0/give_to 1
fz=0
bad=0
for round in 1 2 3 4 5 6 7 8; do
	for f in nr_wq nr_vec give_to give_wq give_vec ack ns; do
		for v in 0 1 2 3 4 8 9 -1 +2 " 2" 02 2x 4294967295 4294967296 none 1e1; do
			wr $VF/0/$f "$v" ||
				grep -qE 'Invalid argument|No such file|No space left|Device or resource busy|Stale file handle|Operation not permitted' $T/wr.err ||
				{ bad=$((bad + 1)); echo "# fuzz $f '$v': $(cat $T/wr.err)"; }
			fz=$((fz + 1))
		done
		head -c $((round * 5)) /dev/urandom > $T/fuzz.bin
		(cat $T/fuzz.bin > $VF/0/$f) 2> $T/wr.err ||
			grep -qE 'Invalid argument|No such file|No space left|Device or resource busy|Stale file handle' $T/wr.err ||
			{ bad=$((bad + 1)); echo "# fuzz $f random: $(cat $T/wr.err)"; }
		fz=$((fz + 1))
	done
done
wr $VF/0/give_to none
e2e_check "fuzz: $fz writes to VF 0's nr_wq, nr_vec, give_to, give_wq, give_vec, ack and ns, each done or refused with a documented errno ($bad not)" \
	test $bad = 0
check_acct fuzz "after the fuzz the device matches vpa"
# back to the setup: VF 0 vf-small 2/1 with namespace 2, VF 1 vf-fcfs
# 4/2 with 3, VF 2 and VF 3 vf-fcfs 4/2 with 4 and 5 (free 2 VQ, 1 VI)
ok=0
for n in 0 1; do
	wr $VF/$n/ns 0
	wr $VF/$n/destroy 1 || ok=1
done
wr $TY/vf-small/create 0 || ok=1
for n in 1 2 3; do
	wr $TY/vf-fcfs/create $n || ok=1
done
for n in 0 1 2 3; do
	wr $VF/$n/ns $((n + 2)) || { ok=1; echo "# ns of VF $n: $(cat $T/wr.err)"; }
done
e2e_check "groups again: VF 0 vf-small, VFs 1-3 vf-fcfs, namespaces 2-5 ($ok)" \
	test $ok = 0 -a "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:vf-fcfs:online:4/2 3:vf-fcfs:online:4/2"
e2e_check "a growth beyond what is free (VF 1 to 8 VQ, 2 free): ENOSPC" \
	refused $VF/1/nr_wq 8 "No space left on device"
check_acct setup "the device matches"

ok=0
for n in 1 2 3; do
	bind_vfio $n || ok=1
done
e2e_check "vfio-pci binds VFs 1, 2 and 3" test $ok = 0

# --- acked resizes: nvme_vfio owns VF 1 and acks; each change waits for
# it to start again (a request that found it restarting could be forced)

echo 10000 > $ACK
kmark
if owner o1 1 3 ack 3; then
	ok=0
	twr $VF/1/nr_wq 2 || ok=1
	m1=$MS
	owner_at o1 after 1 || ok=1
	twr $VF/1/nr_vec 1 || ok=1
	owner_at o1 after 2 || ok=1
	twr $VF/1/nr_wq 4 || ok=1
	owner_at o1 after 3 || ok=1
else
	ok=1
fi
owner_end o1
kmsg
e2e_check "acked: VF 1 resized to 2 VQ, to 1 VI, back to 4 VQ ($ok; the first in $m1 ms): 4/1" \
	test $ok = 0 -a "$(cat $VF/1/state):$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec)" = "online:4/1"
e2e_check "the owner's data before, its acks after quiescing, and after each change its controller back with the data: $(grep -c '^PASS' $T/o1) passed" \
	owner_ok o1 before:1 ack:3 after:3
e2e_check "the owner read each request's kind and counts (resize to 2/2, 2/1, 4/1)" \
	test "$(grep -c 'request [0-9]*: resize, after it 2 VQ 2 VI' $T/o1) $(grep -c 'resize, after it 2 VQ 1 VI' $T/o1) $(grep -c 'resize, after it 4 VQ 1 VI' $T/o1)" = "1 1 1"
la=$(rec 1 last_ack_us)
e2e_check "VF 1's counters: events 3, acked 3, forced 0, changes 3, last_outcome acked, last_ack_us $la (0 to 10 s)" \
	test "$(rec 1 events) $(rec 1 acked) $(rec 1 forced) $(rec 1 changes) $(rec 1 last_outcome) $(rec 1 last_kind)" = "3 3 0 3 acked revoke" -a \
	     "$la" -ge 0 -a "$la" -lt 10000000
e2e_check "event reads 0 again after the change" test "$(cat $VF/1/event)" = 0
check_acct acked "after the acked resizes the device matches"

# --- an acked give: VF 1 gives 2 VQ to VF 2, both owners asked

kmark
ok=0
owner o1 1 3 ack 1 || ok=1
owner o2 2 4 ack 1 || ok=1
wr $VF/1/give_to 2
[ $ok = 0 ] && { twr $VF/1/give_wq 2 || ok=1; }
owner_at o1 after 1
owner_at o2 after 1
owner_end o1
owner_end o2
kmsg
e2e_check "acked give ($ok, $MS ms): VF 1 2/1, VF 2 6/2" \
	test $ok = 0 -a "$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec) $(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec)" = "2/1 6/2"
e2e_check "both owners asked (VF 1: give, 2/1; VF 2: receive, 6/2), both acked" \
	test "$(grep -c 'give, after it 2 VQ 1 VI' $T/o1) $(grep -c 'receive, after it 6 VQ 2 VI' $T/o2) $(rec 1 last_outcome) $(rec 2 last_outcome)" = \
	     "1 1 acked acked"
e2e_check "VF 1's owner back with its data after the give" owner_ok o1 before:1 ack:1 after:1
e2e_check "VF 2's owner back with its data after the give" owner_ok o2 before:1 ack:1 after:1
check_acct give "after the acked give the device matches"

# --- the shell as VF 2's owner (nvme_vfio holds it open through
# vfio-pci and does nothing else; a 60 s deadline, so that nothing here
# races it): VF 2 gives 1 VI to VF 0 (no driver); a request out for VF 2,
# other changes of both refused meanwhile, wrong and repeated acks

echo 60000 > $ACK
kmark
if holder h2 2; then
	wr $VF/2/give_to 0
	wrbg $VF/2/give_vec 1 bg
	if wait_event 2; then
		seq=$(cat $VF/2/event)
		e2e_check "request $seq out: event_kind give, event_nr_wq 6, event_nr_vec 1; VF 0 (no driver) not asked" \
			test "$(cat $VF/2/event_kind) $(cat $VF/2/event_nr_wq) $(cat $VF/2/event_nr_vec) $(cat $VF/0/event)" = "give 6 1 0"
		ok=0
		refused $VF/2/nr_wq 4 "Device or resource busy" || ok=1
		refused $VF/2/destroy 1 "Device or resource busy" || ok=1
		refused $VF/2/ns 0 "Device or resource busy" || ok=1
		refused $VF/0/nr_vec 1 "Device or resource busy" || ok=1
		wr $VF/1/give_to 2
		refused $VF/1/give_vec 1 "Device or resource busy" || ok=1
		wr $VF/1/give_to none
		e2e_check "while it is out: resize, destroy, ns of VF 2, a resize of VF 0 and a give to VF 2 refused (EBUSY)" test $ok = 0
		e2e_check "while it is out: ns of VF 0 (no driver: the change's own busy check) refused (EBUSY)" \
			refused $VF/0/ns 0 "Device or resource busy"
		e2e_check "while it is out: sriov_numvfs 0 refused (EBUSY: VFs bound to vfio-pci)" \
			refused $P/sriov_numvfs 0 "Device or resource busy"
		e2e_check "an ack of another number refused (ESTALE)" \
			refused $VF/2/ack $((seq + 1)) "Stale file handle"
		e2e_check "still out after the refusals (the give waits): event $seq" \
			test "$(cat $VF/2/event)" = "$seq"
		wr $VF/2/ack "$seq"
		r=$?
		e2e_check "the ack of request $seq accepted ($r), a second one refused (ESTALE)" \
			sh -c "test $r = 0 && ! echo $seq 2> $T/wr.err > $VF/2/ack && grep -q 'Stale file' $T/wr.err"
	else
		e2e_tap 1 "a request out for VF 2 (event stayed 0; its enable count $(vfen 2))"
	fi
	wait $bg
else
	e2e_tap 1 "nvme_vfio holds VF 2 open"
	echo 1 > $T/bg.rc
fi
holder_end h2
kmsg
e2e_check "the give went on after the ack ($(cat $T/bg.rc) $(cat $T/bg.err)): VF 2 6/1 acked, VF 0 2/2 idle, last_ack_us $(rec 2 last_ack_us), event 0" \
	test "$(cat $T/bg.rc) $(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec) $(rec 2 last_outcome) $(cat $VF/0/nr_wq)/$(cat $VF/0/nr_vec) $(rec 0 last_outcome) $(cat $VF/2/event)" = \
	     "0 6/1 acked 2/2 idle 0" -a "$(rec 2 last_ack_us)" -ge 0
check_acct shell "after the shell's ack the device matches"

# --- vfio-pci unbound from VF 2 while its owner is asked (the review
# s26's M4): the change finds another driver than the one asked and
# changes nothing (EAGAIN), even once acked

kmark
if holder h2 2; then
	wrbg $VF/2/nr_vec 2 bg
	if wait_event 2; then
		seq=$(cat $VF/2/event)
		holder_end h2
		unbind_vf 2
		wr $VF/2/ack "$seq"
		r=$?
		wait $bg
		kmsg
		e2e_check "vfio-pci unbound while request $seq was out, then acked ($r): the resize refused ($(cat $T/bg.err)), VF 2 online 6/1, event 0" \
			test $r = 0 -a "$(cat $T/bg.rc)" != 0 -a "$(grep -c 'temporarily unavailable' $T/bg.err)" = 1 -a \
			     "$(cat $VF/2/state):$(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec) $(cat $VF/2/event)" = "online:6/1 0"
	else
		e2e_tap 1 "a request out for VF 2 (event stayed 0; its enable count $(vfen 2))"
		holder_end h2
		wait $bg
	fi
else
	e2e_tap 1 "nvme_vfio holds VF 2 open"
fi
e2e_check "vfio-pci binds VF 2 again" bind_vfio 2
check_acct unbound "after the refused change the device matches"

# --- vfio-pci with no user (nobody holds VF 2 open): nothing to ask, no
# wait (a 60 s deadline)

e0=$(rec 2 events)
twr $VF/2/nr_vec 2
r=$?
m=$MS
twr $VF/2/nr_vec 1
e2e_check "vfio-pci bound, no user: VF 2 resized to 2 VI and back to 1 at once ($r $?, $m and $MS ms), no request (events $e0 -> $(rec 2 events)), idle" \
	test $r = 0 -a "$(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec) $(rec 2 events) $(rec 2 last_outcome)" = "6/1 $e0 idle" -a \
	     $m -lt 10000 -a $MS -lt 10000
check_acct nouser "after the changes without a user the device matches"

# --- forced: a silent owner of VF 2 while VF 3 does verified I/O

echo 1500 > $ACK
kmark
ok=0
owner o2 2 4 silent 1 || ok=1
io_start 3 5
f0=$(rec 2 forced)
en=$(vfen 2)
[ $ok = 0 ] && { twr $VF/2/nr_wq 4 || ok=1; }
kill -0 $io 2> /dev/null
during=$?
owner_at o2 after 1
owner_end o2
io_end
kmsg
e2e_check "forced: VF 2 resized to 4 VQ after the deadline ($ok, $MS ms, 1500 ms deadline; enable count $en): forced $f0 -> $(rec 2 forced), last_ack_us -1" \
	test $ok = 0 -a "$(cat $VF/2/nr_wq) $(rec 2 forced) $(rec 2 last_outcome) $(rec 2 last_ack_us)" = "4 $((f0 + 1)) forced -1" -a \
	     "$MS" -ge 1400
e2e_check "the silent owner's next command on its old queue failed, its late ack was refused (ESTALE), and it started again with its data" \
	owner_ok o2 before:1 io-fails:1 late-ack:1 after:1
e2e_check "the log names the forced request" grep -q "VF 2: request [0-9]* (resize) not acknowledged" $T/kmsg
e2e_check "VF 3's verified I/O ran across the change ($during: still running when it was over) and every round of it worked ($r): $(sed -n 's/^[A-Z]* io: //p' $T/io)" \
	test $during = 0 -a $r = 0
check_acct forced "after the forced resize the device matches (VF 1 and 3 untouched)"

# --- concurrency: VF 1 and VF 2 resized at once, each acked by its
# owner, while VF 3 does verified I/O

echo 10000 > $ACK
kmark
ok=0
owner o1 1 3 ack 4 || ok=1
owner o2 2 4 ack 4 || ok=1
io_start 3 5
# cloop VF FILE V1 V2 V3 V4 OWNER: four resizes, each acked; the first
# that fails ends the loop (its owner is stopped by owner_end)
cloop() {
	n=$1
	f=$2
	o=$7
	shift 2
	k=0
	for v in "$1" "$2" "$3" "$4"; do
		k=$((k + 1))
		echo "$v" 2> /dev/null > $VF/"$n"/"$f" ||
			{ echo "fail $f $v" >> $T/cloop.$n; return; }
		owner_at "$o" after $k ||
			{ echo "owner $k" >> $T/cloop.$n; return; }
	done
}
rm -f $T/cloop.1 $T/cloop.2
if [ $ok = 0 ]; then
	t0=$(ms_now)
	cloop 1 nr_vec 2 1 2 1 o1 &
	c1=$!
	cloop 2 nr_wq 2 4 2 4 o2 &
	c2=$!
	wait $c1
	wait $c2
	echo "# both loops in $(($(ms_now) - t0)) ms"
fi
kill -0 $io 2> /dev/null
during=$?
owner_end o1
owner_end o2
io_end
kmsg
e2e_check "two groups changed at once: every resize done ($(cat $T/cloop.1 $T/cloop.2 2>/dev/null | tr '\n' ' ')): VF 1 2/1, VF 2 4/1" \
	test $ok = 0 -a ! -s $T/cloop.1 -a ! -s $T/cloop.2 -a \
	     "$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec) $(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec)" = "2/1 4/1"
e2e_check "VF 1's owner acked four requests and came back with its data each time" \
	owner_ok o1 before:1 ack:4 after:4
e2e_check "VF 2's owner acked four requests and came back with its data each time" \
	owner_ok o2 before:1 ack:4 after:4
e2e_check "VF 3's verified I/O ran across both loops ($during) and every round of it worked ($r): $(sed -n 's/^[A-Z]* io: //p' $T/io)" \
	test $during = 0 -a $r = 0
check_acct conc "after the concurrent changes the device matches"

# --- an acked destroy (VF 1), then a forced one (VF 3)

kmark
ok=0
owner o1 1 3 ack 1 || ok=1
[ $ok = 0 ] && { twr $VF/1/destroy 1 || ok=1; }
owner_at o1 gone 1
owner_end o1
kmsg
e2e_check "acked destroy of VF 1 ($ok, $MS ms): no group, the owner acked, namespace 3 detached" \
	test $ok = 0 -a "$(cat $VF/1/type) $(rec 1 last_outcome) $(awk '$1 == 3 { print $3 }' $DBG/namespaces)" = "none acked -"
e2e_check "the owner's controller cannot come back after the destroy" owner_ok o1 before:1 ack:1 gone:1
e2e_check "vfio-pci stays bound to VF 1" \
	test "$(drv /sys/bus/pci/devices/"$(vfbdf 1)")" = vfio-pci
e2e_check "a new group for VF 1 refused while vfio-pci is bound (EBUSY)" \
	refused $TY/vf-small/create 1 "Device or resource busy"
echo 1500 > $ACK
kmark
ok=0
owner o3 3 5 silent 1 || ok=1
[ $ok = 0 ] && { twr $VF/3/destroy 1 || ok=1; }
owner_at o3 gone 1
owner_end o3
kmsg
e2e_check "forced destroy of VF 3 ($ok, $MS ms): no group, forced, namespace 5 detached" \
	test $ok = 0 -a "$(cat $VF/3/type) $(rec 3 last_outcome) $(rec 3 forced) $(awk '$1 == 5 { print $3 }' $DBG/namespaces)" = "none forced 1 -" -a \
	     "$MS" -ge 1400
e2e_check "the silent owner's next command failed, its late ack refused, its controller gone" \
	owner_ok o3 before:1 io-fails:1 late-ack:1 gone:1
"$BIN" io "$(vfbdf 2)" 4 2 > $T/io2 2>&1
r=$?
sed 's/^/# io2: /' $T/io2
e2e_check "VF 2 untouched by both: verified I/O ($r)" test $r = 0
check_acct destroyed "after the destroys the device matches"

# --- a host driver: stock nvme on VF 0 knows no owner protocol and
# cannot be asked (the review s26's M3): a destroy, a resize and a give
# to it are refused at once (EBUSY), and its reads go on

unbind_vf 1
unbind_vf 3
d0=$(vfbdf 0)
IOT=/sys/module/nvme_core/parameters/io_timeout
iot0=$(cat $IOT)
echo 5 > $IOT
echo nvme > /sys/bus/pci/devices/"$d0"/driver_override
echo "$d0" 2> /dev/null > /sys/bus/pci/drivers/nvme/bind
ns2=
i=0
while [ $i -lt 30 ] && [ -z "$ns2" ]; do
	for b in /sys/block/nvme*; do
		[ "$(cat "$b/nsid" 2>/dev/null)" = 2 ] && ns2=$(basename "$b")
	done
	sleep 1
	i=$((i + 1))
done
if [ -n "$ns2" ]; then
	kmark
	before=$(nrs)
	ev0=$(rec 0 events)
	ok=0
	t0=$(ms_now)
	refused $VF/0/destroy 1 "Device or resource busy" || ok=1
	refused $VF/0/nr_vec 1 "Device or resource busy" || ok=1
	wr $VF/2/give_to 0
	refused $VF/2/give_wq 2 "Device or resource busy" || ok=1
	wr $VF/2/give_to none
	ms=$(($(ms_now) - t0))
	e2e_check "under stock nvme ($ns2): destroy and resize of VF 0 and a give to it refused (EBUSY) in $ms ms ($ok), not asked (events $ev0 -> $(rec 0 events)), nothing changed" \
		test $ok = 0 -a "$ms" -lt 10000 -a "$(rec 0 events)" = "$ev0" -a "$(nrs)" = "$before"
	t0=$(ms_now)
	# (a block the probe's partition scan did not read into the cache)
	timeout 120 dd if=/dev/"$ns2" of=/dev/null bs=4096 skip=4000 count=1 > $T/dd 2>&1
	r=$?
	ms=$(($(ms_now) - t0))
	kmsg
	sed 's/^/# dd: /' $T/dd
	e2e_check "nvme's next read of $ns2 works ($r) in $ms ms" \
		test $r = 0 -a "$ms" -lt 60000
else
	e2e_skip "refusals under stock nvme" "nvme did not bind VF 0 or show namespace 2"
fi
unbind_vf 0
echo "$iot0" > $IOT
e2e_check "VF 0 unbound (driver $(drv /sys/bus/pci/devices/"$d0"))" \
	test "$(drv /sys/bus/pci/devices/"$d0")" = none
wr $VF/0/ns 0
twr $VF/0/destroy 1
r=$?
e2e_check "with no driver, VF 0's group destroyed at once ($r, $MS ms), idle" \
	test $r = 0 -a "$(cat $VF/0/type) $(rec 0 last_outcome)" = "none idle" -a "$MS" -lt 10000
"$BIN" io "$(vfbdf 2)" 4 1 > $T/io2 2>&1
r=$?
e2e_check "VF 2 still does verified I/O ($r)" test $r = 0
check_acct hostdrv "after the host driver's case the device matches"

# --- unbind while a change waits for an owner (nvme_vfio holds VF 2
# open, a 60 s deadline): the wait stops, the write fails (ENODEV) and is
# not counted as forced; the unbind ends once the holder closes VF 2
# (vfio-pci's unbind waits for its user)

echo 60000 > $ACK
if holder h2 2 && { wrbg $VF/2/nr_vec 2 bg; wait_event 2; }; then
	kmark
	t0=$(ms_now)
	( echo "$PF" > /sys/bus/pci/drivers/vpa/unbind ) &
	ub=$!
	wait $bg
	ums=$(($(ms_now) - t0))
	holder_end h2
	wait $ub
	kmsg
	e2e_check "the resize waiting for VF 2's owner fails in $ums ms once vpa unbinds ($(cat $T/bg.err))" \
		test "$ums" -lt 10000 -a "$(cat $T/bg.rc)" != 0 -a \
		     "$(grep -c 'No such device' $T/bg.err)" = 1
	grep -q 'not acknowledged' $T/kmsg
	nf=$?
	e2e_check "vpa unbound ($(driver)) once the holder closed VF 2; the wait the unbind ended is not logged as forced ($nf)" \
		test "$(driver)" = none -a $nf = 1
else
	e2e_tap 1 "a request out for VF 2 before the unbind (its enable count $(vfen 2))"
	holder_end h2
	wait $bg
	echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
fi
echo "$ack0" > $ACK
echo > $P/driver_override
echo "$autoprobe" > $P/sriov_drivers_autoprobe
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/driver_override" 2>/dev/null)" = vfio-pci ] && echo > "$d/driver_override"
done
e2e_check "vpa unbound, VFs disabled" \
	test "$(driver)" = none -a "$(cat $P/sriov_numvfs)" = 0

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
