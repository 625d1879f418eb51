// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: hold every static key that the tests' VMs would flip, for the
 * whole test run, and check that they stay held.
 *
 *   kvm-hold READYFILE   hold the keys; write READYFILE once they are held
 *   kvm-hold --check     TAP: each key's count, read through /proc/kcore;
 *                        a key at 0 would be flipped by the next test VM
 *
 * Creating the first VM or vCPU of a kind and destroying the last one
 * flips static keys in the kernel, and each flip live-patches kernel text
 * (text_poke_bp_batch(), which waits for every CPU in an IPI). Under
 * QEMU's multi-threaded TCG the other vCPU has been seen to keep
 * executing the patching breakpoint afterwards (a soft lockup in
 * finish_task_switch()), and the IPI to hang (a soft lockup in
 * smp_call_function_many_cond() under static_key_slow_inc() in
 * KVM_CREATE_VCPU). The keys of KVM 6.1 x86 and what increments them:
 *
 *   preempt_notifier_key   every VM (kvm_create_vm)
 *   kvm_has_noapic_vcpu    a vCPU without an in-kernel local APIC
 *   apic_sw_disabled       a local APIC software-disabled: every new one
 *                          (deferred key: the decrement patches HZ later)
 *   apic_hw_disabled       a local APIC whose APIC_BASE enable bit is
 *                          clear (deferred key)
 *
 * Held here by two VMs: one without an irqchip and one vCPU, one with an
 * in-kernel irqchip and one vCPU whose APIC is never software-enabled and
 * whose APIC_BASE enable bit is cleared. kvm_xen_enabled is not held: only
 * a Xen HVM configuration flips it and no test makes one. The test VM
 * only: it changes nothing the tests measure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define MSR_IA32_APICBASE	0x1b
#define APIC_BASE_BSP		(1ULL << 8)
#define APIC_BASE_ADDR		0xfee00000ULL

/* The ELF64 headers of /proc/kcore (the layout of the ELF standard) */
struct kc_ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct kc_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define KC_PT_LOAD	1

static const char * const keys[] = {
	"preempt_notifier_key",
	"kvm_has_noapic_vcpu",
	"apic_sw_disabled",
	"apic_hw_disabled",
};

#define NR_KEYS (sizeof(keys) / sizeof(*keys))

static int vm_with_vcpu(int kvm, int irqchip)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msrs = { { .nmsrs = 1 } };
	int vm, vcpu;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -1;
	if (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return -1;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return -1;
	if (!irqchip)
		return 0;
	/* xAPIC -> disabled: apic_hw_disabled goes up and stays */
	msrs.e.index = MSR_IA32_APICBASE;
	msrs.e.data = APIC_BASE_ADDR | APIC_BASE_BSP;
	if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1)
		return -1;
	return 0;
}

static int hold_keys(const char *ready)
{
	int kvm, fd;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-hold: /dev/kvm");
		return 1;
	}
	if (vm_with_vcpu(kvm, 0) || vm_with_vcpu(kvm, 1)) {
		perror("kvm-hold: create");
		return 1;
	}
	fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("kvm-hold: ready file");
		return 1;
	}
	dprintf(fd, "%d\n", getpid());
	close(fd);
	for (;;)
		pause();
}

/* Address of @name in /proc/kallsyms (root sees real addresses), or 0. */
static uint64_t ksym(const char *name)
{
	char line[512], sym[256], type;
	unsigned long long addr;
	uint64_t found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3)
			continue;
		if (!strcmp(sym, name)) {
			found = addr;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Read the int at kernel address @addr through /proc/kcore. */
static int kread_int(int fd, uint64_t addr, int *val)
{
	struct kc_ehdr eh;
	struct kc_phdr ph;
	int i;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.ident, "\177ELF", 4) || eh.ident[4] != 2)
		return -EINVAL;
	for (i = 0; i < eh.phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.phoff +
			  (off_t)i * eh.phentsize) != sizeof(ph))
			return -EIO;
		if (ph.type != KC_PT_LOAD || addr < ph.vaddr ||
		    addr + sizeof(*val) > ph.vaddr + ph.memsz)
			continue;
		if (pread(fd, val, sizeof(*val),
			  ph.offset + (addr - ph.vaddr)) != sizeof(*val))
			return -EIO;
		return 0;
	}
	return -ENOENT;
}

/*
 * Each key's count (static_key::enabled, the first member of every
 * static key type) must be above zero: then no test VM can flip it.
 */
static int check(void)
{
	int fd, bad = 0, val, ret;
	uint64_t addr;
	size_t i;

	printf("TAP version 13\n1..%zu\n", NR_KEYS);
	fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < NR_KEYS; i++) {
		addr = ksym(keys[i]);
		ret = fd < 0 ? -errno : addr ? kread_int(fd, addr, &val) :
		      -ENOENT;
		if (ret) {
			printf("not ok %zu static key %s: cannot read (%s)\n",
			       i + 1, keys[i], strerror(-ret));
			bad++;
		} else if (val <= 0) {
			printf("not ok %zu static key %s is not held (count %d)\n",
			       i + 1, keys[i], val);
			printf("# a test VM would patch kernel text\n");
			bad++;
		} else {
			printf("ok %zu static key %s held (count %d)\n",
			       i + 1, keys[i], val);
		}
	}
	if (fd >= 0)
		close(fd);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--check"))
		return check();
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: kvm-hold READYFILE | kvm-hold --check\n");
		return 2;
	}
	return hold_keys(argv[1]);
}
