/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvmshare host paging: the protocol between the pool and a user-space
 * paging service. See Documentation/userspace-api/pager.rst for the
 * whole contract.
 *
 * A paging service attaches to a pool with KVMSHARE_IOC_PAGER_ATTACH on
 * the pool's directory and gets a pager fd. Over that fd the pool sends
 * requests to write pages out to, read them back from, and discard them
 * on a backing store of 4 KiB blocks; the service only moves data. The
 * pool decides which pages leave memory and on which block each goes, as
 * the kernel does with a swap device, so any service attached to the same
 * backing store can take over from another.
 *
 * Memory shared through mmap() of the pager fd (offsets in bytes):
 *
 *   0                          struct kvmshare_pager_ring (one page)
 *   KVMSHARE_PAGER_SQ_OFFSET   sq_entries x struct kvmshare_pager_req
 *   KVMSHARE_PAGER_SLOT_OFFSET nr_slots x 4096-byte data buffers ("slots")
 *
 * Requests: sq_head and sq_tail are free-running 32-bit counters; entry
 * i is at index i % sq_entries. The pool writes an entry, then advances
 * sq_tail with a release store; the service reads sq_tail with an acquire
 * load, copies entries out from sq_head, then advances sq_head with a
 * release store. The pool never trusts sq_head (it only uses it for
 * poll): it keeps at most sq_entries requests in flight by itself. The fd
 * is readable (poll POLLIN) while sq_head != sq_tail, and POLLHUP once the
 * pool no longer serves the service.
 *
 * Completions: the service write()s an array of struct kvmshare_pager_cqe
 * to the fd, in any order; the pool reads its own copy, so nothing in
 * shared memory is trusted. A write whose length is not a multiple of the
 * entry size fails with -EINVAL and is ignored whole; otherwise every entry
 * is consumed and the write returns its full length: an entry with an
 * unknown or already completed id, non-zero flags or reserved fields, or a
 * result outside [-4095, 0] is dropped and counted (bad_completions in
 * KVMSHARE_PAGER_IOC_INFO) and the request stays in flight.
 *
 * Data: a page-out's data is in its slot when the request is posted; a
 * page-in's data must be in its slot when it is completed. A slot belongs
 * to its request until that is completed. crc32c is the standard CRC-32C
 * (Castagnoli, initial and final inversion) of the page, for PAGE_OUT and
 * PAGE_IN alike (0: none), so any service can check what it reads back;
 * the pool checks it too and treats a mismatch as a failed page-in.
 *
 * Ordering: the pool never has two requests on one block outstanding at
 * once (a block is reused only after its DISCARD or its page-in is
 * complete), so a service may run requests in any order.
 *
 * Requests are idempotent: after a service goes away, the requests it had
 * not completed are posted again, with new ids, to the next service. A
 * service is gone when its fd is released: the mapping holds the file
 * too, so munmap() as well as close(). A service that died may still have
 * writes under way in its process; it must be dead (not merely closed)
 * before another service takes over a block device (a reference service
 * exits at once when it cannot go on).
 *
 * Fencing: a service failed over while it may be alive (it missed its
 * deadline, or reported an error with another service attached) is
 * replaced, not trusted to have stopped. Only its page-ins are posted
 * again; its page-outs and discards in flight end without effect (a
 * page-out's page stays in memory) and their blocks are given to no page
 * until its fd is released, so a write or discard of it that lands late
 * hits no block in use. Its completions are refused, and counted in
 * bad_completions and fenced_completions.
 */
#ifndef _UAPI_LINUX_KVMSHARE_PAGER_H
#define _UAPI_LINUX_KVMSHARE_PAGER_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/kvmshare.h>

#define KVMSHARE_PAGER_VERSION		1
#define KVMSHARE_PAGER_BLOCK_SIZE	4096

/* Limits of struct kvmshare_pager_attach. */
#define KVMSHARE_PAGER_MIN_ENTRIES	16	/* sq_entries, power of two */
#define KVMSHARE_PAGER_MAX_ENTRIES	4096
#define KVMSHARE_PAGER_MAX_SLOTS	1024	/* nr_slots <= sq_entries */

/* Attach flags. */
/* Attach as standby: receive requests only when no primary is left. */
#define KVMSHARE_PAGER_F_STANDBY	(1U << 0)
#define KVMSHARE_PAGER_F_ALL		KVMSHARE_PAGER_F_STANDBY

/*
 * KVMSHARE_IOC_PAGER_ATTACH, on the pool's directory (CAP_SYS_ADMIN).
 * Returns the pager fd (O_CLOEXEC). The pool has one backing store: the
 * first service to attach sets backing_blocks; a later one must give the
 * same value (-EINVAL otherwise), as it serves the same store. -EBUSY
 * while the pool has 2 MiB units (huge=on), which cannot be paged out.
 */
struct kvmshare_pager_attach {
	__u32	version;		/* KVMSHARE_PAGER_VERSION */
	__u32	flags;			/* KVMSHARE_PAGER_F_* */
	__u32	sq_entries;		/* request ring size */
	__u32	nr_slots;		/* data buffers */
	__u64	backing_blocks;		/* capacity of the backing store */
	__u64	reserved[4];
};

/* Request operations. */
/* Write slot @slot to block @block; complete when durable. */
#define KVMSHARE_PAGER_OP_PAGE_OUT	1
/* Read block @block into slot @slot. */
#define KVMSHARE_PAGER_OP_PAGE_IN	2
/* Block @block is free; its content is no longer needed (no slot). */
#define KVMSHARE_PAGER_OP_DISCARD	3

#define KVMSHARE_PAGER_NO_SLOT		0xffffffffU

/* One request, 64 bytes. */
struct kvmshare_pager_req {
	__u64	id;			/* echoed in the completion */
	__u32	op;			/* KVMSHARE_PAGER_OP_* */
	__u32	slot;			/* data buffer, or NO_SLOT */
	__u64	block;			/* backing store block */
	__u64	part_id;		/* partition (informational) */
	__u64	page_index;		/* page in the partition (informational) */
	__u32	crc32c;			/* of the data (0: none) */
	__u32	flags;			/* none defined: 0 */
	__u64	reserved[2];
};

/* One completion, 32 bytes, written to the pager fd. */
struct kvmshare_pager_cqe {
	__u64	id;			/* the request's id */
	__s32	result;			/* 0, or a negative errno */
	__u32	flags;			/* none defined: must be 0 */
	__u64	reserved[2];		/* must be 0 */
};

/* Shared ring header at offset 0 of the pager fd's mapping. */
struct kvmshare_pager_ring {
	__u32	sq_head;		/* written by the service */
	__u32	sq_tail;		/* written by the pool */
	__u32	sq_entries;
	__u32	nr_slots;
	__u64	pager_id;		/* this service's id in sysfs */
	__u64	reserved[5];
};

#define KVMSHARE_PAGER_SQ_OFFSET	4096ULL
#define KVMSHARE_PAGER_SLOT_OFFSET(sq_entries) \
	(KVMSHARE_PAGER_SQ_OFFSET + \
	 ((((__u64)(sq_entries) * sizeof(struct kvmshare_pager_req)) + 4095) & \
	  ~4095ULL))

/* Pager fd state (KVMSHARE_PAGER_IOC_INFO). */
struct kvmshare_pager_info {
	__u64	pager_id;
	__u32	role;			/* 0 primary, 1 standby */
	__u32	state;			/* KVMSHARE_PAGER_STATE_* */
	__u64	requests;		/* posted to this service */
	__u64	completions;		/* accepted from it */
	__u64	bad_completions;	/* refused (unknown id, bad fields) */
	__u64	inflight;
	__u64	suspended_streams;	/* at the end of a stop */
	__u64	completed_streams;	/* partitions gone during a stop */
	__u64	fenced_completions;	/* refused: came after a failover */
	__u64	bad_checksums;	/* page-ins whose data failed crc32c */
	__u64	reserved[2];
};

#define KVMSHARE_PAGER_STATE_ACTIVE	1	/* serving requests */
#define KVMSHARE_PAGER_STATE_STANDBY	2	/* waiting to take over */
#define KVMSHARE_PAGER_STATE_STOPPING	3	/* controlled stop: draining */
#define KVMSHARE_PAGER_STATE_STOPPED	4	/* drained: close the fd */
#define KVMSHARE_PAGER_STATE_FAILED	5	/* failed over: close the fd */

/*
 * KVMSHARE_IOC_PAGER_STOP on the pool's directory (CAP_SYS_ADMIN), or
 * KVMSHARE_PAGER_IOC_STOP on the pager fd itself (pager_id 0): controlled
 * stop of a service. It gets no new requests, completes those in flight
 * (state STOPPING; the partitions' streams are "suspending"), then is
 * STOPPED (POLLHUP) and closes its fd. Refused with EBUSY when no other
 * service is attached and pages are on the backing store (they would be
 * stranded). ESRCH: no such service attached.
 */
struct kvmshare_pager_stop {
	__u64	pager_id;
	__u64	reserved[3];		/* must be 0 */
};

#define KVMSHARE_IOC_PAGER_ATTACH	_IOW(KVMSHARE_IOC_MAGIC, 0x10, \
					     struct kvmshare_pager_attach)
#define KVMSHARE_PAGER_IOC_INFO		_IOR(KVMSHARE_IOC_MAGIC, 0x11, \
					     struct kvmshare_pager_info)
#define KVMSHARE_PAGER_IOC_STOP		_IO(KVMSHARE_IOC_MAGIC, 0x12)
#define KVMSHARE_IOC_PAGER_STOP		_IOW(KVMSHARE_IOC_MAGIC, 0x13, \
					     struct kvmshare_pager_stop)

#endif /* _UAPI_LINUX_KVMSHARE_PAGER_H */
