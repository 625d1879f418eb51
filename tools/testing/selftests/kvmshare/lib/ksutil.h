/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for kvmshare selftests: pools, partitions, sysfs counters.
 */
#ifndef KSUTIL_H
#define KSUTIL_H

#include <stdint.h>
#include <setjmp.h>
#include <linux/kvmshare.h>

#define KS_PAGE		4096UL

/* Mount a pool at a new directory under /tmp; returns 0 or -errno. */
int ks_pool_mount(char *dir, size_t dirlen, const char *opts);
/* Unmount and remove the directory; returns 0 or -errno. */
int ks_pool_umount(const char *dir);
/* Remount with new options; returns 0 or -errno. */
int ks_pool_remount(const char *dir, const char *opts);

/* Create (O_RDWR|O_CREAT|O_EXCL) a partition file of @size bytes. */
int ks_part_create(const char *dir, const char *name, uint64_t size);

int ks_pool_info(const char *dir, struct kvmshare_pool_info *info);
int ks_part_stats(int fd, struct kvmshare_part_stats *st);
int ks_part_set(int fd, uint32_t flags, uint64_t ent, uint64_t limit,
		uint32_t weight);

/*
 * KVMSHARE_TIMEOUT_FACTOR (at least 1): how much slower the kernel under
 * test is (the debug lane); a test that waits on its own clock multiplies
 * its wait by it.
 */
int ks_timeout_factor(void);
/* A number from /sys/fs/kvmshare/<path>, or -1 (errno set). */
long long ks_sysfs_num(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/*
 * Wait up to @secs for the number in /sys/fs/kvmshare/<path> to be @want;
 * returns the last value read. A deleted partition's pages are counted
 * until its inode goes, which the eviction worker can delay (it holds the
 * inode while it looks at the partition). @secs is multiplied by
 * KVMSHARE_TIMEOUT_FACTOR (the debug lane).
 */
long long ks_sysfs_settle(long long want, int secs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether /sys/fs/kvmshare/<path> exists. */
int ks_sysfs_exists(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * Touch [@p, @p + @len) page by page (write when @write), catching SIGBUS.
 * Returns the number of pages touched before the first SIGBUS.
 */
uint64_t ks_touch(uint8_t *p, uint64_t len, int write);

/* Write @val to the file @path (sysfs, module parameters); 0 or -errno. */
int ks_write_file(const char *path, const char *val);

/*
 * Arm pool @name's test hook (debugfs kvmshare/<name>/inject_*, the points
 * are listed in kvm/pool.h): the code sleeps @ms at @point the next
 * @count times it passes there (or, at a failure point, fails). 0 or
 * -errno.
 */
int ks_pool_inject(const char *name, int point, int ms, int count);

/* The number in pool @name's debugfs file @file; -1 if none. */
long long ks_pool_debugfs_num(const char *name, const char *file);

/*
 * Wait up to @ms (polling every 10 ms) until pool @name's test hook has
 * been taken as often as it was armed for (inject_count 0): the code
 * sleeps at the point now. 0, or -1 on timeout.
 */
int ks_pool_inject_wait(const char *name, int ms);

/* Wait up to @secs for partition @fd to hold at most @max pages; 0 or -1. */
int ks_wait_resident(int fd, uint64_t max, int secs);

/*
 * Page out every page of partition @fd (a paging service must serve the
 * pool): a target of one page (then lifted), and the last page with
 * fadvise(DONTNEED). 0, -errno (ioctl) or -1 (pages stayed).
 */
int ks_evict_all(int fd);

/*
 * Lines of the kernel log that are warnings, BUGs, oopses or list or
 * refcount corruption (as scripts/vm/dmesg-check.sh sees them), or -1.
 */
int ks_klog_bad(void);
/* Lines of the kernel log that contain @needle, or -1. */
int ks_klog_count(const char *needle);
/* Benchmarks: CLOCK_MONOTONIC in ns; the median of @n values (kept). */
uint64_t ks_now_ns(void);
double ks_median(const double *v, int n);
/*
 * Programs without the harness (benchmarks): print TAP result number
 * N + 1 for @what, "not ok" unless @ok; ks_failed() counts those.
 */
void ks_result(int ok, const char *what);
int ks_failed(void);
/*
 * The number after @key at the start of a line of @path (/proc/meminfo's
 * "Slab:"), or the number the file starts with when @key is NULL; -1 if
 * there is none.
 */
long long ks_file_num(const char *path, const char *key);

/*
 * What a program prints when a thread of it is stuck: @out prints one
 * diagnostic line (printf-like, no newline). The last @tail lines of
 * @path, each behind @prefix; every thread's kernel stack, state, CPU
 * times and system call (an empty stack and "running" is a thread that
 * spins in the kernel or in the program); one second of KVM's exits,
 * page faults and injected exceptions from tracefs (the last 40 lines).
 */
typedef void (*ks_out_fn)(const char *fmt, ...);
void ks_dump_file(ks_out_fn out, const char *path, const char *prefix,
		  int tail);
void ks_dump_tasks(ks_out_fn out);
void ks_dump_kvm_trace(ks_out_fn out);

#endif /* KSUTIL_H */
