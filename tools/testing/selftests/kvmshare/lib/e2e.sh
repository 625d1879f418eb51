#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end helpers, sourced by test scripts inside the test VM: run the
# host's unmodified qemu-system-x86_64 (through the read-only host root at
# /host, VM_HOSTROOT=1 in the suite) on the VM's KVM, booting a Linux guest
# (Debian's kernel, scripts/vm/guest-init).
#
# KVMSHARE_E2E_ACCEL=tcg (exported by a suite file, e.g. e2e_tcg.conf)
# runs the nested QEMU with -accel tcg instead: no nested SVM, the guest's
# RAM still a shared mapping of its file, so the pool's memory path (faults,
# punches, paging) is exercised as with KVM, but not KVM's own paths
# (memslot faults from a vCPU, asynchronous page faults, SIGBUS as a guest
# machine check). Scripts shrink their sizes with e2e_tcg. The guest boots
# the uncompressed kernel (build/guest-vmlinux, PVH entry, with
# build/guest-tcg-initrd.gz) when there is one: decompressing bzImage is
# most of a boot under two levels of TCG. That kernel is Debian's in the
# debug lane too (scripts/mkinitrd.sh).
#
# Inside the chroot /run is a tmpfs of the VM: pools are mounted and guest
# logs and QMP sockets are kept there (/host/run seen from the VM).

E2E_ROOT=/host
E2E_RUN=/host/run
E2E_N=0
E2E_FAILS=0
E2E_GUESTS=0
E2E_ACCEL=${KVMSHARE_E2E_ACCEL:-kvm}

e2e_tcg() {	# e2e_tcg: true in TCG mode
	[ "$E2E_ACCEL" = tcg ]
}

# Every wait for a guest is E2E_SLACK times what the script asks for:
# under TCG a guest runs two levels of emulation deep, and on a shared
# machine the test VM may get a fraction of a CPU (seen: a quarter, with
# boots four times as long). A wait that ends early costs nothing.
# A debug kernel (make check KERNEL=debug) slows every fault of the guests'
# RAM: the waits scale with KVMSHARE_TIMEOUT_FACTOR as the suites' do.
E2E_SLACK=${KVMSHARE_E2E_SLACK:-1}
e2e_tcg && E2E_SLACK=${KVMSHARE_E2E_SLACK:-4}
[ -n "${KVMSHARE_E2E_SLACK:-}" ] ||
	E2E_SLACK=$((E2E_SLACK * ${KVMSHARE_TIMEOUT_FACTOR:-1}))

e2e_tap() {	# e2e_tap OK DESCRIPTION: one TAP result
	E2E_N=$((E2E_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $E2E_N $2"
	else
		echo "not ok $E2E_N $2"
		E2E_FAILS=$((E2E_FAILS + 1))
	fi
}

# e2e_skip DESCRIPTION REASON: a TAP result skipped for REASON (counted as
# skipped by make check, never as passed)
e2e_skip() {
	E2E_N=$((E2E_N + 1))
	echo "ok $E2E_N $1 # SKIP $2"
}

e2e_mounted() {	# e2e_mounted PATH
	grep -q " $1 " /proc/mounts
}

e2e_check() {	# e2e_check DESCRIPTION COMMAND...
	d=$1
	shift
	"$@"
	e2e_tap $? "$d"
}

# Prepare the chroot; print a TAP bail-out and exit when impossible.
e2e_setup() {
	if [ -z "$KVMSHARE_HOST" ] || [ ! -x $E2E_ROOT/usr/bin/qemu-system-x86_64 ]; then
		echo "Bail out! the host root with qemu-system-x86_64 is not at $E2E_ROOT"
		exit 1
	fi
	e2e_mounted $E2E_ROOT/dev || mount --bind /dev $E2E_ROOT/dev
	e2e_mounted $E2E_ROOT/proc || mount -t proc proc $E2E_ROOT/proc
	e2e_mounted $E2E_ROOT/sys || mount --bind /sys $E2E_ROOT/sys
	e2e_mounted $E2E_RUN || mount -t tmpfs -o size=1g run $E2E_RUN
	# Guest consoles of an earlier script of the same run.
	rm -f $E2E_RUN/*.log
	E2E_KERNEL=$KVMSHARE_KERNEL
	E2E_INITRD=$KVMSHARE_BUILD/guest-initrd.gz
	# (TCG guests: Debian's kernel, in the debug lane too; mkinitrd.sh)
	if e2e_tcg && [ -f "$E2E_ROOT$KVMSHARE_BUILD/guest-vmlinux" ] &&
	   [ -f "$E2E_ROOT$KVMSHARE_BUILD/guest-tcg-initrd.gz" ]; then
		E2E_KERNEL=$KVMSHARE_BUILD/guest-vmlinux
		E2E_INITRD=$KVMSHARE_BUILD/guest-tcg-initrd.gz
	fi
	echo "# e2e: accel $E2E_ACCEL, guest kernel $E2E_KERNEL"
	# The kernel log of the test VM from here on is checked by
	# e2e_logs_clean.
	E2E_DMESG0=$(e2e_klog_mark)
	E2E_T0=$(date +%s)
	if [ ! -f "$E2E_ROOT$E2E_KERNEL" ] || [ ! -f "$E2E_ROOT$E2E_INITRD" ]; then
		echo "Bail out! no guest kernel/initrd at $E2E_KERNEL $E2E_INITRD"
		exit 1
	fi
}

# e2e_qemu NAME MEMFILE MEM JOB [QEMU ARGS...]: start a guest in the
# background whose RAM is MEMFILE (a path inside the chroot: /run/...).
# E2E_APPEND adds to the guest kernel's command line; E2E_CPU replaces
# the -cpu model (default host; qemu64 under TCG, the cheapest to emulate).
#
# Each guest is pinned to its own vCPU of the test VM: under TCG's nested
# SVM, two nested guests that share a vCPU hang (seen with 2 guests on a
# 2-vCPU VM: one of them never printed a line, with or without kvmshare;
# pinned, both run). So at most as many guests as the VM has vCPUs. In
# TCG mode that hang cannot happen, and the pinning only spreads them.
# E2E_MEM_OPTS: more memory-backend-file properties (",align=2M").
e2e_qemu() {
	name=$1 memfile=$2 mem=$3 job=$4
	shift 4
	cpu=$((E2E_GUESTS % $(nproc)))
	E2E_GUESTS=$((E2E_GUESTS + 1))
	accel="kvm -cpu ${E2E_CPU:-host}"
	# TCG's translation cache is bounded: the default (1 GiB, touched as
	# it fills) is more than the test VM can spare for two guests.
	e2e_tcg && accel="tcg,tb-size=256 -cpu ${E2E_CPU:-qemu64}"
	# Under TCG the guest kernel's boot is most of a scenario's time, and
	# its crypto self-tests were half of that (counted with -icount).
	# Its clock is the host's wall clock, so a guest CPU thread that the
	# loaded host does not run for 20 s looks like a soft lockup or an
	# RCU stall to the guest (seen: "soft lockup - CPU#0 stuck for 24s"
	# in a guest's boot with the host's load at 10 on 2 cores): those
	# detectors get their longest limits (120 s and 300 s) under TCG.
	append=
	e2e_tcg && append="cryptomgr.notests watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=300"
	# Keep the command, for e2e_booted's one restart.
	{
		echo "exec taskset -c $cpu chroot $E2E_ROOT qemu-system-x86_64 \\"
		echo "  -accel $accel -m $mem -smp 1 -nodefaults \\"
		echo "  -display none -no-reboot \\"
		echo "  -object memory-backend-file,id=ram0,mem-path=$memfile,size=$mem,share=on${E2E_MEM_OPTS:-} \\"
		echo "  -machine pc,memory-backend=ram0 \\"
		echo "  -kernel $E2E_KERNEL -initrd $E2E_INITRD \\"
		echo "  -append 'console=ttyS0 loglevel=4 panic=-1 kvmshare_job=$job $append ${E2E_APPEND:-}' \\"
		echo "  -serial file:/run/$name.log -qmp unix:/run/$name.qmp,server,nowait \\"
		echo "  $*"
	} > $E2E_RUN/$name.start
	e2e_start "$name"
}

e2e_start() {	# e2e_start NAME: (re)start guest NAME in the background
	rm -f $E2E_RUN/$1.log $E2E_RUN/$1.qmp
	sh $E2E_RUN/$1.start > $E2E_RUN/$1.qemu.log 2>&1 &
	eval "E2E_PID_$1=$!"
}

# e2e_booted NAME SECONDS: wait for the guest's first line (GUEST-BOOTED).
# A nested guest under TCG has been seen, rarely, to stay silent from the
# start (one of two concurrent guests, with or without kvmshare in the
# picture): such a guest is restarted once, and that is reported. Under
# TCG there is no nested SVM: a silent guest is a failure.
e2e_booted() {
	e2e_wait "$1" GUEST-BOOTED "$2" && return 0
	e2e_tcg && return 1
	echo "# $1 printed nothing in $(($2 * E2E_SLACK)) s: restarting it once (emulator)"
	eval "kill -9 \$E2E_PID_$1" 2>/dev/null
	sleep 1
	e2e_start "$1"
	e2e_wait "$1" GUEST-BOOTED "$2"
}

# e2e_wait NAME PATTERN SECONDS: wait for a line of the guest's console.
e2e_wait() {
	t=0
	while [ $t -lt $(($3 * E2E_SLACK)) ]; do
		grep -qE "$2" $E2E_RUN/$1.log 2>/dev/null && return 0
		sleep 1
		t=$((t + 1))
	done
	echo "# timeout waiting for '$2' from $1; console tail:"
	tail -5 $E2E_RUN/$1.log 2>/dev/null | sed 's/^/#   /'
	sed 's/^/#   qemu: /' $E2E_RUN/$1.qemu.log 2>/dev/null | tail -5
	return 1
}

# e2e_alive NAME: guest NAME's heartbeats (GUEST-ALIVE: what it keeps
# verified every second or, job mem, every 5 s) go on: a new one within
# 10 s (times E2E_SLACK), and none was BAD.
e2e_alive() {
	n0=$(grep -c 'GUEST-ALIVE .* ok' $E2E_RUN/$1.log)
	t=0
	while [ $t -lt $((10 * E2E_SLACK)) ]; do
		sleep 1
		t=$((t + 1))
		n1=$(grep -c 'GUEST-ALIVE .* ok' $E2E_RUN/$1.log)
		[ "$n1" -gt "$n0" ] && break
	done
	bad=$(grep -c 'GUEST-ALIVE .* BAD' $E2E_RUN/$1.log)
	echo "# $1 heartbeats: $n0 -> $n1, bad $bad"
	[ "$n1" -gt "$n0" ] && [ "$bad" = 0 ]
}

# e2e_qmp NAME JSON: one QMP command to guest NAME.
e2e_qmp() {
	kvmsharectl qmp $E2E_RUN/$1.qmp "$2"
}

e2e_stop() {	# e2e_stop NAME: quit QEMU and wait for it
	pid=
	eval "pid=\$E2E_PID_$1"
	e2e_qmp "$1" '{"execute": "quit"}' > /dev/null 2>&1
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# e2e_klog_mark prints the timestamp of the kernel's last log line;
# e2e_klog_since MARK prints the lines logged after it. By time, not by
# line count: once the ring buffer is full, old lines leave as new ones
# come and a count stops moving (seen in vpa_sriov, 7 December: a
# sriov_groups check read none of the lines it looked for).
e2e_klog_mark() {
	dmesg | tail -n 1 | sed -n 's/^\[ *\([0-9]*\.[0-9]*\)\].*/\1/p'
}
e2e_klog_since() {
	dmesg | awk -v m="${1:-0}" '
		match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
			t = substr($0, 2, RLENGTH - 2); keep = t + 0 > m + 0
		}
		keep'
}

# e2e_logs_clean: TAP: the test VM's kernel log since e2e_setup and the
# console of every guest started have no warning, BUG, oops, lockup,
# machine check or memory failure. Matching lines are diagnostics.
e2e_logs_clean() {
	echo "# $(basename "$0"): $(($(date +%s) - E2E_T0)) s so far;" \
	     "$(grep -h GUEST-BOOTED $E2E_RUN/*.log 2>/dev/null | tr -d '\r' |
		sed -n 's/.* up=/booted at /p' | tr '\n' ' ')"
	pat='WARNING:|BUG:|Oops|general protection|Call Trace:|soft lockup|hung_task|blocked for more than|RCU stall|UBSAN|KASAN|kernel BUG|list_add corruption|list_del corruption|refcount_t:|Kernel panic|Machine check|[Mm]emory failure|segfault|Out of memory'
	bad=$(e2e_klog_since "$E2E_DMESG0" | grep -E "$pat")
	for f in $E2E_RUN/*.log; do
		case "$f" in *.qemu.log) continue ;; esac
		grep -q GUEST-BOOTED "$f" 2>/dev/null || continue
		g=$(grep -E "$pat" "$f" | sed "s|^|$(basename "$f" .log): |")
		[ -n "$g" ] && bad="$bad
$g"
	done
	# E2E_LOGS_EXPECTED: an extended regexp of lines a script caused on
	# purpose (a machine check it injected); shown, not counted as bad.
	if [ -n "${E2E_LOGS_EXPECTED:-}" ]; then
		echo "$bad" | grep -E "$E2E_LOGS_EXPECTED" | head -20 |
			sed 's/^/# expected: /'
		bad=$(echo "$bad" | grep -vE "$E2E_LOGS_EXPECTED")
	fi
	echo "$bad" | grep . | head -20 | sed 's/^/# /'
	[ -z "$(echo "$bad" | grep .)" ]
	e2e_tap $? "kernel logs of the test VM and the guests are clean"
}

# e2e_pool_settle NAME: after the guests stopped and their files were
# removed, wait up to 10 s for the pool NAME (/sys/fs/kvmshare/NAME) to
# have no page in use; 0 if it has none. Run before unmounting. A
# removed file's pages go back when its inode goes, and the pool's
# eviction worker holds the inode of the partition it samples for the
# length of a pass (every sample_ms): the last reference can be the
# worker's, a moment after the removal.
# A late release is reported with its delay; a pool not empty after 10 s
# fails, with the pool's counters, the partitions left and whoever still
# holds a file of the pool (open or mapped) as diagnostics.
e2e_pool_settle() {
	p=/sys/fs/kvmshare/$1
	used=$(cat $p/used_pages)
	t=0
	while [ "$used" != 0 ] && [ $t -lt 20 ]; do
		sleep 0.5
		t=$((t + 1))
		used=$(cat $p/used_pages)
	done
	[ $t != 0 ] && [ "$used" = 0 ] &&
		echo "# $1: the pool was empty $((t * 5 / 10)).$((t * 5 % 10)) s after the removal (a late release)"
	if [ "$used" != 0 ]; then
		echo "# $1: used_pages $used 10 s after the files were removed"
		for f in $p/*; do
			[ -f "$f" ] && echo "#   $(basename "$f"): $(head -c 200 "$f" 2>/dev/null | tr '\n' ' ')"
		done
		ls $p/partitions 2>/dev/null | sed 's/^/#   partition left: /'
		for d in /proc/[0-9]*; do
			h=0
			for fd in "$d"/fd/*; do
				case "$(readlink "$fd" 2>/dev/null)" in
				*/run/pool/*) h=$((h + 1)) ;;
				esac
			done
			m=$(grep -c "/run/pool/" "$d"/maps 2>/dev/null)
			if [ $h != 0 ] || [ "${m:-0}" != 0 ]; then
				echo "#   pid ${d#/proc/} ($(cat $d/comm 2>/dev/null)): $h open, $m mapped"
			fi
		done
		e2e_klog_since "$E2E_DMESG0" | tail -5 | sed 's/^/#   dmesg: /'
	fi
	[ "$used" = 0 ]
}

# e2e_pool_empty NAME DESCRIPTION: TAP: e2e_pool_settle NAME.
e2e_pool_empty() {
	e2e_pool_settle "$1"
	e2e_tap $? "$2"
}
