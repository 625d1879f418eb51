/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare host paging - interfaces between its files: pool_req.c
 * (requests, backing blocks), pool_pagein.c, pool_evict.c and
 * pool_service.c (the paging services). See each file for its locks.
 */
#ifndef _KVMSHARE_POOL_PAGER_H
#define _KVMSHARE_POOL_PAGER_H

#include <linux/completion.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include <uapi/linux/kvmshare_pager.h>

#include "pool.h"

struct kvmshare_io {
	struct list_head node;		/* a pending list, under io_lock */
	struct kvmshare_part *part;	/* kobject reference */
	pgoff_t index;
	u64 block;
	u32 op;				/* KVMSHARE_PAGER_OP_* */
	u32 crc;
	u32 tag;			/* in the pager's tag table, posted */
	u32 slot;			/* data buffer, posted */
	bool ahead;			/* a page-in ahead of a fault */
	/* part->io xa_lock: its OUT entry went while it was registered. */
	bool handed;			/* the block is ours to free */
	unsigned long async;		/* bit 0: a fault did not wait for it */
	unsigned long start;		/* jiffies: created */
	u64 start_ns;			/* created, if traced (or 0) */
	unsigned long posted;		/* jiffies: posted to a service */
	u64 id;				/* request id while posted */
	/*
	 * The page written or filled (a reference), or for a unit's
	 * page-out the subpage written (the unit's page-out holds the
	 * folio's reference).
	 */
	struct page *page;
	struct kvmshare_unit_out *unit;	/* a unit's page-out: its group */
	struct kvmshare_unit_in *unit_in; /* a unit's page-in: its group */
	int result;			/* a unit's page-in: how it ended */
	bool copy_failed;		/* io_lock: the last post's copy hit an MCE */
	struct completion done;
	refcount_t ref;
};

/*
 * The page-out of a whole 2 MiB unit (pool_huge.c): one page-out request
 * per subpage that holds data, ended together. The unit leaves the array
 * only when the last request has ended and all of them succeeded: its 512
 * entries are then swapped in one section for those its pages would have
 * got one by one (on the backing store, or all-zero). While it is in
 * flight the folio's ->private points here (set and cleared under the
 * folio lock), so that eviction does not start another.
 */
struct kvmshare_unit_out {
	struct kvmshare_part *part;	/* kobject reference */
	struct folio *folio;		/* a reference */
	pgoff_t base;			/* index of its first subpage */
	unsigned int nr_out;		/* requests (subpages with data) */
	atomic_t left;			/* requests not ended yet */
	int result;			/* the first failure (cmpxchg) */
	/*
	 * The entry each subpage gets: all-zero ones from the start, each
	 * request's (OUT, its block and crc) when it ends, NULL for a
	 * request whose block was fenced (never freed by us). Written by
	 * each request's end before it drops @left, read by the last.
	 */
	void *ents[KVMSHARE_UNIT_PAGES];
};

/*
 * The page-in of a whole 2 MiB unit (pool_huge.c): a new order-9 folio,
 * not in the array, and one page-in request per subpage on the backing
 * store (the others, all-zero or holes, stay zero), ended together.
 * The requests are registered in part->io as 4 KiB page-ins are and stay
 * there, their waiters asleep, until the last has ended: the group's end
 * installs the unit (512 entries swapped in one section, only if each is
 * still what the page-in found) or gives it up, then unregisters and
 * completes every request at once. While it is in flight part->units
 * points at it at base >> 9, so that faults elsewhere in the unit wait
 * for it instead of making 4 KiB pages there.
 */
struct kvmshare_unit_in {
	struct kvmshare_part *part;	/* kobject reference */
	struct folio *folio;		/* the unit (its only reference) */
	pgoff_t base;			/* index of its first subpage */
	unsigned int nr_in;		/* requests (subpages on the store) */
	/* Requests not ended yet, and 1 while the fault queues them. */
	atomic_t left;
	struct kvmshare_io *first;	/* the first request */
	/* Hints it replaced in part->units that outlive it (pte_seen). */
	unsigned long keep;
	void *ents[KVMSHARE_UNIT_PAGES];	/* the entries found */
	struct kvmshare_io *ios[KVMSHARE_UNIT_PAGES];	/* or NULL */
};

/* A paging service attached to a pool. */
struct kvmshare_pager {
	struct list_head node;		/* pool->pagers, under io_lock */
	struct kvmshare_pool *pool;	/* kobject reference */
	u64 id;
	u32 state;			/* KVMSHARE_PAGER_STATE_*, io_lock */
	bool standby;			/* attached as a standby */
	bool gone;			/* takes no requests: left or failed */
	bool stalled;			/* active, late, no one to take over */
	u64 suspended;			/* streams suspended by its stop */
	u64 completed;			/* partitions gone during its stop */

	struct kvmshare_pager_ring *ring;	/* vmalloc_user: header + sq */
	size_t ring_bytes;
	u32 sq_entries;
	u32 sq_tail;			/* our copy, under io_lock */
	u32 nr_slots;
	struct page **slots;
	unsigned long *slot_map;	/* slots in use, under io_lock */
	struct kvmshare_io **tags;	/* posted requests by tag */
	unsigned long *tag_map;
	u32 inflight;
	/*
	 * Completions taken from the tags and not yet ended (io_lock): a
	 * page-out's end may still put its page on the backing store, so
	 * a stop does not complete before they have.
	 */
	u32 ending;
	u64 seq;			/* request id = seq << 12 | tag */
	wait_queue_head_t wq;		/* poll */

	bool replaced;			/* failed over while maybe alive */
	u64 *fenced;			/* io_lock: blocks it may still write */
	u32 nr_fenced;			/* io_lock: of sq_entries */

	atomic64_t requests;
	atomic64_t completions;
	atomic64_t bad_completions;
	atomic64_t fenced_completions;	/* of those, after it was replaced */
	atomic64_t bad_checksums;	/* page-ins whose data failed crc32c */
};

/* A request's block once it is fenced (no block to free). */
#define KVMSHARE_NO_BLOCK	U64_MAX

#define KVMSHARE_TAG_BITS	12	/* KVMSHARE_PAGER_MAX_ENTRIES */

/* pool_req.c */
extern unsigned int kvmshare_pager_timeout_ms;
struct kvmshare_io *kvmshare_io_alloc(struct kvmshare_part *part,
				      u32 op, pgoff_t index, u64 block,
				      struct page *page);
bool kvmshare_block_get(struct kvmshare_pool *pool, u64 *block);
void __kvmshare_block_put(struct kvmshare_pool *pool, u64 block);
void kvmshare_pager_kick(struct kvmshare_pool *pool);
void kvmshare_io_queue(struct kvmshare_pool *pool, struct kvmshare_io *io);
void kvmshare_io_submit(struct kvmshare_pool *pool, struct kvmshare_io *io);
void kvmshare_io_end(struct kvmshare_io *io, int result);
u32 kvmshare_page_crc(struct page *page);
void kvmshare_crc_init(void);
void kvmshare_crc_exit(void);
void kvmshare_crc_describe(char *buf, size_t len);
int kvmshare_page_crc_mc(struct page *page, u32 *crc);
bool kvmshare_page_swap_out(struct kvmshare_part *part, pgoff_t index,
			    struct page *page, void *ent);

/* pool_huge.c */
long kvmshare_huge_evict(struct kvmshare_part *part,
			 struct address_space *mapping, pgoff_t index,
			 void *entry, bool wait);
void kvmshare_huge_pageout_done(struct kvmshare_io *io, int result);
void kvmshare_huge_pagein_done(struct kvmshare_io *io, int result);
bool kvmshare_huge_sample(struct kvmshare_part *part,
			  struct address_space *mapping, pgoff_t index,
			  void *entry);

/* pool_evict.c */
void kvmshare_evict_init(struct kvmshare_pool *pool);

/* pool_service.c */
void kvmshare_pager_watch(struct kvmshare_pool *pool);

/*
 * Phase timing (debugfs <pool>/pager_timing). kvmshare_t_start() reads
 * the knob once: 0 when it is off, and kvmshare_t_end() then does
 * nothing. Otherwise the phase's time since @t0 is added on this CPU; no
 * lock, and a phase may be counted on another CPU than it started on.
 */
/* The pending list of @io: page-ins are posted first. */
static inline struct list_head *kvmshare_io_list(struct kvmshare_pool *pool,
						 struct kvmshare_io *io)
{
	return io->op == KVMSHARE_PAGER_OP_PAGE_IN ? &pool->io_pending_in :
						      &pool->io_pending;
}

static inline u64 kvmshare_t_start(struct kvmshare_pool *pool)
{
	return READ_ONCE(pool->timing) ? ktime_get_ns() : 0;
}

static inline void kvmshare_t_add(struct kvmshare_pool *pool,
				  enum kvmshare_tphase ph, u64 ns)
{
	this_cpu_inc(pool->tsum->count[ph]);
	this_cpu_add(pool->tsum->ns[ph], ns);
}

static inline void kvmshare_t_end(struct kvmshare_pool *pool,
				  enum kvmshare_tphase ph, u64 t0)
{
	if (t0)
		kvmshare_t_add(pool, ph, ktime_get_ns() - t0);
}

/* Phases in a row: end phase @ph begun at *@t, the next begins now. */
static inline void kvmshare_t_next(struct kvmshare_pool *pool,
				   enum kvmshare_tphase ph, u64 *t)
{
	u64 now;

	if (!*t)
		return;
	now = ktime_get_ns();
	kvmshare_t_add(pool, ph, now - *t);
	*t = now;
}

#endif /* _KVMSHARE_POOL_PAGER_H */
