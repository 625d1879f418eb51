// SPDX-License-Identifier: GPL-2.0
/*
 * mvm: a minimal VMM for kvmshare selftests (see mvm.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "mvm.h"
#include "ksutil.h"

/* Symbols of guest.S: the guest's code and its interrupt vectors. */
extern const uint8_t mvm_guest_start[], mvm_guest_end[], mvm_guest_vectors[];

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_PS		0x80ULL
#define PTE_AD		0x60ULL		/* accessed, dirty: the CPU sets them */

#define CR0_PE		0x1ULL
#define CR0_MP		0x2ULL
#define CR0_ET		0x10ULL
#define CR0_NE		0x20ULL
#define CR0_WP		0x10000ULL
#define CR0_AM		0x40000ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x20ULL
#define CR4_OSFXSR	0x200ULL
#define CR4_OSXMMEXCPT	0x400ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL

#define mvm_err(fmt, ...) fprintf(stderr, "# mvm: " fmt "\n", ##__VA_ARGS__)

static struct mvm_mbox *mvm_mbox(struct mvm_vcpu *vcpu)
{
	return (struct mvm_mbox *)(vcpu->vm->sys_mem + MVM_MBOX_GPA +
				   vcpu->id * MVM_MBOX_SIZE);
}

/*
 * Identity map the low MVM_MAPPED_GB GiB with 2 MiB pages; a GDT; an IDT
 * whose 64-bit interrupt gates send exceptions 0-31 to the guest's
 * reporting entries (lib/guest.S).
 */
static void mvm_build_tables(struct mvm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->sys_mem + MVM_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(vm->sys_mem + MVM_PDPT_GPA);
	uint64_t *gdt = (uint64_t *)(vm->sys_mem + MVM_GDT_GPA);
	uint64_t *idt = (uint64_t *)(vm->sys_mem + MVM_IDT_GPA);
	uint64_t gb, i, entry;

	pml4[0] = MVM_PDPT_GPA | PTE_P | PTE_RW;
	for (gb = 0; gb < MVM_MAPPED_GB; gb++) {
		uint64_t *pd = (uint64_t *)(vm->sys_mem + MVM_PD_GPA + gb * 4096);

		pdpt[gb] = (MVM_PD_GPA + gb * 4096) | PTE_P | PTE_RW;
		for (i = 0; i < 512; i++)
			pd[i] = ((gb << 30) + (i << 21)) | PTE_P | PTE_RW | PTE_PS;
	}
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL;	/* 0x08: 64-bit code */
	gdt[2] = 0x00cf92000000ffffULL;	/* 0x10: data */
	for (i = 0; i < MVM_VECTORS; i++) {
		entry = MVM_CODE_GPA + (mvm_guest_vectors - mvm_guest_start) +
			i * 16;
		/* offset 15:0, selector 0x08, present DPL 0 interrupt gate */
		idt[2 * i] = (entry & 0xffff) | (0x08ULL << 16) |
			     (0x8eULL << 40) | ((entry >> 16 & 0xffff) << 48);
		idt[2 * i + 1] = entry >> 32;
	}
}

struct mvm *mvm_create(void)
{
	struct mvm *vm;
	int nent = 256;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		mvm_err("open /dev/kvm: %s", strerror(errno));
		goto err_free;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		mvm_err("unexpected KVM API version");
		goto err_kvm;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0) {
		mvm_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto err_kvm;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
			   nent * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		goto err_kvm;
	vm->cpuid->nent = nent;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		mvm_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto err_cpuid;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		mvm_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err_cpuid;
	}
	vm->sys_mem = mmap(NULL, MVM_SYS_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->sys_mem == MAP_FAILED) {
		mvm_err("mmap system memory: %s", strerror(errno));
		goto err_vm;
	}
	/*
	 * Not inherited by children, as QEMU does for guest RAM: a fork
	 * does not make the guest's page tables, code and mailboxes
	 * copy-on-write under running vCPUs.
	 */
	if (madvise(vm->sys_mem, MVM_SYS_SIZE, MADV_DONTFORK)) {
		mvm_err("madvise(MADV_DONTFORK): %s", strerror(errno));
		goto err_mem;
	}
	/*
	 * Never a transparent huge page (2 MiB, and the test VM's THP is
	 * "always"): KVM's pages_2m then counts the RAM slot's 2M mappings
	 * only, which tests compare with the pool's units (a THP here added
	 * one, seen 7 December).
	 */
	if (madvise(vm->sys_mem, MVM_SYS_SIZE, MADV_NOHUGEPAGE)) {
		mvm_err("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
		goto err_mem;
	}
	mvm_build_tables(vm);
	memcpy(vm->sys_mem + MVM_CODE_GPA, mvm_guest_start,
	       mvm_guest_end - mvm_guest_start);
	if (mvm_set_slot(vm, 0, 0, vm->sys_mem, MVM_SYS_SIZE))
		goto err_mem;
	return vm;

err_mem:
	munmap(vm->sys_mem, MVM_SYS_SIZE);
err_vm:
	close(vm->vm_fd);
err_cpuid:
	free(vm->cpuid);
err_kvm:
	close(vm->kvm_fd);
err_free:
	free(vm);
	return NULL;
}

void mvm_destroy(struct mvm *vm)
{
	if (!vm)
		return;
	close(vm->vm_fd);
	munmap(vm->sys_mem, MVM_SYS_SIZE);
	free(vm->cpuid);
	close(vm->kvm_fd);
	free(vm);
}

int mvm_set_slot(struct mvm *vm, uint32_t slot, uint64_t gpa, void *hva,
		 uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (size && gpa + size > (uint64_t)MVM_MAPPED_GB << 30) {
		mvm_err("slot %u beyond the guest's page tables", slot);
		return -EINVAL;
	}
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = -errno;

		mvm_err("KVM_SET_USER_MEMORY_REGION slot %u: %s", slot,
			strerror(errno));
		return err;
	}
	return 0;
}

static void mvm_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
}

long long mvm_stat(struct mvm *vm, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s",
		 (int)getpid(), vm->vm_fd, name);
	return ks_file_num(path, NULL);
}

int mvm_tdp(void)
{
	static const char * const p[] = {
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/kvm_intel/parameters/ept",
	};
	char c;
	int i, fd, n;

	for (i = 0; i < 2; i++) {
		fd = open(p[i], O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, &c, 1);
		close(fd);
		if (n == 1 && (c == 'Y' || c == 'y' || c == '1'))
			return 1;
	}
	return 0;
}

struct mvm_vcpu *mvm_vcpu_create(struct mvm *vm, int id)
{
	struct mvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (id < 0 || id >= MVM_MAX_VCPUS) {
		mvm_err("vCPU id %d out of range 0..%d", id, MVM_MAX_VCPUS - 1);
		return NULL;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		mvm_err("KVM_CREATE_VCPU: %s", strerror(errno));
		goto err_free;
	}
	vcpu->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		mvm_err("mmap kvm_run: %s", strerror(errno));
		goto err_fd;
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vm->cpuid) < 0) {
		mvm_err("KVM_SET_CPUID2: %s", strerror(errno));
		goto err_run;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		mvm_err("KVM_GET_SREGS: %s", strerror(errno));
		goto err_run;
	}
	mvm_seg(&sregs.cs, 0x08, 11, 1);
	mvm_seg(&sregs.ds, 0x10, 3, 0);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.gdt.base = MVM_GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = MVM_IDT_GPA;
	sregs.idt.limit = MVM_VECTORS * 16 - 1;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM |
		    CR0_PG;
	sregs.cr3 = MVM_PML4_GPA;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0) {
		mvm_err("KVM_SET_SREGS: %s", strerror(errno));
		goto err_run;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = MVM_CODE_GPA;
	regs.rsp = MVM_STACK_TOP - (uint64_t)id * 4096;
	regs.rsi = id;			/* the guest finds its mailbox */
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		mvm_err("KVM_SET_REGS: %s", strerror(errno));
		goto err_run;
	}
	return vcpu;

err_run:
	munmap(vcpu->run, vm->vcpu_mmap_size);
err_fd:
	close(vcpu->fd);
err_free:
	free(vcpu);
	return NULL;
}

void mvm_vcpu_destroy(struct mvm_vcpu *vcpu)
{
	if (!vcpu)
		return;
	munmap(vcpu->run, vcpu->vm->vcpu_mmap_size);
	close(vcpu->fd);
	free(vcpu);
}

/*
 * After a failed run: the vCPU's registers (KVM resets them after a
 * triple fault: rip 0xfff0 then says nothing), and whether the guest's page
 * tables, code and mailbox are still what the host wrote, as the host
 * sees them (a guest that faulted on memory that reads fine here saw
 * other memory than the host's).
 */
static bool mvm_dump(struct mvm_vcpu *vcpu)
{
	struct mvm *vm = vcpu->vm;
	const uint64_t *pml4 = (uint64_t *)(vm->sys_mem + MVM_PML4_GPA);
	const uint64_t *pdpt = (uint64_t *)(vm->sys_mem + MVM_PDPT_GPA);
	const uint64_t *pd = (uint64_t *)(vm->sys_mem + MVM_PD_GPA);
	struct mvm_mbox *mbox = mvm_mbox(vcpu);
	size_t code = mvm_guest_end - mvm_guest_start;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	unsigned int bad = 0, first = ~0U;
	uint64_t gb, i;
	int code_bad;

	if (!ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		mvm_err("vCPU %d: rip 0x%llx rsp 0x%llx rax 0x%llx rcx 0x%llx rdx 0x%llx rdi 0x%llx r8 0x%llx r9 0x%llx r15 0x%llx rflags 0x%llx",
			vcpu->id, regs.rip, regs.rsp, regs.rax, regs.rcx,
			regs.rdx, regs.rdi, regs.r8, regs.r9, regs.r15,
			regs.rflags);
	if (!ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		mvm_err("vCPU %d: cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx cs 0x%x",
			vcpu->id, sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4,
			sregs.efer, sregs.cs.selector);
	if ((pml4[0] & ~PTE_AD) != (MVM_PDPT_GPA | PTE_P | PTE_RW))
		bad++;
	for (gb = 0; gb < MVM_MAPPED_GB; gb++) {
		if ((pdpt[gb] & ~PTE_AD) !=
		    ((MVM_PD_GPA + gb * 4096) | PTE_P | PTE_RW))
			bad++;
		for (i = 0; i < 512; i++) {
			if ((pd[gb * 512 + i] & ~PTE_AD) ==
			    (((gb << 30) + (i << 21)) | PTE_P | PTE_RW | PTE_PS))
				continue;
			if (first == ~0U)
				first = gb * 512 + i;
			bad++;
		}
	}
	code_bad = memcmp(vm->sys_mem + MVM_CODE_GPA, mvm_guest_start, code);
	mvm_err("vCPU %d: page tables: %u entries differ (first pd entry %d); code %s; mailbox op %llu args 0x%llx %llu 0x%llx",
		vcpu->id, bad, first == ~0U ? -1 : (int)first,
		code_bad ? "differs" : "intact",
		(unsigned long long)mbox->op,
		(unsigned long long)mbox->arg[0],
		(unsigned long long)mbox->arg[1],
		(unsigned long long)mbox->arg[2]);
	return !bad && !code_bad;
}

/*
 * The guest reported an exception (lib/guest.S): what, where, and what
 * its page tables and code look like from here.
 */
static void mvm_exception(struct mvm_vcpu *vcpu)
{
	struct mvm_mbox *mbox = mvm_mbox(vcpu);

	mvm_err("vCPU %d: guest exception %llu, error code 0x%llx, at rip 0x%llx, cr2 0x%llx",
		vcpu->id, (unsigned long long)(mbox->value & 0xff),
		(unsigned long long)(mbox->value >> 8),
		(unsigned long long)mbox->rip,
		(unsigned long long)mbox->addr);
	mvm_dump(vcpu);
}

/*
 * The host text symbol at or below @addr from /proc/kallsyms (root only:
 * others read zeros), into @name with the offset in @off; false if none.
 */
static bool mvm_host_symbol(uint64_t addr, char *name, size_t len,
			    uint64_t *off)
{
	unsigned long long a, best = 0;
	char line[256], sym[128], type;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	name[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &a, &type, sym) != 3)
			continue;
		if ((type != 't' && type != 'T') || !a || a > addr ||
		    a <= best)
			continue;
		best = a;
		snprintf(name, len, "%s", sym);
	}
	fclose(f);
	*off = addr - best;
	return best && addr - best < (1ULL << 20);
}

/*
 * MVM_ERR_HOST_STATE's test (see mvm.h) on a guest rip: outside all the
 * guest can reach, in the host kernel's text. Seen: just after VMRUN in
 * __svm_vcpu_run (the #VMEXIT stored the host's state as the guest's),
 * and a shutdown in the host's interrupt entry code.
 */
static bool mvm_rip_is_host_code(struct mvm_vcpu *vcpu, uint64_t rip,
				 uint64_t rsp, uint64_t cr3)
{
	char sym[128];
	uint64_t off;

	if (rip < (uint64_t)MVM_MAPPED_GB << 30)
		return false;
	if (!mvm_host_symbol(rip, sym, sizeof(sym), &off)) {
		mvm_err("vCPU %d: rip 0x%llx is outside the guest and not host code either",
			vcpu->id, (unsigned long long)rip);
		return false;
	}
	mvm_err("vCPU %d: rip 0x%llx is host code, %s+0x%llx (rsp 0x%llx, cr3 0x%llx)",
		vcpu->id, (unsigned long long)rip, sym,
		(unsigned long long)off, (unsigned long long)rsp,
		(unsigned long long)cr3);
	mvm_err("vCPU %d: the guest holds the host's registers: the emulator's known fault (Documentation/dev-guide.rst); the vCPU is given up",
		vcpu->id);
	return true;
}

bool mvm_holds_host_state(struct mvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return false;
	return mvm_rip_is_host_code(vcpu, regs.rip, regs.rsp, sregs.cr3);
}

#define MVM_TRACING	"/sys/kernel/debug/tracing"
#define MVM_KVM_EXIT	MVM_TRACING "/events/kvm/kvm_exit"

int mvm_trace_shutdowns(bool on)
{
	int ret;

	if (on) {
		/* SVM_EXIT_SHUTDOWN */
		ret = ks_write_file(MVM_KVM_EXIT "/filter", "exit_reason == 127");
		if (!ret)
			ret = ks_write_file(MVM_KVM_EXIT "/enable", "1");
	} else {
		ret = ks_write_file(MVM_KVM_EXIT "/enable", "0");
		ks_write_file(MVM_KVM_EXIT "/filter", "0");
	}
	if (ret)
		mvm_err("kvm_exit trace of shutdowns %s: %s", on ? "on" : "off",
			strerror(-ret));
	return ret;
}

/*
 * The guest rip of the calling thread's last shutdown in KVM's trace
 * (mvm_trace_shutdowns()), or 0. A line reads "<comm>-<tid> [cpu] ...
 * kvm_exit: vcpu N reason shutdown rip 0x...".
 */
static uint64_t mvm_traced_shutdown_rip(void)
{
	static const char key[] = "reason shutdown rip ";
	unsigned long long rip = 0, r;
	char line[512], tag[32];
	const char *p;
	FILE *f;

	snprintf(tag, sizeof(tag), "-%ld ", (long)syscall(SYS_gettid));
	f = fopen(MVM_TRACING "/trace", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, key);
		if (!p || !strstr(line, tag))
			continue;
		if (sscanf(p + sizeof(key) - 1, "%llx", &r) == 1)
			rip = r;
	}
	fclose(f);
	return rip;
}

static unsigned int mvm_dump_gen;	/* __atomic */

void mvm_request_dump(void)
{
	__atomic_add_fetch(&mvm_dump_gen, 1, __ATOMIC_RELEASE);
}

/* Its only work is to make KVM_RUN return EINTR. */
static void mvm_on_sigusr2(int sig)
{
}

void mvm_dump_threads(const pthread_t *threads, unsigned int n)
{
	struct sigaction sa = {
		.sa_handler = mvm_on_sigusr2,
		.sa_flags = SA_RESTART,
	};
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	mvm_request_dump();
	for (i = 0; i < n; i++)
		pthread_kill(threads[i], SIGUSR2);
	sleep(3);
}

/*
 * What KVM holds for the vCPU: registers and events (mvm_request_dump()).
 * True when the guest holds the host's registers (MVM_ERR_HOST_STATE).
 */
static bool mvm_state(struct mvm_vcpu *vcpu)
{
	struct kvm_vcpu_events ev;

	mvm_err("vCPU %d: state on request: %lu KVM_RUN returned EINTR in this call",
		vcpu->id, vcpu->eintr);
	if (!ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev))
		mvm_err("vCPU %d: exception injected %u pending %u nr %u error code %s0x%x; interrupt injected %u nr %u; nmi injected %u pending %u; flags 0x%x",
			vcpu->id, ev.exception.injected,
			ev.exception.pending, ev.exception.nr,
			ev.exception.has_error_code ? "" : "(none) ",
			ev.exception.error_code, ev.interrupt.injected,
			ev.interrupt.nr, ev.nmi.injected, ev.nmi.pending,
			ev.flags);
	else
		mvm_err("vCPU %d: KVM_GET_VCPU_EVENTS: %s", vcpu->id,
			strerror(errno));
	mvm_dump(vcpu);
	return mvm_holds_host_state(vcpu);
}

/* Run until the guest does an OUT to @port. */
static int mvm_run_to_port(struct mvm_vcpu *vcpu, uint16_t port)
{
	struct kvm_run *run = vcpu->run;
	unsigned int gen;

	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int err = -errno;

			if (errno == EINTR) {
				vcpu->eintr++;
				gen = __atomic_load_n(&mvm_dump_gen,
						      __ATOMIC_ACQUIRE);
				if (gen != vcpu->dump_seen) {
					vcpu->dump_seen = gen;
					if (mvm_state(vcpu))
						return MVM_ERR_HOST_STATE;
				}
				continue;
			}
			mvm_err("KVM_RUN: %s", strerror(errno));
			return err;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port == MVM_PORT_RESULT &&
			    mvm_mbox(vcpu)->status == MVM_EXCEPTION) {
				mvm_exception(vcpu);
				return -EPROTO;
			}
			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port == port)
				return 0;
			mvm_err("unexpected I/O port 0x%x", run->io.port);
			return -EPROTO;
		case KVM_EXIT_SHUTDOWN:
			/*
			 * KVM on AMD re-initialises the vCPU on a shutdown
			 * (the VMCB is undefined after it): the registers
			 * printed are the reset state, not the faulting one.
			 */
			mvm_err("guest shutdown (triple fault); registers below are KVM's reset state on AMD");
			vcpu->shutdown_rip = mvm_traced_shutdown_rip();
			if (vcpu->shutdown_rip) {
				mvm_err("vCPU %d: it shut down at rip 0x%llx (KVM's kvm_exit trace)",
					vcpu->id, (unsigned long long)
					vcpu->shutdown_rip);
				if (mvm_rip_is_host_code(vcpu,
							 vcpu->shutdown_rip,
							 0, 0))
					return MVM_ERR_HOST_STATE;
			}
			return mvm_dump(vcpu) ? -ESHUTDOWN : -EPROTO;
		case KVM_EXIT_FAIL_ENTRY:
			mvm_err("entry failed, reason 0x%llx",
				(unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			return -EPROTO;
		case KVM_EXIT_INTERNAL_ERROR:
			mvm_err("internal error, suberror %u",
				run->internal.suberror);
			return -EPROTO;
		default:
			mvm_err("unexpected exit reason %u", run->exit_reason);
			return -EPROTO;
		}
	}
}

int mvm_call(struct mvm_vcpu *vcpu, enum mvm_op op, uint64_t arg0,
	     uint64_t arg1, uint64_t arg2, struct mvm_result *res)
{
	struct mvm_mbox *mbox = mvm_mbox(vcpu);
	int ret;

	vcpu->eintr = 0;
	/* The guest stops at PORT_CMD at start and after every result. */
	ret = mvm_run_to_port(vcpu, MVM_PORT_CMD);
	if (ret)
		return ret;
	mbox->op = op;
	mbox->arg[0] = arg0;
	mbox->arg[1] = arg1;
	mbox->arg[2] = arg2;
	mbox->status = ~0ULL;
	ret = mvm_run_to_port(vcpu, MVM_PORT_RESULT);
	if (ret && mbox->status != MVM_EXCEPTION)
		return ret;
	res->status = mbox->status;
	res->value = mbox->value;
	res->addr = mbox->addr;
	return ret;
}
