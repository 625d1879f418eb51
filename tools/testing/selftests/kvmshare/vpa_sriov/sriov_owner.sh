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
#     files; changes without an owner ("idle": no wait);
#   - nvme_vfio (an L1 VFIO NVMe client) as owner of VFs bound to
#     vfio-pci: acked resizes (its data before, after, the request's
#     kind and counts as it read them), an acked give (both owners
#     asked), the shell as owner (busy refusals while a request is out,
#     wrong and repeated acks), a forced resize (a silent owner: its next
#     command on its old queue fails, its late ack is refused, it starts
#     again) while another VF does verified I/O, two groups resized at
#     once by two owners while a third VF does I/O, an acked destroy and
#     a forced one (the controller gone, the other VFs untouched);
#   - stock nvme (a host driver) as the owner: a forced destroy, its next
#     read fails and the host goes on;
#   - an unbind of vpa while a change waits for an owner: it stops waiting.

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

ms_now() {	# milliseconds since boot
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# refused FILE VALUE TEXT: the write fails with the errno text TEXT
refused() {
	! wr "$1" "$2" && grep -q "$3" $T/wr.err
}

# twr FILE VALUE: wr, its time in ms in $MS
twr() {
	t0=$(ms_now)
	wr "$1" "$2"
	r=$?
	MS=$(($(ms_now) - t0))
	return $r
}

rec() {		# rec N FILE: VF N's vpa_recovery/FILE
	cat $VF/"$1"/vpa_recovery/"$2"
}

vfbdf() {	# vfbdf N: VF N's BDF
	basename "$(readlink $P/virtfn"$1")"
}

# owner NAME N NS MODE COUNT: nvme_vfio as VF N's owner in the background
# (output in $T/NAME); true once it did its first round and waits
owner() {
	"$BIN" owner "$(vfbdf "$2")" "$3" "$VF/$2" "$4" "$5" > $T/"$1" 2>&1 &
	echo $! > $T/"$1".pid
	i=0
	while [ $i -lt 60 ]; do
		grep -q '^# owner ready' $T/"$1" && return 0
		kill -0 "$(cat $T/"$1".pid)" 2> /dev/null || break
		sleep 1
		i=$((i + 1))
	done
	echo "# owner $1 not ready:"
	sed 's/^/#   /' $T/"$1"
	return 1
}

# owner_at NAME CHECK K: wait (60 s) until owner NAME reported CHECK K
# times (the end of its K-th request)
owner_at() {
	i=0
	while [ $i -lt 60 ]; do
		[ "$(grep -cE "^(PASS|FAIL) $2:" $T/"$1")" -ge "$3" ] && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# owner_end NAME: wait for owner NAME; its output as diagnostics, its exit
# status in $T/NAME.rc
owner_end() {
	wait "$(cat $T/"$1".pid)"
	echo $? > $T/"$1".rc
	sed "s/^/# $1: /" $T/"$1"
}

# npass NAME CHECK: how many "PASS CHECK:" lines owner NAME printed
npass() {
	grep -c "^PASS $2:" $T/"$1"
}

# owner_ok NAME CHECK:COUNT...: owner NAME exited 0, no check failed, and
# each CHECK passed COUNT times
owner_ok() {
	n=$1
	shift
	[ "$(cat $T/"$n".rc)" = 0 ] || return 1
	! grep -q '^FAIL' $T/"$n" || return 1
	for c in "$@"; do
		[ "$(npass "$n" "${c%:*}")" = "${c#*:}" ] || return 1
	done
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

bind_vfio() {	# bind_vfio N: VF N to vfio-pci
	d=$(vfbdf "$1")
	echo vfio-pci > /sys/bus/pci/devices/"$d"/driver_override
	echo "$d" 2> $T/vfio.err > /sys/bus/pci/drivers/vfio-pci/bind
	[ -s $T/vfio.err ] && echo "# vfio-pci bind $d: $(cat $T/vfio.err)"
	[ "$(drv /sys/bus/pci/devices/"$d")" = vfio-pci ]
}

unbind_vf() {	# unbind_vf N: VF N from its driver
	d=$(vfbdf "$1")
	[ "$(drv /sys/bus/pci/devices/"$d")" = none ] ||
		echo "$d" > /sys/bus/pci/devices/"$d"/driver/unbind
	echo > /sys/bus/pci/devices/"$d"/driver_override
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

# --- changes with no owner (no driver bound): no request, no wait

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

# --- the shell as VF 2's owner (vfio-pci bound, no user): a request out,
# other changes of VF 2 refused meanwhile, wrong and repeated acks

( wr $VF/2/nr_vec 1; echo $? > $T/bg.rc ) &
bg=$!
if wait_event 2; then
	seq=$(cat $VF/2/event)
	e2e_check "request $seq out: event_kind resize, event_nr_wq 6, event_nr_vec 1" \
		test "$(cat $VF/2/event_kind) $(cat $VF/2/event_nr_wq) $(cat $VF/2/event_nr_vec)" = "resize 6 1"
	ok=0
	refused $VF/2/nr_wq 4 "Device or resource busy" || ok=1
	refused $VF/2/destroy 1 "Device or resource busy" || ok=1
	refused $VF/2/ns 0 "Device or resource busy" || ok=1
	wr $VF/1/give_to 2
	refused $VF/1/give_vec 1 "Device or resource busy" || ok=1
	e2e_check "while it is out: resize, destroy, ns of VF 2 and a give to it refused (EBUSY)" test $ok = 0
	e2e_check "an ack of another number refused (ESTALE)" \
		refused $VF/2/ack $((seq + 1)) "Stale file handle"
	wr $VF/2/ack "$seq"
	r=$?
	e2e_check "the ack of request $seq accepted ($r), a second one refused (ESTALE)" \
		sh -c "test $r = 0 && ! echo $seq 2> $T/wr.err > $VF/2/ack && grep -q 'Stale file' $T/wr.err"
else
	e2e_tap 1 "a request out for VF 2 (event stayed 0)"
fi
wait $bg
e2e_check "the resize went on after the ack ($(cat $T/bg.rc)): VF 2 6/1, acked, last_ack_us $(rec 2 last_ack_us), event 0" \
	test "$(cat $T/bg.rc) $(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec) $(rec 2 last_outcome) $(cat $VF/2/event)" = "0 6/1 acked 0" -a \
	     "$(rec 2 last_ack_us)" -ge 0
check_acct shell "after the shell's ack the device matches"

# --- forced: a silent owner of VF 2 while VF 3 does verified I/O

echo 1500 > $ACK
kmark
ok=0
owner o2 2 4 silent 1 || ok=1
"$BIN" io "$(vfbdf 3)" 5 6 > $T/io3 2>&1 &
io3=$!
f0=$(rec 2 forced)
[ $ok = 0 ] && { twr $VF/2/nr_wq 4 || ok=1; }
owner_at o2 after 1
owner_end o2
wait $io3
echo $? > $T/io3.rc
sed 's/^/# io3: /' $T/io3
kmsg
e2e_check "forced: VF 2 resized to 4 VQ after the deadline ($ok, $MS ms, 1500 ms deadline): forced $f0 -> $(rec 2 forced), last_ack_us -1" \
	test $ok = 0 -a "$(cat $VF/2/nr_wq) $(rec 2 forced) $(rec 2 last_outcome) $(rec 2 last_ack_us)" = "4 $((f0 + 1)) forced -1" -a \
	     "$MS" -ge 1400
e2e_check "the silent owner's next command on its old queue failed, its late ack was refused (ESTALE), and it started again with its data" \
	owner_ok o2 before:1 io-fails:1 late-ack:1 after:1
e2e_check "the log names the forced request" grep -q "VF 2: request [0-9]* (resize) not acknowledged" $T/kmsg
e2e_check "VF 3's verified I/O went on meanwhile: $(sed -n 's/^[A-Z]* io: //p' $T/io3)" \
	test "$(cat $T/io3.rc)" = 0
check_acct forced "after the forced resize the device matches (VF 1 and 3 untouched)"

# --- concurrency: VF 1 and VF 2 resized at once, each acked by its
# owner, while VF 3 does verified I/O

echo 10000 > $ACK
kmark
ok=0
owner o1 1 3 ack 4 || ok=1
owner o2 2 4 ack 4 || ok=1
"$BIN" io "$(vfbdf 3)" 5 10 > $T/io3 2>&1 &
io3=$!
cloop() {	# cloop VF FILE V1 V2 V3 V4 OWNER: four resizes, each acked
	n=$1
	f=$2
	o=$7
	shift 2
	k=0
	for v in "$1" "$2" "$3" "$4"; do
		k=$((k + 1))
		echo "$v" 2> /dev/null > $VF/"$n"/"$f" || echo "fail $f $v" >> $T/cloop.$n
		owner_at "$o" after $k || echo "owner $k" >> $T/cloop.$n
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
owner_end o1
owner_end o2
wait $io3
echo $? > $T/io3.rc
kmsg
e2e_check "two groups changed at once: every resize done ($(cat $T/cloop.1 $T/cloop.2 2>/dev/null | tr '\n' ' ')): VF 1 2/1, VF 2 4/1" \
	test $ok = 0 -a ! -s $T/cloop.1 -a ! -s $T/cloop.2 -a \
	     "$(cat $VF/1/nr_wq)/$(cat $VF/1/nr_vec) $(cat $VF/2/nr_wq)/$(cat $VF/2/nr_vec)" = "2/1 4/1"
e2e_check "VF 1's owner acked four requests and came back with its data each time" \
	owner_ok o1 before:1 ack:4 after:4
e2e_check "VF 2's owner acked four requests and came back with its data each time" \
	owner_ok o2 before:1 ack:4 after:4
e2e_check "VF 3's verified I/O went on meanwhile: $(sed -n 's/^[A-Z]* io: //p' $T/io3)" \
	test "$(cat $T/io3.rc)" = 0
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

# --- a host driver as the owner: stock nvme on VF 0 does not know the
# protocol; the destroy goes on after the deadline, its next read fails

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
	twr $VF/0/destroy 1
	r=$?
	e2e_check "destroy of VF 0 under stock nvme ($ns2): forced after the deadline ($r, $MS ms)" \
		test $r = 0 -a "$(cat $VF/0/type) $(rec 0 last_outcome)" = "none forced"
	t0=$(ms_now)
	# (a block the probe's partition scan did not read into the cache)
	timeout 120 dd if=/dev/"$ns2" of=/dev/null bs=4096 skip=4000 count=1 > $T/dd 2>&1
	r=$?
	kmsg
	sed 's/^/# dd: /' $T/dd
	e2e_check "nvme's next read of $ns2 fails ($r) in $(($(ms_now) - t0)) ms, the host goes on" \
		test $r != 0
else
	e2e_skip "destroy under stock nvme" "nvme did not bind VF 0 or show namespace 2"
fi
unbind_vf 0
echo "$iot0" > $IOT
e2e_check "VF 0 unbound (driver $(drv /sys/bus/pci/devices/"$d0"))" \
	test "$(drv /sys/bus/pci/devices/"$d0")" = none
"$BIN" io "$(vfbdf 2)" 4 1 > $T/io2 2>&1
r=$?
e2e_check "VF 2 still does verified I/O ($r)" test $r = 0
check_acct hostdrv "after the host driver's case the device matches"

# --- unbind while a change waits for an owner (vfio-pci on VF 2, no
# user, a 60 s deadline): the wait stops, the write fails (ENODEV)

echo 60000 > $ACK
( wr $VF/2/nr_vec 2; echo $? > $T/bg.rc; cp $T/wr.err $T/bg.err ) &
bg=$!
if wait_event 2; then
	kmark
	t0=$(ms_now)
	echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
	ums=$(($(ms_now) - t0))
	wait $bg
	kmsg
	e2e_check "vpa unbinds in $ums ms while VF 2's owner is asked (60 s deadline); the resize fails ($(cat $T/bg.err))" \
		test "$ums" -lt 10000 -a "$(driver)" = none -a "$(cat $T/bg.rc)" != 0 -a \
		     "$(grep -c 'No such device' $T/bg.err)" = 1
else
	e2e_tap 1 "a request out for VF 2 before the unbind"
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
