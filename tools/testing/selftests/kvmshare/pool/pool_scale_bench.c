// SPDX-License-Identifier: GPL-2.0
/*
 * pool scale benchmark (make bench), in the test VM: how the pool's costs
 * grow with the number of partitions and the size of the pool.
 *
 *   bench: pool.policy_step_per_part_100_vs_10 R
 *   bench: pool.policy_step_per_part_1000_vs_10 R (goal <= 1.5)
 *   bench: pool.meta_bytes_per_resident_page B (goal <= 16)
 *   bench: pool.meta_bytes_per_pagedout_page B (goal <= 16)
 *   bench: pool.meta_resident_vs_shmem R
 *   bench: pool.evict_per_page_1g_vs_64m R (goal <= 1.3)
 *
 * Policy period: three pools of 10, 100 and 1,000 partitions, each with
 * a control file holding a valid guest metrics page (rewritten before
 * every measurement, as a guest would have), resident pages, weights and
 * entitlements that differ from partition to partition, and pool sizes
 * below the partitions' sum, so that the engine has something to share.
 * The pools take turns, the order rotating every round: one pool's policy
 * is switched on (policy_period_ms 100) for one step and off again, and
 * the kernel's own counters (policy_steps, policy_step_ns) give the time
 * of that step, timed in the kernel from the policy's lock to the last
 * notification. R is the fastest step's time per partition with N
 * partitions over that with 10, over POL_ROUNDS steps each: the test VM
 * shares its host, and a step of 20 ms is preempted by the host in most
 * rounds where one of 0.1 ms is not, so a median would count the host's
 * preemptions against the larger pool.
 *
 * Metadata: what the kernel allocates for N pages of a partition,
 * measured, not computed: the growth of the radix_tree_node slab (the
 * partition's page array; objects in use times their size) and of
 * Slab + VmallocUsed (everything else, /proc/meminfo), the larger of the
 * two per page. Resident: after fallocate() of N pages. Paged out: a page
 * that left memory keeps a value entry in the same array; it is measured
 * on all-zero pages dropped by eviction (a store's own page cache would be
 * counted in the figure otherwise), and a page on the store also holds a
 * bit of the pool's block map, measured as the growth of Slab + VmallocUsed
 * between attaching a service with 2^16 and with 2^25 blocks to new pools.
 * struct page, which every page frame has whether in the pool or not, is
 * no pool metadata. Baseline: a memfd (shmem) of N pages after fallocate(),
 * measured the same way.
 *
 * Eviction: two pools side by side, 64 MiB and 1 GiB (which fits the
 * bench VM's 3 GiB beside the stores; scripts/suites/pool.conf), each
 * one partition of its size with every page written, each with its own
 * in-test paging service (lib/kspager.c, a memfd store, one thread). Both
 * lower their target by EV_CHUNK pages in turns, the order flipping every
 * chunk; a chunk's time runs from the target set to the pages gone. R is
 * the median over the chunks of the time per page on the 1 GiB pool over
 * that on the 64 MiB pool: 1.0 means eviction costs the same per page
 * however large the pool.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvmshare_metrics.h>

#include "../lib/ksutil.h"
#include "../lib/kspager.h"

/* A pool mounted for the bench; its name is its sysfs directory. */
struct pool {
	char dir[64];
	char name[32];
};

static int pool_mount(struct pool *p, const char *tag, uint64_t pages)
{
	char opts[128];
	int ret;

	snprintf(p->name, sizeof(p->name), "kssc%s%d", tag, getpid());
	snprintf(opts, sizeof(opts), "size=%lluk,name=%s",
		 (unsigned long long)pages * 4, p->name);
	ret = ks_pool_mount(p->dir, sizeof(p->dir), opts);
	if (ret)
		printf("# mount %s: %s\n", p->name, strerror(-ret));
	return ret;
}

static int sysfs_set(struct pool *p, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/fs/kvmshare/%s/%s", p->name, file);
	return ks_write_file(path, val);
}

/* Set partition @fd's target (0: none); 0 or -errno. */
static int set_target(int fd, uint64_t pages)
{
	struct kvmshare_part_attr a = {
		.flags = KVMSHARE_ATTR_TARGET,
		.target_pages = pages,
	};

	return ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a) ? -errno : 0;
}

/* Policy period */

#define NR_SCALES	3
#define STEPS		1
#define POL_ROUNDS	24
#define PART_PAGES	1024

static const unsigned int scale_parts[NR_SCALES] = { 10, 100, 1000 };

struct scale {
	struct pool pool;
	unsigned int n;
	double ns[POL_ROUNDS];		/* step time per round */
};

/* Resident pages of partition @i: 4 to 32. */
static uint64_t part_resident(unsigned int i)
{
	return 4 * (1 + i % 8);
}

/*
 * Write guest metrics into the control file of partition @i of @s, as
 * update @gen of its guest. (Not kept open: 1,000 of them and their
 * partitions would pass the VM's limit of open files.) 0 or -1.
 */
static int metrics_write(struct scale *s, unsigned int i, unsigned int gen)
{
	struct kvmshare_metrics_page m;
	uint64_t total_kb = PART_PAGES * 4, used_kb = part_resident(i) * 4;
	int stressed = i % 5 == 0;
	char path[128];
	ssize_t n;
	int fd;

	memset(&m, 0, sizeof(m));
	m.magic = KVMSHARE_METRICS_MAGIC;
	m.version = KVMSHARE_METRICS_VERSION;
	m.size = sizeof(m);
	m.seq = 2 * gen;
	m.flags = KVMSHARE_METRICS_F_PSI;
	m.interval_ms = 100;
	m.psi_some_avg10 = stressed ? 2000 : 0;
	m.psi_some_total_us = stressed ? gen * 20000ULL : 0;
	m.mem_total_kb = total_kb;
	m.mem_available_kb = stressed ? 64 : total_kb - used_kb;
	m.refault_total = stressed ? gen * 10ULL : 0;
	m.update_count = gen;
	snprintf(path, sizeof(path), "%s/ctl%u", s->pool.dir, i);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = pwrite(fd, &m, sizeof(m), 0);
	close(fd);
	return n == sizeof(m) ? 0 : -1;
}

/* A pool of @n partitions, each with its control file. 0 or -1. */
static int scale_setup(struct scale *s, unsigned int n)
{
	struct kvmshare_metrics_bind b;
	char name[32], tag[16];
	uint64_t pages = 0;
	unsigned int i;
	int fd, ctl;

	s->n = n;
	for (i = 0; i < n; i++)
		pages += part_resident(i) + 1;
	snprintf(tag, sizeof(tag), "p%u", n);
	/* Room for what they hold now, less than what they could use. */
	if (pool_mount(&s->pool, tag, pages + pages / 4))
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "vm%u", i);
		fd = ks_part_create(s->pool.dir, name, PART_PAGES * KS_PAGE);
		snprintf(name, sizeof(name), "ctl%u", i);
		ctl = ks_part_create(s->pool.dir, name, KS_PAGE);
		memset(&b, 0, sizeof(b));
		b.fd = ctl;
		if (fd < 0 || ctl < 0 || metrics_write(s, i, 1) ||
		    fallocate(fd, 0, 0, part_resident(i) * KS_PAGE) ||
		    ioctl(fd, KVMSHARE_IOC_METRICS_BIND, &b) ||
		    ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT |
				KVMSHARE_ATTR_WEIGHT, i % 3 ? 0 : 2, 0,
				100 * (1 + i % 4))) {
			printf("# %s, partition %u: %s\n", s->pool.name, i,
			       strerror(errno));
			if (ctl >= 0)
				close(ctl);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(ctl);
		close(fd);
	}
	return sysfs_set(&s->pool, "policy_period_ms", "100");
}

/* Run STEPS steps of @s's policy; the mean step time in ns, or -1. */
static double scale_measure(struct scale *s, unsigned int gen)
{
	long long st0, ns0, st1, ns1;
	unsigned int i;
	int k;

	for (i = 0; i < s->n; i++)
		if (metrics_write(s, i, gen))
			return -1;
	st0 = ks_sysfs_num("%s/policy_steps", s->pool.name);
	ns0 = ks_sysfs_num("%s/policy_step_ns", s->pool.name);
	if (st0 < 0 || ns0 < 0 || sysfs_set(&s->pool, "policy_enabled", "1"))
		return -1;
	for (k = 0; k < 6000; k++) {
		if (ks_sysfs_num("%s/policy_steps", s->pool.name) >=
		    st0 + STEPS)
			break;
		usleep(20000);
	}
	/* Off: once the write returns, no step runs (the policy's lock). */
	if (sysfs_set(&s->pool, "policy_enabled", "0"))
		return -1;
	st1 = ks_sysfs_num("%s/policy_steps", s->pool.name);
	ns1 = ks_sysfs_num("%s/policy_step_ns", s->pool.name);
	if (st1 < st0 + STEPS || ns1 <= ns0)
		return -1;
	return (double)(ns1 - ns0) / (st1 - st0);
}

/* Unmounting frees every partition at once. */
static void scale_teardown(struct scale *s)
{
	if (s->pool.dir[0])
		ks_pool_umount(s->pool.dir);
}

static double min_of(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static int bench_policy(void)
{
	static struct scale sc[NR_SCALES];
	double best[NR_SCALES], m[POL_ROUNDS];
	int i, j, r, ok = 1;

	for (i = 0; i < NR_SCALES && ok; i++)
		ok = !scale_setup(&sc[i], scale_parts[i]);
	for (r = 0; r < POL_ROUNDS && ok; r++) {
		for (j = 0; j < NR_SCALES && ok; j++) {
			i = (r + j) % NR_SCALES;
			sc[i].ns[r] = scale_measure(&sc[i], r + 2);
			ok = sc[i].ns[r] > 0;
		}
	}
	for (i = 0; i < NR_SCALES; i++)
		scale_teardown(&sc[i]);
	ks_result(ok, "policy steps over 10, 100 and 1000 partitions");
	if (!ok)
		return -1;
	for (i = 0; i < NR_SCALES; i++) {
		memcpy(m, sc[i].ns, sizeof(m));
		best[i] = min_of(m, POL_ROUNDS) / sc[i].n;
		printf("# %u partitions, %d steps: fastest %.0f us, median %.0f us\n",
		       sc[i].n, POL_ROUNDS, best[i] * sc[i].n / 1e3,
		       ks_median(m, POL_ROUNDS) / 1e3);
		printf("#   per partition: fastest %.2f us, median %.2f us\n",
		       best[i] / 1e3, ks_median(m, POL_ROUNDS) / 1e3 / sc[i].n);
	}
	printf("bench: pool.policy_step_per_part_100_vs_10 %.3f\n",
	       best[1] / best[0]);
	printf("bench: pool.policy_step_per_part_1000_vs_10 %.3f (goal <= 1.5)\n",
	       best[2] / best[0]);
	return 0;
}

/* Metadata */

#define META_PAGES	(256 * 1024UL)		/* 1 GiB */

/* Kernel memory now: radix_tree_node bytes in use, Slab + VmallocUsed. */
struct kmem {
	long long radix;
	long long other;
};

static int kmem_read(struct kmem *k)
{
	long long active = -1, size = -1;
	char line[512], name[64];
	FILE *f;

	f = fopen("/proc/slabinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld %*d %lld", name, &active,
			   &size) == 3 && !strcmp(name, "radix_tree_node"))
			break;
		active = -1;
	}
	if (f)
		fclose(f);
	k->radix = active * size;
	k->other = (ks_file_num("/proc/meminfo", "Slab:") +
		    ks_file_num("/proc/meminfo", "VmallocUsed:")) * 1024;
	return active < 0 ? -1 : 0;
}

/* Bytes per page grown from @a to @b for @n pages: the larger measure. */
static double kmem_per_page(const struct kmem *a, const struct kmem *b,
			    uint64_t n)
{
	double radix = (double)(b->radix - a->radix) / n;
	double all = (double)(b->other - a->other) / n;

	printf("#   radix_tree_node %.2f B/page, Slab + VmallocUsed %.2f B/page\n",
	       radix, all);
	return radix > all ? radix : all;
}

/* Growth of Slab + VmallocUsed when a service with @blocks attaches. */
static long long attach_bytes(uint64_t blocks)
{
	struct ks_pager pg = { .fd = -1 };
	struct kmem a, b;
	struct pool p;
	int ret;

	if (pool_mount(&p, "b", 1024))
		return -1;
	kmem_read(&a);
	ret = ks_pager_attach(&pg, p.dir, blocks, 64, 16, 0, -1);
	kmem_read(&b);
	if (!ret)
		ks_pager_detach(&pg);
	ks_pool_umount(p.dir);
	if (ret) {
		printf("# attach %llu blocks: %s\n", (unsigned long long)blocks,
		       strerror(-ret));
		return -1;
	}
	return b.other - a.other;
}

static int bench_meta(void)
{
	double res = 0, out = 0, shm = 0, map;
	long long small, big;
	struct kmem k0, k1, k2;
	struct pool p;
	int fd, ok = 0;

	/*
	 * The block map: a bit per block of the store, allocated on attach;
	 * first, and after a pause, so that what the pools before freed
	 * through RCU is not returned in the middle of the measure.
	 */
	sleep(3);
	small = attach_bytes(1UL << 16);
	big = attach_bytes(1UL << 25);
	map = (double)(big - small) / ((1UL << 25) - (1UL << 16));
	printf("# block map: attach with 2^16 blocks %lld B, 2^25 blocks %lld B: %.3f B/block\n",
	       small, big, map);

	if (pool_mount(&p, "m", META_PAGES + 256))
		goto out;
	fd = ks_part_create(p.dir, "meta", META_PAGES * KS_PAGE);
	if (fd < 0 || kmem_read(&k0))
		goto umount;
	if (fallocate(fd, 0, 0, META_PAGES * KS_PAGE))
		goto close;
	kmem_read(&k1);
	printf("# %lu resident pages:\n", META_PAGES);
	res = kmem_per_page(&k0, &k1, META_PAGES);
	/* All zero: eviction drops them without a service. */
	if (set_target(fd, 1) || ks_wait_resident(fd, 1, 600))
		goto close;
	kmem_read(&k2);
	printf("# %lu pages dropped by eviction:\n", META_PAGES);
	out = kmem_per_page(&k0, &k2, META_PAGES);
	ok = 1;
close:
	if (fd >= 0)
		close(fd);
umount:
	ks_pool_umount(p.dir);
out:
	/* Baseline: shmem's page cache for as many pages. */
	fd = memfd_create("meta-shmem", MFD_CLOEXEC);
	if (ok)
		ok = fd >= 0 && !kmem_read(&k0) &&
		     !fallocate(fd, 0, 0, META_PAGES * KS_PAGE) &&
		     !kmem_read(&k1);
	if (ok) {
		printf("# shmem, %lu pages:\n", META_PAGES);
		shm = kmem_per_page(&k0, &k1, META_PAGES);
	}
	if (fd >= 0)
		close(fd);
	ok = ok && small >= 0 && big > small && shm > 0;
	ks_result(ok, "metadata of a partition of 1 GiB, the block map and shmem");
	if (!ok)
		return -1;
	printf("bench: pool.meta_bytes_per_resident_page %.2f (goal <= 16)\n",
	       res);
	printf("bench: pool.meta_bytes_per_pagedout_page %.2f (goal <= 16)\n",
	       out + map);
	printf("bench: pool.meta_resident_vs_shmem %.3f\n", res / shm);
	return 0;
}

/* Eviction */

#define EV_SMALL	(64 * 256UL)		/* 64 MiB */
#define EV_BIG		(1024 * 256UL)		/* 1 GiB */
#define EV_CHUNK	512UL
#define EV_CHUNKS	30

struct ev_side {
	const char *what;
	struct pool pool;
	struct ks_pager pager;
	uint64_t pages;
	uint64_t resident;
	int fd;
};

/* A pool holding one partition of @pages written pages; 0 or -1. */
static int ev_setup(struct ev_side *s, const char *tag, uint64_t pages)
{
	uint64_t i;
	uint8_t *map;
	int ret;

	s->pages = pages;
	s->fd = -1;
	s->pager.fd = -1;
	/* Above the low watermark (1/64 of the pool) kept free for faults. */
	if (pool_mount(&s->pool, tag, pages + pages / 16 + 64))
		return -1;
	/* A block per page: the store is as large as the partition. */
	ret = ks_pager_attach(&s->pager, s->pool.dir, pages, 256, 64, 0, -1);
	if (ret || ks_pager_run(&s->pager)) {
		printf("# %s: service: %s\n", s->what, strerror(-ret));
		return -1;
	}
	s->fd = ks_part_create(s->pool.dir, "vm", pages * KS_PAGE);
	if (s->fd < 0)
		return -1;
	map = mmap(NULL, pages * KS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   s->fd, 0);
	if (map == MAP_FAILED)
		return -1;
	/* No page all zero: each must go to the store. */
	for (i = 0; i < pages; i++)
		*(uint64_t *)(map + i * KS_PAGE) = i * 0x9e3779b97f4a7c15ULL | 1;
	munmap(map, pages * KS_PAGE);
	s->resident = pages;
	return 0;
}

/* Evict EV_CHUNK pages with a lower target; the time in ns, or 0. */
static uint64_t ev_chunk(struct ev_side *s)
{
	struct kvmshare_part_stats st;
	uint64_t want = s->resident - EV_CHUNK, t0, ns;
	int i;

	t0 = ks_now_ns();
	if (set_target(s->fd, want))
		return 0;
	for (i = 0; i < 3000000; i++) {
		if (!ks_part_stats(s->fd, &st) && st.resident_pages <= want)
			break;
		usleep(200);
	}
	ns = ks_now_ns() - t0;
	if (st.resident_pages > want || st.pageout_errors) {
		printf("# %s: resident %llu, want %llu, %llu page-out errors\n",
		       s->what, (unsigned long long)st.resident_pages,
		       (unsigned long long)want,
		       (unsigned long long)st.pageout_errors);
		return 0;
	}
	s->resident = st.resident_pages;
	return ns;
}

static void ev_teardown(struct ev_side *s)
{
	if (s->fd >= 0)
		close(s->fd);
	ks_pager_detach(&s->pager);
	if (s->pool.dir[0])
		ks_pool_umount(s->pool.dir);
}

static int bench_evict(void)
{
	struct ev_side side[2] = {
		{ .what = "64 MiB" }, { .what = "1 GiB" },
	};
	double ratio[EV_CHUNKS], per[2] = { 0, 0 };
	uint64_t t[2];
	int c, k, i, ok;

	ok = !ev_setup(&side[0], "e64m", EV_SMALL) &&
	     !ev_setup(&side[1], "e1g", EV_BIG);
	for (c = 0; c < EV_CHUNKS && ok; c++) {
		for (k = 0; k < 2 && ok; k++) {
			i = (c + k) % 2;
			t[i] = ev_chunk(&side[i]);
			ok = t[i] > 0;
		}
		if (!ok)
			break;
		ratio[c] = (double)t[1] / t[0];
		per[0] += t[0] / 1e3 / EV_CHUNK;
		per[1] += t[1] / 1e3 / EV_CHUNK;
	}
	for (i = 0; i < 2; i++) {
		if (ok)
			printf("# %s pool: %.1f us per page evicted (mean), %llu page-outs\n",
			       side[i].what, per[i] / EV_CHUNKS,
			       (unsigned long long)side[i].pager.outs);
		ev_teardown(&side[i]);
	}
	ks_result(ok, "eviction from a 64 MiB and a 1 GiB pool");
	if (!ok)
		return -1;
	printf("bench: pool.evict_per_page_1g_vs_64m %.3f (goal <= 1.3)\n",
	       ks_median(ratio, EV_CHUNKS));
	return 0;
}

int main(void)
{
	printf("TAP version 13\n1..4\n");
	bench_policy();
	bench_meta();
	bench_evict();
	ks_result(ks_klog_bad() == 0, "no warning in the kernel log");
	return ks_failed() ? 1 : 0;
}
