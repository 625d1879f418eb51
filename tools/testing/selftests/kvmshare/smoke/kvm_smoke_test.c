// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the test VM and of the mvm library: KVM works inside the
 * test VM, a long-mode guest runs, and guest memory can come from an
 * mmap'd file (here a memfd) with data visible on both sides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "../lib/mvm.h"

#define DATA_PAGES	256

TEST(kvm_api_version)
{
	int fd = open("/dev/kvm", O_RDWR);

	ASSERT_GE(fd, 0) TH_LOG("no /dev/kvm: is kvm_amd/kvm_intel loaded?");
	EXPECT_EQ(KVM_API_VERSION, ioctl(fd, KVM_GET_API_VERSION, 0));
	close(fd);
}

TEST(guest_runs_commands)
{
	struct mvm *vm = mvm_create();
	struct mvm_vcpu *vcpu;
	struct mvm_result res;

	ASSERT_NE(NULL, vm);
	vcpu = mvm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(0, mvm_call(vcpu, MVM_OP_PING, 41, 0, 0, &res));
	EXPECT_EQ(MVM_OK, res.status);
	EXPECT_EQ(42, res.value);
	ASSERT_EQ(0, mvm_call(vcpu, MVM_OP_PING, 1000, 0, 0, &res));
	EXPECT_EQ(1001, res.value);
	ASSERT_EQ(0, mvm_call(vcpu, 77, 0, 0, 0, &res));
	EXPECT_EQ(MVM_BAD_OP, res.status);
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
}

/*
 * A guest exception is reported with its vector, error code, rip and CR2
 * (lib/guest.S's IDT), not a silent triple fault: a read above the
 * guest's page tables is a not-present #PF (error code 0) at that
 * address, and a second vCPU of the same VM goes on.
 */
TEST(guest_exception_is_reported)
{
	uint64_t bad = (uint64_t)MVM_MAPPED_GB << 30;
	struct mvm *vm = mvm_create();
	struct mvm_vcpu *vcpu, *other;
	struct mvm_result res;

	ASSERT_NE(NULL, vm);
	vcpu = mvm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu);
	other = mvm_vcpu_create(vm, 1);
	ASSERT_NE(NULL, other);
	EXPECT_EQ(-EPROTO, mvm_call(vcpu, MVM_OP_TOUCH_RD, bad, 1, 0, &res));
	EXPECT_EQ(MVM_EXCEPTION, res.status);
	EXPECT_EQ(14, res.value & 0xff);		/* #PF */
	EXPECT_EQ(0, res.value >> 8);		/* read, not present */
	EXPECT_EQ(bad, res.addr);			/* CR2 */
	ASSERT_EQ(0, mvm_call(other, MVM_OP_PING, 6, 0, 0, &res));
	EXPECT_EQ(7, res.value);
	mvm_vcpu_destroy(other);
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
}

/* The address of host text symbol @name, or 0 (/proc/kallsyms). */
static uint64_t host_symbol(const char *name)
{
	unsigned long long a, found = 0;
	char line[256], sym[128], type;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &a, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && !strcmp(sym, name))
			found = a;
	fclose(f);
	return found;
}

/*
 * The emulator's known fault is recognised by the registers alone
 * (MVM_ERR_HOST_STATE, lib/mvm.h): a guest rip in host kernel text (the
 * host KVM's __svm_vcpu_run, or any other host function) is it; a rip
 * above the guest's memory that is no host code, or in the guest's own
 * code, is not.
 */
TEST(host_state_in_guest_is_recognised)
{
	uint64_t vmrun = host_symbol("__svm_vcpu_run");
	uint64_t other = host_symbol("svm_vcpu_run");
	struct mvm *vm = mvm_create();
	struct mvm_vcpu *vcpu;
	struct kvm_regs regs;

	ASSERT_NE(0, vmrun) TH_LOG("no __svm_vcpu_run in /proc/kallsyms");
	ASSERT_NE(0, other);
	ASSERT_NE(NULL, vm);
	vcpu = mvm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_GET_REGS, &regs));
	EXPECT_FALSE(mvm_holds_host_state(vcpu));
	regs.rip = vmrun + 0x9c;
	regs.rsp = 0xff719aa440617aa0ULL;
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_SET_REGS, &regs));
	EXPECT_TRUE(mvm_holds_host_state(vcpu));
	regs.rip = other + 0x9e;
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_SET_REGS, &regs));
	EXPECT_TRUE(mvm_holds_host_state(vcpu));
	regs.rip = (uint64_t)MVM_MAPPED_GB << 30;
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_SET_REGS, &regs));
	EXPECT_FALSE(mvm_holds_host_state(vcpu));
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
}

/*
 * A triple fault's rip survives KVM's reset of the vCPU in KVM's trace
 * (mvm_trace_shutdowns()): with no IDT the guest's #PF cannot be
 * delivered, and the shutdown is at the faulting load in guest code.
 */
TEST(triple_fault_rip_is_traced)
{
	uint64_t bad = (uint64_t)MVM_MAPPED_GB << 30;
	struct mvm *vm = mvm_create();
	struct mvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct mvm_result res;

	ASSERT_NE(NULL, vm);
	vcpu = mvm_vcpu_create(vm, 0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_GET_SREGS, &sregs));
	sregs.idt.limit = 0;
	ASSERT_EQ(0, ioctl(vcpu->fd, KVM_SET_SREGS, &sregs));
	ASSERT_EQ(0, mvm_trace_shutdowns(true));
	EXPECT_EQ(-ESHUTDOWN, mvm_call(vcpu, MVM_OP_TOUCH_RD, bad, 1, 0, &res));
	EXPECT_EQ(0, mvm_trace_shutdowns(false));
	EXPECT_LE(MVM_CODE_GPA, vcpu->shutdown_rip);
	EXPECT_GT(MVM_CODE_GPA + 0x10000, vcpu->shutdown_rip);
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
}

FIXTURE(file_slot) {
	struct mvm *vm;
	struct mvm_vcpu *vcpu;
	uint8_t *mem;
	int fd;
};

FIXTURE_SETUP(file_slot)
{
	self->fd = memfd_create("mvm-data", 0);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ftruncate(self->fd, DATA_PAGES * 4096));
	self->mem = mmap(NULL, DATA_PAGES * 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->vm = mvm_create();
	ASSERT_NE(NULL, self->vm);
	ASSERT_EQ(0, mvm_set_slot(self->vm, 1, MVM_DATA_GPA, self->mem,
				  DATA_PAGES * 4096));
	self->vcpu = mvm_vcpu_create(self->vm, 0);
	ASSERT_NE(NULL, self->vcpu);
}

FIXTURE_TEARDOWN(file_slot)
{
	mvm_vcpu_destroy(self->vcpu);
	mvm_destroy(self->vm);
	munmap(self->mem, DATA_PAGES * 4096);
	close(self->fd);
}

/* The guest writes a pattern, the host sees it through the file mapping. */
TEST_F(file_slot, guest_writes_host_reads)
{
	struct mvm_result res;
	uint64_t i, *q;

	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_ZERO, MVM_DATA_GPA,
			      DATA_PAGES, 0, &res));
	EXPECT_EQ(MVM_OK, res.status);
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_FILL, MVM_DATA_GPA,
			      DATA_PAGES, 0x5a5a, &res));
	ASSERT_EQ(MVM_OK, res.status);
	for (i = 0; i < DATA_PAGES; i++) {
		q = (uint64_t *)(self->mem + i * 4096);
		ASSERT_EQ(mvm_pattern(MVM_DATA_GPA + i * 4096, 0x5a5a), q[0]);
		ASSERT_EQ(mvm_pattern(MVM_DATA_GPA + i * 4096, 0x5a5a), q[511]);
	}
}

/* The host writes, the guest verifies; a corrupted word is found exactly. */
TEST_F(file_slot, host_writes_guest_verifies)
{
	struct mvm_result res;
	uint64_t i, j, *q;

	for (i = 0; i < DATA_PAGES; i++) {
		q = (uint64_t *)(self->mem + i * 4096);
		for (j = 0; j < 512; j++)
			q[j] = mvm_pattern(MVM_DATA_GPA + i * 4096, 7);
	}
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_VERIFY, MVM_DATA_GPA,
			      DATA_PAGES, 7, &res));
	EXPECT_EQ(MVM_OK, res.status);

	q = (uint64_t *)(self->mem + 100 * 4096);
	q[33] ^= 1;
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_VERIFY, MVM_DATA_GPA,
			      DATA_PAGES, 7, &res));
	EXPECT_EQ(MVM_MISMATCH, res.status);
	EXPECT_EQ(MVM_DATA_GPA + 100 * 4096 + 33 * 8, res.addr);
}

/* A slot whose backing cannot be faulted in stops the vCPU with -EFAULT. */
TEST_F(file_slot, fault_beyond_file_fails)
{
	struct mvm_result res;

	ASSERT_EQ(0, ftruncate(self->fd, 4096));
	EXPECT_EQ(-EFAULT, mvm_call(self->vcpu, MVM_OP_TOUCH_RD,
				    MVM_DATA_GPA + 8 * 4096, 1, 0, &res));
}

TEST_HARNESS_MAIN
