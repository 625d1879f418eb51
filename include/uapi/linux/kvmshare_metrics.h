/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvmshare guest metrics page: the ABI between a guest that publishes its
 * memory stress and the host pool that reads it.
 *
 * The page lives in memory shared by guest and host (an ivshmem-plain BAR
 * backed by a control file of the pool). The guest is its only writer and
 * publishes at least every KVMSHARE_METRICS_MAX_INTERVAL_MS; the host reads
 * it without a VM exit and treats every byte of it as untrusted.
 *
 * Sequence count protocol (the writer is the guest, one writer only):
 *
 *   writer:  seq++ (now odd); write barrier; write the fields;
 *            write barrier; seq++ (now even)
 *   reader:  s0 = seq; read barrier; copy the page; read barrier;
 *            s1 = seq; the copy is consistent only if s0 is even and
 *            s0 == s1, otherwise it is torn and must be retried or dropped
 *
 * The header fields (magic, version, size) are written once before the
 * first update and never change afterwards. All fields are little endian
 * (x86), naturally aligned, and the structure has no implicit padding.
 *
 * Cumulative counters (*_total, *_us) only grow while the guest runs; a
 * counter that goes backwards means the guest restarted (or lies) and the
 * host starts a new baseline.
 *
 * Version 1 is this layout. Later versions only append fields (and grow
 * @size); reserved fields of a version must be zero.
 */
#ifndef _UAPI_LINUX_KVMSHARE_METRICS_H
#define _UAPI_LINUX_KVMSHARE_METRICS_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/kvmshare.h>	/* KVMSHARE_IOC_MAGIC */

/* "KSMP" as a little-endian __u32 */
#define KVMSHARE_METRICS_MAGIC		0x504d534bU
#define KVMSHARE_METRICS_VERSION	1
/* The page is one 4 KiB page; struct kvmshare_metrics_page is at offset 0. */
#define KVMSHARE_METRICS_PAGE_SIZE	4096
/* A guest publishes at least this often (and may publish more often). */
#define KVMSHARE_METRICS_MAX_INTERVAL_MS	100
/* PSI averages are fixed point: hundredths of a percent, 0..10000. */
#define KVMSHARE_METRICS_PSI_SCALE	10000

/*
 * Flags (field @flags). A reader ignores (and counts) bits outside
 * KVMSHARE_METRICS_F_ALL.
 */
/*
 * The guest is under acute memory pressure right now: direct reclaim, an
 * allocation stall or an OOM kill happened in the last interval, or PSI
 * memory full avg10 crossed the guest's threshold.
 */
#define KVMSHARE_METRICS_F_ACUTE	(1U << 0)
/*
 * The psi_* fields are valid (the guest kernel has PSI enabled). Without
 * it the reader ignores them.
 */
#define KVMSHARE_METRICS_F_PSI		(1U << 1)
/* The guest has a balloon driver and balloon_kb is valid. */
#define KVMSHARE_METRICS_F_BALLOON	(1U << 2)
/*
 * The guest is shutting down or its agent stops publishing; the reader
 * stops using the page until the flag is clear again.
 */
#define KVMSHARE_METRICS_F_STOPPING	(1U << 3)
#define KVMSHARE_METRICS_F_ALL		(KVMSHARE_METRICS_F_ACUTE | \
					 KVMSHARE_METRICS_F_PSI | \
					 KVMSHARE_METRICS_F_BALLOON | \
					 KVMSHARE_METRICS_F_STOPPING)

/**
 * struct kvmshare_metrics_page - guest-published memory metrics, version 1
 * @magic: KVMSHARE_METRICS_MAGIC
 * @version: KVMSHARE_METRICS_VERSION of the writer
 * @size: bytes of this structure the writer fills, sizeof() of its version
 * @seq: sequence count, odd while the guest writes (see above)
 * @flags: KVMSHARE_METRICS_F_* bits
 * @interval_ms: the guest's publication interval, ms
 * @psi_some_avg10: PSI memory "some" avg10, hundredths of a percent
 * @psi_full_avg10: PSI memory "full" avg10, hundredths of a percent
 * @psi_some_total_us: PSI memory "some" total stall time, us, cumulative
 * @psi_full_total_us: PSI memory "full" total stall time, us, cumulative
 * @mem_total_kb: MemTotal of /proc/meminfo, KiB (excludes ballooned pages)
 * @mem_available_kb: MemAvailable of /proc/meminfo, KiB
 * @refault_total: workingset_refault_anon + _file of /proc/vmstat, pages,
 *	cumulative
 * @swapin_total: pswpin of /proc/vmstat, pages, cumulative
 * @swapout_total: pswpout of /proc/vmstat, pages, cumulative
 * @majfault_total: pgmajfault of /proc/vmstat, events, cumulative
 * @allocstall_total: allocstall_* of /proc/vmstat summed, events, cumulative
 * @oom_kill_total: oom_kill of /proc/vmstat, events, cumulative
 * @balloon_kb: pages held by the guest's balloon driver, KiB
 * @update_count: number of completed updates, cumulative (debugging aid)
 * @swap_used_kb: SwapTotal - SwapFree of /proc/meminfo, KiB: with
 *	MemTotal - MemAvailable, how much memory the guest's workload holds
 * @reserved: zero
 */
struct kvmshare_metrics_page {
	__u32 magic;
	__u32 version;
	__u32 size;
	__u32 seq;
	__u32 flags;
	__u32 interval_ms;
	__u32 psi_some_avg10;
	__u32 psi_full_avg10;
	__u64 psi_some_total_us;
	__u64 psi_full_total_us;
	__u64 mem_total_kb;
	__u64 mem_available_kb;
	__u64 refault_total;
	__u64 swapin_total;
	__u64 swapout_total;
	__u64 majfault_total;
	__u64 allocstall_total;
	__u64 oom_kill_total;
	__u64 balloon_kb;
	__u64 update_count;
	__u64 swap_used_kb;
	__u64 reserved[7];
};

/*
 * Binding a control file to its partition (host side).
 *
 * A control file is a small file of the same pool (4 KiB or more, typically
 * "<partition>.metrics", 1 MiB) that QEMU maps as the memory of the
 * partition's ivshmem-plain device. KVMSHARE_IOC_METRICS_BIND, issued on
 * the partition file (opened for writing, CAP_SYS_ADMIN), binds the file
 * open at @fd to it as its control file; @fd -1 unbinds. Rules, each
 * refused with -EINVAL unless noted:
 *  - @fd is a file of the same pool and not the partition itself (-EBADF
 *    if it is not an open file descriptor);
 *  - a control file serves one partition (-EBUSY if bound to another);
 *  - a control file has no control file of its own, and a partition that
 *    is a control file cannot get one;
 *  - @flags and @reserved are zero.
 * Binding again replaces the previous control file. The binding lasts
 * until it is replaced or either file is deleted and closed; it is shown
 * in /sys/fs/kvmshare/<pool>/partitions/<name>/metrics_file. Control files
 * take no part in the policy.
 */
struct kvmshare_metrics_bind {
	__s32 fd;
	__u32 flags;
	__u64 reserved[3];
};

#define KVMSHARE_IOC_METRICS_BIND	_IOW(KVMSHARE_IOC_MAGIC, 0x20, \
					     struct kvmshare_metrics_bind)

#endif /* _UAPI_LINUX_KVMSHARE_METRICS_H */
