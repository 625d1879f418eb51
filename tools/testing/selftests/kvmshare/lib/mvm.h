/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: a minimal VMM for kvmshare selftests.
 *
 * It creates a KVM VM whose first 2 MiB ("system memory", anonymous) hold
 * identity-mapped long-mode page tables for the low MVM_MAPPED_GB GiB of
 * guest-physical space, a GDT, an IDT (exceptions are reported, not triple
 * faults), the guest program and its stack. Further
 * memory slots come from any mmap'd region, typically a kvmshare partition
 * file, so that every guest access to them faults through that file.
 *
 * The guest program (lib/guest.S) is a command loop: it asks for a command
 * with an OUT to MVM_PORT_CMD, the VMM answers by writing the vCPU's
 * mailbox (a struct mvm_mbox at MVM_MBOX_GPA + id * MVM_MBOX_SIZE, where
 * id is the vCPU id given to mvm_vcpu_create(), which passes it to the
 * guest in rsi), the guest executes the command, writes its result into
 * the mailbox and reports with an OUT to MVM_PORT_RESULT. The host drives
 * it with mvm_call(); vCPUs of one VM may run commands at the same time,
 * each from its own thread. Memory commands work page by page
 * over a guest-physical range (arg0 = first page, arg1 = pages, arg2 =
 * seed):
 *
 *   MVM_OP_FILL      write (page_gpa ^ seed) over every qword of each page
 *   MVM_OP_VERIFY    check that pattern; result MVM_MISMATCH + address
 *   MVM_OP_ZERO      check that every qword of each page is zero
 *   MVM_OP_TOUCH_RD  read one qword per page (first-touch faults), sum
 *   MVM_OP_TOUCH_WR  write one qword per page (the page's gpa ^ seed)
 *   MVM_OP_PING      return arg0 + 1
 *
 * MVM_OP_TOUCH_LIST reads one qword at each of arg1 byte offsets from the
 * guest-physical address arg0, in the order of the list of 64-bit offsets
 * at guest-physical address arg2 (any access pattern), and sums them.
 */
#ifndef MVM_H
#define MVM_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

#define MVM_SYS_SIZE		(2UL << 20)
#define MVM_MAPPED_GB		64
#define MVM_GDT_GPA		0x1000UL
#define MVM_PML4_GPA		0x2000UL
#define MVM_PDPT_GPA		0x3000UL
#define MVM_PD_GPA		0x4000UL	/* MVM_MAPPED_GB pages */
#define MVM_MBOX_GPA		0x50000UL	/* vCPU 0's mailbox */
#define MVM_IDT_GPA		0x52000UL	/* exceptions 0-31 */
#define MVM_VECTORS		32
#define MVM_MBOX_SIZE		64UL		/* apart, per vCPU id */
#define MVM_MAX_VCPUS		64		/* ids 0..MVM_MAX_VCPUS - 1 */
#define MVM_CODE_GPA		0x100000UL
#define MVM_STACK_TOP		0x1ff000UL	/* vCPU 0's; one page per id */
/* A convenient place for a test's data slot: above the system memory. */
#define MVM_DATA_GPA		0x40000000UL

#define MVM_PORT_CMD		0x20
#define MVM_PORT_RESULT		0x21

enum mvm_op {
	MVM_OP_NOP = 0,
	MVM_OP_FILL = 1,
	MVM_OP_VERIFY = 2,
	MVM_OP_ZERO = 3,
	MVM_OP_TOUCH_RD = 4,
	MVM_OP_TOUCH_WR = 5,
	MVM_OP_PING = 6,
	MVM_OP_TOUCH_LIST = 7,
};

/* Guest results (rax at MVM_PORT_RESULT). */
#define MVM_OK			0
#define MVM_MISMATCH		1
#define MVM_BAD_OP		2
/*
 * The guest took an exception (it halts after reporting it): mvm_call()
 * prints it and returns -EPROTO.
 */
#define MVM_EXCEPTION		3

/*
 * Command mailbox shared with the guest, one per vCPU; offsets are used by
 * guest.S.
 */
struct mvm_mbox {
	uint64_t op;		/* 0 */
	uint64_t arg[3];	/* 8, 16, 24 */
	uint64_t status;	/* 32 */
	uint64_t value;		/* 40 */
	uint64_t addr;		/* 48 */
	uint64_t rip;		/* 56: MVM_EXCEPTION's faulting rip */
};

struct mvm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	uint8_t *sys_mem;
	struct kvm_cpuid2 *cpuid;
};

struct mvm_vcpu {
	struct mvm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	/* KVM_RUN calls that returned EINTR in the current mvm_call() */
	unsigned long eintr;
	unsigned int dump_seen;		/* see mvm_request_dump() */
	/* rip of the last shutdown in KVM's trace, 0: none or not traced */
	uint64_t shutdown_rip;
};

/* What the guest reported for one command. */
struct mvm_result {
	uint64_t status;	/* MVM_OK, MVM_MISMATCH, ... */
	uint64_t value;		/* PING: arg0 + 1; TOUCH_RD: sum */
	uint64_t addr;		/* MISMATCH: first bad guest-physical address */
};

/* All functions return 0 or a negative errno and print why on failure. */
struct mvm *mvm_create(void);
void mvm_destroy(struct mvm *vm);
int mvm_set_slot(struct mvm *vm, uint32_t slot, uint64_t gpa, void *hva,
		 uint64_t size);
/* @id: 0..MVM_MAX_VCPUS - 1, unique in @vm; it selects the mailbox. */
struct mvm_vcpu *mvm_vcpu_create(struct mvm *vm, int id);
/*
 * KVM's statistic @name of @vm (debugfs kvm/<pid>-<vm fd>/@name: pages_4k,
 * pages_2m, ...), or -1 without debugfs or such a statistic.
 */
long long mvm_stat(struct mvm *vm, const char *name);
/*
 * Whether KVM here maps guest memory with two-dimensional paging
 * (kvm_amd.npt, kvm_intel.ept): without it pages_2m says nothing of the
 * guest's mappings. 1 or 0.
 */
int mvm_tdp(void);
void mvm_vcpu_destroy(struct mvm_vcpu *vcpu);

/*
 * Run the vCPU until the guest reports the result of command @op, and fill
 * @res. Returns 0, or a negative errno when the vCPU stopped for another
 * reason (KVM_RUN failed, shutdown, unexpected exit: printed), e.g.
 * -EPROTO when the guest took an exception (@res then holds status
 * MVM_EXCEPTION, value vector | error code << 8, addr CR2), -EFAULT
 * when KVM could not fault in guest memory, and -ESHUTDOWN when the guest
 * triple-faulted with its page tables and code intact as the host sees
 * them (it ran on other memory than the host's, or could not deliver an
 * exception; the test VM's emulated SVM has done that, see
 * Documentation/dev-guide.rst, "The emulator"; -EPROTO when they were
 * not), and MVM_ERR_HOST_STATE when a dump was asked for (below) and the
 * guest's registers are the host's own (see mvm_holds_host_state()).
 */
int mvm_call(struct mvm_vcpu *vcpu, enum mvm_op op, uint64_t arg0,
	     uint64_t arg1, uint64_t arg2, struct mvm_result *res);

/*
 * The emulator's known fault (Documentation/dev-guide.rst, "The
 * emulator"): the guest was given the host's registers - rip in host
 * kernel code (seen: the host KVM's own VMRUN routine, __svm_vcpu_run,
 * just after VMRUN; a shutdown in the host's interrupt entry code), rsp
 * on a host kernel stack, cr3 the host's - and KVM re-injects a page
 * fault at that rip for good. mvm_call() returns this when a dump was
 * asked for and the guest's rip is host kernel text (by /proc/kallsyms):
 * the guest program lives in the low MVM_MAPPED_GB GiB and has no jump
 * out of it. The vCPU is unusable afterwards.
 */
#define MVM_ERR_HOST_STATE	(-ENOTRECOVERABLE)

/* That test on the vCPU's registers now (printed); for mvm_call() and tests. */
bool mvm_holds_host_state(struct mvm_vcpu *vcpu);

/*
 * After a triple fault KVM on AMD resets the vCPU, so its registers say
 * nothing of where it was. With mvm_trace_shutdowns(true) (root; turn it
 * on before the vCPUs run: it patches kernel text) KVM's kvm_exit
 * tracepoint records shutdowns only, and mvm_call() reads the rip of the
 * caller's shutdown from the trace into vcpu->shutdown_rip: a guest
 * holding the host's registers (as above) then ends the call with
 * MVM_ERR_HOST_STATE instead of -ESHUTDOWN. Returns 0 or -errno.
 */
int mvm_trace_shutdowns(bool on);

/*
 * Ask every vCPU that is in mvm_call() to print its state (registers,
 * pending and injected events, the EINTR count of the call) the next time
 * KVM_RUN returns to it: the caller then interrupts the vCPUs' threads with
 * a signal whose handler returns, which makes KVM_RUN return EINTR (KVM
 * never restarts it; other system calls of those threads are restarted,
 * SA_RESTART). For a watchdog: a vCPU that never comes back
 * says what KVM is doing with it.
 */
void mvm_request_dump(void);

/*
 * All of that for a watchdog: request the dump, interrupt the @n threads
 * @threads (vCPU threads in mvm_call()) with SIGUSR2, whose handler this
 * installs, and give them 3 s to print.
 */
void mvm_dump_threads(const pthread_t *threads, unsigned int n);

/* Host-side helpers for the same pattern the guest writes. */
static inline uint64_t mvm_pattern(uint64_t page_gpa, uint64_t seed)
{
	return page_gpa ^ seed;
}

#endif /* MVM_H */
