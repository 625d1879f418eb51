#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Profile one program in the test VM: the host's perf (Debian's
# linux-perf, run in the host root shared at /host, VM_HOSTROOT=1) samples
# every CPU while PROG runs, then prints where the time went, per command
# and per symbol, as TAP comments. A developer's tool for benchmarks, not a
# test: its own result is PROG's exit status.
#
#   perf-run.sh [PROG [ARGS...]]
#
# PROG defaults to $KVMSHARE_PERF_PROG (a suite's conf sets it; relative to
# this directory).
#
# KVMSHARE_PERF_FREQ sets the sampling rate (default 499 Hz; the VM is
# emulated, and every sample costs it). Under TCG there is no PMU: perf
# samples with the cpu-clock software event, from a timer interrupt: time
# spent with interrupts off is charged to where they are enabled again
# (_raw_spin_unlock_irq*), so read those lines with their callers.

[ $# -gt 0 ] || set -- "$KVMSHARE_PERF_PROG"
root=/host
perf=/usr/bin/perf
freq=${KVMSHARE_PERF_FREQ:-499}

mounted() { grep -q " $1 " /proc/mounts; }

if [ ! -x "$root$perf" ]; then
	echo "Bail out! no $perf in the host root (apt-get install linux-perf)"
	exit 1
fi
mounted $root/dev || mount --bind /dev $root/dev
mounted $root/proc || mount -t proc proc $root/proc
mounted $root/sys || mount --bind /sys $root/sys
mounted $root/run || mount -t tmpfs -o size=1g run $root/run
echo 0 > /proc/sys/kernel/kptr_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid

chroot $root sh -c "exec $perf record -q -a -g -F $freq -e cpu-clock \
	-o /run/perf.data -- sleep 100000 2>/run/perf.err" &
recpid=$!
sleep 2
"$@"
ret=$?
# perf record ends its session on SIGINT and writes the file.
pkill -INT -f "perf record" 2>/dev/null || kill -INT $recpid
wait $recpid 2>/dev/null
[ -s $root/run/perf.err ] && sed 's/^/# perf: /' $root/run/perf.err

report() {
	chroot $root $perf report -i /run/perf.data --stdio --no-children \
		-g none --percent-limit 0.3 "$@" 2>/dev/null |
		grep -v '^$' | sed 's/^/# /'
}
echo "# === perf: time per command"
report --sort comm
echo "# === perf: time per command and symbol"
report --sort comm,dso,sym
echo "# === perf: kvmshare's own symbols, with callers"
chroot $root $perf report -i /run/perf.data --stdio --no-children \
	-G --percent-limit 0.05 --sort sym --dsos '[kvmshare]' 2>/dev/null |
	grep -v '^$' | head -400 | sed 's/^/# /'
exit $ret
