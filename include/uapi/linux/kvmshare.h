/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvmshare: shared memory pool for KVM guests - user-space ABI.
 *
 * A pool is an instance of the "kvmshare" filesystem:
 *
 *   mount -t kvmshare -o size=8G,reserve=64M,name=pool0 none /dev/kvmshare/pool0
 *
 * and a partition is a regular file in its root directory, sized with
 * ftruncate(2), used by the VMM as guest RAM through a shared mapping.
 * Every page of a partition comes from the pool. See
 * Documentation/admin-guide/pool.rst for the mount options, sysfs
 * counters and the behaviour on exhaustion, and
 * Documentation/userspace-api/ioctl.rst for the ioctls.
 *
 * The ioctls below are issued on a partition file (KVMSHARE_IOC_POOL_INFO
 * also on the pool's root directory). Every structure has a fixed size
 * (checked through the _IOR/_IOW encoding), fixed-width fields, and
 * reserved fields that must be zero on input (-EINVAL otherwise) and are
 * zero on output.
 */
#ifndef _UAPI_LINUX_KVMSHARE_H
#define _UAPI_LINUX_KVMSHARE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KVMSHARE_FS_MAGIC		0x6b76736dU	/* "kvsm" */

/* Partition weight: relative share when the policy divides spare memory. */
#define KVMSHARE_WEIGHT_MIN		1U
#define KVMSHARE_WEIGHT_MAX		10000U
#define KVMSHARE_WEIGHT_DEFAULT		100U

/*
 * Fields of struct kvmshare_part_attr that KVMSHARE_IOC_SET_ATTR changes;
 * the others keep their value. Unknown bits are rejected with -EINVAL.
 */
/* entitlement_pages: pages the partition is guaranteed to get. */
#define KVMSHARE_ATTR_ENTITLEMENT	(1U << 0)
/* limit_pages: most pages the partition may hold resident (0: none). */
#define KVMSHARE_ATTR_LIMIT		(1U << 1)
/* weight: KVMSHARE_WEIGHT_MIN..KVMSHARE_WEIGHT_MAX. */
#define KVMSHARE_ATTR_WEIGHT		(1U << 2)
/*
 * target_pages: host paging evicts the partition down to this many
 * resident pages (never below its entitlement); 0: no target.
 */
#define KVMSHARE_ATTR_TARGET		(1U << 3)
#define KVMSHARE_ATTR_ALL		(KVMSHARE_ATTR_ENTITLEMENT | \
					 KVMSHARE_ATTR_LIMIT | \
					 KVMSHARE_ATTR_WEIGHT | \
					 KVMSHARE_ATTR_TARGET)

/*
 * Partition attributes. Rules checked by KVMSHARE_IOC_SET_ATTR:
 *  - entitlement_pages <= limit_pages when a limit is set (-EINVAL);
 *  - the sum of all entitlements of the pool <= pool size - reserve
 *    (-ENOSPC);
 *  - a limit below the current resident pages is accepted: new pages are
 *    refused until the partition is below its limit again.
 */
struct kvmshare_part_attr {
	__u32	flags;			/* KVMSHARE_ATTR_*: fields to set */
	__u32	weight;
	__u64	entitlement_pages;
	__u64	limit_pages;
	__u64	target_pages;
	__u64	reserved[4];
};

/* Partition counters (pages and events since the partition was created). */
struct kvmshare_part_stats {
	__u64	size_pages;		/* file size, in pages (rounded up) */
	__u64	resident_pages;		/* pages of the pool held now */
	__u64	faults;			/* page faults handled */
	__u64	fault_failures;		/* faults refused: pool or limit */
	__u64	allocated_pages;	/* pages taken from the pool */
	__u64	punched_pages;		/* pages given back by PUNCH_HOLE */
	__u64	truncated_pages;	/* pages given back by truncation */
	/* Host paging. */
	__u64	paged_out_pages;	/* on the backing store now */
	__u64	zero_pages;		/* all-zero pages dropped, now */
	__u64	pageouts;		/* pages written out and dropped */
	__u64	pageins;		/* pages read back */
	__u64	pagein_errors;		/* page-ins failed: pages lost */
	__u64	zero_elided;		/* all-zero pages dropped (events) */
	__u64	pinned_skips;		/* eviction skipped pinned pages */
	__u64	active_estimate_pages;	/* resident pages in use (sampled) */
	__u64	pageout_errors;		/* page-outs the service failed */
	__u64	readahead_pages;	/* paged in ahead of a fault */
	__u64	readahead_hits;		/* of those, faulted on afterwards */
	__u64	pagein_timeouts;	/* page-ins no service answered */
	__u64	async_restores;		/* page-ins a fault did not wait for */
	__u64	unplaced_pages;		/* NUMA policy not met: held page used */
	__u64	reserved[3];		/* zero */
};

/* Pool state, in pages. */
struct kvmshare_pool_info {
	__u64	size_pages;		/* pool size (mount option size=) */
	__u64	reserve_pages;		/* held back (mount option reserve=) */
	__u64	used_pages;		/* resident in all partitions */
	__u64	free_pages;		/* size - used */
	__u64	entitled_pages;		/* sum of the partitions' entitlements */
	/* What a partition above its entitlement can still get:
	 * size - reserve - used - entitlement still owed to partitions.
	 */
	__u64	available_pages;
	__u64	nr_partitions;
	__u64	fault_failures;		/* faults refused in this pool */
	/* Host paging. */
	__u64	backing_blocks;		/* backing store size (0: none yet) */
	__u64	blocks_used;		/* its blocks holding pages */
	__u64	nr_pagers;		/* paging services attached */
	__u64	active_pager;		/* id of the one serving, 0: none */
	__u64	pending_requests;	/* waiting for a service or a slot */
	__u64	failovers;		/* the active service was replaced */
	__u64	reissued_requests;	/* posted again to another service */
	__u64	stalled_pager;		/* active, past its deadline, or 0 */
	__u64	reserved[5];
};

/*
 * The ioctl type byte of every kvmshare command (partition file, pool
 * directory, pager fd, metrics control). 0xc5 is free in 6.1's
 * Documentation/userspace-api/ioctl/ioctl-number.rst; kvmshare uses
 * numbers 0x01-0x04 (partitions), 0x10-0x13 (pagers) and 0x20 (metrics).
 */
#define KVMSHARE_IOC_MAGIC		0xc5

#define KVMSHARE_IOC_GET_ATTR	_IOR(KVMSHARE_IOC_MAGIC, 0x01, \
				     struct kvmshare_part_attr)
#define KVMSHARE_IOC_SET_ATTR	_IOW(KVMSHARE_IOC_MAGIC, 0x02, \
				     struct kvmshare_part_attr)
#define KVMSHARE_IOC_GET_STATS	_IOR(KVMSHARE_IOC_MAGIC, 0x03, \
				     struct kvmshare_part_stats)
#define KVMSHARE_IOC_POOL_INFO	_IOR(KVMSHARE_IOC_MAGIC, 0x04, \
				     struct kvmshare_pool_info)

#endif /* _UAPI_LINUX_KVMSHARE_H */
