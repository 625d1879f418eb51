// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA placement (issue #18): pages of a partition go where the NUMA
 * policy of the mapping they are faulted through puts them, as QEMU's
 * memory-backend-file host-nodes/policy set it with mbind(); a page paged
 * back in by a fault goes there again; a page held for an entitlement is
 * swapped for a placed one. Needs two NUMA nodes (the suite numa boots
 * the test VM with them); skipped with fewer.
 *
 * The node of each page is read with move_pages(2) without target nodes.
 *
 * Fixture numa_huge does the same on a pool mounted huge=on, whose faults
 * make 2 MiB units: a unit is allocated by the policy of the mapping at
 * its 2 MiB-aligned address, so all its 512 pages share a node, and
 * MPOL_INTERLEAVE alternates nodes per unit, not per page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define POOL_MB		16
#define PAGES		512UL
#define HALF		(PAGES / 2)
#define UNIT		512UL		/* 4 KiB pages in a 2 MiB unit */
#define HUGE_UNITS	4UL
#define HUGE_PAGES	(HUGE_UNITS * UNIT)
#define HUGE_POOL_MB	32

/* A pool, its paging service and a partition "vm" mapped whole. */
struct numa_env {
	char dir[64];
	char name[32];
	struct ks_pager pager;
	int fd;
	uint8_t *map;
	unsigned long pages;
	int klog;
};

FIXTURE(numa) {
	struct numa_env e;
};

FIXTURE(numa_huge) {
	struct numa_env e;
};

static int nr_nodes(void)
{
	char path[64];
	int n;

	for (n = 0; n < 64; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 n);
		if (access(path, F_OK))
			break;
	}
	return n;
}

/* mbind() [@p, @p + @len) to @mode over the nodes in @mask, with @flags. */
static int policy(void *p, size_t len, int mode, unsigned long mask,
		  unsigned int flags)
{
	return syscall(SYS_mbind, p, len, mode, &mask, 8 * sizeof(mask),
		       flags) ? -errno : 0;
}

/* The node of each of the @n pages from @p into @node; 0 or -errno. */
static int nodes_of(uint8_t *p, unsigned long n, int *node)
{
	void *pages[HUGE_PAGES];
	unsigned long i;

	if (n > HUGE_PAGES)
		return -EINVAL;
	for (i = 0; i < n; i++)
		pages[i] = p + i * KS_PAGE;
	return syscall(SYS_move_pages, 0, n, pages, NULL, node, 0) ?
	       -errno : 0;
}

/* Write page @i's number into each of @n pages, or check it is there. */
static void fill_n(uint8_t *map, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		((uint64_t *)map)[i * 512] = i + 1;
}

static unsigned long bad_data_n(uint8_t *map, unsigned long n)
{
	unsigned long i, bad = 0;

	for (i = 0; i < n; i++)
		bad += ((uint64_t *)map)[i * 512] != i + 1;
	return bad;
}

static void fill(uint8_t *map)
{
	fill_n(map, PAGES);
}

static unsigned long bad_data(uint8_t *map)
{
	return bad_data_n(map, PAGES);
}

/*
 * Pages not on the node @want(i) says, printed (the first few). Each page
 * is read first: move_pages() sees only mapped pages, and the pool's
 * sampling of the active set unmaps pages now and then (-ENOENT), so a
 * look that finds pages unmapped is repeated.
 */
static unsigned long misplaced_n(uint8_t *map, unsigned long n,
				 int (*want)(unsigned long))
{
	int node[HUGE_PAGES], ret, tries;
	unsigned long i, bad = 0, unmapped = 1;

	for (tries = 0; unmapped && tries < 10; tries++) {
		for (i = 0; i < n; i++)
			__atomic_load_n((uint64_t *)map + i * 512,
					__ATOMIC_RELAXED);
		ret = nodes_of(map, n, node);
		if (ret) {
			ksft_print_msg("move_pages: %s\n", strerror(-ret));
			return n;
		}
		for (i = 0, unmapped = 0; i < n; i++)
			unmapped += node[i] == -ENOENT;
	}
	for (i = 0; i < n; i++) {
		if (node[i] == want(i))
			continue;
		if (bad++ < 4)
			ksft_print_msg("page %lu on node %d, want %d\n", i,
				       node[i], want(i));
	}
	return bad;
}

static unsigned long misplaced(uint8_t *map, int (*want)(unsigned long))
{
	return misplaced_n(map, PAGES, want);
}

static int halves(unsigned long i)
{
	return i >= HALF;
}

static int alternate(unsigned long i)
{
	return i % 2;
}

/*
 * Mount a pool named PREFIX<pid> of @pool_mb MiB with @opts, attach a
 * paging service, create the partition of @pages and map it.
 */
static void env_up(struct __test_metadata *_metadata, struct numa_env *e,
		   const char *prefix, int pool_mb, const char *opts,
		   unsigned long pages)
{
	char o[128];

	e->map = NULL;
	e->fd = -1;
	e->dir[0] = '\0';
	e->pages = pages;
	if (nr_nodes() < 2)
		SKIP(return, "needs two NUMA nodes (suite numa)");
	snprintf(e->name, sizeof(e->name), "%s%d", prefix, getpid());
	snprintf(o, sizeof(o), "size=%dM,name=%s%s", pool_mb, e->name, opts);
	ASSERT_EQ(0, ks_pool_mount(e->dir, sizeof(e->dir), o));
	e->klog = ks_klog_bad();
	ASSERT_EQ(0, ks_pager_attach(&e->pager, e->dir, 4 * pages, 256, 64, 0,
				     -1));
	ASSERT_EQ(0, ks_pager_run(&e->pager));
	e->fd = ks_part_create(e->dir, "vm", pages * KS_PAGE);
	ASSERT_GE(e->fd, 0);
	e->map = mmap(NULL, pages * KS_PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, e->fd, 0);
	ASSERT_NE(MAP_FAILED, e->map);
}

static void env_down(struct __test_metadata *_metadata, struct numa_env *e)
{
	char path[128];

	if (!e->dir[0])
		return;
	if (e->map && e->map != MAP_FAILED)
		munmap(e->map, e->pages * KS_PAGE);
	close(e->fd);
	snprintf(path, sizeof(path), "%s/vm", e->dir);
	unlink(path);
	ks_sysfs_settle(0, 5, "%s/blocks_used", e->name);
	ks_pager_detach(&e->pager);
	EXPECT_EQ(0, ks_pool_umount(e->dir));
	EXPECT_EQ(e->klog, ks_klog_bad());
}

FIXTURE_SETUP(numa)
{
	env_up(_metadata, &self->e, "ksnuma", POOL_MB, "", PAGES);
}

FIXTURE_TEARDOWN(numa)
{
	env_down(_metadata, &self->e);
}

/*
 * QEMU's call (MPOL_MF_STRICT | MPOL_MF_MOVE, before the guest touches
 * its RAM): the first half bound to node 0, the second to node 1. Then
 * every page is paged out and faulted back in: each returns to its node.
 */
TEST_F(numa, bound_halves_stay_on_their_node_across_paging)
{
	struct kvmshare_part_stats st;

	ASSERT_EQ(0, policy(self->e.map, HALF * KS_PAGE, MPOL_BIND, 1,
			    MPOL_MF_STRICT | MPOL_MF_MOVE));
	ASSERT_EQ(0, policy(self->e.map + HALF * KS_PAGE, HALF * KS_PAGE,
			    MPOL_BIND, 2, MPOL_MF_STRICT | MPOL_MF_MOVE));
	fill(self->e.map);
	EXPECT_EQ(0, misplaced(self->e.map, halves));

	ASSERT_EQ(0, ks_evict_all(self->e.fd));
	EXPECT_EQ(0, bad_data(self->e.map));
	EXPECT_EQ(0, misplaced(self->e.map, halves));
	ASSERT_EQ(0, ks_part_stats(self->e.fd, &st));
	EXPECT_GE(st.pageins, PAGES / 2);
	EXPECT_EQ(0, st.unplaced_pages);
}

/*
 * The policy is the mapping's that allocates the page: pages faulted in
 * through a second mapping follow its policy, not the first mapping's
 * (bound the other way round), and stay where they are when the first
 * mapping faults on them.
 */
TEST_F(numa, the_faulting_mapping_decides)
{
	uint8_t *other;

	other = mmap(NULL, PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, self->e.fd, 0);
	ASSERT_NE(MAP_FAILED, other);
	ASSERT_EQ(0, policy(self->e.map, HALF * KS_PAGE, MPOL_BIND, 2, 0));
	ASSERT_EQ(0, policy(self->e.map + HALF * KS_PAGE, HALF * KS_PAGE,
			    MPOL_BIND, 1, 0));
	ASSERT_EQ(0, policy(other, HALF * KS_PAGE, MPOL_BIND, 1, 0));
	ASSERT_EQ(0, policy(other + HALF * KS_PAGE, HALF * KS_PAGE, MPOL_BIND,
			    2, 0));
	fill(other);
	EXPECT_EQ(0, misplaced(other, halves));
	/* Mapped into the first mapping as they are: not moved. */
	EXPECT_EQ(0, bad_data(self->e.map));
	EXPECT_EQ(0, misplaced(self->e.map, halves));
	/*
	 * Nor by mbind() with MPOL_MF_MOVE: the pool's pages are not on
	 * the LRU and cannot be migrated (6.1.0-57 returns 0 for them).
	 */
	ksft_print_msg("mbind(MPOL_MF_STRICT | MPOL_MF_MOVE) over them: %d\n",
		       policy(self->e.map, HALF * KS_PAGE, MPOL_BIND, 2,
			      MPOL_MF_STRICT | MPOL_MF_MOVE));
	EXPECT_EQ(0, misplaced(self->e.map, halves));
	munmap(other, PAGES * KS_PAGE);
}

/* MPOL_INTERLEAVE over both nodes: page i on node i % 2. */
TEST_F(numa, interleave_alternates_nodes)
{
	ASSERT_EQ(0, policy(self->e.map, PAGES * KS_PAGE, MPOL_INTERLEAVE, 3, 0));
	fill(self->e.map);
	EXPECT_EQ(0, misplaced(self->e.map, alternate));
	ASSERT_EQ(0, ks_evict_all(self->e.fd));
	EXPECT_EQ(0, bad_data(self->e.map));
	EXPECT_EQ(0, misplaced(self->e.map, alternate));
}

/*
 * Below its entitlement a partition gets the pages the pool holds for it
 * (allocated by a worker, on any node): with a policy on the mapping they
 * are swapped for placed pages while the host has them (the held ones
 * go back to the pool).
 */
TEST_F(numa, held_pages_are_swapped_for_placed_ones)
{
	struct kvmshare_part_stats st;

	ASSERT_EQ(0, ks_part_set(self->e.fd, KVMSHARE_ATTR_ENTITLEMENT, PAGES,
				 0, 0));
	ASSERT_EQ(0, policy(self->e.map, HALF * KS_PAGE, MPOL_BIND, 1, 0));
	ASSERT_EQ(0, policy(self->e.map + HALF * KS_PAGE, HALF * KS_PAGE,
			    MPOL_BIND, 2, 0));
	fill(self->e.map);
	EXPECT_EQ(0, misplaced(self->e.map, halves));
	ASSERT_EQ(0, ks_part_stats(self->e.fd, &st));
	EXPECT_EQ(PAGES, st.resident_pages);
	EXPECT_EQ(0, st.unplaced_pages);
	EXPECT_EQ(0, ks_sysfs_num("%s/partitions/vm/unplaced_pages",
				  self->e.name));
}

/*
 * The same on a huge=on pool (2 MiB units), with its own paging service:
 * HUGE_UNITS units, the mapping 2 MiB-aligned (the pool's
 * get_unmapped_area gives that to mmap(NULL)).
 */
FIXTURE_SETUP(numa_huge)
{
	env_up(_metadata, &self->e, "ksnumah", HUGE_POOL_MB, ",huge=on",
	       HUGE_PAGES);
	ASSERT_EQ(0, (uintptr_t)self->e.map % (UNIT * KS_PAGE));
}

FIXTURE_TEARDOWN(numa_huge)
{
	env_down(_metadata, &self->e);
}

static long long huge_cnt(const char *pool, const char *what)
{
	return ks_sysfs_num("%s/partitions/vm/%s", pool, what);
}

static int unit_halves(unsigned long i)
{
	return i >= HUGE_PAGES / 2;
}

static int unit_alternate(unsigned long i)
{
	return (i / UNIT) % 2;
}

/*
 * The first two units bound to node 0, the last two to node 1, as QEMU
 * binds a backend: every unit (all its pages) on its node, made as units;
 * paged out whole (fadvise: a target keeps the last unit, which does not
 * fit above it) and faulted back in, on its node again.
 */
TEST_F_TIMEOUT(numa_huge, bound_units_stay_on_their_node_across_paging, 120)
{
	size_t half = HUGE_PAGES / 2 * KS_PAGE;

	ASSERT_EQ(0, policy(self->e.map, half, MPOL_BIND, 1,
			    MPOL_MF_STRICT | MPOL_MF_MOVE));
	ASSERT_EQ(0, policy(self->e.map + half, half, MPOL_BIND, 2,
			    MPOL_MF_STRICT | MPOL_MF_MOVE));
	fill_n(self->e.map, HUGE_PAGES);
	EXPECT_EQ(HUGE_UNITS, huge_cnt(self->e.name, "huge_units"));
	EXPECT_EQ(0, misplaced_n(self->e.map, HUGE_PAGES, unit_halves));

	ASSERT_EQ(0, posix_fadvise(self->e.fd, 0, 0, POSIX_FADV_DONTNEED));
	ASSERT_EQ(0, ks_wait_resident(self->e.fd, 0, 60));
	EXPECT_EQ(HUGE_UNITS, huge_cnt(self->e.name, "huge_pageouts"));
	EXPECT_EQ(0, bad_data_n(self->e.map, HUGE_PAGES));
	EXPECT_EQ(0, misplaced_n(self->e.map, HUGE_PAGES, unit_halves));
	EXPECT_EQ(0, huge_cnt(self->e.name, "unplaced_pages"));
}

/*
 * MPOL_INTERLEAVE over both nodes: the kernel's interleave for an order-9
 * allocation picks a node per 2 MiB of the mapping, so unit u (every page
 * of it) is on node u % 2 (4 KiB mode alternates per page).
 */
TEST_F(numa_huge, interleave_alternates_units)
{
	ASSERT_EQ(0, policy(self->e.map, HUGE_PAGES * KS_PAGE, MPOL_INTERLEAVE,
			    3, 0));
	fill_n(self->e.map, HUGE_PAGES);
	EXPECT_EQ(HUGE_UNITS, huge_cnt(self->e.name, "huge_units"));
	EXPECT_EQ(0, misplaced_n(self->e.map, HUGE_PAGES, unit_alternate));
}

TEST_HARNESS_MAIN
