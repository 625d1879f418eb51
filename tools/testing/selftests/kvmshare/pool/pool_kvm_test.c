// SPDX-License-Identifier: GPL-2.0
/*
 * A nested KVM guest (mvm) whose RAM is a pool partition file: every
 * guest access faults through the pool; accounting is exact; punching a
 * hole while the guest runs frees pages and the guest then reads zeros;
 * limits and exhaustion stop the vCPU with -EFAULT, counted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/mvm.h"

#define POOL_MB		48
#define RAM_MB		32
#define RAM_PAGES	(RAM_MB * 256UL)

FIXTURE(guest) {
	char dir[64];
	char name[32];
	int fd;
	uint8_t *ram;
	struct mvm *vm;
	struct mvm_vcpu *vcpu;
};

FIXTURE_SETUP(guest)
{
	char opts[128];

	snprintf(self->name, sizeof(self->name), "ksvm%d", getpid());
	snprintf(opts, sizeof(opts), "size=%dM,name=%s", POOL_MB, self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	self->fd = ks_part_create(self->dir, "vm", RAM_PAGES * KS_PAGE);
	ASSERT_GE(self->fd, 0);
	self->ram = mmap(NULL, RAM_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	self->vm = mvm_create();
	ASSERT_NE(NULL, self->vm);
	ASSERT_EQ(0, mvm_set_slot(self->vm, 1, MVM_DATA_GPA, self->ram,
				  RAM_PAGES * KS_PAGE));
	self->vcpu = mvm_vcpu_create(self->vm, 0);
	ASSERT_NE(NULL, self->vcpu);
}

FIXTURE_TEARDOWN(guest)
{
	char path[128];

	mvm_vcpu_destroy(self->vcpu);
	mvm_destroy(self->vm);
	munmap(self->ram, RAM_PAGES * KS_PAGE);
	close(self->fd);
	snprintf(path, sizeof(path), "%s/vm", self->dir);
	EXPECT_EQ(0, unlink(path));
	/*
	 * Nothing leaked once the VM and the file are gone (the eviction
	 * worker may still hold the deleted file's inode a moment).
	 */
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/used_pages", self->name));
	EXPECT_EQ(0, ks_pool_umount(self->dir));
}

static uint64_t resident(struct __test_metadata *_metadata, int fd)
{
	struct kvmshare_part_stats st;

	EXPECT_EQ(0, ks_part_stats(fd, &st));
	return st.resident_pages;
}

TEST_F(guest, writes_verify_and_are_accounted_exactly)
{
	struct kvmshare_part_stats st;
	struct mvm_result res;
	uint64_t i, v;

	EXPECT_EQ(0, resident(_metadata, self->fd));
	/* Half the RAM first: exactly that many pages leave the pool. */
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_FILL, MVM_DATA_GPA,
			      RAM_PAGES / 2, 0x1234, &res));
	ASSERT_EQ(MVM_OK, res.status);
	EXPECT_EQ(RAM_PAGES / 2, resident(_metadata, self->fd));
	EXPECT_EQ(RAM_PAGES / 2, ks_sysfs_num("%s/used_pages", self->name));

	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_FILL, MVM_DATA_GPA,
			      RAM_PAGES, 0x1234, &res));
	ASSERT_EQ(MVM_OK, res.status);
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_VERIFY, MVM_DATA_GPA,
			      RAM_PAGES, 0x1234, &res));
	EXPECT_EQ(MVM_OK, res.status) TH_LOG("mismatch at 0x%llx",
					     (unsigned long long)res.addr);
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(RAM_PAGES, st.resident_pages);
	EXPECT_EQ(RAM_PAGES, st.allocated_pages);
	EXPECT_EQ(0, st.fault_failures);
	EXPECT_EQ(RAM_PAGES, ks_sysfs_num("%s/partitions/vm/resident_pages",
					  self->name));
	/* The host sees the guest's data in the file. */
	for (i = 0; i < RAM_PAGES; i += 97) {
		ASSERT_EQ(8, pread(self->fd, &v, 8, i * KS_PAGE + 4088));
		ASSERT_EQ(mvm_pattern(MVM_DATA_GPA + i * KS_PAGE, 0x1234), v);
	}
}

TEST_F(guest, punch_hole_while_guest_runs)
{
	struct kvmshare_part_stats st;
	struct mvm_result res;
	uint64_t hole = 1024, at = 2048;

	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_FILL, MVM_DATA_GPA,
			      RAM_PAGES, 77, &res));
	ASSERT_EQ(MVM_OK, res.status);
	/* As virtio-balloon and free page reporting do. */
	ASSERT_EQ(0, fallocate(self->fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       at * KS_PAGE, hole * KS_PAGE));
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(RAM_PAGES - hole, st.resident_pages);
	EXPECT_EQ(hole, st.punched_pages);
	EXPECT_EQ(RAM_PAGES - hole, ks_sysfs_num("%s/used_pages", self->name));

	/* The guest reads zeros in the hole, its data elsewhere. */
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_ZERO,
			      MVM_DATA_GPA + at * KS_PAGE, hole, 0, &res));
	EXPECT_EQ(MVM_OK, res.status) TH_LOG("non-zero at 0x%llx",
					     (unsigned long long)res.addr);
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_VERIFY, MVM_DATA_GPA, at, 77,
			      &res));
	EXPECT_EQ(MVM_OK, res.status);
	ASSERT_EQ(0, mvm_call(self->vcpu, MVM_OP_VERIFY,
			      MVM_DATA_GPA + (at + hole) * KS_PAGE,
			      RAM_PAGES - at - hole, 77, &res));
	EXPECT_EQ(MVM_OK, res.status);
	/* Reading the hole took fresh pages: all resident again. */
	EXPECT_EQ(RAM_PAGES, resident(_metadata, self->fd));
}

TEST_F(guest, limit_stops_the_vcpu_cleanly)
{
	struct kvmshare_part_stats st;
	struct mvm_result res;

	ASSERT_EQ(0, ks_part_set(self->fd, KVMSHARE_ATTR_LIMIT, 0, 1000, 0));
	EXPECT_EQ(-EFAULT, mvm_call(self->vcpu, MVM_OP_TOUCH_WR, MVM_DATA_GPA,
				    RAM_PAGES, 1, &res));
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(1000, st.resident_pages);
	EXPECT_GE(st.fault_failures, 1);
}

/* Write @len bytes of non-zero data at the start of @fd: 0 or -errno. */
static int fill(int fd, uint64_t len)
{
	static uint8_t buf[1 << 20];
	uint64_t off;
	ssize_t got;
	size_t n;

	memset(buf, 0x5a, sizeof(buf));
	for (off = 0; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		got = pwrite(fd, buf, n, off);
		if (got < 0)
			return -errno;
		if ((size_t)got != n)
			return -EIO;
	}
	return 0;
}

TEST_F(guest, exhaustion_stops_the_vcpu_cleanly)
{
	struct mvm_result res;
	int other;
	char path[128];

	/*
	 * Another partition takes all but 1000 pages of the pool, with
	 * data: all-zero pages (fallocate's) are dropped by eviction when
	 * the pool runs short, even with no paging service, and the guest
	 * then got them (1074 pages once, pool loop run 2 of 3 December).
	 */
	other = ks_part_create(self->dir, "hog", (uint64_t)POOL_MB << 20);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, fill(other, ((uint64_t)POOL_MB * 256 - 1000) * KS_PAGE));
	EXPECT_EQ(-EFAULT, mvm_call(self->vcpu, MVM_OP_TOUCH_WR, MVM_DATA_GPA,
				    RAM_PAGES, 1, &res));
	EXPECT_EQ(1000, resident(_metadata, self->fd));
	EXPECT_GE(ks_sysfs_num("%s/fault_failures", self->name), 1);
	close(other);
	snprintf(path, sizeof(path), "%s/hog", self->dir);
	ASSERT_EQ(0, unlink(path));
}

TEST_HARNESS_MAIN
