#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: a stress-driven pool. The host's unmodified QEMU boots two
# Linux guests on partitions of one pool, each with virtio-balloon; g1
# also has an ivshmem-plain device on its control file, into which
# kvmshare_guest.ko publishes its memory metrics. The pool's policy runs
# in the kernel; kvmsharectl balance applies its targets through QMP
# balloon. g1 idles, then grows a working set (job "hungry"): its target
# and its balloon size must follow within seconds, and come back down once
# it frees the memory. g2 idles throughout and keeps running.

. "$(dirname "$0")/../lib/e2e.sh"

P=/sys/fs/kvmshare/pe2e
num() { cat "$P/partitions/$1/$2"; }
MB=256		# pages per MiB

# balloon_mib NAME: the guest's current size as QEMU reports it, MiB;
# nothing (and, once, where its QEMU's threads wait) when QEMU does not
# answer within kvmsharectl's QMP timeout.
DIAG=
balloon_mib() {
	v=$(e2e_qmp "$1" '{"execute": "query-balloon"}' 2>/dev/null |
		sed -n 's/.*"actual": *\([0-9]*\).*/\1/p' |
		awk '{ print int($1 / 1048576) }')
	[ -z "$v" ] && [ -z "$DIAG" ] && { DIAG=1; qemu_diag "$1" >&2; }
	echo "$v"
}

# qemu_diag NAME: state and kernel stack of each thread of NAME's QEMU
qemu_diag() {
	eval "pid=\$E2E_PID_$1"
	echo "# $1: QEMU $pid does not answer QMP; its threads:"
	for t in /proc/$pid/task/*; do
		echo "#   $(cat $t/comm 2>/dev/null) $(sed -n 's/^State:\t//p' $t/status 2>/dev/null) wchan=$(cat $t/wchan 2>/dev/null)"
		sed 's/^/#     /' $t/stack 2>/dev/null | head -12
	done
	echo "# kernel log tail:"
	dmesg | tail -15 | sed 's/^/#   /'
}

# trace: a line of what the policy sees, for the log
trace() {
	echo "# t=$(( $(date +%s) - T0 ))s $1: g1 target $(num g1 policy_target_pages) state '$(num g1 policy_state)' stress $(num g1 policy_stress_ppm) resident $(num g1 resident_pages) balloon $(balloon_mib g1) MiB | g2 target $(num g2 policy_target_pages) resident $(num g2 resident_pages) balloon $(balloon_mib g2) MiB"
}

echo "TAP version 13"
echo "1..11"
e2e_setup
T0=$(date +%s)
mkdir -p $E2E_RUN/pool
e2e_check "mount a 640M pool in the chroot" \
	kvmsharectl mount $E2E_RUN/pool size=640M name=pe2e
e2e_check "two 384M partitions (160M entitled), g1 with a control file" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 384M entitlement=160M &&
	 kvmsharectl create $E2E_RUN/pool/g2 384M entitlement=160M &&
	 kvmsharectl metrics $E2E_RUN/pool/g1 &&
	 [ \"\$(cat $P/partitions/g1/metrics_file)\" = g1.metrics ]"
# Idle memory goes back at once (the engine keeps no reserve of its own).
echo 1000 > $P/policy_reserve_ppt
echo 3000 > $P/policy_grace_ms
echo 1 > $P/policy_enabled
# Access sampling over 3 s: under emulation a guest walks its working set
# slowly, and a 1 s window would call much of it idle.
SAMPLE_MS=$(cat /sys/module/kvmshare/parameters/sample_ms)
echo 3000 > /sys/module/kvmshare/parameters/sample_ms

e2e_qemu g1 /run/pool/g1 384M hungry \
	-device virtio-balloon-pci,id=bal0 \
	-object memory-backend-file,id=ctl,mem-path=/run/pool/g1.metrics,size=1M,share=on \
	-device ivshmem-plain,memdev=ctl
e2e_qemu g2 /run/pool/g2 384M idle -device virtio-balloon-pci,id=bal0
e2e_booted g1 180 && e2e_booted g2 180 && e2e_wait g1 "GUEST-METRICS on" 60
e2e_tap $? "both guests boot from the pool, g1 publishes its metrics"

kvmsharectl balance $E2E_RUN/pool --min 160M \
	--qmp g1=$E2E_RUN/g1.qmp --qmp g2=$E2E_RUN/g2.qmp \
	> $E2E_RUN/balance.log 2>&1 &
BAL=$!

t=0
while [ $t -lt 30 ] && [ "$(num g1 metrics/ok)" -lt 5 ]; do
	sleep 1
	t=$((t + 1))
done
echo "# g1 metrics: ok $(num g1 metrics/ok) torn $(num g1 metrics/torn) stale $(num g1 metrics/stale) bad_magic $(num g1 metrics/bad_magic) absent $(num g1 metrics/absent)"
[ "$(num g1 metrics/ok)" -ge 5 ] && [ "$(num g1 metrics/bad_magic)" = 0 ]
e2e_tap $? "the host reads g1's metrics page from the control file"

# Idle: both come down to their entitlement, through the balloon.
#
# Guest sizes: before the engine bounded a stressed partition's wait for
# delivery (resident below 7/8 of its target), a guest with targets near
# 100 MiB could wait for 70 s (Linux leaves its DMA zone mostly untouched);
# the 160 MiB entitlements date from then.
while ! grep -q GUEST-HUNGRY-START $E2E_RUN/g1.log; do
	i1=$(num g1 policy_target_pages)
	b1=$(balloon_mib g1)
	[ "$i1" -le $((176 * MB)) ] && [ -n "$b1" ] &&
		[ "$b1" -le $((i1 / MB + 8)) ] && break
	[ $(( $(date +%s) - T0 )) -gt 600 ] && break
	sleep 1
done
trace idle
i1=$(num g1 policy_target_pages)
b1=$(balloon_mib g1)
[ "$i1" -le $((176 * MB)) ] && [ -n "$b1" ] &&
	[ "$b1" -le $((i1 / MB + 8)) ] &&
	grep -q "^balance: g1" $E2E_RUN/balance.log
e2e_tap $? "idle g1: target ${i1} pages (at most 176 MiB), balloon ${b1:-?} MiB (the target, +8)"
# Growth is measured from the idle target (the balloon follows it).
b1=$((i1 / MB))

# g1 gets hungry: its target, then its balloon, grow within seconds.
e2e_wait g1 GUEST-HUNGRY-START 180
ts=$(date +%s)
tgrow= bgrow= stressed=0 n=0
# target swings: times g1's target went down while hungry or holding
drops=0 tlast=$(num g1 policy_target_pages)
while [ $(( $(date +%s) - ts )) -lt 240 ]; do
	case "$(num g1 policy_state)" in *stressed*) stressed=1 ;; esac
	tg=$(num g1 policy_target_pages)
	[ "$tg" -lt "$tlast" ] && drops=$((drops + 1))
	tlast=$tg
	bg=$(balloon_mib g1)
	[ -z "$tgrow" ] && [ "$tg" -ge $((i1 + 48 * MB)) ] &&
		tgrow=$(( $(date +%s) - ts ))
	[ -z "$bgrow" ] && [ -n "$bg" ] && [ "$bg" -ge $((b1 + 48)) ] &&
		bgrow=$(( $(date +%s) - ts ))
	n=$((n + 1))
	[ $((n % 5)) = 0 ] && trace hungry
	grep -q GUEST-HUNGRY-DONE $E2E_RUN/g1.log && [ -n "$bgrow" ] && break
	sleep 1
done
echo "# g1 stressed seen: $stressed; +48 MiB: target after ${tgrow:-never} s, balloon after ${bgrow:-never} s"
[ -n "$tgrow" ] && [ -n "$bgrow" ]
e2e_tap $? "hungry g1: target (${tgrow:-never} s) and balloon (${bgrow:-never} s) grow by 48 MiB"
e2e_wait g1 GUEST-HUNGRY-DONE 240
e2e_tap $? "g1 gets its 160 MiB working set"

# While it uses it, it keeps it; the peak is what it got.
peak=0 bpeak=0
while ! grep -q GUEST-HUNGRY-FREED $E2E_RUN/g1.log; do
	tg=$(num g1 policy_target_pages)
	[ "$tg" -lt "$tlast" ] && drops=$((drops + 1))
	tlast=$tg
	bg=$(balloon_mib g1)
	[ "$tg" -gt "$peak" ] && peak=$tg
	[ -n "$bg" ] && [ "$bg" -gt "$bpeak" ] && bpeak=$bg
	n=$((n + 1))
	[ $((n % 5)) = 0 ] && trace holding
	[ $(( $(date +%s) - ts )) -gt 480 ] && break
	sleep 1
done
echo "# g1 peak: target $peak pages, balloon $bpeak MiB; target drops while hungry or holding: $drops"

# The working set is freed: the memory goes back.
e2e_wait g1 GUEST-HUNGRY-FREED 60
ts=$(date +%s)
back=
while [ $(( $(date +%s) - ts )) -lt 120 ]; do
	tg=$(num g1 policy_target_pages)
	bg=$(balloon_mib g1)
	if [ "$tg" -le $((peak - 48 * MB)) ] && [ -n "$bg" ] &&
	   [ "$bg" -le $((bpeak - 48)) ]; then
		back=$(( $(date +%s) - ts ))
		break
	fi
	sleep 1
done
trace freed
[ -n "$back" ]
e2e_tap $? "g1 idle again: target and balloon 48 MiB below their peak (in ${back:-never} s)"

for g in g1 g2; do
	e2e_alive $g
	e2e_tap $? "$g keeps running with its data intact"
done

echo "# balance log (last 40 lines):"
sed 's/^/#   /' $E2E_RUN/balance.log | tail -40
echo "# g1 console (last 12 lines):"
tail -12 $E2E_RUN/g1.log | sed 's/^/#   /'
grep -c "^balance: g1" $E2E_RUN/balance.log | sed 's/^/# g1 balloon changes: /'
kill $BAL 2>/dev/null
wait $BAL 2>/dev/null
e2e_stop g1
e2e_stop g2
echo 0 > $P/policy_enabled
echo "$SAMPLE_MS" > /sys/module/kvmshare/parameters/sample_ms
kvmsharectl remove $E2E_RUN/pool/g1.metrics
kvmsharectl remove $E2E_RUN/pool/g1
kvmsharectl remove $E2E_RUN/pool/g2
used=$(cat $P/used_pages)
kvmsharectl umount $E2E_RUN/pool
[ "$used" = 0 ]
e2e_tap $? "the pool is empty after the guests and their files are gone"
[ $E2E_FAILS = 0 ]
