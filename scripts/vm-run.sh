#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test VM (Debian's kernel under QEMU TCG, -cpu max so KVM runs
# inside it) and run one suite in it.
#
#   scripts/vm-run.sh [options] SUITE
#     --initrd FILE     initramfs from scripts/mkinitrd.sh (required)
#     --out DIR         where console.log and results.log go
#     --mode MODE       check (default), demo or bench
#     --timeout SECS    wall-clock limit for the whole VM (default 600)
#     --mem MB          VM memory (default 2048)
#     --smp N           VM CPUs (default 2)
#     --numa N          N NUMA nodes (default 1), a socket each: memory
#                       and CPUs split evenly (N must divide both)
#     --hostroot        share the host's / read-only at /host in the VM
#     --q35             boot a q35 machine with an emulated IOMMU and two
#                       PCIe root ports, each with an e1000e: rp1 (16 GT/s,
#                       QEMU's default, bus 1) and rp2 (2.5 GT/s, bus 2: the
#                       PCI core's link wait after a bus reset differs)
#     --nvme-sriov      (implies --q35) add QEMU's NVMe with SR-IOV behind its
#                       own root port rp3 at 2.5 GT/s
#                       (Documentation/plans/sriov.md 1.2):
#                       an nvme-subsys, the PF with 4 VFs' worth of flexible
#                       queues and vectors, namespace 1 for the PF and
#                       namespaces 2..5 private and detached, one per VF,
#                       namespace 6 shared and detached (sparse raw images
#                       DIR/nv-*.img, 64 MiB each);
#                       KVMSHARE_NVME_RP_OPTS adds options to rp3 (e.g.
#                       mem-reserve=8M, for VF BARs the firmware left out)
#     --ivshmem         add an ivshmem-plain device (1 MiB, DIR/ivshmem.bin)
#     --agent           run scripts/vm/host-agent.sh: tests in the VM can ask
#                       the host for QMP commands on the VM's own QEMU
#                       (e.g. pcie_aer_inject_error) through the third
#                       serial port (lib/hostcmd.sh in the selftests)
#     --console         also copy the console to stdout
#
# Every VM has a QMP socket at DIR/qmp.sock.
#
# KVMSHARE_KERNEL_LANE=debug boots the debug kernel (scripts/kernel.sh);
# KVMSHARE_TIMEOUT_FACTOR=N multiplies --timeout and, in the VM, each
# program's TIMEOUT (scripts/vm/run-progs.sh).
#
# The VM cannot return an exit status: the results arrive on the second
# serial port and are judged by scripts/tap-sum.awk. A VM that panics,
# hangs or exceeds the timeout leaves results without KVMSHARE-DONE, which
# counts as a failure. Exit status: 0 if QEMU ended by itself, 124 on timeout.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
initrd='' out='' mode=check timeout=600 mem=2048 smp=2 hostroot=0 q35=0 console=0
ivshmem=0 agent=0 numa=1 nvme_sriov=0
while [ $# -gt 1 ]; do
	case "$1" in
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--numa) numa=$2; shift 2 ;;
	--hostroot) hostroot=1; shift ;;
	--q35) q35=1; shift ;;
	--nvme-sriov) nvme_sriov=1; q35=1; shift ;;
	--ivshmem) ivshmem=1; shift ;;
	--agent) agent=1; shift ;;
	--console) console=1; shift ;;
	*) echo "vm-run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
suite=${1:?suite name}
[ -n "$initrd" ] || { echo "vm-run.sh: --initrd is required" >&2; exit 2; }
out=${out:-$top/build/results/$suite}
mkdir -p "$out"
rm -f "$out/console.log" "$out/results.log" "$out/agent.log" \
      "$out/qmp.sock" "$out/agent.in" "$out/agent.out"

kdir=$("$top/scripts/kernel.sh" fetch)
# the emulator: QEMU from Debian's backports unless KVMSHARE_QEMU says
# otherwise (scripts/qemu.sh says why)
qemu=$("$top/scripts/qemu.sh" fetch)
tfactor=${KVMSHARE_TIMEOUT_FACTOR:-1}
timeout=$((timeout * tfactor))

smpopt=$smp
if [ "$numa" -gt 1 ]; then
	if [ $((smp % numa)) != 0 ] || [ $((mem % numa)) != 0 ]; then
		echo "vm-run.sh: --numa $numa must divide the CPUs and the memory" >&2
		exit 2
	fi
	# A socket per node: CPUs sharing a cache in two nodes is a
	# topology the kernel warns about at boot.
	smpopt="$smp,sockets=$numa"
fi
# KVMSHARE_VM_ACCEL: the test VM's -accel (default tcg; e.g.
# tcg,thread=single to run its vCPUs on one emulator thread)
args=(-accel "${KVMSHARE_VM_ACCEL:-tcg}" -cpu max -m "$mem" -smp "$smpopt" -display none -no-reboot
      -nodefaults -kernel "$kdir/vmlinuz" -initrd "$initrd"
      -serial "file:$out/console.log" -serial "file:$out/results.log"
      -qmp "unix:$out/qmp.sock,server,nowait")
for ((n = 0; numa > 1 && n < numa; n++)); do
	args+=(-object "memory-backend-ram,id=node$n,size=$((mem / numa))M"
	       -numa "node,nodeid=$n,memdev=node$n,cpus=$((n * smp / numa))-$(((n + 1) * smp / numa - 1))")
done
# no_timer_check: the boot-time check that the timer interrupt comes
# through the IO-APIC waits a fixed number of loops; a loaded host running
# the emulated CPU slowly failed it (q35 with interrupt remapping: "timer
# doesn't work through Interrupt-remapped IO-APIC", a panic at boot).
# watchdog_thresh=60: a soft lockup is reported after 120 s instead of 20 s.
# The emulated CPU's clock follows the host's, so a host that does not run
# the VM's threads for 20 s (a loaded or paused CI machine) looks to the
# guest like a CPU stuck for 20 s: CI once panicked 28 s into a vpa_recovery
# boot with a soft-lockup-shaped report whose CPU had just switched to an
# idle kworker (RIP at finish_task_switch, where interrupts come back on
# after a context switch: the scheduler was working, the clock had jumped).
# A real lockup of ours still panics, and every suite's timeout is longer.
cmdline="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 no_timer_check"
cmdline+=" watchdog_thresh=60 sysrq_always_enabled"
# log_buf_len: a suite's whole kernel log stays in the ring (the default
# 128 KiB filled in vpa_sriov, 7 December, and the first lines were gone
# when the kernel-log check read it).
cmdline+=" log_buf_len=16M"
cmdline+=" kvmshare_suite=$suite kvmshare_mode=$mode kvmshare_srcdir=$top"
# Host paths the end-to-end tests use through the shared host root.
cmdline+=" kvmshare_build=${KVMSHARE_BUILD:-$top/build}"
# Extra kernel parameters for the test VM (debugging).
cmdline+="${KVMSHARE_VM_APPEND:+ $KVMSHARE_VM_APPEND}"
# The stress, fuzz and bench programs' settings (STRESS_SEED,
# PAGER_FUZZ_SEED, PAGER_BENCH_TIMING ...) reach the VM's programs as
# environment variables: the kernel hands unknown parameters to /init.
# Only plain values (no blanks) pass.
for v in $(compgen -e | grep -E '^(STRESS|[A-Z]+_FUZZ|PAGER_BENCH)_[A-Z_]+$'); do
	case "${!v}" in
	*[[:space:]]*|'') echo "vm-run.sh: $v has blanks or is empty: not passed" >&2 ;;
	*) cmdline+=" $v=${!v}" ;;
	esac
done
cmdline+=" kvmshare_kernel=$kdir/vmlinuz"
[ "$tfactor" != 1 ] && cmdline+=" kvmshare_tfactor=$tfactor"
# every KASAN report, not only the first
[ "${KVMSHARE_KERNEL_LANE:-}" = debug ] && cmdline+=" kasan_multi_shot"
if [ "$q35" = 1 ]; then
	args+=(-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
	       -device pcie-root-port,id=rp1,chassis=1,slot=1
	       -device e1000e,bus=rp1,id=nic1
	       -device pcie-root-port,id=rp2,chassis=2,slot=2,x-speed=2_5,x-width=1
	       -device e1000e,bus=rp2,id=nic2)
	cmdline+=" intel_iommu=on"
fi
if [ "$nvme_sriov" = 1 ]; then
	# Its own root port (ACS on by default: the PF and each VF get
	# their own IOMMU group). Namespaces are private (shared=off) and
	# those of the VFs detached: each is attached to one secondary
	# controller by Namespace Attachment. The limits of
	# nvme_check_params(): 16 >= 2*4 VQ, 18 >= 16+2, 8 >= 4 VI, 10 >= 8+1.
	# At 2.5 GT/s, as rp2: after the secondary bus reset of an AER
	# recovery, Linux 6.1 waits for Data Link Layer Link Active on a
	# faster port, which QEMU's root port never sets again ("Link
	# Active not set in 1000 msec", "subordinate device reset failed":
	# the PCI core gives the recovery up; seen 7 December at 16 GT/s and
	# at x-speed=5 too); on a 2.5 GT/s port it waits a fixed time and
	# the recovery goes on (recov_vfio.c's pci_gen1 relies on the same).
	args+=(-device pcie-root-port,id=rp3,chassis=3,slot=3,x-speed=2_5,x-width=1${KVMSHARE_NVME_RP_OPTS:+,$KVMSHARE_NVME_RP_OPTS}
	       -device nvme-subsys,id=nvsub0,nqn=kvmshare-vpa
	       -device nvme,id=nvme0,bus=rp3,serial=vpa0,subsys=nvsub0,max_ioqpairs=18,msix_qsize=10,sriov_max_vfs=4,sriov_vq_flexible=16,sriov_vi_flexible=8,sriov_max_vq_per_vf=8,sriov_max_vi_per_vf=4)
	for n in pf vf0 vf1 vf2 vf3 sh; do
		rm -f "$out/nv-$n.img"
		truncate -s 64M "$out/nv-$n.img"
	done
	args+=(-drive "if=none,id=nvpf,file=$out/nv-pf.img,format=raw"
	       -device nvme-ns,bus=nvme0,drive=nvpf,nsid=1,shared=off)
	for n in 0 1 2 3; do
		args+=(-drive "if=none,id=nvvf$n,file=$out/nv-vf$n.img,format=raw"
		       -device "nvme-ns,bus=nvme0,drive=nvvf$n,nsid=$((n + 2)),shared=off,detached=on")
	done
	# namespace 6: shared (NMIC bit 0) and detached, which vpa must refuse
	# to give to a VF (sriov_groups.sh)
	# shellcheck disable=SC2054 # (commas: QEMU's option lists)
	args+=(-drive "if=none,id=nvsh,file=$out/nv-sh.img,format=raw"
	       -device nvme-ns,bus=nvme0,drive=nvsh,nsid=6,shared=on,detached=on)
fi
if [ "$ivshmem" = 1 ]; then
	rm -f "$out/ivshmem.bin"
	args+=(-object "memory-backend-file,id=ivsh0,mem-path=$out/ivshmem.bin,size=1M,share=on"
	       -device ivshmem-plain,memdev=ivsh0)
fi
if [ "$agent" = 1 ]; then
	mkfifo "$out/agent.in" "$out/agent.out"
	args+=(-serial "pipe:$out/agent")
	cmdline+=" kvmshare_agent=1"
fi
if [ "$hostroot" = 1 ]; then
	args+=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on)
	cmdline+=" kvmshare_hostroot=1"
fi
args+=(-append "$cmdline")
# Extra arguments for the test VM's QEMU (debugging), e.g.
# KVMSHARE_VM_QEMU_ARGS="-d cpu_reset,guest_errors -D /tmp/reset.log"
# shellcheck disable=SC2206
[ -n "${KVMSHARE_VM_QEMU_ARGS:-}" ] && args+=($KVMSHARE_VM_QEMU_ARGS)

if [ "$console" = 1 ]; then
	touch "$out/console.log"
	tail -n +1 -f "$out/console.log" &
	tailpid=$!
fi
# A boot that hangs before /init has loaded KVM and started kvm-hold
# ("init: KVM ready" on the console) is retried, up to
# KVMSHARE_BOOT_TRIES boots in all (default 3): nothing of ours has
# run then (our modules load later, from run-progs.sh). Seen under TCG: with
# the debug kernel, 2 of 6 boots stopped after "Running RCU-tasks wait API
# self tests" (PROVE_RCU's boot-time self-test); with Debian's kernel, 1 of
# about 20 boots stalled one CPU (an RCU stall, "Sending NMI from CPU 0 to
# CPUs 1") right after kvm_amd loaded. The hung boot's console is kept as
# console.boot1.log (boot2 ...), which ends with the retry's line (also on
# stderr: QEMU truncates console.log when it starts again). A boot counts
# as hung after KVMSHARE_BOOT_LIMIT s without "init: KVM ready", or
# KVMSHARE_BOOT_STALL s (default 120) without a new console line: the
# debug kernel's hung boots (3 December: both boots of one suite under
# load) stopped printing 2 s in, and waiting 300 s for each cost the
# suite its time.
# Both are multiplied by KVMSHARE_TIMEOUT_FACTOR: a debug kernel booting
# beside other VMs was silent for over 120 s (initramfs, key setup) and
# took more than 300 s while making progress.
boot_limit=$(( ${KVMSHARE_BOOT_LIMIT:-300} * tfactor ))
boot_stall=$(( ${KVMSHARE_BOOT_STALL:-120} * tfactor ))
boot_tries=${KVMSHARE_BOOT_TRIES:-3}
# A hung boot of the kind above leaves the emulator idle: its vCPUs halted
# and waiting for an interrupt that never comes, the QEMU process using
# almost no CPU (the debug kernel's hangs after "Running RCU-tasks wait API
# self tests": CPU 0 in HLT with interrupts on, CPU 1 still in the BIOS;
# its QEMU used 11% of a host CPU, 7 December, against 90-100% booting).
# A boot that is merely silent (unpacking the initramfs, a slow host)
# keeps a vCPU busy. So a boot silent for boot_idle s during which QEMU
# used less than 30% of one host CPU, and none of whose threads is
# waiting to run (a starved VM is not an idle one), counts as hung, instead
# of after boot_stall s (480 s with the debug kernel's factor 4). Not
# scaled by the factor: a loaded host slows a busy VM, it does not make it
# idle. 0 turns the check off.
boot_idle=${KVMSHARE_BOOT_IDLE:-60}
# QEMU runs under GNU timeout only as a backstop: at $timeout the watch
# below first asks the VM what it is doing (vm_diag), then ends it.
start_qemu() {
	timeout -k 10 "$((timeout + 120))" "$qemu" "${args[@]}" \
		> "$out/qemu.log" 2>&1 &
	qpid=$!
	qstart=$SECONDS
	if [ "$agent" = 1 ]; then
		"$top/scripts/vm/host-agent.sh" "$out" > "$out/agent.log" 2>&1 &
		apid=$!
	fi
}
# (under set -e: wait returns the killed agent's status, 143, which ended
# this script before the boot retry in suites with --agent)
stop_agent() {
	if [ "$agent" = 1 ]; then
		kill "$apid" 2>/dev/null || true
		wait "$apid" 2>/dev/null || true
	fi
}
# 0: /init said KVM is ready (or QEMU ended); 1: it did not in boot_limit
# s, or the console stayed the same for boot_stall s
watch_boot() {
	local t=0 quiet=0 size last_size=-1 cpu cpu0=0
	while kill -0 "$qpid" 2>/dev/null; do
		grep -q "init: KVM ready" "$out/console.log" \
			2>/dev/null && return 0
		[ "$t" -ge "$boot_limit" ] && return 1
		size=$(stat -c %s "$out/console.log" 2>/dev/null || echo 0)
		cpu=$(qemu_cpu_ticks)
		if [ "$size" = "$last_size" ]; then
			quiet=$((quiet + 2))
			[ "$quiet" -ge "$boot_stall" ] && return 1
			if [ "$boot_idle" -gt 0 ] && [ "$quiet" -ge "$boot_idle" ] &&
			   [ "$cpu" -gt 0 ] &&
			   [ $(( (cpu - cpu0) * 10 )) -lt $(( quiet * ticks * 3 )) ] &&
			   ! qemu_runnable; then
				echo "vm-run.sh: $suite: boot $boot silent for" \
				     "${quiet}s with QEMU idle ($(( cpu - cpu0 ))" \
				     "ticks of CPU, $ticks a second)" >&2
				return 1
			fi
		else
			quiet=0
			last_size=$size
			cpu0=$cpu
		fi
		sleep 2
		t=$((t + 2))
	done
	return 0
}
# Whether a thread of QEMU is runnable now: a host too loaded to run the
# VM starves it (little CPU, but its threads wait to run), which is not
# the idle hang above.
qemu_runnable() {
	local pid

	pid=$(pgrep -P "$qpid" 2>/dev/null | head -n 1)
	[ -n "$pid" ] || return 1
	cat /proc/"$pid"/task/*/stat 2>/dev/null |
		sed 's/.*) //' | awk '$1 == "R" { r = 1 } END { exit !r }'
}
# CPU time (user + system, in clock ticks) used so far by the QEMU that
# GNU timeout runs as $qpid; 0 when it cannot be read (then no idle check).
ticks=$(getconf CLK_TCK)
qemu_cpu_ticks() {
	local pid

	pid=$(pgrep -P "$qpid" 2>/dev/null | head -n 1)
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || { echo 0; return; }
	# the fields after the command's ")": state is 3rd, utime 14th,
	# stime 15th of the whole line
	sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}
# What a VM that is about to be killed was doing, kept in DIR/hang.log
# and on its console (which QEMU writes: nothing else may): each vCPU's registers twice, 3 s apart (the same RIP
# twice with interrupts off is a CPU stuck in the kernel; halted CPUs and
# a silent console are a guest waiting for something, a timer that never
# comes for instance), then sysrq through the emulated keyboard (it needs
# no timer and no process of the VM): blocked tasks (w), every CPU's
# backtrace (l), every task (t). The VM's kernel has sysrq_always_enabled.
vm_diag() {
	local ctl=${KVMSHARE_BUILD:-$top/build}/tools/kvmsharectl k
	local before

	[ -x "$ctl" ] && [ -S "$out/qmp.sock" ] || return 0
	hmp() {
		timeout 20 "$ctl" qmp "$out/qmp.sock" \
			"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"$1\"}}" 2>&1 |
			sed 's/\\r\\n/\n/g; s/\\n/\n/g'
	}
	{
		echo "=== $(date +%T) $suite: the VM is about to be killed"
		echo "--- info registers -a"
		hmp "info registers -a"
		sleep 3
		echo "--- info registers -a (3 s later)"
		hmp "info registers -a"
	} >> "$out/hang.log"
	before=$(stat -c %s "$out/console.log" 2>/dev/null || echo 0)
	echo "vm-run.sh: $suite: the VM is about to be killed; its registers" \
	     "are in hang.log, its tasks (sysrq w, l, t) on its console" >&2
	for k in w l t; do
		hmp "sendkey alt-sysrq-$k" >> "$out/hang.log"
		sleep 5
	done
	echo "--- the console grew by $(( $(stat -c %s "$out/console.log" \
		2>/dev/null || echo 0) - before )) bytes after sysrq" \
		>> "$out/hang.log"
}
rc=0
boot=1
start_qemu
while ! watch_boot; do
	vm_diag
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	stop_agent
	last=$(tail -n 1 "$out/console.log" 2>/dev/null | tr -d '\r')
	mv "$out/console.log" "$out/console.boot$boot.log"
	rm -f "$out/results.log" "$out/qmp.sock"
	if [ "$boot" -ge "$boot_tries" ]; then
		echo "vm-run.sh: $suite: boot $boot did not reach 'init: KVM" \
		     "ready' either (last line: $last); giving up" |
			tee -a "$out/console.boot$boot.log" >&2
		cp "$out/console.boot$boot.log" "$out/console.log"
		: > "$out/results.log"
		[ "$console" = 1 ] && { kill "$tailpid" 2>/dev/null || true; }
		exit 0
	fi
	echo "vm-run.sh: $suite: boot $boot did not reach 'init: KVM ready'" \
	     "(limit ${boot_limit}s, or ${boot_stall}s without output; last" \
	     "line: $last); booting again" |
		tee -a "$out/console.boot$boot.log" >&2
	[ "$console" = 1 ] && { kill "$tailpid" 2>/dev/null || true
		tail -n +1 -f "$out/console.log" & tailpid=$!; }
	boot=$((boot + 1))
	start_qemu
done
killed=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ $((SECONDS - qstart)) -ge "$timeout" ]; then
		vm_diag
		kill "$qpid" 2>/dev/null || true
		killed=1
		break
	fi
	sleep 2
done
wait "$qpid" || rc=$?
[ "$killed" = 1 ] && rc=124
stop_agent
if [ "$console" = 1 ]; then
	sleep 0.2
	kill "$tailpid" 2>/dev/null || true
fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "vm-run.sh: $suite: VM killed after ${timeout}s" >> "$out/console.log"
	exit 124
fi
if [ "$rc" != 0 ]; then
	echo "vm-run.sh: $suite: qemu exited with $rc:" >&2
	cat "$out/qemu.log" >&2
fi
exit 0
