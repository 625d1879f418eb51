// SPDX-License-Identifier: GPL-2.0
/*
 * The guest module (drivers/guest/kvmshare_guest.c) in the test VM, whose
 * QEMU gives it an ivshmem-plain device (suite policy, VM_IVSHMEM=1). The
 * page is read through the device's sysfs resource2 mapping and checked
 * with the host's own reader (kvm/kvmshare_metrics.c): it is valid, it is
 * updated every period, its values agree with /proc, memory pressure shows
 * in it, the period parameter rejects bad values, unloading marks it
 * stopping, and shared memory that is not ours is left alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kvmshare_metrics.h"

#define GM_MOD		"kvmshare_guest"
#define GM_PARAMS	"/sys/module/" GM_MOD "/parameters/"
#define GM_DRIVER	"/sys/bus/pci/drivers/" GM_MOD
#define GM_PCI		"/sys/bus/pci/devices"
#define GM_CGROUP	"/sys/fs/cgroup"
#define GM_CG_TEST	GM_CGROUP "/kvmshare_guest_test"
#define GM_PAGE		KVMSHARE_METRICS_PAGE_SIZE
#define GM_PERIOD_MS	100

static unsigned long long gm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static void gm_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int gm_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Write @val to @path; 0 or the errno of the write. */
static int gm_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int gm_set_param(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), GM_PARAMS "%s", name);
	return gm_write_str(path, val);
}

static long long gm_param(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), GM_PARAMS "%s", name);
	if (gm_read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* The value of "Key" in a "Key: value" or "key value" file, or -1. */
static long long gm_proc_value(const char *file, const char *key)
{
	size_t len = strlen(key);
	long long v = -1;
	char line[256];
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) &&
		    (line[len] == ':' || line[len] == ' ')) {
			v = atoll(line + len + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Sum of the /proc/vmstat counters whose names start with @prefix. */
static long long gm_vmstat_sum(const char *prefix)
{
	size_t len = strlen(prefix);
	char name[128];
	long long v, sum = 0;
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%127s %lld", name, &v) == 2)
		if (!strncmp(name, prefix, len))
			sum += v;
	fclose(f);
	return sum;
}

/* "some|full ... total=N" of /proc/pressure/memory, us, or -1. */
static long long gm_psi_total(const char *kind)
{
	char line[256], *t;
	long long v = -1;
	FILE *f;

	f = fopen("/proc/pressure/memory", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		t = strstr(line, "total=");
		if (!strncmp(line, kind, 4) && t) {
			v = atoll(t + 6);
			break;
		}
	}
	fclose(f);
	return v;
}

static int gm_is_ivshmem(const char *bdf)
{
	char path[512], buf[32];

	snprintf(path, sizeof(path), GM_PCI "/%s/vendor", bdf);
	if (gm_read_str(path, buf, sizeof(buf)) || strtoul(buf, NULL, 0) != 0x1af4)
		return 0;
	snprintf(path, sizeof(path), GM_PCI "/%s/device", bdf);
	if (gm_read_str(path, buf, sizeof(buf)) || strtoul(buf, NULL, 0) != 0x1110)
		return 0;
	return 1;
}

/* The first ivshmem device (in @dir's entries) into @bdf; 0 or -1. */
static int gm_find(const char *dir, int need_ivshmem, char *bdf, size_t len)
{
	struct dirent *e;
	int found = -1;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "0000:", 5))
			continue;
		if (need_ivshmem && !gm_is_ivshmem(e->d_name))
			continue;
		if (strlen(e->d_name) >= len)
			continue;
		memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
		found = 0;
		break;
	}
	closedir(d);
	return found;
}

/* The ivshmem device of the VM, bound or not. */
static int gm_ivshmem(char *bdf, size_t len)
{
	return gm_find(GM_PCI, 1, bdf, len);
}

/* The device the module is bound to. */
static int gm_bound(char *bdf, size_t len)
{
	return gm_find(GM_DRIVER, 0, bdf, len);
}

static int gm_loaded(void)
{
	struct stat st;

	return !stat("/sys/module/" GM_MOD, &st);
}

/* modprobe with @args; the exit status. */
static int gm_load(const char *args)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "modprobe %s %s 2>/dev/null", GM_MOD, args);
	return system(cmd);
}

static int gm_unload(void)
{
	if (!gm_loaded())
		return 0;
	return system("rmmod " GM_MOD);
}

/*
 * The metrics page through sysfs. Only map it while the module is loaded
 * (or will not be loaded before munmap): a user mapping made first would
 * hold an uncached memory type that the driver's write-back memremap()
 * then conflicts with.
 */
static struct kvmshare_metrics_page *gm_map(const char *bdf, int prot)
{
	char path[512];
	void *p;
	int fd;

	snprintf(path, sizeof(path), GM_PCI "/%s/resource2", bdf);
	fd = open(path, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, GM_PAGE, prot, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* A consistent copy of the page (retrying torn copies for a while). */
static int gm_snap(const struct kvmshare_metrics_page *shared, struct kvmshare_metrics_page *copy)
{
	int i;

	for (i = 0; i < 1000; i++) {
		u32 end = kvmshare_metrics_snapshot(shared, copy);

		if (!(copy->seq & 1) && copy->seq == end)
			return 0;
		gm_sleep_ms(1);
	}
	return -1;
}

/* Wait until the page's count moved by at least 2 * @n; 0 or -1. */
static int gm_wait_updates(const struct kvmshare_metrics_page *p, unsigned int n,
			   unsigned int timeout_ms)
{
	unsigned long long end = gm_now_ms() + timeout_ms;
	u32 seq0 = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);

	while (gm_now_ms() < end) {
		if (__atomic_load_n(&p->seq, __ATOMIC_ACQUIRE) - seq0 >= 2 * n)
			return 0;
		gm_sleep_ms(5);
	}
	return -1;
}

static void gm_reader_init(struct kvmshare_metrics_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->max_pages = 1ULL << 24;		/* 64 GiB */
	r->period_us = GM_PERIOD_MS * 1000;
	r->stale_periods = 10;
}

/* One read of the page by the host's reader. */
static enum kvmshare_metrics_reason
gm_read(struct kvmshare_metrics_reader *r, const struct kvmshare_metrics_page *shared,
	struct kvmshare_metrics_sample *s)
{
	struct kvmshare_metrics_page copy;
	u32 end = kvmshare_metrics_snapshot(shared, &copy);

	return kvmshare_metrics_read(r, &copy, end, s);
}

/* Loaded with default parameters, bound, page mapped: in @bdf and *@p. */
static int gm_setup(char *bdf, size_t len, struct kvmshare_metrics_page **p)
{
	if (!gm_loaded() && gm_load(""))
		return -1;
	if (gm_set_param("period_ms", "100") ||
	    gm_set_param("acute_psi_full", "1000"))
		return -1;
	if (gm_bound(bdf, len))
		return -1;
	*p = gm_map(bdf, PROT_READ);
	return *p ? 0 : -1;
}

TEST(load_binds_and_publishes)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	char bdf[64], bound[64];
	struct kvmshare_metrics_page *p, c;

	ASSERT_EQ(0, gm_ivshmem(bdf, sizeof(bdf)))
		TH_LOG("no ivshmem-plain device: is VM_IVSHMEM=1 set?");
	ASSERT_EQ(0, gm_unload());
	ASSERT_EQ(0, gm_load("")) TH_LOG("modprobe %s failed", GM_MOD);
	ASSERT_EQ(0, gm_bound(bound, sizeof(bound)))
		TH_LOG("the module did not bind the ivshmem device");
	ASSERT_STREQ(bdf, bound);
	p = gm_map(bound, PROT_READ);
	ASSERT_NE(NULL, p);

	ASSERT_EQ(0, gm_snap(p, &c));
	EXPECT_EQ(KVMSHARE_METRICS_MAGIC, c.magic);
	EXPECT_EQ(KVMSHARE_METRICS_VERSION, c.version);
	EXPECT_EQ(sizeof(c), c.size);
	EXPECT_EQ(GM_PERIOD_MS, c.interval_ms);
	EXPECT_GE(c.update_count, 1);
	EXPECT_EQ(0, c.flags & ~KVMSHARE_METRICS_F_ALL);
	EXPECT_EQ(0, c.flags & KVMSHARE_METRICS_F_STOPPING);
	/* Debian's kernel has PSI on and the balloon page core */
	EXPECT_TRUE(c.flags & KVMSHARE_METRICS_F_PSI);
	EXPECT_TRUE(c.flags & KVMSHARE_METRICS_F_BALLOON);

	gm_reader_init(&r);
	EXPECT_EQ(KVMSHARE_METRICS_OK, gm_read(&r, p, &s));
	EXPECT_TRUE(s.valid);
	EXPECT_EQ(0, r.count[KVMSHARE_METRICS_CLAMPED]);
	EXPECT_EQ(0, r.count[KVMSHARE_METRICS_UNKNOWN_FLAGS]);
	munmap(p, GM_PAGE);
}

TEST(updates_every_period)
{
	unsigned int ok = 0, bad = 0, i;
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	enum kvmshare_metrics_reason why;
	struct kvmshare_metrics_page *p, c0, c1;
	char bdf[64];

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	ASSERT_EQ(0, gm_snap(p, &c0));
	gm_sleep_ms(2000);
	ASSERT_EQ(0, gm_snap(p, &c1));
	/* 20 updates are due in 2 s; 15 is a functional bound, not timing */
	EXPECT_GE((c1.seq - c0.seq) / 2, 15)
		TH_LOG("only %u updates in 2 s", (c1.seq - c0.seq) / 2);
	EXPECT_EQ((c1.seq - c0.seq) / 2, c1.update_count - c0.update_count);

	/* the host's reader once per period: fresh samples, nothing bad */
	gm_reader_init(&r);
	for (i = 0; i < 20; i++) {
		why = gm_read(&r, p, &s);
		if (why == KVMSHARE_METRICS_OK)
			ok++;
		else if (why != KVMSHARE_METRICS_UNCHANGED &&
			 why != KVMSHARE_METRICS_TORN)
			bad++;
		gm_sleep_ms(GM_PERIOD_MS);
	}
	EXPECT_GE(ok, 10);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, r.count[KVMSHARE_METRICS_BACKWARDS]);
	EXPECT_EQ(0, r.count[KVMSHARE_METRICS_CLAMPED]);
	munmap(p, GM_PAGE);
}

/* @lo <= @v <= @hi for a cumulative counter read around the page. */
#define EXPECT_BRACKET(lo, v, hi) do {					\
	long long __v = (long long)(v);					\
									\
	EXPECT_LE((long long)(lo), __v);				\
	EXPECT_GE((long long)(hi), __v);				\
} while (0)

TEST(values_match_proc)
{
	long long total, avail, swap, refault[2], pswpin[2], pswpout[2];
	long long majflt[2], stall[2], oom[2], psi_some[2], psi_full[2];
	long long inflate, deflate;
	struct kvmshare_metrics_page *p, c;
	char bdf[64];
	int i;

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	for (i = 0; i < 2; i++) {
		refault[i] = gm_vmstat_sum("workingset_refault_");
		pswpin[i] = gm_vmstat_sum("pswpin");
		pswpout[i] = gm_vmstat_sum("pswpout");
		majflt[i] = gm_vmstat_sum("pgmajfault");
		stall[i] = gm_vmstat_sum("allocstall_");
		oom[i] = gm_vmstat_sum("oom_kill");
		psi_some[i] = gm_psi_total("some");
		psi_full[i] = gm_psi_total("full");
		if (i)
			break;
		/* a page written after the first reads, copied before the second */
		ASSERT_EQ(0, gm_wait_updates(p, 2, 2000));
		ASSERT_EQ(0, gm_snap(p, &c));
	}
	EXPECT_BRACKET(refault[0], c.refault_total, refault[1]);
	EXPECT_BRACKET(pswpin[0], c.swapin_total, pswpin[1]);
	EXPECT_BRACKET(pswpout[0], c.swapout_total, pswpout[1]);
	EXPECT_BRACKET(majflt[0], c.majfault_total, majflt[1]);
	EXPECT_BRACKET(stall[0], c.allocstall_total, stall[1]);
	EXPECT_BRACKET(oom[0], c.oom_kill_total, oom[1]);
	EXPECT_BRACKET(psi_some[0], c.psi_some_total_us, psi_some[1]);
	EXPECT_BRACKET(psi_full[0], c.psi_full_total_us, psi_full[1]);
	EXPECT_LE(c.psi_full_avg10, c.psi_some_avg10);
	EXPECT_LE(c.psi_some_avg10, KVMSHARE_METRICS_PSI_SCALE);

	total = gm_proc_value("/proc/meminfo", "MemTotal");
	avail = gm_proc_value("/proc/meminfo", "MemAvailable");
	swap = gm_proc_value("/proc/meminfo", "SwapTotal") -
	       gm_proc_value("/proc/meminfo", "SwapFree");
	EXPECT_EQ(total, c.mem_total_kb);
	/* idle VM: MemAvailable within 32 MiB of /proc/meminfo's */
	EXPECT_GT(avail + 32768, c.mem_available_kb);
	EXPECT_LT(avail - 32768, (long long)c.mem_available_kb);
	EXPECT_LE(c.mem_available_kb, c.mem_total_kb);
	EXPECT_EQ(swap, c.swap_used_kb);

	inflate = gm_vmstat_sum("balloon_inflate");
	deflate = gm_vmstat_sum("balloon_deflate");
	EXPECT_EQ((inflate - deflate) * 4, c.balloon_kb);
	munmap(p, GM_PAGE);
}

TEST(memory_hog_lowers_mem_available)
{
	long long size_kb, hog_kb;
	struct kvmshare_metrics_page *p, before, during, after;
	int ready[2], status;
	char bdf[64], b;
	pid_t pid;

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	ASSERT_EQ(0, gm_wait_updates(p, 1, 2000));
	ASSERT_EQ(0, gm_snap(p, &before));
	hog_kb = before.mem_available_kb / 4;
	if (hog_kb > 256 * 1024)
		hog_kb = 256 * 1024;
	ASSERT_GT(hog_kb, 16 * 1024);
	size_kb = hog_kb;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *m = mmap(NULL, size_kb * 1024, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			_exit(1);
		memset(m, 0x5a, size_kb * 1024);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &b, 1));
	close(ready[0]);
	EXPECT_EQ(0, gm_wait_updates(p, 2, 2000));
	EXPECT_EQ(0, gm_snap(p, &during));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	TH_LOG("MemAvailable %llu -> %llu kB with %lld kB held",
	       (unsigned long long)before.mem_available_kb,
	       (unsigned long long)during.mem_available_kb, hog_kb);
	EXPECT_LE(during.mem_available_kb + hog_kb / 2, before.mem_available_kb);

	EXPECT_EQ(0, gm_wait_updates(p, 2, 2000));
	EXPECT_EQ(0, gm_snap(p, &after));
	EXPECT_GE(after.mem_available_kb, during.mem_available_kb + hog_kb / 2);
	munmap(p, GM_PAGE);
}

/* cgroup v2 with the memory controller for a child cgroup, or an error. */
static int gm_memcg_ready(void)
{
	char buf[512];

	if (access(GM_CGROUP "/cgroup.controllers", R_OK) &&
	    mount("none", GM_CGROUP, "cgroup2", 0, NULL))
		return -1;
	if (gm_read_str(GM_CGROUP "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory"))
		return -1;
	if (gm_write_str(GM_CGROUP "/cgroup.subtree_control", "+memory"))
		return -1;
	if (mkdir(GM_CG_TEST, 0755) && errno != EEXIST)
		return -1;
	return gm_write_str(GM_CG_TEST "/memory.high", "16M") ? -1 : 0;
}

/*
 * A child allocating over its cgroup's memory.high is throttled in
 * memory stall (no swap here, so reclaim cannot help): PSI some and full
 * rise, and with a low acute_psi_full the acute flag must follow PSI full
 * avg10 in every update.
 */
TEST(memcg_pressure_raises_psi_and_acute)
{
	unsigned int samples = 0, acute = 0, wrong = 0, max_some = 0;
	const unsigned int thr = 100;	/* 1 % */
	unsigned long long end;
	struct kvmshare_metrics_page *p, prev, cur, first;
	char bdf[64], thr_s[16];
	int status;
	pid_t pid;

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	if (gm_memcg_ready())
		SKIP(goto out, "no cgroup v2 memory controller: %s",
		     strerror(errno));
	snprintf(thr_s, sizeof(thr_s), "%u", thr);
	ASSERT_EQ(0, gm_set_param("acute_psi_full", thr_s));
	ASSERT_EQ(0, gm_wait_updates(p, 2, 2000));
	ASSERT_EQ(0, gm_snap(p, &first));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		size_t len = 96 << 20, i;
		char *m;

		if (gm_write_str(GM_CG_TEST "/cgroup.procs", "0"))
			_exit(1);
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		for (;;)
			for (i = 0; i < len; i += 4096)
				m[i]++;
	}

	prev = first;
	end = gm_now_ms() + 6000;
	while (gm_now_ms() < end) {
		gm_sleep_ms(20);
		if (gm_snap(p, &cur) || cur.seq == prev.seq)
			continue;
		if (cur.psi_some_avg10 > max_some)
			max_some = cur.psi_some_avg10;
		if (cur.flags & KVMSHARE_METRICS_F_ACUTE)
			acute++;
		/* two consecutive updates: the rule must hold exactly */
		if (cur.seq == prev.seq + 2) {
			samples++;
			if (cur.psi_full_avg10 >= thr &&
			    !(cur.flags & KVMSHARE_METRICS_F_ACUTE))
				wrong++;
			if (cur.psi_full_avg10 < thr &&
			    cur.allocstall_total == prev.allocstall_total &&
			    cur.oom_kill_total == prev.oom_kill_total &&
			    (cur.flags & KVMSHARE_METRICS_F_ACUTE))
				wrong++;
		}
		prev = cur;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	rmdir(GM_CG_TEST);

	TH_LOG("PSI some %llu -> %llu us, full %llu -> %llu us, max some avg10 %u, %u acute of %u",
	       (unsigned long long)first.psi_some_total_us,
	       (unsigned long long)prev.psi_some_total_us,
	       (unsigned long long)first.psi_full_total_us,
	       (unsigned long long)prev.psi_full_total_us, max_some, acute,
	       samples);
	EXPECT_TRUE(prev.flags & KVMSHARE_METRICS_F_PSI);
	/* stalled most of 6 s: at least half a second of it in the page */
	EXPECT_GE(prev.psi_some_total_us, first.psi_some_total_us + 500000);
	EXPECT_GT(prev.psi_full_total_us, first.psi_full_total_us);
	EXPECT_GE(max_some, thr);
	EXPECT_GT(acute, 0);
	EXPECT_GE(samples, 10);
	EXPECT_EQ(0, wrong);
out:
	gm_set_param("acute_psi_full", "1000");
	munmap(p, GM_PAGE);
}

TEST(period_setter_checks_bounds)
{
	static const struct {
		const char *val;
		int err;
	} bad[] = {
		{ "0", EINVAL }, { "9", EINVAL }, { "1001", EINVAL },
		{ "-5", EINVAL }, { "abc", EINVAL }, { "\n", EINVAL },
		{ "10x", EINVAL }, { "4294967306", ERANGE },
	};
	struct kvmshare_metrics_page *p, c0, c1;
	unsigned int i, n;
	char bdf[64];

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(bad[i].err, gm_set_param("period_ms", bad[i].val))
			TH_LOG("period_ms=\"%s\"", bad[i].val);
		EXPECT_EQ(GM_PERIOD_MS, gm_param("period_ms"));
	}
	EXPECT_EQ(EINVAL, gm_set_param("acute_psi_full", "0"));
	EXPECT_EQ(EINVAL, gm_set_param("acute_psi_full", "10001"));
	EXPECT_EQ(1000, gm_param("acute_psi_full"));
	ASSERT_EQ(0, gm_wait_updates(p, 1, 2000));
	ASSERT_EQ(0, gm_snap(p, &c0));
	EXPECT_EQ(GM_PERIOD_MS, c0.interval_ms);

	/* bounds are inclusive; a shorter period takes effect at once */
	EXPECT_EQ(0, gm_set_param("period_ms", "1000"));
	EXPECT_EQ(0, gm_set_param("period_ms", "10"));
	EXPECT_EQ(0, gm_set_param("period_ms", "20"));
	EXPECT_EQ(20, gm_param("period_ms"));
	ASSERT_EQ(0, gm_wait_updates(p, 2, 1000));
	ASSERT_EQ(0, gm_snap(p, &c0));
	EXPECT_EQ(20, c0.interval_ms);
	gm_sleep_ms(1000);
	ASSERT_EQ(0, gm_snap(p, &c1));
	n = (c1.seq - c0.seq) / 2;
	/* 50 due; more than a 100 ms period could give */
	EXPECT_GE(n, 25) TH_LOG("only %u updates in 1 s at 20 ms", n);

	EXPECT_EQ(0, gm_set_param("period_ms", "100"));
	ASSERT_EQ(0, gm_wait_updates(p, 2, 1000));
	ASSERT_EQ(0, gm_snap(p, &c0));
	EXPECT_EQ(GM_PERIOD_MS, c0.interval_ms);
	munmap(p, GM_PAGE);
}

TEST(bad_period_at_load_is_refused)
{
	ASSERT_EQ(0, gm_unload());
	EXPECT_NE(0, gm_load("period_ms=5"));
	EXPECT_FALSE(gm_loaded());
	EXPECT_NE(0, gm_load("period_ms=2000"));
	EXPECT_FALSE(gm_loaded());
	EXPECT_EQ(0, gm_load("period_ms=50"));
	EXPECT_EQ(50, gm_param("period_ms"));
	EXPECT_EQ(0, gm_unload());
}

TEST(unload_marks_stopping)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page *p, live, stopped, later;
	char bdf[64];

	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	ASSERT_EQ(0, gm_snap(p, &live));
	ASSERT_EQ(0, gm_unload());
	EXPECT_FALSE(gm_loaded());
	ASSERT_EQ(0, gm_snap(p, &stopped));
	EXPECT_TRUE(stopped.flags & KVMSHARE_METRICS_F_STOPPING);
	EXPECT_GT(stopped.seq, live.seq);
	EXPECT_EQ(KVMSHARE_METRICS_MAGIC, stopped.magic);
	gm_reader_init(&r);
	EXPECT_EQ(KVMSHARE_METRICS_STOPPING, gm_read(&r, p, &s));
	EXPECT_FALSE(s.valid);

	gm_sleep_ms(3 * GM_PERIOD_MS);
	ASSERT_EQ(0, gm_snap(p, &later));
	EXPECT_EQ(stopped.seq, later.seq) TH_LOG("updates after unload");
	munmap(p, GM_PAGE);

	/* loaded again: the count goes on, the flag clears */
	ASSERT_EQ(0, gm_setup(bdf, sizeof(bdf), &p));
	ASSERT_EQ(0, gm_snap(p, &later));
	EXPECT_GT(later.seq, stopped.seq);
	EXPECT_FALSE(later.flags & KVMSHARE_METRICS_F_STOPPING);
	EXPECT_EQ(KVMSHARE_METRICS_OK, gm_read(&r, p, &s));
	EXPECT_TRUE(s.valid);
	munmap(p, GM_PAGE);
}

/* Shared memory that is neither zero nor ours is never written. */
TEST(foreign_memory_left_alone)
{
	unsigned char pattern[GM_PAGE], seen[GM_PAGE];
	char bdf[64], bound[64];
	struct kvmshare_metrics_page *p;
	unsigned int i;

	ASSERT_EQ(0, gm_ivshmem(bdf, sizeof(bdf)));
	ASSERT_EQ(0, gm_unload());
	for (i = 0; i < GM_PAGE; i++)
		pattern[i] = (unsigned char)(i * 7 + 1);
	p = gm_map(bdf, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memcpy(p, pattern, GM_PAGE);
	munmap(p, GM_PAGE);

	ASSERT_EQ(0, gm_load(""));
	EXPECT_NE(0, gm_bound(bound, sizeof(bound)))
		TH_LOG("bound %s although its memory is foreign", bound);
	gm_sleep_ms(3 * GM_PERIOD_MS);
	p = gm_map(bdf, PROT_READ);
	ASSERT_NE(NULL, p);
	memcpy(seen, p, GM_PAGE);
	munmap(p, GM_PAGE);
	EXPECT_EQ(0, memcmp(pattern, seen, GM_PAGE));
	ASSERT_EQ(0, gm_unload());

	/* zeroed, the page is taken again */
	p = gm_map(bdf, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memset(p, 0, GM_PAGE);
	munmap(p, GM_PAGE);
	ASSERT_EQ(0, gm_load(""));
	EXPECT_EQ(0, gm_bound(bound, sizeof(bound)));
	ASSERT_EQ(0, gm_unload());
}

TEST(kernel_log_clean)
{
	static const char * const pat[] = {
		"WARNING:", "BUG:", "Call Trace:", "conflicting memory types",
		"map pfn expected", "ioremap error", "kernel read not supported",
	};
	char line[512];
	int bad = 0;
	unsigned int i;
	FILE *f;

	gm_unload();
	f = popen("dmesg", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, GM_MOD))
			printf("# %s", line);
		for (i = 0; i < ARRAY_SIZE(pat); i++)
			if (strstr(line, pat[i])) {
				printf("# bad: %s", line);
				bad++;
			}
	}
	pclose(f);
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
