// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keep one KVM VM with one vCPU (no in-kernel irqchip) open for
 * the whole test run.
 *
 * Creating the first VM and destroying the last one flips static keys in
 * the kernel (KVM's preempt notifiers; vCPUs without an in-kernel local
 * APIC), and each flip live-patches kernel text. Under QEMU's multi-
 * threaded TCG the other vCPU has been seen to keep executing the
 * patching breakpoint afterwards (a soft lockup in finish_task_switch()).
 * With this VM held, the tests' VMs never flip the keys. It only matters
 * for the emulated test VM; it changes nothing the tests measure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

int main(void)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-hold: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("kvm-hold: create");
		return 1;
	}
	for (;;)
		pause();
}
