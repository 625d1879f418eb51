// SPDX-License-Identifier: GPL-2.0
/*
 * Adaptive read-ahead (issue #15): each partition's read-ahead window
 * (sysfs readahead_window, 1 to pagein_cluster pages) shrinks while its
 * read-ahead pages are not touched (sparse access: one page per window)
 * or are evicted untouched (readahead_wasted), and grows back to
 * pagein_cluster on sequential access; readahead_shrinks and
 * readahead_grows count the moves. With readahead_adapt=N the window is
 * always pagein_cluster.
 *
 * A user-space process faults the partition's pages through a shared
 * mapping; the paging service is the in-test thread (lib/kspager.c).
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

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define POOL_MB		16
#define PAGES		1024UL
#define PARAM(x)	"/sys/module/kvmshare/parameters/" x

FIXTURE(ra) {
	char dir[64];
	char name[32];
	struct ks_pager pager;
	int fd;
	uint8_t *map;
	int klog;
};

static long long ra(struct _test_data_ra *self, const char *what)
{
	return ks_sysfs_num("%s/partitions/vm/%s", self->name, what);
}

FIXTURE_SETUP(ra)
{
	char opts[128];
	uint64_t i;

	snprintf(self->name, sizeof(self->name), "ksra%d", getpid());
	snprintf(opts, sizeof(opts), "size=%dM,name=%s", POOL_MB, self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	self->klog = ks_klog_bad();
	self->map = NULL;
	ASSERT_EQ(0, ks_write_file(PARAM("pagein_cluster"), "16"));
	ASSERT_EQ(0, ks_write_file(PARAM("readahead_adapt"), "Y"));
	ASSERT_EQ(0, ks_pager_attach(&self->pager, self->dir, 4 * PAGES, 256,
				     64, 0, -1));
	ASSERT_EQ(0, ks_pager_run(&self->pager));
	self->fd = ks_part_create(self->dir, "vm", PAGES * KS_PAGE);
	ASSERT_GE(self->fd, 0);
	self->map = mmap(NULL, PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (i = 0; i < PAGES; i++)
		((uint64_t *)self->map)[i * 512] = i + 1;
}

FIXTURE_TEARDOWN(ra)
{
	char path[128];
	int i;

	ks_write_file(PARAM("readahead_adapt"), "Y");
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, PAGES * KS_PAGE);
	close(self->fd);
	snprintf(path, sizeof(path), "%s/vm", self->dir);
	unlink(path);
	for (i = 0; i < 50; i++) {
		if (ks_sysfs_num("%s/blocks_used", self->name) == 0)
			break;
		usleep(100000);
	}
	ks_pager_detach(&self->pager);
	EXPECT_EQ(0, ks_pool_umount(self->dir));
	EXPECT_EQ(self->klog, ks_klog_bad());
}

/* Fault page @i in and check what it holds. */
static int touch(struct _test_data_ra *self, uint64_t i)
{
	uint64_t *p = (uint64_t *)self->map + i * 512;

	return __atomic_load_n(p, __ATOMIC_RELAXED) == i + 1 ? 0 : -1;
}

static struct kvmshare_part_stats stats(int fd)
{
	struct kvmshare_part_stats st;

	memset(&st, 0, sizeof(st));
	ks_part_stats(fd, &st);
	return st;
}

/* Wait up to 5 s for @n pages read ahead in all (they end after faults). */
static int wait_ahead(int fd, uint64_t n)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (stats(fd).readahead_pages >= n)
			return 0;
		usleep(100000);
	}
	return -1;
}

/*
 * Sparse access, one page at random in each window of 16, shrinks the
 * window to (about) one page; then sequential access grows it back to
 * pagein_cluster, and its read-ahead is used.
 */
TEST_F_TIMEOUT(ra, shrinks_on_sparse_grows_on_sequential, 240)
{
	struct kvmshare_part_stats st0, st1, st2;
	long long shrinks, grows;
	uint64_t w, i;

	ASSERT_EQ(0, ks_evict_all(self->fd));
	EXPECT_EQ(16, ra(self, "readahead_window"));
	st0 = stats(self->fd);
	srandom(15);
	for (w = 0; w < PAGES / 2 / 16; w++)
		ASSERT_EQ(0, touch(self, w * 16 + random() % 16));
	st1 = stats(self->fd);
	shrinks = ra(self, "readahead_shrinks");
	TH_LOG("sparse: window %lld, %lld shrinks, %llu read ahead, %llu hits",
	       ra(self, "readahead_window"), shrinks,
	       (unsigned long long)(st1.readahead_pages - st0.readahead_pages),
	       (unsigned long long)(st1.readahead_hits - st0.readahead_hits));
	EXPECT_LE(ra(self, "readahead_window"), 2);
	EXPECT_GE(shrinks, 4);
	/* 15 + 7 + 3 + 1 until it is down, then a little now and then. */
	EXPECT_LE(st1.readahead_pages - st0.readahead_pages, 15 + 7 + 3 + 1 + 24);

	grows = ra(self, "readahead_grows");
	for (i = PAGES / 2; i < PAGES; i++)
		ASSERT_EQ(0, touch(self, i));
	st2 = stats(self->fd);
	TH_LOG("sequential: window %lld, %lld grows, %llu read ahead, %llu hits",
	       ra(self, "readahead_window"),
	       ra(self, "readahead_grows") - grows,
	       (unsigned long long)(st2.readahead_pages - st1.readahead_pages),
	       (unsigned long long)(st2.readahead_hits - st1.readahead_hits));
	EXPECT_EQ(16, ra(self, "readahead_window"));
	EXPECT_GE(ra(self, "readahead_grows") - grows, 4);
	/* Most of the half comes ahead of its faults, and all of that is used. */
	EXPECT_GE(st2.readahead_pages - st1.readahead_pages, PAGES / 2 * 3 / 4);
	EXPECT_GE(st2.readahead_hits - st1.readahead_hits,
		  st2.readahead_pages - st1.readahead_pages - 16);
	EXPECT_EQ(0, st2.pagein_errors);
}

/* Read-ahead pages evicted untouched count as wasted and shrink the window. */
TEST_F_TIMEOUT(ra, wasted_readahead_shrinks, 240)
{
	long long shrinks;

	ASSERT_EQ(0, ks_evict_all(self->fd));
	ASSERT_EQ(0, touch(self, 0));
	/* The first page-in reads its whole window: 15 pages untouched. */
	ASSERT_EQ(0, wait_ahead(self->fd, 15));
	ASSERT_EQ(0, ks_evict_all(self->fd));
	TH_LOG("%lld read-ahead pages evicted untouched",
	       ra(self, "readahead_wasted"));
	EXPECT_GE(ra(self, "readahead_wasted"), 1);
	shrinks = ra(self, "readahead_shrinks");
	ASSERT_EQ(0, touch(self, 512));
	EXPECT_EQ(shrinks + 1, ra(self, "readahead_shrinks"));
	EXPECT_EQ(8, ra(self, "readahead_window"));
}

/* read() uses read-ahead pages as faults do: sequential reads keep it. */
TEST_F_TIMEOUT(ra, sequential_read_keeps_window, 240)
{
	struct kvmshare_part_stats st0, st1;
	uint64_t i, v;

	ASSERT_EQ(0, ks_evict_all(self->fd));
	st0 = stats(self->fd);
	for (i = 0; i < PAGES / 4; i++) {
		ASSERT_EQ(8, pread(self->fd, &v, 8, i * KS_PAGE));
		ASSERT_EQ(i + 1, v);
	}
	st1 = stats(self->fd);
	TH_LOG("read(): window %lld, %llu read ahead, %llu hits",
	       ra(self, "readahead_window"),
	       (unsigned long long)(st1.readahead_pages - st0.readahead_pages),
	       (unsigned long long)(st1.readahead_hits - st0.readahead_hits));
	EXPECT_EQ(16, ra(self, "readahead_window"));
	EXPECT_EQ(0, ra(self, "readahead_shrinks"));
	EXPECT_GE(st1.readahead_pages - st0.readahead_pages, PAGES / 4 * 3 / 4);
	EXPECT_GE(st1.readahead_hits - st0.readahead_hits,
		  st1.readahead_pages - st0.readahead_pages - 16);
}

/* readahead_adapt=N: the window is pagein_cluster, whatever happens. */
TEST_F_TIMEOUT(ra, fixed_without_adapt, 240)
{
	struct kvmshare_part_stats st0, st1;
	uint64_t w;

	ASSERT_EQ(0, ks_write_file(PARAM("readahead_adapt"), "N"));
	ASSERT_EQ(0, ks_evict_all(self->fd));
	st0 = stats(self->fd);
	for (w = 0; w < 16; w++)
		ASSERT_EQ(0, touch(self, w * 16 + 5));
	/* 15 pages ahead of each of the 16 faults. */
	EXPECT_EQ(0, wait_ahead(self->fd, st0.readahead_pages + 16 * 15));
	st1 = stats(self->fd);
	EXPECT_EQ(16, ra(self, "readahead_window"));
	EXPECT_EQ(0, ra(self, "readahead_shrinks"));
	EXPECT_EQ(16 * 15, st1.readahead_pages - st0.readahead_pages);
	ASSERT_EQ(0, ks_write_file(PARAM("pagein_cluster"), "4"));
	EXPECT_EQ(4, ra(self, "readahead_window"));
	ASSERT_EQ(0, ks_write_file(PARAM("pagein_cluster"), "16"));
}

TEST_HARNESS_MAIN
