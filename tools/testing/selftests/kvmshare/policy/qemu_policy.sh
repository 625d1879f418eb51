#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end: a stress-driven pool. The host's unmodified QEMU boots two
# Linux guests on partitions of one overcommitted pool (2 x 384 MiB over
# 448 MiB), each with virtio-balloon and an ivshmem-plain device on its
# control file, into which kvmshare_guest.ko publishes its memory metrics.
# The pool's policy runs in the kernel with its default tunables;
# kvmsharectl balance applies its targets through QMP balloon. Both idle
# at their entitlement; then g1 grows a 160 MiB working set (job
# "hungry", started by a word on its second serial port): its target must
# lead its use (grow before it stalls), its balloon follow, and it must
# keep the memory while it uses it. Once g1 has freed it, g2 does the
# same: the pool is short, and the memory must move from g1 to g2 through
# g1's balloon before g2 gets it, without a guest fault refused.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

P=/sys/fs/kvmshare/pe2e
num() { cat "$P/partitions/$1/$2"; }
MB=256		# pages per MiB

# balloon_mib NAME: the guest's current size as QEMU reports it, MiB;
# nothing (and, once per guest, why) when QEMU does not answer within
# kvmsharectl's QMP timeout.
balloon_mib() {
	v=$(e2e_qmp "$1" '{"execute": "query-balloon"}' 2>/dev/null |
		sed -n 's/.*"actual": *\([0-9]*\).*/\1/p' |
		awk '{ print int($1 / 1048576) }')
	if [ -z "$v" ] && [ ! -e $E2E_RUN/$1.diag ]; then
		touch $E2E_RUN/$1.diag
		qemu_diag "$1" >&2
	fi
	echo "$v"
}

# qemu_diag NAME: why NAME's QEMU does not answer: gone (its output and
# the guest's last words), or the state and kernel stack of its threads
qemu_diag() {
	eval "pid=\$E2E_PID_$1"
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "# $1: QEMU $pid has exited; its output, the guest's console, the kernel log:"
		tail -5 $E2E_RUN/$1.qemu.log 2>/dev/null | sed 's/^/#   qemu: /'
		tail -30 $E2E_RUN/$1.log 2>/dev/null | sed 's/^/#   /'
		dmesg | tail -15 | sed 's/^/#   /'
		return
	fi
	echo "# $1: QEMU $pid does not answer QMP; its threads:"
	for t in /proc/$pid/task/*; do
		echo "#   $(cat $t/comm 2>/dev/null) $(sed -n 's/^State:\t//p' $t/status 2>/dev/null) wchan=$(cat $t/wchan 2>/dev/null)"
		sed 's/^/#     /' $t/stack 2>/dev/null | head -12
	done
	echo "# kernel log tail:"
	dmesg | tail -15 | sed 's/^/#   /'
}

# used_pages NAME: what NAME's guest says its workload holds, pages (the
# engine's view, debugfs)
used_pages() {
	awk -v id="$(stat -c %i $E2E_RUN/pool/$1)" '
		$1 == "part" { me = ($2 == id) }
		me && $1 == "out:" { for (i = 2; i < NF; i++) if ($i == "used") print $(i + 1) }
	' /sys/kernel/debug/kvmshare/pe2e/policy
}

# gone NAME: report, once, how NAME's QEMU ended if it did (in the main
# shell: only the parent can collect the status)
gone() {
	eval "pid=\$E2E_PID_$1"
	[ -e $E2E_RUN/$1.gone ] && return
	kill -0 "$pid" 2>/dev/null && return
	touch $E2E_RUN/$1.gone
	wait "$pid"
	echo "# $1: QEMU $pid ended with status $? (128 + N: signal N)"
}

# trace: a line of what the policy sees, for the log
trace() {
	echo "# t=$(( $(date +%s) - T0 ))s $1: g1 target $(num g1 policy_target_pages) state '$(num g1 policy_state)' stress $(num g1 policy_stress_ppm) resident $(num g1 resident_pages) balloon $(balloon_mib g1) MiB active $(num g1 active_estimate_pages) | g2 target $(num g2 policy_target_pages) state '$(num g2 policy_state)' resident $(num g2 resident_pages) balloon $(balloon_mib g2) MiB"
}

echo "TAP version 13"
echo "1..15"
e2e_setup
T0=$(date +%s)
mkdir -p $E2E_RUN/pool
e2e_check "mount a 448M pool in the chroot" \
	kvmsharectl mount $E2E_RUN/pool size=448M name=pe2e
e2e_check "two 384M partitions (160M entitled), each with a control file" sh -c \
	"kvmsharectl create $E2E_RUN/pool/g1 384M entitlement=160M &&
	 kvmsharectl create $E2E_RUN/pool/g2 384M entitlement=160M &&
	 kvmsharectl metrics $E2E_RUN/pool/g1 &&
	 kvmsharectl metrics $E2E_RUN/pool/g2 &&
	 [ \"\$(cat $P/partitions/g1/metrics_file)\" = g1.metrics ]"
echo 3000 > $P/policy_grace_ms
echo 1 > $P/policy_enabled
# Access sampling over 3 s: under emulation a guest walks its working set
# slowly, and a 1 s window would call much of it idle.
SAMPLE_MS=$(cat /sys/module/kvmshare/parameters/sample_ms)
echo 3000 > /sys/module/kvmshare/parameters/sample_ms

# go NAME: start NAME's hungry phase (a line on its second serial port)
go() {
	timeout 10 sh -c "echo go > $E2E_RUN/$1.ctl.in"
}

# One after the other: two nested guests booting at once under TCG have
# been seen to stay silent (Documentation/dev-guide.rst).
E2E_APPEND=kvmshare_idle=go
booted=0
for g in g1 g2; do
	mkfifo $E2E_RUN/$g.ctl.in $E2E_RUN/$g.ctl.out
	e2e_qemu $g /run/pool/$g 384M hungry \
		-device virtio-balloon-pci,id=bal0 \
		-object memory-backend-file,id=ctl,mem-path=/run/pool/$g.metrics,size=1M,share=on \
		-device ivshmem-plain,memdev=ctl \
		-serial pipe:/run/$g.ctl
	e2e_booted $g 180 && e2e_wait $g "GUEST-WAITING" 60 &&
		grep -q "GUEST-METRICS on" $E2E_RUN/$g.log &&
		booted=$((booted + 1))
done
[ $booted = 2 ]
e2e_tap $? "both guests boot from the pool and publish their metrics"

kvmsharectl balance $E2E_RUN/pool --min 160M \
	--qmp g1=$E2E_RUN/g1.qmp --qmp g2=$E2E_RUN/g2.qmp \
	> $E2E_RUN/balance.log 2>&1 &
BAL=$!

t=0
while [ $t -lt 30 ] && { [ "$(num g1 metrics/ok)" -lt 5 ] ||
			 [ "$(num g2 metrics/ok)" -lt 5 ]; }; do
	sleep 1
	t=$((t + 1))
done
echo "# g1 metrics: ok $(num g1 metrics/ok) torn $(num g1 metrics/torn) stale $(num g1 metrics/stale) bad_magic $(num g1 metrics/bad_magic) absent $(num g1 metrics/absent)"
[ "$(num g1 metrics/ok)" -ge 5 ] && [ "$(num g2 metrics/ok)" -ge 5 ] &&
	[ "$(num g1 metrics/bad_magic)" = 0 ] && [ "$(num g2 metrics/bad_magic)" = 0 ]
e2e_tap $? "the host reads both metrics pages from the control files"

# idle_ok NAME: target at most 200 MiB (the guest booted with 384), the
# balloon at most the target + 8 MiB. An idle partition keeps what it
# held when the policy first saw it (at least its entitlement): idle
# memory moves when another partition needs it.
idle_ok() {
	i=$(num $1 policy_target_pages)
	b=$(balloon_mib $1)
	[ "$i" -le $((200 * MB)) ] && [ -n "$b" ] && [ "$b" -le $((i / MB + 8)) ]
}
t=0
while ! { idle_ok g1 && idle_ok g2; } && [ $t -lt 120 ]; do
	gone g1
	gone g2
	sleep 1
	t=$((t + 1))
done
trace idle
idle_ok g1 && idle_ok g2 && grep -q "^balance: g1" $E2E_RUN/balance.log
e2e_tap $? "idle: both balloons down to their targets (g1 $(num g1 policy_target_pages), g2 $(num g2 policy_target_pages) pages)"

# hungry NAME OTHER: NAME's hungry phase, until its working set is done.
# Sets t_need (s after the start: the guest's use reaches 90% of its
# target), t_first/t_grow/t_bal (target +16 MiB, target and balloon +48
# MiB), early (stressed before the first growth: 1), growing (state
# seen), drops/swings (target drops, those of 16 MiB or more),
# orises (OTHER's target rose by 16 MiB or more), peak/bpeak (NAME's),
# odrop/obdrop (how far OTHER's target/balloon went below their value at
# the start, MiB), hdone (the working set was done).
hungry() {
	i0=$(num $1 policy_target_pages)
	b0=$(balloon_mib $1)
	o0=$(num $2 policy_target_pages)
	ob0=$(balloon_mib $2)
	go $1
	e2e_wait $1 GUEST-HUNGRY-START 30 > /dev/null
	ts=$(date +%s)
	t_need='' t_first='' t_grow='' t_bal='' early=0 growing=0 drops=0 swings=0
	n=0 hdone=
	peak=$i0 bpeak=${b0:-0} odrop=0 obdrop=0 tlast=$i0 olast=$o0 orises=0
	while [ $(( $(date +%s) - ts )) -lt 300 ]; do
		st=$(num $1 policy_state)
		tg=$(num $1 policy_target_pages)
		bg=$(balloon_mib $1)
		now=$(( $(date +%s) - ts ))
		case "$st" in *growing*) growing=1 ;; esac
		case "$st" in *stressed*) [ -z "$t_first" ] && early=1 ;; esac
		[ "$tg" -lt "$tlast" ] && drops=$((drops + 1))
		[ "$tg" -le $((tlast - 16 * MB)) ] && swings=$((swings + 1))
		tlast=$tg
		u=$(used_pages $1)
		[ -z "$t_need" ] && [ -n "$u" ] && [ $((u * 10)) -ge $((i0 * 9)) ] &&
			t_need=$now
		[ "$tg" -gt "$peak" ] && peak=$tg
		[ -n "$bg" ] && [ "$bg" -gt "$bpeak" ] && bpeak=$bg
		[ -z "$t_first" ] && [ "$tg" -ge $((i0 + 16 * MB)) ] && t_first=$now
		[ -z "$t_grow" ] && [ "$tg" -ge $((i0 + 48 * MB)) ] && t_grow=$now
		[ -z "$t_bal" ] && [ -n "$bg" ] && [ -n "$b0" ] &&
			[ "$bg" -ge $((b0 + 48)) ] && t_bal=$now
		ot=$(num $2 policy_target_pages)
		[ "$ot" -ge $((olast + 16 * MB)) ] && orises=$((orises + 1))
		olast=$ot
		ob=$(balloon_mib $2)
		[ $(( (o0 - ot) / MB )) -gt "$odrop" ] && odrop=$(( (o0 - ot) / MB ))
		[ -n "$ob" ] && [ -n "$ob0" ] && [ $((ob0 - ob)) -gt "$obdrop" ] &&
			obdrop=$((ob0 - ob))
		n=$((n + 1))
		[ $((n % 5)) = 0 ] && trace "$1 hungry"
		grep -q GUEST-HUNGRY-DONE $E2E_RUN/$1.log && hdone=1
		grep -q GUEST-HUNGRY-FREED $E2E_RUN/$1.log && break
		gone g1
		gone g2
		sleep 1
	done
	lag=
	[ -n "$t_need" ] && [ -n "$t_first" ] && lag=$((t_first - t_need))
	echo "# $1: use at 90% of the target after ${t_need:-never} s, target +16 MiB after ${t_first:-never} s (lag ${lag:-?} s; stressed before: $early, growing seen: $growing), +48 MiB after ${t_grow:-never} s, balloon +48 MiB after ${t_bal:-never} s; peak target $peak pages, balloon $bpeak MiB; target drops $drops, of 16 MiB or more $swings; $2's target rose by 16 MiB or more $orises times; $2 gave ${odrop} MiB of target, ${obdrop} MiB of balloon"
}

hungry g1 g2
[ -n "$lag" ] && [ "$lag" -le 5 ] && [ "$growing" = 1 ]
e2e_tap $? "g1's target follows its use: +16 MiB ${lag:-never} s after its use reached 90% of it (stalled before: $early)"
[ -n "$t_grow" ] && [ -n "$t_bal" ]
e2e_tap $? "g1's target (${t_grow:-never} s) and balloon (${t_bal:-never} s) grow by 48 MiB"
[ -n "$hdone" ] && [ "$swings" = 0 ]
e2e_tap $? "g1 gets its 160 MiB working set and keeps its memory while it uses it ($swings drops of 16 MiB or more)"

f0=$(cat $P/fault_failures)
hungry g2 g1
trace moved
[ -n "$t_grow" ] && [ -n "$t_bal" ] && [ -n "$hdone" ]
e2e_tap $? "g2 gets its working set: target (${t_grow:-never} s) and balloon (${t_bal:-never} s) +48 MiB"
[ "$odrop" -ge 32 ] && [ "$obdrop" -ge 32 ]
e2e_tap $? "memory moved from the idle g1 to g2: g1's target ${odrop} MiB, its balloon ${obdrop} MiB down"
[ "$swings" -le 1 ] && [ "$orises" -le 1 ]
e2e_tap $? "no see-saw while it moved: g2's target fell by 16 MiB or more $swings times, idle g1's rose $orises times"
f1=$(cat $P/fault_failures)
[ "$f1" = "$f0" ]
e2e_tap $? "no guest fault refused while the memory moved ($((f1 - f0)) refused)"

for g in g1 g2; do
	e2e_alive $g
	e2e_tap $? "$g keeps running with its data intact"
done

echo "# balance log (last 40 lines):"
sed 's/^/#   /' $E2E_RUN/balance.log | tail -40
for g in g1 g2; do
	echo "# $g console (last 8 lines):"
	tail -8 $E2E_RUN/$g.log | sed 's/^/#   /'
	grep -c "^balance: $g" $E2E_RUN/balance.log | sed "s/^/# $g balloon changes: /"
done
kill $BAL 2>/dev/null
wait $BAL 2>/dev/null
e2e_stop g1
e2e_stop g2
echo 0 > $P/policy_enabled
echo "$SAMPLE_MS" > /sys/module/kvmshare/parameters/sample_ms
for f in g1.metrics g2.metrics g1 g2; do
	kvmsharectl remove $E2E_RUN/pool/$f
done
e2e_pool_empty "$(basename "$P")" "the pool is empty after the guests and their files are gone"
kvmsharectl umount $E2E_RUN/pool
[ $E2E_FAILS = 0 ]
