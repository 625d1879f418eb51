#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Coordinated AER of the NVMe PF and its VF groups
# (Documentation/plans/sriov.md, step 7). vpa binds the PF below rp3
# (VM_NVME_SRIOV=1); VF 0 (vf-small, namespace 2) and VF 1 (vf-fcfs,
# namespace 3) are bound to vfio-pci and owned by nvme_vfio (mode owner:
# a verified round before; per request: quiesce and ack, or silence;
# after the request is over: its controller restarted, the last round's
# data verified, a new round). Every enabled VF has a driver with
# error_detected (vfio-pci): one without makes the PCI core give the
# recovery up (sriov_groups.sh covers that case).
#   - a fatal error (Malformed TLP, 0x40000) injected on rp3 through the
#     host's QEMU monitor (VM_AGENT=1): both owners asked (event_kind
#     error) and acked before the link reset, exactly one link reset and
#     one reset of the PF (vpa_recovery/resets, one "controller reset"
#     line), the PF's config restored (Command: memory and bus master,
#     BAR0 as before, VF Enable), both groups online again with their
#     counts (checked against Identify 0x15 and 0x14), the owners' data
#     verified after the resume (they re-initialise their VF's config),
#     per-VF counters and latencies;
#   - the same with VF 1's owner silent: recovery goes on at the
#     deadline, VF 0's owner is not held longer than that, VF 1's group
#     comes back too (its old queue fails, its late ack is refused, it
#     restarts and verifies);
#   - a non-fatal error (POISON_TLP) with vpa's admin queue idle: vpa's
#     "idle" line logged (the error reached error_detected), nothing to
#     recover, the groups untouched;
# The deadline of the owners' error requests is error_ack_timeout_ms
# (scaled by KVMSHARE_TIMEOUT_FACTOR); it is restored on exit.
#   - the kernel log clean, the host up.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=nvme_lib.sh
. "$(dirname "$0")/nvme_lib.sh"
# shellcheck source=../lib/hostcmd.sh
. "$(dirname "$0")/../lib/hostcmd.sh"

echo "TAP version 13"
e2e_setup

T=/tmp/sriov_aer
mkdir -p $T
BIN=$(dirname "$0")/nvme_vfio

sriov_init
# shellcheck disable=SC2034 # (acct, nvme_lib.sh)
DBG=/sys/kernel/debug/vpa/$PF
ACK=/sys/module/vpa/parameters/error_ack_timeout_ms
ack0=$(cat $ACK)
trap 'echo "$ack0" > $ACK' EXIT
RP_QEMU=rp3
F=${KVMSHARE_TIMEOUT_FACTOR:-1}

if ! grep -q kvmshare_agent=1 /proc/cmdline; then
	e2e_skip "coordinated AER of the PF and its VF groups" "no agent channel (VM_AGENT=1)"
	echo "1..$E2E_N"
	exit 0
fi

# one_reset_after_acks: one link reset in kmsg, after vpa's summary of
# the owners' answers ("error (frozen): ... acknowledged")
one_reset_after_acks() {
	[ "$(grep -c 'link has been reset' $T/kmsg)" = 1 ] &&
		before 'error (frozen)' 'link has been reset'
}

# pf_restored: vpa logged the IOV check, and the PF's config is back
pf_restored() {
	grep -Eq 'controller reset, VF Enable (kept|restored)' $T/kmsg &&
		pf_decodes "$bar0"
}

# before A B: kmsg's first line matching A comes before its first line
# matching B (both present)
before() {
	a=$(grep -n "$1" $T/kmsg | head -1 | cut -d: -f1)
	b=$(grep -n "$2" $T/kmsg | head -1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

inject() {	# inject ERROR: pcie_aer_inject_error on rp3
	echo "# hmp: $(hostcmd_hmp "pcie_aer_inject_error $RP_QEMU $1" 2>&1)"
}

# fatal_round: a fatal error on rp3 with the owners o0 and o1 running,
# until the recovery ends; r: recovered's status, ms: its time
fatal_round() {
	kmark
	t0=$(ms_now)
	inject 0x40000
	recovered $((err0 + 1))
	r=$?
	ms=$(($(ms_now) - t0))
	owner_end o0 60
	owner_end o1 60
	kmsg
}

echo "# PF $PF: driver $(driver), sriov_numvfs $(cat $P/sriov_numvfs), ack_timeout_ms $ack0"
two_vfs vf-small vf-fcfs
e2e_check "2 VFs on vfio-pci; VF 0 vf-small with namespace 2, VF 1 vf-fcfs with namespace 3 ($ok: $(cat $T/wr.err))" \
	test $ok = 0 -a "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
e2e_check "the groups match Identify 0x15 and 0x14 before any error" acct before
e2e_check "the PF's vpa_recovery/ state normal" test "$(prec state)" = normal
bar0=$(cfg 16 4)
e2e_check "before any error the PF decodes, masters and has VF Enable" pf_decodes "$bar0"

# --- a fatal error, both owners acking

echo $((10000 * F)) > $ACK
err0=$(prec errors)
res0=$(prec resets)
o_ok=0
owner o0 0 2 ack || o_ok=1
owner o1 1 3 ack || o_ok=1
e2e_check "owners of VF 0 and VF 1 ready (a verified round each)" test $o_ok = 0
fatal_round
echo "# recovery: $ms ms; PF errors $(prec errors) resets $(prec resets) last_acked $(prec last_acked) last_failed $(prec last_failed)"
for n in 0 1; do
	echo "# VF $n: $(for f in events acked forced failed resumed recoveries last_kind last_outcome last_ack_us last_resume_us; do printf '%s=%s ' $f "$(rec $n $f)"; done)"
done
e2e_check "fatal error: the recovery ends ($r) in $ms ms, state normal" test $r = 0
e2e_check "one error, one reset of the PF (errors $err0 -> $(prec errors), resets $res0 -> $(prec resets)), one controller reset logged" \
	test "$(prec errors)" = $((err0 + 1)) -a "$(prec resets)" = $((res0 + 1)) -a \
	     "$(grep -c 'error recovery: controller reset' $T/kmsg)" = 1
e2e_check "both owners acknowledged (last_acked 2, last_failed 0)" \
	test "$(prec last_acked) $(prec last_failed)" = "2 0"
e2e_check "exactly one link reset; the owners were asked and answered before it" \
	one_reset_after_acks
e2e_check "the PF's config restored after the bus reset (Command, BAR0, VF Enable; 'VF Enable kept/restored' logged)" \
	pf_restored
e2e_check "both groups online again with their counts" \
	test "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
e2e_check "after the recovery the groups match Identify 0x15 and 0x14" acct fatal
e2e_check "namespaces kept (2 and 3)" test "$(cat $VF/0/ns) $(cat $VF/1/ns)" = "2 3"
for n in 0 1; do
	e2e_check "VF $n: one recovery, acked, resumed; last_kind error; last_ack_us and last_resume_us set" \
		test "$(rec $n recoveries) $(rec $n acked) $(rec $n resumed) $(rec $n failed) $(rec $n last_kind) $(rec $n last_outcome)" = \
		     "1 1 1 0 error acked" -a "$(rec $n last_ack_us)" -ge 0 -a \
		     "$(rec $n last_resume_us)" -gt "$(rec $n last_ack_us)"
done
e2e_check "both owners read event_kind error" \
	test "$(grep -c 'request [0-9]*: error' $T/o0 $T/o1 | grep -c ':1$')" = 2
owner_ok o0 ack after
r0=$?
owner_ok o1 ack after
r1=$?
e2e_check "owner of VF 0 (ack, after: rc $(cat $T/o0.rc)) and of VF 1 (rc $(cat $T/o1.rc)) passed" \
	test $r0 = 0 -a $r1 = 0
e2e_check "vpa_nvme/state up" test "$(cat $P/vpa_nvme/state)" = up

# --- a fatal error, VF 1's owner silent: the deadline, then the recovery

dl=$((1500 * F))
echo $dl > $ACK
err0=$(prec errors)
res0=$(prec resets)
o_ok=0
owner o0 0 2 ack || o_ok=1
owner o1 1 3 silent || o_ok=1
e2e_check "owners ready: VF 0 acks, VF 1 is silent" test $o_ok = 0
fatal_round
echo "# recovery: $ms ms (deadline $dl ms); VF 0 last_resume_us $(rec 0 last_resume_us), VF 1 $(rec 1 last_resume_us)"
e2e_check "silent owner: the recovery ends ($r), one more reset (resets $res0 -> $(prec resets))" \
	test $r = 0 -a "$(prec resets)" = $((res0 + 1))
e2e_check "last_acked 1, last_failed 1; 'not acknowledged' logged for VF 1" \
	test "$(prec last_acked) $(prec last_failed)" = "1 1" -a \
	     "$(grep -c 'VF 1: request [0-9]* (error) not acknowledged' $T/kmsg)" = 1
e2e_check "VF 1: forced, its group back online (resumed 2)" \
	test "$(rec 1 last_outcome) $(rec 1 forced) $(rec 1 resumed) $(cat $VF/1/state)" = "forced 1 2 online"
e2e_check "VF 0 held by the deadline, not beyond it: last_resume_us $(rec 0 last_resume_us) in [$dl ms, $dl ms + $((20 * F)) s]" \
	test "$(rec 0 last_resume_us)" -ge $((dl * 1000)) -a \
	     "$(rec 0 last_resume_us)" -lt $(((dl + 20000 * F) * 1000))
e2e_check "both groups online again with their counts" \
	test "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
e2e_check "after the second recovery the groups match Identify 0x15 and 0x14" acct silent
owner_ok o0 ack after
r0=$?
owner_ok o1 io-fails late-ack after
r1=$?
e2e_check "VF 0's owner acked and verified; VF 1's silent owner: old queue failed, late ack refused, restarted and verified (rc $(cat $T/o0.rc) $(cat $T/o1.rc))" \
	test $r0 = 0 -a $r1 = 0

# --- a non-fatal error with the admin queue idle: nothing to recover

err0=$(prec errors)
res0=$(prec resets)
kmark
inject POISON_TLP
sleep $((3 * F))
kmsg
e2e_check "non-fatal error reached vpa: 'the admin queue is idle' logged" \
	grep -q 'non-fatal error detected: the admin queue is idle' $T/kmsg
e2e_check "non-fatal error: no recovery (errors $err0 -> $(prec errors), resets $res0 -> $(prec resets)), the groups untouched" \
	test "$(prec errors) $(prec resets)" = "$err0 $res0" -a \
	     "$(nrs)" = "0:vf-small:online:2/1 1:vf-fcfs:online:4/2 2:none:none:0/0 3:none:none:0/0"
e2e_check "the groups match Identify 0x15 and 0x14 after the non-fatal error" acct nonfatal

# --- teardown

unbind_vf 0
unbind_vf 1
kmark
echo "$PF" > /sys/bus/pci/drivers/vpa/unbind
kmsg
echo > $P/driver_override
echo "$autoprobe" > $P/sriov_drivers_autoprobe
e2e_check "vpa unbound, VFs disabled" \
	test "$(driver)" = none -a "$(cat $P/sriov_numvfs)" = 0

e2e_logs_clean
echo "1..$E2E_N"
[ $E2E_FAILS = 0 ]
