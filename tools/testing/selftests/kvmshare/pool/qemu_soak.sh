#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak (manual suites soak_pool and soak_tmpfs): two guests booted by the
# host's QEMU churn memory for SOAK_S seconds (fill, verify, free: free
# page reporting punches it out) while g2's balloon goes up and down
# through QMP. The same run on tmpfs files instead of pool partitions
# tells an emulator problem from ours.

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

soak_s=${SOAK_S:-480}
# Under TCG (two levels of emulation) a 64 MiB round takes about a
# minute: the guests churn 16 MiB a round there and need 2 rounds, on KVM
# 64 MiB and 4.
min_rounds=4
if e2e_tcg; then
	E2E_APPEND="${E2E_APPEND:-} kvmshare_churn=16"
	min_rounds=2
fi
backing=pool
[ "$KVMSHARE_SUITE" = soak_tmpfs ] && backing=tmpfs
# soak_nosample: the pool without access sampling (no periodic unmapping,
# so no TLB shootdown IPIs to the vCPUs running nested guests).
[ "$KVMSHARE_SUITE" = soak_nosample ] &&
	echo 3600000 > /sys/module/kvmshare/parameters/sample_ms
dir=$E2E_RUN/$backing

echo "TAP version 13"
echo "1..5"
e2e_setup
mkdir -p "$dir"
if [ $backing = pool ]; then
	kvmsharectl mount "$dir" size=600M name=soak &&
		kvmsharectl create "$dir/g1" 256M &&
		kvmsharectl create "$dir/g2" 256M
else
	mount -t tmpfs -o size=600M soak "$dir" &&
		truncate -s 256M "$dir/g1" "$dir/g2"
fi
e2e_tap $? "$backing: two 256M guest RAM files"

e2e_qemu g1 /run/$backing/g1 256M churn \
	-device virtio-balloon-pci,id=bal0,free-page-reporting=on
e2e_qemu g2 /run/$backing/g2 256M churn \
	-device virtio-balloon-pci,id=bal0,free-page-reporting=on
e2e_booted g1 180 && e2e_booted g2 180
e2e_tap $? "both guests boot"

qemu_pid() {	# qemu_pid NAME
	eval "echo \$E2E_PID_$1"
}

# When a guest's QEMU is first found gone ($E2E_RUN/NAME.gone): the
# soak's second and the balloon's last value (diagnostics below).
rm -f $E2E_RUN/g1.gone $E2E_RUN/g2.gone
t=0
while [ $t -lt "$soak_s" ]; do
	case $(( (t / 10) % 2 )) in
	0) v=167772160 ;;
	*) v=268435456 ;;
	esac
	e2e_qmp g2 "{\"execute\": \"balloon\", \"arguments\": {\"value\": $v}}" \
		> /dev/null
	sleep 5
	t=$((t + 5))
	for g in g1 g2; do
		[ ! -e $E2E_RUN/$g.gone ] &&
			! kill -0 "$(qemu_pid $g)" 2>/dev/null &&
			echo "at $t s, g2 balloon $((v >> 20)) MiB" > $E2E_RUN/$g.gone
	done
done
for g in g1 g2; do
	n=$(grep -c 'GUEST-CHURN .* ok' $E2E_RUN/$g.log)
	bad=$(grep -c 'GUEST-CHURN .* BAD' $E2E_RUN/$g.log)
	echo "# $g: $n rounds ok, $bad bad"
	[ "$n" -ge $min_rounds ] && [ "$bad" = 0 ]
	e2e_tap $? "$g churned $soak_s s with its data intact"
done
[ $backing = pool ] &&
	echo "# pool: $(tr '\n' ' ' < /sys/fs/kvmshare/soak/partitions/g1/punched_pages) pages punched by g1"
# A guest that reset has ended its QEMU (-no-reboot), whatever its log
# showed until then. What ended it, to tell the emulator's failures from
# ours (Documentation/dev-guide.rst, "Ours or the emulator's"): QEMU's exit
# status (0 after a guest reset with -no-reboot, 128+N for a signal: a
# SIGBUS from a failed fault of the RAM file is 135), its own messages
# and the guest console's last lines (a guest panic prints there; a
# triple fault prints nothing).
reset=
for g in g1 g2; do
	pid=$(qemu_pid $g)
	kill -0 "$pid" 2>/dev/null && continue
	reset="$reset $g"
	wait "$pid"
	rc=$?
	echo "# soak-death: $g QEMU exit status $rc, found gone" \
	     "$(cat $E2E_RUN/$g.gone 2>/dev/null || echo at the end)"
	sed 's/^/#   qemu: /' $E2E_RUN/$g.qemu.log 2>/dev/null | tail -10
	tail -15 $E2E_RUN/$g.log 2>/dev/null | sed 's/^/#   console: /'
done
echo "# soak-outcome: backing $backing accel $E2E_ACCEL reset${reset:- none}"
[ -z "$reset" ]
e2e_tap $? "both guests' QEMU still run at the end (no guest reset)"
e2e_stop g1
e2e_stop g2
[ $E2E_FAILS = 0 ]
