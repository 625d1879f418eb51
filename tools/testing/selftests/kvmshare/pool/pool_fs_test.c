// SPDX-License-Identifier: GPL-2.0
/*
 * The pool filesystem from user space: mount options, statfs, partition
 * files (ftruncate, mmap, pread/pwrite, fallocate), attributes, counters,
 * exhaustion and limits, and bad input of every kind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"

#define POOL_MB		64
#define POOL_PAGES	(POOL_MB * 256UL)

FIXTURE(pool) {
	char dir[64];
	char name[32];
};

FIXTURE_SETUP(pool)
{
	char opts[128];

	snprintf(self->name, sizeof(self->name), "ksft%d", getpid());
	snprintf(opts, sizeof(opts), "size=%dM,reserve=1M,name=%s", POOL_MB,
		 self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
}

FIXTURE_TEARDOWN(pool)
{
	/* Whatever a test did, the pool must be empty again once its files
	 * are gone: nothing leaked.
	 */
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/used_pages", self->name));
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/nr_partitions", self->name));
	EXPECT_EQ(0, ks_pool_umount(self->dir));
	EXPECT_FALSE(ks_sysfs_exists("%s", self->name));
}

static void path_of(char *buf, size_t len, const char *dir, const char *f)
{
	snprintf(buf, len, "%s/%s", dir, f);
}

TEST_F(pool, statfs_and_sysfs_report_the_pool)
{
	struct kvmshare_pool_info info;
	struct statfs sf;

	ASSERT_EQ(0, statfs(self->dir, &sf));
	EXPECT_EQ(KVMSHARE_FS_MAGIC, (unsigned int)sf.f_type);
	EXPECT_EQ(KS_PAGE, sf.f_bsize);
	EXPECT_EQ(POOL_PAGES, sf.f_blocks);
	EXPECT_EQ(POOL_PAGES, sf.f_bfree);
	EXPECT_EQ(POOL_PAGES - 256, sf.f_bavail);
	ASSERT_EQ(0, ks_pool_info(self->dir, &info));
	EXPECT_EQ(POOL_PAGES, info.size_pages);
	EXPECT_EQ(256, info.reserve_pages);
	EXPECT_EQ(0, info.used_pages);
	EXPECT_EQ(POOL_PAGES, ks_sysfs_num("%s/size_pages", self->name));
	EXPECT_EQ(256, ks_sysfs_num("%s/reserve_pages", self->name));
}

TEST_F(pool, mmap_pages_come_from_the_pool)
{
	struct kvmshare_part_stats st;
	struct statfs sf;
	uint64_t i, len = 4 << 20;
	uint8_t *p;
	char path[128];
	int fd;

	fd = ks_part_create(self->dir, "vm1", len);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, ks_sysfs_num("%s/nr_partitions", self->name));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/vm1/resident_pages",
				    self->name));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(len / KS_PAGE, ks_touch(p, len, 1));
	for (i = 0; i < len / KS_PAGE; i++)
		ASSERT_EQ((uint8_t)(i + 1), p[i * KS_PAGE]);

	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(len / KS_PAGE, st.size_pages);
	EXPECT_EQ(len / KS_PAGE, st.resident_pages);
	EXPECT_EQ(len / KS_PAGE, st.allocated_pages);
	EXPECT_GE(st.faults, len / KS_PAGE);
	EXPECT_EQ(0, st.fault_failures);
	EXPECT_EQ(len / KS_PAGE,
		  ks_sysfs_num("%s/partitions/vm1/resident_pages", self->name));
	EXPECT_EQ(len / KS_PAGE, ks_sysfs_num("%s/used_pages", self->name));
	ASSERT_EQ(0, statfs(self->dir, &sf));
	EXPECT_EQ(POOL_PAGES - len / KS_PAGE, sf.f_bfree);

	/* Data written through the mapping reads back with pread. */
	for (i = 0; i < 16; i++) {
		uint8_t b;

		ASSERT_EQ(1, pread(fd, &b, 1, i * KS_PAGE));
		EXPECT_EQ((uint8_t)(i + 1), b);
	}
	munmap(p, len);
	close(fd);
	path_of(path, sizeof(path), self->dir, "vm1");
	ASSERT_EQ(0, unlink(path));
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/vm1", self->name));
}

TEST_F(pool, pread_pwrite)
{
	struct kvmshare_part_stats st;
	char buf[8192], zero[8192], path[128];
	struct stat sb;
	int fd;

	fd = ks_part_create(self->dir, "data", 1 << 20);
	ASSERT_GE(fd, 0);
	memset(zero, 0, sizeof(zero));
	/* A hole reads as zeros and does not take pool pages. */
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 12288));
	EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(0, st.resident_pages);

	/* A write across a page boundary lands in two pages. */
	memset(buf, 0xab, sizeof(buf));
	ASSERT_EQ(5000, pwrite(fd, buf, 5000, 4000));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(3, st.resident_pages);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6000, pread(fd, buf, 6000, 3500));
	EXPECT_EQ(0, memcmp(buf, zero, 500));
	EXPECT_EQ(0xab, (uint8_t)buf[500]);
	EXPECT_EQ(0xab, (uint8_t)buf[5499]);
	EXPECT_EQ(0, buf[5500]);

	/* Reads stop at EOF; writes beyond it extend the file. */
	EXPECT_EQ(0, pread(fd, buf, 10, 1 << 20));
	ASSERT_EQ(10, pwrite(fd, buf, 10, (1 << 20) + 100));
	ASSERT_EQ(0, fstat(fd, &sb));
	EXPECT_EQ((1 << 20) + 110, sb.st_size);
	close(fd);
	path_of(path, sizeof(path), self->dir, "data");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, punch_hole_returns_pages_at_once)
{
	struct kvmshare_part_stats st;
	uint64_t len = 1 << 20, i;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "vm", len);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, len);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       64 * KS_PAGE, 64 * KS_PAGE));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(256 - 64, st.resident_pages);
	EXPECT_EQ(64, st.punched_pages);
	EXPECT_EQ(256 - 64, ks_sysfs_num("%s/used_pages", self->name));
	/* The hole reads zeros through the old mapping, the rest is kept. */
	for (i = 0; i < 256; i++) {
		uint8_t want = (i >= 64 && i < 128) ? 0 : 0x5a;

		ASSERT_EQ(want, p[i * KS_PAGE]);
		ASSERT_EQ(want, p[i * KS_PAGE + KS_PAGE - 1]);
	}
	/* Reading the hole faulted its pages back in: 256 resident again. */
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(256, st.resident_pages);

	/* A partial-page punch zeroes bytes and frees nothing. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       200 * KS_PAGE + 100, 50));
	EXPECT_EQ(0x5a, p[200 * KS_PAGE + 99]);
	EXPECT_EQ(0, p[200 * KS_PAGE + 100]);
	EXPECT_EQ(0, p[200 * KS_PAGE + 149]);
	EXPECT_EQ(0x5a, p[200 * KS_PAGE + 150]);
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(256, st.resident_pages);
	munmap(p, len);

	/* Unsupported modes are refused. */
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, KS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, KS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
	path_of(path, sizeof(path), self->dir, "vm");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, fallocate_allocates_and_undoes_on_failure)
{
	struct kvmshare_part_stats st;
	char path[128];
	int fd;

	fd = ks_part_create(self->dir, "fa", 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fallocate(fd, 0, 0, 2 << 20));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(512, st.resident_pages);
	EXPECT_EQ(512, st.size_pages);
	/* More than the pool: refused, and the pages it took are returned. */
	EXPECT_EQ(-1, fallocate(fd, 0, 1 << 20, (uint64_t)POOL_MB << 20));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(512, st.resident_pages);
	EXPECT_EQ(512, st.size_pages);
	close(fd);
	path_of(path, sizeof(path), self->dir, "fa");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, private_mapping_refused)
{
	char path[128];
	void *p;
	int fd;

	fd = ks_part_create(self->dir, "priv", 1 << 20);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* A read-only shared mapping is fine. */
	p = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, p);
	munmap(p, 1 << 20);
	close(fd);
	path_of(path, sizeof(path), self->dir, "priv");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, mapping_beyond_eof_is_sigbus)
{
	struct kvmshare_part_stats st;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "short", KS_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, 4 * KS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(1, ks_touch(p, 4 * KS_PAGE, 1));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(1, st.resident_pages);
	munmap(p, 4 * KS_PAGE);
	close(fd);
	path_of(path, sizeof(path), self->dir, "short");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, exhaustion_fails_the_fault_cleanly)
{
	struct kvmshare_part_stats st;
	uint64_t len = (uint64_t)2 * POOL_MB << 20, got;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "big", len);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	got = ks_touch(p, len, 1);
	/* Everything but the reserve, then SIGBUS. */
	EXPECT_EQ(POOL_PAGES - 256, got);
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(POOL_PAGES - 256, st.resident_pages);
	EXPECT_EQ(1, st.fault_failures);
	EXPECT_EQ(1, ks_sysfs_num("%s/fault_failures", self->name));
	EXPECT_EQ(0, ks_sysfs_num("%s/available_pages", self->name));
	/* Punching gives room again. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 1 << 20));
	EXPECT_EQ(256, ks_sysfs_num("%s/available_pages", self->name));
	munmap(p, len);
	close(fd);
	path_of(path, sizeof(path), self->dir, "big");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, limit_is_enforced)
{
	struct kvmshare_part_attr a;
	struct kvmshare_part_stats st;
	uint64_t len = 4 << 20;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "lim", len);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_LIMIT, 0, 100, 0));
	ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_GET_ATTR, &a));
	EXPECT_EQ(100, a.limit_pages);
	EXPECT_EQ(KVMSHARE_WEIGHT_DEFAULT, a.weight);
	EXPECT_EQ(0, a.entitlement_pages);
	EXPECT_EQ(100, ks_sysfs_num("%s/partitions/lim/limit_pages",
				    self->name));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(100, ks_touch(p, len, 1));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(100, st.resident_pages);
	EXPECT_EQ(1, st.fault_failures);
	/* Raising the limit lets the guest go on. */
	ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_LIMIT, 0, 0, 0));
	EXPECT_EQ(len / KS_PAGE, ks_touch(p, len, 1));
	munmap(p, len);
	close(fd);
	path_of(path, sizeof(path), self->dir, "lim");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, entitlement_is_guaranteed)
{
	uint64_t len = (uint64_t)POOL_MB << 20;
	int a, b;
	uint8_t *pa, *pb;
	char path[128];

	a = ks_part_create(self->dir, "a", len);
	b = ks_part_create(self->dir, "b", len);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, ks_part_set(a, KVMSHARE_ATTR_ENTITLEMENT, 1000, 0, 0));
	EXPECT_EQ(1000, ks_sysfs_num("%s/entitled_pages", self->name));
	/* More than the pool can guarantee. */
	EXPECT_EQ(-ENOSPC, ks_part_set(b, KVMSHARE_ATTR_ENTITLEMENT,
				       POOL_PAGES - 1000, 0, 0));
	pa = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	pb = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	ASSERT_NE(MAP_FAILED, pa);
	ASSERT_NE(MAP_FAILED, pb);
	/* b takes everything that is not reserved or owed to a. */
	EXPECT_EQ(POOL_PAGES - 256 - 1000, ks_touch(pb, len, 1));
	/* a still gets its 1000 pages, and not one more. */
	EXPECT_EQ(1000, ks_touch(pa, len, 1));
	EXPECT_EQ(POOL_PAGES - 256, ks_sysfs_num("%s/used_pages", self->name));
	munmap(pa, len);
	munmap(pb, len);
	close(a);
	close(b);
	path_of(path, sizeof(path), self->dir, "a");
	ASSERT_EQ(0, unlink(path));
	path_of(path, sizeof(path), self->dir, "b");
	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(0, ks_sysfs_num("%s/entitled_pages", self->name));
}

TEST_F(pool, bad_ioctls)
{
	struct kvmshare_part_attr a;
	char path[128];
	int fd, ro;

	fd = ks_part_create(self->dir, "ioc", 1 << 20);
	ASSERT_GE(fd, 0);
	memset(&a, 0, sizeof(a));
	a.flags = 1U << 20;
	EXPECT_EQ(-1, ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a));
	EXPECT_EQ(EINVAL, errno);
	memset(&a, 0, sizeof(a));
	a.flags = KVMSHARE_ATTR_WEIGHT;
	a.weight = 50;
	a.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, ks_part_set(fd, KVMSHARE_ATTR_WEIGHT, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ks_part_set(fd, KVMSHARE_ATTR_WEIGHT, 0, 0,
				       KVMSHARE_WEIGHT_MAX + 1));
	EXPECT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_WEIGHT, 0, 0, 500));
	EXPECT_EQ(500, ks_sysfs_num("%s/partitions/ioc/weight", self->name));
	EXPECT_EQ(-EINVAL, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT |
				       KVMSHARE_ATTR_LIMIT, 200, 100, 0));
	EXPECT_EQ(-ENOSPC, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT,
				       ~0ULL, 0, 0));
	EXPECT_EQ(-1, ioctl(fd, KVMSHARE_IOC_SET_ATTR, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, KVMSHARE_IOC_GET_STATS, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOR(KVMSHARE_IOC_MAGIC, 0x7f, int), &a));
	EXPECT_EQ(ENOTTY, errno);
	/* Wrong size encoded in the command number. */
	EXPECT_EQ(-1, ioctl(fd, _IOW(KVMSHARE_IOC_MAGIC, 0x02, int), &a));
	EXPECT_EQ(ENOTTY, errno);
	/* Nothing changed by the refused calls. */
	ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_GET_ATTR, &a));
	EXPECT_EQ(0, a.entitlement_pages);
	EXPECT_EQ(0, a.limit_pages);
	EXPECT_EQ(500, a.weight);
	EXPECT_EQ(0, a.reserved[0]);

	/* sysfs writes are checked the same way. */
	path_of(path, sizeof(path), self->dir, "ioc");
	ro = open(path, O_RDONLY);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(-EBADF, ks_part_set(ro, KVMSHARE_ATTR_WEIGHT, 0, 0, 7));
	close(ro);
	close(fd);
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, sysfs_tunables_are_validated)
{
	char path[256], sys[256];
	int fd, s;

	fd = ks_part_create(self->dir, "tun", 1 << 20);
	ASSERT_GE(fd, 0);
	snprintf(sys, sizeof(sys),
		 "/sys/fs/kvmshare/%s/partitions/tun/weight", self->name);
	s = open(sys, O_WRONLY);
	ASSERT_GE(s, 0);
	EXPECT_EQ(3, write(s, "250", 3));
	EXPECT_EQ(-1, write(s, "0", 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(s, "banana", 6));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(s, "99999999999", 11));
	EXPECT_EQ(EINVAL, errno);
	close(s);
	EXPECT_EQ(250, ks_sysfs_num("%s/partitions/tun/weight", self->name));
	snprintf(sys, sizeof(sys),
		 "/sys/fs/kvmshare/%s/partitions/tun/entitlement_pages",
		 self->name);
	s = open(sys, O_WRONLY);
	ASSERT_GE(s, 0);
	EXPECT_EQ(-1, write(s, "99999999", 8));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(3, write(s, "128", 3));
	close(s);
	EXPECT_EQ(128, ks_sysfs_num("%s/entitled_pages", self->name));
	close(fd);
	path_of(path, sizeof(path), self->dir, "tun");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, truncate_while_mapped)
{
	struct kvmshare_part_stats st;
	uint64_t len = 1 << 20;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "tr", len);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	ASSERT_EQ(0, ftruncate(fd, len / 2 + 100));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(129, st.resident_pages);
	EXPECT_EQ(127, st.truncated_pages);
	/* The tail of the last page is zeroed, the pages beyond are gone. */
	EXPECT_EQ(1, p[len / 2 + 99]);
	EXPECT_EQ(0, p[len / 2 + 100]);
	EXPECT_EQ(129, ks_touch(p, len, 0));
	/* Growing again gives zeroed pages. */
	ASSERT_EQ(0, ftruncate(fd, len));
	EXPECT_EQ(0, p[len - 1]);
	munmap(p, len);
	ASSERT_EQ(0, ftruncate(fd, 0));
	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(0, st.resident_pages);
	close(fd);
	path_of(path, sizeof(path), self->dir, "tr");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, unlink_while_mapped)
{
	uint64_t len = 1 << 20;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "gone", len);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 7, len);
	close(fd);
	path_of(path, sizeof(path), self->dir, "gone");
	ASSERT_EQ(0, unlink(path));
	/* Out of the namespace and sysfs, still there for its user. */
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/gone", self->name));
	EXPECT_EQ(256, ks_sysfs_num("%s/used_pages", self->name));
	EXPECT_EQ(7, p[len - 1]);
	/* The name can be used again at once. */
	fd = ks_part_create(self->dir, "gone", len);
	ASSERT_GE(fd, 0);
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/gone", self->name));
	close(fd);
	ASSERT_EQ(0, unlink(path));
	munmap(p, len);
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/used_pages", self->name));
}

/*
 * The eviction work samples a partition every sample_ms (1 s) holding its
 * inode (igrab()) for the pass: a file removed and closed meanwhile goes
 * with the pass's iput(), in the work, and its pages come back then - a
 * late release, not a leak, and no deadlock of the eviction of the inode
 * with the work that evicts it. The hook (point 14) keeps the pass
 * holding the inode for 3 s.
 */
#define INJ_EVICT_HELD	14

TEST_F(pool, removed_while_the_eviction_work_holds_it)
{
	uint64_t len = 1 << 20;
	char path[128];
	uint8_t *p;
	int fd;

	fd = ks_part_create(self->dir, "held", len);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 7, len);
	munmap(p, len);
	ASSERT_EQ(0, ks_pool_inject(self->name, INJ_EVICT_HELD, 3000, 1));
	/* The next pass (within a sample period) takes the hook. */
	ks_pool_inject_wait(self->name, 5000 * ks_timeout_factor());
	ASSERT_EQ(0, ks_pool_debugfs_num(self->name, "inject_count"));
	close(fd);
	path_of(path, sizeof(path), self->dir, "held");
	ASSERT_EQ(0, unlink(path));
	/* Gone from the namespace; its pages wait for the pass's iput(). */
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/held", self->name));
	EXPECT_EQ(256, ks_sysfs_num("%s/used_pages", self->name));
	EXPECT_EQ(0, ks_sysfs_settle(0, 10, "%s/used_pages", self->name));
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/nr_partitions", self->name));
	ks_pool_inject(self->name, 0, 0, 0);
}

TEST_F(pool, rename_follows_in_sysfs)
{
	char a[128], b[128], c[128];
	int fd, fd2;

	fd = ks_part_create(self->dir, "old", KS_PAGE);
	fd2 = ks_part_create(self->dir, "other", KS_PAGE);
	ASSERT_GE(fd, 0);
	ASSERT_GE(fd2, 0);
	path_of(a, sizeof(a), self->dir, "old");
	path_of(b, sizeof(b), self->dir, "new");
	path_of(c, sizeof(c), self->dir, "other");
	ASSERT_EQ(0, rename(a, b));
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/old", self->name));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/new", self->name));
	/* Renaming over another partition replaces it. */
	ASSERT_EQ(0, rename(b, c));
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/new", self->name));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/other", self->name));
	close(fd2);
	close(fd);
	EXPECT_EQ(1, ks_sysfs_num("%s/nr_partitions", self->name));
	ASSERT_EQ(0, unlink(c));
}

TEST_F(pool, only_partition_files)
{
	char path[128], sub[256];

	/* directories, one level; no links, no device or fifo nodes */
	path_of(path, sizeof(path), self->dir, "sub");
	ASSERT_EQ(0, mkdir(path, 0700));
	path_of(sub, sizeof(sub), path, "deeper");
	EXPECT_EQ(-1, mkdir(sub, 0700));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, symlink("/etc/passwd", sub));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mknod(sub, S_IFIFO | 0600, 0));
	EXPECT_EQ(EPERM, errno);
	path_of(path, sizeof(path), self->dir, "link");
	EXPECT_EQ(-1, symlink("/etc/passwd", path));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mknod(path, S_IFIFO | 0600, 0));
	EXPECT_EQ(EPERM, errno);
	path_of(path, sizeof(path), self->dir, "sub");
	EXPECT_EQ(0, rmdir(path));
}

/*
 * libvirt's memory_backing_dir: one directory per domain, the guest's RAM
 * a file in it (pc.ram). The partition is DIR!FILE in sysfs, its
 * tunables work, its pages are the pool's.
 */
TEST_F(pool, partition_in_a_directory)
{
	char dir[96], file[128], moved[256], top[128];
	struct stat st;
	uint8_t *p;
	int fd;

	path_of(dir, sizeof(dir), self->dir, "1-vm1");
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, stat(dir, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0700, st.st_mode & 0777);	/* the pool's umask=077 */
	fd = ks_part_create(dir, "pc.ram", 16 * KS_PAGE);
	ASSERT_GE(fd, 0);
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/1-vm1!pc.ram", self->name));
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/pc.ram", self->name));
	EXPECT_EQ(1, ks_sysfs_num("%s/nr_partitions", self->name));
	/* a second domain's pc.ram is another partition */
	path_of(file, sizeof(file), self->dir, "2-vm2");
	ASSERT_EQ(0, mkdir(file, 0700));
	close(ks_part_create(file, "pc.ram", KS_PAGE));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/2-vm2!pc.ram", self->name));
	EXPECT_EQ(2, ks_sysfs_num("%s/nr_partitions", self->name));
	path_of(moved, sizeof(moved), file, "pc.ram");
	ASSERT_EQ(0, unlink(moved));
	EXPECT_EQ(0, rmdir(file));

	snprintf(file, sizeof(file),
		 "/sys/fs/kvmshare/%s/partitions/1-vm1!pc.ram/entitlement_pages",
		 self->name);
	EXPECT_EQ(0, ks_write_file(file, "8"));
	EXPECT_EQ(8, ks_sysfs_num("%s/partitions/1-vm1!pc.ram/entitlement_pages",
				  self->name));
	p = mmap(NULL, 16 * KS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, 16 * KS_PAGE);
	EXPECT_EQ(16, ks_sysfs_num("%s/partitions/1-vm1!pc.ram/resident_pages",
				   self->name));
	EXPECT_EQ(0x5a, p[16 * KS_PAGE - 1]);
	munmap(p, 16 * KS_PAGE);

	/* not empty, not renamed; moved out and back, sysfs follows */
	EXPECT_EQ(-1, rmdir(dir));
	EXPECT_EQ(ENOTEMPTY, errno);
	path_of(top, sizeof(top), self->dir, "vm1");
	EXPECT_EQ(-1, rename(dir, top));
	EXPECT_EQ(EPERM, errno);
	path_of(file, sizeof(file), dir, "pc.ram");
	ASSERT_EQ(0, rename(file, top));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/vm1", self->name));
	EXPECT_FALSE(ks_sysfs_exists("%s/partitions/1-vm1!pc.ram", self->name));
	path_of(moved, sizeof(moved), dir, "ram");
	ASSERT_EQ(0, rename(top, moved));
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/1-vm1!ram", self->name));
	EXPECT_EQ(8, ks_sysfs_num("%s/partitions/1-vm1!ram/entitlement_pages",
				  self->name));
	close(fd);
	ASSERT_EQ(0, unlink(moved));
	EXPECT_EQ(0, rmdir(dir));
	EXPECT_EQ(0, ks_klog_bad());
}

/*
 * "a!b" at the top and b in a have one partition name: the second file
 * is refused (EEXIST), by create and by rename, without a kernel warning.
 */
TEST_F(pool, partition_names_stay_unique)
{
	char dir[128], path[256], other[256];
	int fd;

	path_of(dir, sizeof(dir), self->dir, "a");
	ASSERT_EQ(0, mkdir(dir, 0700));
	fd = ks_part_create(self->dir, "a!b", KS_PAGE);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EEXIST, ks_part_create(dir, "b", KS_PAGE));
	path_of(path, sizeof(path), dir, "b");
	EXPECT_EQ(-1, access(path, F_OK));	/* nothing left behind */
	fd = ks_part_create(dir, "c", KS_PAGE);
	ASSERT_GE(fd, 0);
	close(fd);
	path_of(other, sizeof(other), dir, "c");
	EXPECT_EQ(-1, rename(other, path));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_TRUE(ks_sysfs_exists("%s/partitions/a!c", self->name));
	EXPECT_EQ(2, ks_sysfs_num("%s/nr_partitions", self->name));
	EXPECT_EQ(0, unlink(other));
	path_of(path, sizeof(path), self->dir, "a!b");
	EXPECT_EQ(0, unlink(path));
	EXPECT_EQ(0, rmdir(dir));
	EXPECT_EQ(0, ks_klog_bad());
}

TEST_F(pool, shrink_below_use_refused)
{
	char opts[64], path[128];
	int fd;

	fd = ks_part_create(self->dir, "s", 8 << 20);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fallocate(fd, 0, 0, 8 << 20));
	EXPECT_EQ(-EBUSY, ks_pool_remount(self->dir, "size=4M"));
	EXPECT_EQ(POOL_PAGES, ks_sysfs_num("%s/size_pages", self->name));
	EXPECT_EQ(-EBUSY, ks_pool_remount(self->dir, "reserve=60M"));
	EXPECT_EQ(0, ks_pool_remount(self->dir, "size=16M"));
	EXPECT_EQ(4096, ks_sysfs_num("%s/size_pages", self->name));
	EXPECT_EQ(-EINVAL, ks_pool_remount(self->dir, "name=other"));
	snprintf(opts, sizeof(opts), "size=%dM", POOL_MB);
	EXPECT_EQ(0, ks_pool_remount(self->dir, opts));
	close(fd);
	path_of(path, sizeof(path), self->dir, "s");
	ASSERT_EQ(0, unlink(path));
}

TEST_F(pool, unload_while_mounted_refused)
{
	EXPECT_EQ(-1, syscall(SYS_delete_module, "kvmshare", O_NONBLOCK));
	EXPECT_TRUE(errno == EBUSY || errno == EWOULDBLOCK);
}

TEST(bad_mount_options)
{
	static const char * const bad[] = {
		"size=abc", "size=0", "size=101%", "size=0%", "size=12Q",
		"reserve=2M,size=1M", "reserve=1M,size=1M", "bogus=1",
		"name=a/b", "name=.hidden",
		"name=0123456789012345678901234567890123456789",
		"mode=999", "size=",
	};
	char dir[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = ks_pool_mount(dir, sizeof(dir), bad[i]);

		EXPECT_EQ(-EINVAL, ret) TH_LOG("mount -o %s", bad[i]);
		if (!ret)
			ks_pool_umount(dir);
	}
}

TEST(pool_names_are_unique)
{
	char d1[64], d2[64];

	ASSERT_EQ(0, ks_pool_mount(d1, sizeof(d1), "size=1M,name=dup"));
	EXPECT_EQ(-EEXIST, ks_pool_mount(d2, sizeof(d2), "size=1M,name=dup"));
	EXPECT_TRUE(ks_sysfs_exists("dup/size_pages"));
	EXPECT_EQ(0, ks_pool_umount(d1));
	EXPECT_FALSE(ks_sysfs_exists("dup"));
	/* Percent sizes and default names work. */
	ASSERT_EQ(0, ks_pool_mount(d1, sizeof(d1), "size=1%"));
	EXPECT_EQ(0, ks_pool_umount(d1));
}

TEST_HARNESS_MAIN
