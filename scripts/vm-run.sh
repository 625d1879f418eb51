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
#     --hostroot        share the host's / read-only at /host in the VM
#     --q35             boot a q35 machine with a PCIe root port (rp1) and a
#                       QEMU monitor socket at DIR/monitor.sock
#     --console         also copy the console to stdout
#
# The VM cannot return an exit status: the results arrive on the second
# serial port and are judged by scripts/tap-sum.awk. A VM that panics,
# hangs or exceeds the timeout leaves results without KVMSHARE-DONE, which
# counts as a failure. Exit status: 0 if QEMU ended by itself, 124 on timeout.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
initrd= out= mode=check timeout=600 mem=2048 smp=2 hostroot=0 q35=0 console=0
while [ $# -gt 1 ]; do
	case "$1" in
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--hostroot) hostroot=1; shift ;;
	--q35) q35=1; shift ;;
	--console) console=1; shift ;;
	*) echo "vm-run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
suite=${1:?suite name}
[ -n "$initrd" ] || { echo "vm-run.sh: --initrd is required" >&2; exit 2; }
out=${out:-$top/build/results/$suite}
mkdir -p "$out"
rm -f "$out/console.log" "$out/results.log"

kdir=$("$top/scripts/kernel.sh" fetch)

args=(-accel tcg -cpu max -m "$mem" -smp "$smp" -display none -no-reboot
      -nodefaults -kernel "$kdir/vmlinuz" -initrd "$initrd"
      -serial "file:$out/console.log" -serial "file:$out/results.log")
cmdline="console=ttyS0 panic=-1 oops=panic softlockup_panic=1"
cmdline+=" kvmshare_suite=$suite kvmshare_mode=$mode kvmshare_srcdir=$top"
# Host paths the end-to-end tests use through the shared host root.
cmdline+=" kvmshare_build=${KVMSHARE_BUILD:-$top/build}"
cmdline+=" kvmshare_kernel=$kdir/vmlinuz"
if [ "$q35" = 1 ]; then
	args+=(-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
	       -device pcie-root-port,id=rp1,chassis=1,slot=1
	       -monitor "unix:$out/monitor.sock,server,nowait")
	cmdline+=" intel_iommu=on"
fi
if [ "$hostroot" = 1 ]; then
	args+=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on)
	cmdline+=" kvmshare_hostroot=1"
fi
args+=(-append "$cmdline")

if [ "$console" = 1 ]; then
	touch "$out/console.log"
	tail -n +1 -f "$out/console.log" &
	tailpid=$!
fi
rc=0
timeout -k 10 "$timeout" qemu-system-x86_64 "${args[@]}" \
	> "$out/qemu.log" 2>&1 || rc=$?
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
