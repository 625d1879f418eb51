// SPDX-License-Identifier: GPL-2.0
/*
 * Regression tests of issue #13: a failed fallocate() keeps what was
 * written meanwhile; the pool size and entitlements are backed by the
 * host's memory (refused when they cannot be, honoured under memory
 * pressure); unmounting while the eviction worker and sysfs readers hold
 * a partition is clean. The unmount race runs last: before its fix it
 * ends in a BUG ("Busy inodes after unmount").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/kvmshare_metrics.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"

#define PARAM(x)	"/sys/module/kvmshare/parameters/" x

/* A field of /proc/meminfo, in pages. */
static uint64_t meminfo_pages(const char *key)
{
	char line[128];
	unsigned long long kb = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			if (sscanf(line + n + 1, "%llu", &kb) != 1)
				kb = 0;
			break;
		}
	}
	fclose(f);
	return kb / 4;
}

static void read_param(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

/*
 * A fallocate() that fails (here at the partition's limit) gives back the
 * pages it allocated, but not one a mapping wrote to meanwhile: that page
 * holds data now. Trials: punch page 0, start fallocate() over twice the
 * limit in a thread, write page 0 through the mapping as soon as the
 * fallocate() allocated it, and check the data once fallocate() failed.
 */
static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* Store @v at @p; 0, or -1 on SIGBUS (no page: the limit is reached). */
static int store_u64(uint64_t *p, uint64_t v)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int ret = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0)
		__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	else
		ret = -1;
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

struct falloc_arg {
	int fd;
	off_t len;
	int ret, err;
};

static void *falloc_thread(void *p)
{
	struct falloc_arg *a = p;

	a->ret = fallocate(a->fd, 0, 0, a->len);
	a->err = errno;
	return NULL;
}

TEST(failed_fallocate_keeps_pages_written_meanwhile)
{
	const uint64_t limit = 4096;
	struct kvmshare_part_stats st;
	char dir[64];
	uint64_t *p;
	int fd, trial, caught = 0, lost = 0;

	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=64M"));
	fd = ks_part_create(dir, "g", 2 * limit * KS_PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_LIMIT, 0, limit, 0));
	p = mmap(NULL, 2 * limit * KS_PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);

	for (trial = 0; trial < 20 && caught < 3; trial++) {
		struct falloc_arg a = { .fd = fd, .len = 2 * limit * KS_PAGE };
		uint64_t magic = 0x5eed0000ULL + trial;
		pthread_t t;
		int wrote = 0;

		ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 0,
				       2 * limit * KS_PAGE));
		ASSERT_EQ(0, pthread_create(&t, NULL, falloc_thread, &a));
		/* Page 0 is the first page the fallocate() allocates. */
		for (;;) {
			ASSERT_EQ(0, ks_part_stats(fd, &st));
			if (st.resident_pages >= 1)
				break;
			usleep(100);
		}
		/* Written through the mapping: no inode lock involved. */
		if (st.resident_pages < limit && !store_u64(&p[0], magic))
			wrote = 1;
		pthread_join(t, NULL);
		ASSERT_EQ(-1, a.ret);
		ASSERT_EQ(ENOSPC, a.err);
		if (!wrote)
			continue;
		caught++;
		if (__atomic_load_n(&p[0], __ATOMIC_SEQ_CST) != magic) {
			lost++;
			TH_LOG("trial %d: page 0 read %#llx after the failure, wrote %#llx",
			       trial, (unsigned long long)p[0],
			       (unsigned long long)magic);
		}
		/* The other pages it allocated were given back. */
		ASSERT_EQ(0, ks_part_stats(fd, &st));
		EXPECT_EQ(1, st.resident_pages);
	}
	TH_LOG("%d of %d trials wrote during the fallocate()", caught, trial);
	EXPECT_LT(0, caught);
	EXPECT_EQ(0, lost);
	munmap(p, 2 * limit * KS_PAGE);
	close(fd);
	EXPECT_EQ(0, ks_pool_umount(dir));
}

/* A pool larger than the host's memory is refused, at mount and remount. */
TEST(pool_size_beyond_host_memory_is_refused)
{
	uint64_t ram = meminfo_pages("MemTotal");
	char dir[64], opts[64];
	int ret;

	ASSERT_LT(0, ram);
	snprintf(opts, sizeof(opts), "size=%lluK",
		 (unsigned long long)ram * 4 * 2);
	ret = ks_pool_mount(dir, sizeof(dir), opts);
	EXPECT_EQ(-EINVAL, ret);
	if (!ret)
		ks_pool_umount(dir);
	else
		rmdir(dir);
	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=16M"));
	EXPECT_EQ(-EINVAL, ks_pool_remount(dir, opts));
	EXPECT_EQ(0, ks_pool_umount(dir));
}

/*
 * A pool name goes to sysfs and /proc/mounts: a newline, a blank or a ','
 * in it (possible with mount(2)'s data string or fsconfig()) would forge
 * lines or options there. Refused.
 */
TEST(pool_name_cannot_forge_mount_lines)
{
	static const char * const bad[] = {
		"size=1M,name=a\nnone /etc kvmshare rw 0 0",
		"size=1M,name=a b", "size=1M,name=tab\there", "size=1M,name=x\\y",
	};
	char dir[64], line[512];
	unsigned int i;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = ks_pool_mount(dir, sizeof(dir), bad[i]);

		EXPECT_EQ(-EINVAL, ret) TH_LOG("options '%s'", bad[i]);
		if (!ret) {
			f = fopen("/proc/mounts", "r");
			while (f && fgets(line, sizeof(line), f))
				if (strstr(line, "kvmshare"))
					TH_LOG("/proc/mounts: %s", line);
			if (f)
				fclose(f);
			ks_pool_umount(dir);
		} else {
			rmdir(dir);
		}
	}
	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=1M,name=ok-1.x_y"));
	EXPECT_EQ(0, ks_pool_umount(dir));
}

/*
 * An entitlement the host cannot reserve now is refused (ENOMEM), and
 * one it can is reserved: MemAvailable drops by it at once.
 */
TEST(entitlement_is_reserved_or_refused)
{
	uint64_t ram = meminfo_pages("MemTotal");
	uint64_t before, after, ent = 16384;	/* 64 MiB */
	struct kvmshare_part_attr attr;
	bool taken = false, given = false;
	char dir[64];
	int fd, i;

	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=100%"));
	fd = ks_part_create(dir, "g", ram * KS_PAGE);
	ASSERT_LE(0, fd);
	/* 97% of RAM cannot be set aside: the kernel and tests use more. */
	EXPECT_EQ(-ENOMEM, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT,
				       ram * 97 / 100, 0, 0));
	ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_GET_ATTR, &attr));
	EXPECT_EQ(0, attr.entitlement_pages);

	/*
	 * MemFree is approximate (per-CPU counts) and moves with whatever
	 * else the kernel frees or allocates meanwhile (a loaded VM once
	 * freed 8194 pages while 16384 were set aside): half the pages will
	 * do, both ways in one of three tries.
	 */
	for (i = 0; i < 3 && !(taken && given); i++) {
		before = meminfo_pages("MemFree");
		ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT, ent,
					 0, 0));
		after = meminfo_pages("MemFree");
		TH_LOG("MemFree %llu -> %llu pages for an entitlement of %llu",
		       (unsigned long long)before, (unsigned long long)after,
		       (unsigned long long)ent);
		taken = after + ent / 2 <= before;
		/* Given back when the entitlement goes. */
		ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT, 0,
					 0, 0));
		given = after + ent / 2 <= meminfo_pages("MemFree");
	}
	EXPECT_TRUE(taken);
	EXPECT_TRUE(given);
	close(fd);
	EXPECT_EQ(0, ks_pool_umount(dir));
}

/*
 * A fault within the entitlement succeeds while a process holds nearly
 * all of the host's memory. The hog asks for its size only once the
 * entitlement is reserved, and stays below what is available so that
 * nothing is OOM-killed: only an unreserved fault runs short.
 */
/* Tests that need more than the harness's 30 s under TCG. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/*
 * Issue #19: the parameters that took any number check their range. Per
 * parameter: values out of range and garbage are EINVAL (ERANGE beyond
 * unsigned int) and leave the value as it was; values at both ends of the range are taken and read
 * back. Documentation/admin-guide/module-parameters.rst lists the ranges.
 */
static const struct param_range {
	const char *name;
	const char *bad[4];
	const char *good[3];
} param_ranges[] = {
	{ "sample_ms", { "0", "3600001", "-1", "x" },
	  { "1", "3600000", "1000" } },
	{ "sample_pages", { "0", "65537", "-1", "x" },
	  { "1", "65536", "64" } },
	{ "evict_batch", { "0", "65537", "4294967296", "x" },
	  { "1", "65536", "1024" } },
	{ "room_wait_s", { "0", "3601", "-1", "x" },
	  { "1", "3600", "30" } },
	{ "pager_timeout_ms", { "1", "99", "3600001", "x" },
	  { "0", "100", "3600000" } },
	{ "huge_punch_split_pct", { "101", "-1", "4294967296", "x" },
	  { "0", "100", "50" } },
};

static void strip_nl(char *s)
{
	s[strcspn(s, "\n")] = 0;
}

TEST(module_parameters_check_their_range)
{
	char path[128], old[32], now[32];
	unsigned int i, k;
	int ret;

	for (i = 0; i < ARRAY_SIZE(param_ranges); i++) {
		const struct param_range *p = &param_ranges[i];

		snprintf(path, sizeof(path), PARAM("%s"), p->name);
		read_param(path, old, sizeof(old));
		strip_nl(old);
		ASSERT_NE(0, old[0]) TH_LOG("%s unreadable", path);
		for (k = 0; k < 4; k++) {
			ret = ks_write_file(path, p->bad[k]);
			/* ERANGE: a number beyond unsigned int (kstrtouint) */
			EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE)
				TH_LOG("%s = %s: %d", p->name, p->bad[k], ret);
			read_param(path, now, sizeof(now));
			strip_nl(now);
			EXPECT_STREQ(old, now)
				TH_LOG("%s changed by %s", p->name, p->bad[k]);
		}
		for (k = 0; k < 3; k++) {
			EXPECT_EQ(0, ks_write_file(path, p->good[k]))
				TH_LOG("%s = %s refused", p->name, p->good[k]);
			read_param(path, now, sizeof(now));
			strip_nl(now);
			EXPECT_STREQ(p->good[k], now);
		}
		ASSERT_EQ(0, ks_write_file(path, old));
	}
}

/* The hog populates nearly all of the VM's memory first: slow under TCG. */
TEST_F_TIMEOUT(slow, fault_within_entitlement_survives_memory_pressure, 240)
{
	const uint64_t ent = 49152, len = ent * KS_PAGE;	/* 192 MiB */
	int fd, pipefd[2], margin_pages = 4096;	/* 16 MiB */
	uint64_t avail, touched;
	char dir[64], c;
	pid_t hog;
	uint8_t *p;

	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=256M"));
	fd = ks_part_create(dir, "g", len);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT, ent, 0, 0));
	ASSERT_EQ(0, pipe(pipefd));

	avail = meminfo_pages("MemAvailable");
	ASSERT_LT(margin_pages * 2, avail);
	hog = fork();
	ASSERT_LE(0, hog);
	if (!hog) {
		size_t n = (avail - margin_pages) * KS_PAGE;
		int adj = open("/proc/self/oom_score_adj", O_WRONLY);
		void *m;

		if (adj >= 0) {
			write(adj, "1000", 4);
			close(adj);
		}
		m = mmap(NULL, n, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		write(pipefd[1], m == MAP_FAILED ? "f" : "r", 1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ('r', c);
	TH_LOG("hog holds %llu pages, MemAvailable now %llu, MemFree %llu pages",
	       (unsigned long long)(avail - margin_pages),
	       (unsigned long long)meminfo_pages("MemAvailable"),
	       (unsigned long long)meminfo_pages("MemFree"));

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touched = ks_touch(p, len, 1);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	EXPECT_EQ(ent, touched);
	munmap(p, len);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ(0, ks_pool_umount(dir));
}

/*
 * Unmount while the eviction worker samples a large partition (sampling
 * every millisecond, every page) and a thread reads the partition's
 * metrics_file in sysfs: the worker's and the reader's references to the
 * inode and dentry must be gone before the super block is.
 */
struct reader_arg {
	char path[160];
	int stop;
};

static void *sysfs_reader(void *p)
{
	struct reader_arg *a = p;
	char buf[64];

	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		int fd = open(a->path, O_RDONLY);

		if (fd < 0) {
			usleep(100);
			continue;
		}
		while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED) &&
		       pread(fd, buf, sizeof(buf), 0) > 0)
			;
		close(fd);
	}
	return NULL;
}

TEST_F_TIMEOUT(slow, umount_while_worker_and_sysfs_hold_partitions, 180)
{
	const uint64_t len = 32 << 20;
	char old_ms[32], old_pages[32];
	int i;

	read_param(PARAM("sample_ms"), old_ms, sizeof(old_ms));
	read_param(PARAM("sample_pages"), old_pages, sizeof(old_pages));
	ASSERT_EQ(0, ks_write_file(PARAM("sample_ms"), "1"));
	ASSERT_EQ(0, ks_write_file(PARAM("sample_pages"), "65536"));

	for (i = 0; i < 20; i++) {
		struct reader_arg a = { .stop = 0 };
		char dir[64], name[32], opts[64], path[128];
		int fd, ctl;
		struct kvmshare_metrics_bind b = { 0 };
		pthread_t t;

		snprintf(name, sizeof(name), "race%d", i);
		snprintf(opts, sizeof(opts), "size=64M,name=%s", name);
		ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), opts));
		fd = ks_part_create(dir, "g", len);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fallocate(fd, 0, 0, len));
		ctl = ks_part_create(dir, "g.ctl", KS_PAGE);
		ASSERT_LE(0, ctl);
		b.fd = ctl;
		ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_METRICS_BIND, &b));
		snprintf(a.path, sizeof(a.path),
			 "/sys/fs/kvmshare/%s/partitions/g/metrics_file", name);
		ASSERT_EQ(0, pthread_create(&t, NULL, sysfs_reader, &a));
		close(ctl);
		close(fd);
		usleep(20000 + (i % 5) * 3000);
		snprintf(path, sizeof(path), "%s", dir);
		ASSERT_EQ(0, ks_pool_umount(path));
		__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
		pthread_join(t, NULL);
	}
	ks_write_file(PARAM("sample_ms"), old_ms);
	ks_write_file(PARAM("sample_pages"), old_pages);
}

TEST_HARNESS_MAIN
