// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's in-kernel policy, driven from user space: synthetic guest
 * metrics pages are written into control files (mapped shared, under the
 * page's sequence count, as a guest does through ivshmem), and the
 * partitions' policy targets must follow the stress: up for the stressed
 * partition, down for the idle one, and back when the roles swap. Also:
 * binding rules, bad and torn pages counted and ignored, the grace period
 * before eviction gets a lowered target, the on/off switch that keeps
 * manual targets, poll() on the target file, bad tunables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/kvmshare_metrics.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define POOL_MB		96
#define PART_MB		64
#define FILL_MB		24
#define FILL_PAGES	(FILL_MB * 256ULL)
/* What an idle guest says it uses: 8 MiB, so its need is 10 MiB. */
#define USED_KB		(8 * 1024ULL)
#define PERIOD_MS	200

enum pub_mode { PUB_IDLE, PUB_STRESSED, PUB_FROZEN };

/* A synthetic guest publishing into a control file. */
struct pub {
	struct kvmshare_metrics_page *page;
	int mode;			/* enum pub_mode, atomic */
	uint64_t psi_some_us;
	uint64_t updates;
};

static struct pub pubs[2];
/* A paging service, for the tests that need one (detached in teardown). */
static struct ks_pager pager = { .fd = -1 };
static int pub_stop;			/* atomic */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* One update under the sequence count, as the ABI's writer protocol says. */
static void pub_update(struct pub *p, uint64_t dt_us)
{
	struct kvmshare_metrics_page *m = p->page;
	int mode = __atomic_load_n(&p->mode, __ATOMIC_RELAXED);
	int stressed = mode == PUB_STRESSED;

	if (mode == PUB_FROZEN)
		return;
	if (stressed)
		p->psi_some_us += dt_us / 2;	/* 50% of the time stalled */
	__atomic_store_n(&m->seq, m->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	m->magic = KVMSHARE_METRICS_MAGIC;
	m->version = KVMSHARE_METRICS_VERSION;
	m->size = sizeof(*m);
	m->flags = KVMSHARE_METRICS_F_PSI;
	m->interval_ms = 50;
	m->psi_some_avg10 = stressed ? 5000 : 0;
	m->psi_some_total_us = p->psi_some_us;
	m->mem_total_kb = PART_MB * 1024ULL;
	m->mem_available_kb = stressed ? 1024 : PART_MB * 1024ULL - USED_KB;
	m->update_count = ++p->updates;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&m->seq, m->seq + 1, __ATOMIC_RELAXED);
}

static void pub_mode(int i, int mode)
{
	__atomic_store_n(&pubs[i].mode, mode, __ATOMIC_RELAXED);
}

static void *pub_thread(void *arg)
{
	uint64_t last = now_us();

	while (!__atomic_load_n(&pub_stop, __ATOMIC_RELAXED)) {
		uint64_t t;
		int i;

		usleep(50000);
		t = now_us();
		for (i = 0; i < 2; i++)
			if (pubs[i].page)
				pub_update(&pubs[i], t - last);
		last = t;
	}
	return NULL;
}

static int sysfs_write(const char *val, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write @val to /sys/fs/kvmshare/<path>; 0 or -errno. */
static int sysfs_write(const char *val, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	strcpy(path, "/sys/fs/kvmshare/");
	va_start(ap, fmt);
	vsnprintf(path + strlen(path), sizeof(path) - strlen(path), fmt, ap);
	va_end(ap);
	return ks_write_file(path, val);
}

static void sysfs_str(char *buf, size_t len, const char *pool,
		      const char *part, const char *file)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/kvmshare/%s/partitions/%s/%s",
		 pool, part, file);
	buf[0] = 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	buf[strcspn(buf, "\n")] = 0;
}

#define PNUM(part, file) \
	ks_sysfs_num("%s/partitions/%s/%s", self->name, part, file)

/* Wait up to @secs for cond to hold, checking every 100 ms. */
#define WAIT_FOR(cond, secs) ({						\
	int __i, __ok = 0;						\
	for (__i = 0; __i < (secs) * 10; __i++) {			\
		if (cond) {						\
			__ok = 1;					\
			break;						\
		}							\
		usleep(100000);						\
	}								\
	__ok;								\
})

static int bind_fd(int part_fd, int ctl_fd)
{
	struct kvmshare_metrics_bind b;

	memset(&b, 0, sizeof(b));
	b.fd = ctl_fd;
	return ioctl(part_fd, KVMSHARE_IOC_METRICS_BIND, &b) ? -errno : 0;
}

FIXTURE(policy) {
	char dir[64];
	char name[32];
	int fd[2];		/* partitions a and b */
	int ctl[2];		/* a.metrics and b.metrics */
	void *map[2];
	pthread_t thread;
	int threaded;
};

static const char * const part_names[2] = { "a", "b" };

FIXTURE_SETUP(policy)
{
	char opts[128], path[128], *buf;
	int i;

	snprintf(self->name, sizeof(self->name), "pol%d", getpid());
	snprintf(opts, sizeof(opts), "size=%dM,name=%s", POOL_MB, self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	ASSERT_EQ(0, sysfs_write("0", "%s/policy_enabled", self->name));
	ASSERT_EQ(0, sysfs_write("200", "%s/policy_period_ms", self->name));
	ASSERT_EQ(0, sysfs_write("1000", "%s/policy_grace_ms", self->name));

	buf = malloc(1 << 20);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5a, 1 << 20);
	for (i = 0; i < 2; i++) {
		self->fd[i] = ks_part_create(self->dir, part_names[i],
					     PART_MB << 20);
		ASSERT_LE(0, self->fd[i]);
		for (int mb = 0; mb < FILL_MB; mb++)
			ASSERT_EQ(1 << 20, pwrite(self->fd[i], buf, 1 << 20,
						  (off_t)mb << 20));
		snprintf(path, sizeof(path), "%s.metrics", part_names[i]);
		self->ctl[i] = ks_part_create(self->dir, path, 1 << 20);
		ASSERT_LE(0, self->ctl[i]);
		self->map[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				    MAP_SHARED, self->ctl[i], 0);
		ASSERT_NE(MAP_FAILED, self->map[i]);
		memset(&pubs[i], 0, sizeof(pubs[i]));
	}
	free(buf);
	__atomic_store_n(&pub_stop, 0, __ATOMIC_RELAXED);
	self->threaded = 0;
}

FIXTURE_TEARDOWN(policy)
{
	char path[128];
	int i;

	if (self->threaded) {
		__atomic_store_n(&pub_stop, 1, __ATOMIC_RELAXED);
		pthread_join(self->thread, NULL);
	}
	sysfs_write("0", "%s/policy_enabled", self->name);
	for (i = 0; i < 2; i++) {
		pubs[i].page = NULL;
		munmap(self->map[i], 4096);
		close(self->ctl[i]);
		close(self->fd[i]);
		snprintf(path, sizeof(path), "%s/%s.metrics", self->dir,
			 part_names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", self->dir, part_names[i]);
		unlink(path);
	}
	if (pager.fd >= 0) {
		/* The running service gets the DISCARDs of the files. */
		ks_sysfs_settle(0, 5, "%s/blocks_used", self->name);
		ks_pager_detach(&pager);
		pager.fd = -1;
	}
	/* (the eviction worker may still hold the deleted file's inode) */
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/used_pages", self->name));
	EXPECT_EQ(0, ks_pool_umount(self->dir));
}

/* Bind both control files and start publishing, both guests idle. */
#define START_PUB() do {						\
	for (int __i = 0; __i < 2; __i++) {				\
		ASSERT_EQ(0, bind_fd(self->fd[__i], self->ctl[__i]));	\
		pubs[__i].page = self->map[__i];			\
		pub_mode(__i, PUB_IDLE);				\
	}								\
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, pub_thread,	\
				    NULL));				\
	self->threaded = 1;						\
} while (0)

TEST_F(policy, bind_rules)
{
	struct kvmshare_metrics_bind b;
	char s[128], from[128], to[128];
	int ro, other;

	/* Reserved fields, flags, bad fds, foreign files, self. */
	memset(&b, 0, sizeof(b));
	b.fd = self->ctl[0];
	b.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd[0], KVMSHARE_IOC_METRICS_BIND, &b));
	EXPECT_EQ(EINVAL, errno);
	b.reserved[1] = 0;
	b.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd[0], KVMSHARE_IOC_METRICS_BIND, &b));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EBADF, bind_fd(self->fd[0], -7));
	EXPECT_EQ(-EBADF, bind_fd(self->fd[0], 999));
	other = open("/proc/self/status", O_RDONLY);
	ASSERT_LE(0, other);
	EXPECT_EQ(-EINVAL, bind_fd(self->fd[0], other));
	close(other);
	EXPECT_EQ(-EINVAL, bind_fd(self->fd[0], self->fd[0]));
	snprintf(s, sizeof(s), "%s/a", self->dir);
	ro = open(s, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, bind_fd(ro, self->ctl[0]));
	close(ro);

	/* One control file per partition and back. */
	EXPECT_EQ(0, bind_fd(self->fd[0], self->ctl[0]));
	sysfs_str(s, sizeof(s), self->name, "a", "metrics_file");
	EXPECT_STREQ("a.metrics", s);
	EXPECT_EQ(-EBUSY, bind_fd(self->fd[1], self->ctl[0]));
	EXPECT_EQ(-EINVAL, bind_fd(self->ctl[0], self->ctl[1]));
	EXPECT_EQ(-EINVAL, bind_fd(self->fd[1], self->fd[0]));
	EXPECT_EQ(0, bind_fd(self->fd[0], self->ctl[0]));	/* again: fine */
	EXPECT_EQ(0, bind_fd(self->fd[0], -1));
	sysfs_str(s, sizeof(s), self->name, "a", "metrics_file");
	EXPECT_STREQ("", s);
	EXPECT_EQ(0, bind_fd(self->fd[1], self->ctl[0]));
	sysfs_str(s, sizeof(s), self->name, "b", "metrics_file");
	EXPECT_STREQ("a.metrics", s);

	/* A renamed control file is still bound, under its new name. */
	snprintf(from, sizeof(from), "%s/a.metrics", self->dir);
	snprintf(to, sizeof(to), "%s/a.renamed", self->dir);
	ASSERT_EQ(0, rename(from, to));
	sysfs_str(s, sizeof(s), self->name, "b", "metrics_file");
	EXPECT_STREQ("a.renamed", s);
	ASSERT_EQ(0, rename(to, from));

	/* Tunables out of range are refused. */
	EXPECT_EQ(-EINVAL, sysfs_write("5", "%s/policy_period_ms", self->name));
	EXPECT_EQ(-EINVAL, sysfs_write("60001", "%s/policy_period_ms",
				       self->name));
	EXPECT_EQ(-EINVAL, sysfs_write("600001", "%s/policy_grace_ms",
				       self->name));
	EXPECT_EQ(-EINVAL, sysfs_write("maybe", "%s/policy_enabled",
				       self->name));
	EXPECT_EQ(200, ks_sysfs_num("%s/policy_period_ms", self->name));
	EXPECT_EQ(0, sysfs_write("500", "%s/policy_reserve_ppt", self->name));
	EXPECT_EQ(500, ks_sysfs_num("%s/policy_reserve_ppt", self->name));
	EXPECT_EQ(0, sysfs_write("default", "%s/policy_reserve_ppt",
				 self->name));
	EXPECT_EQ(0, ks_sysfs_num("%s/policy_reserve_ppt", self->name));
}

/* The control file goes with its last link and last user. */
TEST_F(policy, binding_ends_with_the_control_file)
{
	char s[128];

	ASSERT_EQ(0, bind_fd(self->fd[0], self->ctl[0]));
	snprintf(s, sizeof(s), "%s/a.metrics", self->dir);
	ASSERT_EQ(0, unlink(s));
	munmap(self->map[0], 4096);
	close(self->ctl[0]);
	self->map[0] = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	self->ctl[0] = ks_part_create(self->dir, "a.metrics", 4096);
	ASSERT_LE(0, self->ctl[0]);
	EXPECT_TRUE(WAIT_FOR((sysfs_str(s, sizeof(s), self->name, "a",
					"metrics_file"), !s[0]), 5));
	/* And a new file of the same name may be bound again. */
	EXPECT_EQ(0, bind_fd(self->fd[0], self->ctl[0]));
	sysfs_str(s, sizeof(s), self->name, "a", "metrics_file");
	EXPECT_STREQ("a.metrics", s);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The median of partition @part's stress over seven policy periods. */
static long long stress_median(const char *pool, const char *part)
{
	long long v[7];
	int i;

	for (i = 0; i < 7; i++) {
		v[i] = ks_sysfs_num("%s/partitions/%s/policy_stress_ppm", pool,
				    part);
		usleep(PERIOD_MS * 1000);
	}
	qsort(v, 7, sizeof(v[0]), cmp_ll);
	printf("# %s stress over seven periods: %lld .. %lld, median %lld ppm\n",
	       part, v[0], v[6], v[3]);
	return v[3];
}

TEST_F(policy, targets_follow_the_stress)
{
	long long ta, tb, idle_a, idle_b, peak_a, med;
	char state[64];
	struct pollfd pfd;
	char path[256], buf[32];

	START_PUB();
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));

	/*
	 * With the engine's default reserve and a pool that is not short,
	 * idle partitions keep what they hold (no I/O for nothing).
	 */
	ASSERT_TRUE(WAIT_FOR(PNUM("a", "policy_target_pages") > 0 &&
			     PNUM("b", "policy_target_pages") > 0, 10));
	usleep(2000000);
	EXPECT_GE(PNUM("a", "policy_target_pages"), FILL_PAGES);
	EXPECT_GE(PNUM("b", "policy_target_pages"), FILL_PAGES);
	EXPECT_EQ(0, ks_sysfs_num("%s/policy_reserve_ppt", self->name));

	/* Idle memory given back at once: both come down to their need. */
	ASSERT_EQ(0, sysfs_write("1000", "%s/policy_reserve_ppt", self->name));
	EXPECT_EQ(-EINVAL, sysfs_write("1001", "%s/policy_reserve_ppt",
				       self->name));
	ASSERT_TRUE(WAIT_FOR(PNUM("a", "policy_target_pages") > 0 &&
			     PNUM("a", "policy_target_pages") < FILL_PAGES / 2 &&
			     PNUM("b", "policy_target_pages") < FILL_PAGES / 2,
			     20));
	idle_a = PNUM("a", "policy_target_pages");
	idle_b = PNUM("b", "policy_target_pages");
	TH_LOG("idle targets: a %lld b %lld pages", idle_a, idle_b);
	EXPECT_GE(idle_a, USED_KB / 4);
	EXPECT_LE(idle_a, USED_KB / 4 * 2);
	EXPECT_GT(PNUM("a", "metrics/ok"), 0);

	/* poll() on a's target wakes when the stress moves it. */
	snprintf(path, sizeof(path),
		 "/sys/fs/kvmshare/%s/partitions/a/policy_target_pages",
		 self->name);
	pfd.fd = open(path, O_RDONLY);
	ASSERT_LE(0, pfd.fd);
	pfd.events = POLLPRI;
	ASSERT_LT(0, read(pfd.fd, buf, sizeof(buf)));

	/* a stressed: its target goes up, above what it holds; b stays. */
	pub_mode(0, PUB_STRESSED);
	EXPECT_EQ(1, poll(&pfd, 1, 10000));
	EXPECT_TRUE(pfd.revents & POLLPRI);
	close(pfd.fd);
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "policy_target_pages") > FILL_PAGES,
			     20));
	peak_a = PNUM("a", "policy_target_pages");
	sysfs_str(state, sizeof(state), self->name, "a", "policy_state");
	TH_LOG("a stressed: target %lld, stress %lld ppm, state '%s'",
	       peak_a, PNUM("a", "policy_stress_ppm"), state);
	EXPECT_NE(NULL, strstr(state, "stressed"));
	/*
	 * 50% stalled, as published, once a whole period is stressed (the
	 * first one may not be; timing under emulation is loose).
	 */
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "policy_stress_ppm") >= 250000, 10));
	/*
	 * One period's figure is the publisher's stall time over the
	 * engine's period, each on its own clock: a publisher delayed on a
	 * loaded host lands a burst (884063 ppm was read once). The median
	 * of seven periods is what it published.
	 */
	med = stress_median(self->name, "a");
	EXPECT_LE(med, 750000);
	EXPECT_GE(med, 250000);
	EXPECT_LE(PNUM("b", "policy_target_pages"), idle_b + idle_b / 8);
	sysfs_str(state, sizeof(state), self->name, "b", "policy_state");
	EXPECT_STREQ("idle", state);
	/* No paging service: nothing for eviction to enforce. */
	EXPECT_EQ(0, PNUM("a", "target_pages"));

	/* Roles swap: a comes back down, b goes up. */
	pub_mode(0, PUB_IDLE);
	pub_mode(1, PUB_STRESSED);
	EXPECT_TRUE(WAIT_FOR(PNUM("b", "policy_target_pages") > FILL_PAGES &&
			     PNUM("a", "policy_target_pages") <= idle_a + idle_a / 8,
			     20));
	ta = PNUM("a", "policy_target_pages");
	tb = PNUM("b", "policy_target_pages");
	TH_LOG("swapped: a %lld b %lld pages", ta, tb);
	EXPECT_LT(ta, peak_a);
	EXPECT_GT(tb, ta);

	/* Limits hold: no target above the partition, sum within the pool. */
	EXPECT_LE(tb, PART_MB * 256);
	EXPECT_LE(ta + tb, POOL_MB * 256);
	EXPECT_EQ(0, PNUM("a", "metrics/bad_magic"));
	EXPECT_EQ(0, PNUM("b", "metrics/torn"));
}

/*
 * With a paging service, eviction gets a lowered target only after the
 * grace period, then pages the partition down to it; growth at once.
 */
TEST_F(policy, lowered_target_waits_for_the_grace_period)
{
	long long pol, enf, res;

	ASSERT_EQ(0, ks_pager_attach(&pager, self->dir, 4 * POOL_MB * 256,
				     256, 64, 0, -1));
	ASSERT_EQ(0, ks_pager_run(&pager));
	ASSERT_EQ(0, sysfs_write("3000", "%s/policy_grace_ms", self->name));
	ASSERT_EQ(0, sysfs_write("1000", "%s/policy_reserve_ppt", self->name));
	START_PUB();
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	/* b starts from what it holds and is lowered after idle periods. */
	ASSERT_TRUE(WAIT_FOR(PNUM("b", "policy_target_pages") > 0 &&
			     PNUM("b", "policy_target_pages") < FILL_PAGES / 2,
			     20));
	pol = PNUM("b", "policy_target_pages");
	enf = PNUM("b", "target_pages");
	res = PNUM("b", "resident_pages");
	TH_LOG("lowered: policy %lld, enforced %lld, resident %lld", pol, enf,
	       res);
	EXPECT_GT(enf, pol);
	EXPECT_GE(enf, FILL_PAGES);
	EXPECT_GE(res, FILL_PAGES);
	/* After the grace period eviction gets it and pages b down. */
	EXPECT_TRUE(WAIT_FOR(PNUM("b", "target_pages") ==
			     PNUM("b", "policy_target_pages"), 15));
	EXPECT_TRUE(WAIT_FOR(PNUM("b", "resident_pages") <=
			     PNUM("b", "policy_target_pages"), 30));
	TH_LOG("after grace: target %lld, resident %lld, paged out %lld",
	       PNUM("b", "target_pages"), PNUM("b", "resident_pages"),
	       PNUM("b", "paged_out_pages"));
	/* Growth is enforced at once. */
	pub_mode(1, PUB_STRESSED);
	EXPECT_TRUE(WAIT_FOR(PNUM("b", "policy_target_pages") > FILL_PAGES,
			     20));
	EXPECT_TRUE(WAIT_FOR(PNUM("b", "target_pages") ==
			     PNUM("b", "policy_target_pages"), 5));
}

TEST_F(policy, switch_off_keeps_manual_targets)
{
	long long t, steps, ns;

	START_PUB();
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	ASSERT_TRUE(WAIT_FOR(PNUM("a", "policy_target_pages") > 0, 10));
	ASSERT_EQ(0, sysfs_write("0", "%s/policy_enabled", self->name));
	EXPECT_EQ(0, ks_sysfs_num("%s/policy_enabled", self->name));
	/* Steps ran and took time; once off, no step runs: they stay. */
	steps = ks_sysfs_num("%s/policy_steps", self->name);
	ns = ks_sysfs_num("%s/policy_step_ns", self->name);
	EXPECT_GT(steps, 0);
	EXPECT_GT(ns, 0);
	usleep(500000);
	ASSERT_EQ(0, sysfs_write("12345",
				 "%s/partitions/a/target_pages", self->name));
	pub_mode(0, PUB_STRESSED);
	t = PNUM("a", "policy_target_pages");
	usleep(2000000);
	EXPECT_EQ(12345, PNUM("a", "target_pages"));
	EXPECT_EQ(t, PNUM("a", "policy_target_pages"));
	EXPECT_EQ(steps, ks_sysfs_num("%s/policy_steps", self->name));
	EXPECT_EQ(ns, ks_sysfs_num("%s/policy_step_ns", self->name));
	/* On again: the policy takes over. */
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "target_pages") != 12345, 10));
	EXPECT_GT(ks_sysfs_num("%s/policy_steps", self->name), steps);
	EXPECT_TRUE(WAIT_FOR(ks_sysfs_num("%s/policy_step_ns", self->name) >
			     ns, 10));
}

/*
 * What a guest counted while the policy was off is not one period's
 * stall: switched on again, the policy reads its counters afresh (a
 * stale baseline made every guest look fully stalled and doubled its
 * target, which then stayed).
 */
TEST_F(policy, switch_on_takes_a_new_metrics_baseline)
{
	long long t0, t, stress, max_t = 0, max_stress = 0;
	int i;

	START_PUB();
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	ASSERT_TRUE(WAIT_FOR(PNUM("a", "metrics/ok") >= 3 &&
			     PNUM("a", "policy_target_pages") > 0, 10));
	t0 = PNUM("a", "policy_target_pages");
	ASSERT_EQ(0, sysfs_write("0", "%s/policy_enabled", self->name));
	/* 2 s at 50% stall while nobody reads: 1 s, five periods' worth */
	pub_mode(0, PUB_STRESSED);
	usleep(2000000);
	pub_mode(0, PUB_IDLE);
	usleep(300000);
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	for (i = 0; i < 15; i++) {
		usleep(100000);
		t = PNUM("a", "policy_target_pages");
		stress = PNUM("a", "policy_stress_ppm");
		max_t = t > max_t ? t : max_t;
		max_stress = stress > max_stress ? stress : max_stress;
	}
	TH_LOG("a: target %lld before, at most %lld after; stress at most %lld ppm",
	       t0, max_t, max_stress);
	EXPECT_GT(ks_sysfs_num("%s/policy_steps", self->name), 0);
	EXPECT_LE(max_t, t0 + t0 / 8);
	EXPECT_LT(max_stress, 250000);
}

/* Write a raw page into a's control file, outside the protocol. */
static void put_page_raw(void *map, const void *src, size_t len)
{
	memcpy(map, src, len);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * A guest flipping its page between good and bad is logged a few times a
 * minute at most, and cannot use up the lines another guest's change
 * gets (the limit is per partition, not one for the call site).
 */
TEST_F(policy, a_flapping_page_does_not_flood_the_log)
{
	struct kvmshare_metrics_page good, bad;
	int flaps0, stops0, flaps, stops, i;

	START_PUB();
	ASSERT_EQ(0, sysfs_write("100", "%s/policy_period_ms", self->name));
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	ASSERT_TRUE(WAIT_FOR(PNUM("a", "metrics/ok") >= 3 &&
			     PNUM("b", "metrics/ok") >= 3, 10));
	/* a is written by hand from now on (an update under way ends) */
	pub_mode(0, PUB_FROZEN);
	usleep(200000);
	memcpy(&good, self->map[0], sizeof(good));
	good.seq &= ~1U;
	bad = good;
	bad.magic = 0;
	flaps0 = ks_klog_count("metrics page bad_magic");
	stops0 = ks_klog_count("metrics page stopping");
	ASSERT_LE(0, flaps0);
	for (i = 0; i < 30; i++) {
		good.seq += 2;
		put_page_raw(self->map[0], &good, sizeof(good));
		usleep(150000);
		bad.seq = good.seq;
		put_page_raw(self->map[0], &bad, sizeof(bad));
		usleep(150000);
		if (i == 15) {
			struct kvmshare_metrics_page m;

			/* b's guest stops: its one line must be there */
			pub_mode(1, PUB_FROZEN);
			usleep(100000);
			memcpy(&m, self->map[1], sizeof(m));
			m.seq = (m.seq & ~1U) + 2;
			m.flags |= KVMSHARE_METRICS_F_STOPPING;
			put_page_raw(self->map[1], &m, sizeof(m));
		}
	}
	flaps = ks_klog_count("metrics page bad_magic") - flaps0;
	stops = ks_klog_count("metrics page stopping") - stops0;
	TH_LOG("a: %lld bad_magic reads, %d lines; b: %lld stopping, %d lines",
	       PNUM("a", "metrics/bad_magic"), flaps,
	       PNUM("b", "metrics/stopping"), stops);
	EXPECT_GE(PNUM("a", "metrics/bad_magic"), 10);
	EXPECT_GE(flaps, 1);
	EXPECT_LE(flaps, 4);
	EXPECT_GE(PNUM("b", "metrics/stopping"), 1);
	EXPECT_EQ(1, stops);
}

TEST_F(policy, bad_and_torn_pages_are_counted_and_ignored)
{
	struct kvmshare_metrics_page m;
	unsigned char junk[4096];
	long long before;
	char state[64];
	int i;

	/* Bound, never written: absent (no page yet). */
	ASSERT_EQ(0, bind_fd(self->fd[0], self->ctl[0]));
	ASSERT_EQ(0, sysfs_write("1", "%s/policy_enabled", self->name));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/absent") >= 2, 10));

	/* A good page first, so that there is something to lose. */
	pubs[0].page = self->map[0];
	pub_mode(0, PUB_STRESSED);
	for (i = 0; i < 40 && PNUM("a", "metrics/ok") < 3; i++) {
		pub_update(&pubs[0], 100000);
		usleep(100000);
	}
	EXPECT_GE(PNUM("a", "metrics/ok"), 3);

	/* Torn: the sequence count stays odd. */
	memcpy(&m, self->map[0], sizeof(m));
	m.seq |= 1;
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/torn") >= 2, 10));
	/* Held, then stale: the sample is dropped. */
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/stale") >= 1, 10));
	EXPECT_TRUE(WAIT_FOR((sysfs_str(state, sizeof(state), self->name, "a",
					"policy_state"),
			      !strcmp(state, "idle")), 10));

	/* Bad magic, version, size, reserved. */
	m.seq += 1;
	m.magic = 0x12345678;
	before = PNUM("a", "metrics/bad_magic");
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/bad_magic") > before, 10));
	m.magic = KVMSHARE_METRICS_MAGIC;
	m.version = 77;
	m.seq += 2;
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/bad_version") > 0, 10));
	m.version = KVMSHARE_METRICS_VERSION;
	m.size = 8;
	m.seq += 2;
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/bad_size") > 0, 10));
	m.size = sizeof(m);
	m.reserved[3] = 1;
	m.seq += 2;
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/bad_reserved") > 0, 10));

	/* Garbage: counted, never used, never a problem. */
	srand(1);
	for (i = 0; i < 8; i++) {
		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = rand();
		put_page_raw(self->map[0], junk, sizeof(junk));
		usleep(300000);
	}
	/* Nonsense in a good header: clamped. */
	memset(&m, 0xff, sizeof(m));
	m.flags = KVMSHARE_METRICS_F_PSI | KVMSHARE_METRICS_F_ACUTE | 0x100;
	m.magic = KVMSHARE_METRICS_MAGIC;
	m.version = KVMSHARE_METRICS_VERSION;
	m.size = sizeof(m);
	m.seq = 1000;
	memset(m.reserved, 0, sizeof(m.reserved));
	put_page_raw(self->map[0], &m, sizeof(m));
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/clamped") > 0, 10));
	TH_LOG("counters: ok %lld torn %lld stale %lld bad_magic %lld clamped %lld absent %lld",
	       PNUM("a", "metrics/ok"), PNUM("a", "metrics/torn"),
	       PNUM("a", "metrics/stale"), PNUM("a", "metrics/bad_magic"),
	       PNUM("a", "metrics/clamped"), PNUM("a", "metrics/absent"));
	/* Whatever the page said, the target stays within the partition. */
	EXPECT_LE(PNUM("a", "policy_target_pages"), PART_MB * 256);
	/* Punched out: absent again. */
	before = PNUM("a", "metrics/absent");
	munmap(self->map[0], 4096);
	ASSERT_EQ(0, fallocate(self->ctl[0], 3 /* PUNCH_HOLE|KEEP_SIZE */,
			       0, 4096));
	self->map[0] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			    self->ctl[0], 0);
	ASSERT_NE(MAP_FAILED, self->map[0]);
	EXPECT_TRUE(WAIT_FOR(PNUM("a", "metrics/absent") > before, 10));
}

TEST_HARNESS_MAIN
