/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: shared memory pool for KVM guests - internal interfaces.
 *
 * Objects and lifetimes:
 *
 *  struct kvmshare_pool   one per mount (sb->s_fs_info). Its kobject
 *                         (/sys/fs/kvmshare/<name>) holds the memory; the
 *                         super block holds one reference, each partition's
 *                         kobject one more (as its parent's child).
 *  struct kvmshare_part   one per partition file. The kobject
 *                         (/sys/fs/kvmshare/<pool>/partitions/<file>) holds
 *                         the memory; the inode holds one reference, dropped
 *                         when the inode is evicted.
 *
 * Locks, outermost first:
 *
 *  mapping->invalidate_lock   (per inode) exclusive for truncation and
 *                             hole punching, shared in the fault and read
 *                             paths: no page leaves a file while a fault
 *                             or a read of it is between lookup and use.
 *  unit lock                  (pool_huge.c, a bit of the pool's
 *                             pool->unit_locks, hashed by partition and
 *                             2 MiB unit) held by a fault while it makes
 *                             a new unit: its checks, charge, allocation
 *                             and install are one step. Taken inside the
 *                             invalidate_lock (shared) and the mmap lock,
 *                             outside everything below; a fault that may
 *                             retry never sleeps on it with the mmap lock
 *                             held (kvmshare_huge_wait()). A collapse holds
 *                             it too (the background work tries it only),
 *                             and trylocks the 4 KiB pages under it.
 *  page lock                  held by a fault from the lookup until the
 *                             PTE is installed; removal takes it after
 *                             unmapping, so a racing fault's PTE is seen
 *                             and unmapped again. A unit's is its folio
 *                             lock; a split (pool_huge.c) holds it, and
 *                             the invalidate_lock exclusively, from its
 *                             checks to the swap of the entries. That
 *                             keeps faults, reads and writes out, not
 *                             every reference (the policy's reader of a
 *                             control file): the swap checks the count
 *                             again under the array's lock.
 *  part->pages xa_lock        the page array (xarray internal lock);
 *                             also orders a page's reference check with
 *                             its removal (kvmshare_page_swap_out()).
 *  part->io xa_lock           the requests registered per page, and a
 *                             request's handed flag (pool_req.c). Taken
 *                             with no other lock of these held, except
 *                             by debugfs "restores", inside pool->lock
 *                             (so nothing takes a lock under it). The two
 *                             arrays' locks have a lockdep class each
 *                             (pool_part.c): with the one class that
 *                             xa_init() gives both, lockdep took the order
 *                             pages -> pool->lock (eviction) and pool->lock
 *                             -> io (restores) for a cycle.
 *  part->holes xa_lock       the tree of deferred punches' bitmaps
 *                             (pool_huge.c); innermost, nothing under it
 *                             (taken under the pages xa_lock). A bitmap
 *                             is made and changed under its unit's folio
 *                             lock; it is erased under the pages xa_lock
 *                             in the section where its unit leaves the
 *                             array (so no new unit there can find it),
 *                             or under the folio lock while the unit is
 *                             there, and freed only by who erased it.
 *  part->units xa_lock       per-unit state (pool_huge.c): a unit's
 *                             page-in in flight, hints (pte_seen among
 *                             them); and the partition's unit page-in
 *                             guesses (pool_pagein.c). Taken with no other
 *                             lock of these held (a unit lock, the
 *                             invalidate_lock or, setting pte_seen, a
 *                             fault's page lock may be). Its own lockdep
 *                             class, as pages and io.
 *  pool->io_lock (spinlock)   paging services, their rings and slots, the
 *                             pending requests and the backing store's
 *                             block map (pool_req.c, pool_service.c).
 *  pool->lock (spinlock)      the page counts of the pool and of every
 *                             partition in it, and pool->parts (pool_acct.c).
 *
 * pool->names_lock (the partitions' sysfs names) is taken inside a
 * directory's i_rwsem, with no other lock of the pool held.
 * pool->pager_mutex (attach, detach) is taken before all of the above.
 * pool->acct_mutex (entitlement changes, pool_acct.c) is taken before
 * pool->lock, with no other lock held.
 * pool->policy.mutex (the policy, pool_policy.c) is taken before
 * pool->lock and the xa_lock of a control file's pages; never with
 * pager_mutex, policy.notify_lock or an invalidate_lock held.
 *
 * Entries of part->pages: a struct page (resident, the array holds one
 * reference), or a value entry for a page that is not in memory (see
 * kvmshare_ent_*()): all-zero (dropped without I/O), on the backing store
 * at a block, or lost (a page-in failed: reads as a machine check).
 *
 * A 2 MiB unit (pool_huge.c, mount option huge=on) is an order-9 compound
 * folio whose subpage i & 511 is the entry of index i, the first at an
 * index that is a multiple of 512: 512 ordinary entries, and the array
 * holds one reference to the folio for all of them. They are stored and
 * removed together, in one section under the array's lock; the folio's
 * lock (the page lock of every subpage) is the unit's. Code that removes
 * or replaces entries tests kvmshare_is_unit() and leaves units to
 * pool_huge.c. A punch or truncation that cuts a unit splits it by copy
 * (kvmshare_huge_trim()): its data outside the cut goes to 4 KiB pages,
 * the 512 entries are replaced in one section, and the pages that left
 * are uncharged; a unit held by someone else than the array and the
 * split (a pin, a pipe, I/O), with a poisoned page, or without memory
 * for the copy is zeroed in place instead and stays charged whole. A
 * punch (not a truncation) of part of a unit defers the split: the pages
 * are zeroed in place and noted in part->holes, and the unit is split
 * once more than huge_punch_split_pct of it is punched, or the pool is
 * short (kvmshare_unit_defer()).
 * Eviction pages a unit out whole (kvmshare_huge_evict()): its entries
 * stay the unit's until every request of its page-out has ended, then
 * all 512 are swapped in one section for OUT and ZERO entries (or none
 * is, and the unit stays); while that page-out is in flight the folio's
 * ->private points at it (set and cleared under the folio lock). A fault
 * may page a unit in whole (kvmshare_huge_fault()): a new folio, seen by
 * nobody, filled by one page-in per subpage on the store, and stored over
 * the 512 entries in one section when the last has ended, if each entry
 * is still what it was; else the range comes back 4 KiB. A range of 4 KiB
 * pages may become a unit by copy (kvmshare_unit_collapse(): a fault
 * where the PMD is empty, or the background collapse work): every page
 * held, locked and checked, the 512 entries swapped in one section that
 * checks entries and counts again, the 4 KiB pages then freed; or none
 * is, and the pages stay as they were.
 */
#ifndef _KVMSHARE_POOL_H
#define _KVMSHARE_POOL_H

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/kvmshare.h>

#include "pool_policy.h"

#define KVMSHARE_NAME_LEN	32

/* A 2 MiB unit: order and pages (HPAGE_PMD_ORDER on x86_64). */
#define KVMSHARE_UNIT_ORDER	9
#define KVMSHARE_UNIT_PAGES	BIT(KVMSHARE_UNIT_ORDER)
#define KVMSHARE_UNIT_BYTES	((loff_t)KVMSHARE_UNIT_PAGES << PAGE_SHIFT)
/*
 * The largest file: a multiple of 2 MiB, so that rounding a size up to a
 * unit never passes LLONG_MAX (MAX_LFS_FILESIZE less 2 MiB - 1 bytes).
 */
#define KVMSHARE_MAX_FILESIZE	(MAX_LFS_FILESIZE & ~(KVMSHARE_UNIT_BYTES - 1))
/* Unit locks per pool (pool_huge.c): hashed, 256 bits. */
#define KVMSHARE_UNIT_LOCKS	256

/* Value entries of part->pages for pages not in memory. */
#define KVMSHARE_ENT_ZERO	1	/* all-zero page, dropped */
#define KVMSHARE_ENT_OUT	2	/* on the backing store; block above */
#define KVMSHARE_ENT_POISON	3	/* page-in failed: content lost */

/*
 * A value entry holds: kind (2 bits), the crc32c of the page's data
 * (KVMSHARE_ENT_OUT, 32 bits) and its backing store block (29 bits, so a
 * backing store of at most KVMSHARE_MAX_BLOCKS blocks: 2 TiB).
 */
#define KVMSHARE_MAX_BLOCKS	BIT_ULL(29)

static inline void *kvmshare_ent(unsigned long kind, u64 block, u32 crc)
{
	return xa_mk_value((unsigned long)(block << 34) |
			   ((unsigned long)crc << 2) | kind);
}

static inline unsigned long kvmshare_ent_kind(void *e)
{
	return xa_to_value(e) & 3;
}

static inline u32 kvmshare_ent_crc(void *e)
{
	return (xa_to_value(e) >> 2) & 0xffffffffUL;
}

static inline u64 kvmshare_ent_block(void *e)
{
	return xa_to_value(e) >> 34;
}

/* Whether the array entry @e is a page on the backing store. */
static inline bool kvmshare_ent_is_out(void *e)
{
	return e && xa_is_value(e) && kvmshare_ent_kind(e) == KVMSHARE_ENT_OUT;
}

/*
 * Whether @page (resident, not being written) holds zeros only, read with
 * plain loads: for the module's own pages (a split's copy). Guest memory:
 * kvmshare_page_has_data() (pool_req.c), safe from machine checks.
 */
static inline bool kvmshare_page_is_zero(struct page *page)
{
	void *kaddr = kmap_local_page(page);
	bool zero = !memchr_inv(kaddr, 0, PAGE_SIZE);

	kunmap_local(kaddr);
	return zero;
}

struct kvmshare_pager;
struct kvmshare_io;

/* Per-partition event counters, exported in sysfs and by ioctl. */
struct kvmshare_part_counters {
	atomic64_t faults;		/* faults handled */
	atomic64_t fault_failures;	/* faults refused: pool or limit */
	atomic64_t allocated;		/* pages taken from the pool */
	atomic64_t punched;		/* pages freed by PUNCH_HOLE */
	atomic64_t truncated;		/* pages freed by truncation/unlink */
	atomic64_t pageouts;		/* pages written out and dropped */
	atomic64_t pageins;		/* pages read back */
	atomic64_t pagein_errors;	/* page-ins that failed (pages lost) */
	atomic64_t pageout_errors;	/* page-outs the service failed */
	atomic64_t zero_elided;		/* all-zero pages dropped without I/O */
	atomic64_t pinned_skips;	/* eviction met a pinned page */
	atomic64_t sample_hits;		/* sampled pages touched again */
	atomic64_t readahead;		/* pages paged in ahead of a fault */
	atomic64_t readahead_hits;	/* of those, faulted on afterwards */
	atomic64_t readahead_wasted;	/* of those, evicted untouched */
	atomic64_t readahead_shrinks;	/* read-ahead window halved */
	atomic64_t readahead_grows;	/* read-ahead window doubled */
	atomic64_t pagein_timeouts;	/* page-ins no service answered */
	atomic64_t async_restores;	/* page-ins a fault did not wait for */
	atomic64_t unplaced;		/* NUMA policy not met: held page */
	atomic64_t huge_units;		/* 2 MiB units in the file now */
	atomic64_t huge_faults;		/* units a fault made */
	atomic64_t huge_fallbacks;	/* unit refused by the pool: 4 KiB */
	atomic64_t huge_skips;		/* units eviction left: the floor */
	atomic64_t huge_waits;		/* faults that found a unit lock taken */
	atomic64_t huge_poisoned;	/* units with a poisoned page, leaked */
	atomic64_t huge_pinned_cuts;	/* held units zeroed by a cut */
	atomic64_t huge_splits;		/* units split by copy by a cut */
	atomic64_t huge_split_failures;	/* cut units zeroed: no copy */
	atomic64_t huge_pageouts;	/* units paged out (or zero) whole */
	atomic64_t huge_pageouts_kept;	/* unit page-outs that kept the unit */
	atomic64_t huge_held_skips;	/* units eviction found held */
	atomic64_t huge_pageins;	/* units paged in whole */
	atomic64_t huge_pagein_sparse;	/* unit page-in not taken: sparse */
	atomic64_t huge_pagein_failures; /* unit page-ins given up: 4 KiB */
	atomic64_t huge_collapses;	/* 4 KiB ranges made units by copy */
	atomic64_t huge_collapse_failures; /* collapses tried, given up */
	atomic64_t huge_collapse_pte_skips; /* left: mapped 4 KiB (pte_seen) */
	atomic64_t huge_collapse_room_skips; /* left: no room (H1, M2) */
	atomic64_t huge_collapse_nomem;	/* given up: no free 2 MiB block */
	atomic64_t huge_collapse_retries; /* faults retried after a busy one */
	atomic64_t huge_collapse_held_skips; /* ranges left: pinned, poisoned */
	atomic64_t huge_punch_deferred;	/* unit pages punched, split deferred */
	atomic64_t huge_punch_pending;	/* of those, still in units (now) */
	atomic64_t huge_punch_splits;	/* units split for deferred punches */
};

/*
 * Marks of part->pages (under its xa_lock): pages a fallocate() call
 * allocated (undone if it fails), pages unmapped by access sampling (not
 * faulted back yet: idle), pages paged in ahead of a fault and not touched
 * since. Eviction takes sampled and read-ahead pages first.
 */
/*
 * Phases of host paging timed for debugfs <pool>/pager_timing
 * (Documentation/plans/pager-v2.md, step 0): a count and a sum of
 * ktime_get_ns() differences each, per CPU, while the pool's knob is on.
 */
enum kvmshare_tphase {
	KVMSHARE_T_PAGEIN_START,	/* a fault's page-in queued, ahead too */
	KVMSHARE_T_KICK,		/* a kick of the active service */
	KVMSHARE_T_KICK_ENTRY,		/* one ring entry posted by a kick */
	KVMSHARE_T_CQE_TAKE,		/* a completion copied in, taken */
	KVMSHARE_T_CQE_FILL,		/* a page-in's slot copied and checked */
	KVMSHARE_T_CQE_END_IN,		/* a page-in's slot freed and ended */
	KVMSHARE_T_CQE_END_OUT,		/* a page-out's (or discard's) end */
	KVMSHARE_T_EVICT_PAGE,		/* a page evicted or its page-out queued */
	KVMSHARE_T_EVICT_SKIP,		/* a page eviction looked at and left */
	KVMSHARE_T_NR
};

struct kvmshare_timing {
	u64 count[KVMSHARE_T_NR];
	u64 ns[KVMSHARE_T_NR];
};

#define KVMSHARE_MARK_FALLOC	XA_MARK_0
#define KVMSHARE_MARK_SAMPLED	XA_MARK_1
#define KVMSHARE_MARK_AHEAD	XA_MARK_2

struct kvmshare_pool {
	struct kobject kobj;		/* /sys/fs/kvmshare/<name> */
	struct kobject *parts_kobj;	/* .../<name>/partitions */
	struct mutex names_lock;	/* partition names in @parts_kobj */
	struct dentry *debugfs;		/* <debugfs>/kvmshare/<name> */
	struct super_block *sb;
	int id;				/* from kvmshare_pool_ida */
	char name[KVMSHARE_NAME_LEN];
	umode_t umask;			/* mount option umask=: new files */
	bool huge;			/* mount option huge=on: 2 MiB units */
	/* pool_huge.c: unit locks, one bit each (see the lock order). */
	unsigned long unit_locks[BITS_TO_LONGS(KVMSHARE_UNIT_LOCKS)];

	spinlock_t lock;		/* everything below */
	u64 size_pages;			/* mount option size= */
	u64 reserve_pages;		/* mount option reserve= */
	u64 used_pages;			/* sum of partitions' resident */
	u64 entitled_pages;		/* sum of partitions' entitlement */
	u64 owed_pages;			/* sum of max(0, ent - resident) */
	u64 collapse_pages;		/* copied by collapses in flight */
	struct list_head parts;		/* struct kvmshare_part.node */
	unsigned long nr_parts;
	struct list_head held;		/* pages set aside for owed_pages */
	u64 nr_held;			/* pages on @held */

	/* Entitlements backed by memory, pool_acct.c. */
	struct mutex acct_mutex;	/* entitlement changes */
	struct work_struct refill_work;	/* tops @held up to owed_pages */

	atomic64_t fault_failures;	/* faults refused in this pool */

	/* Host paging, pool_req.c and pool_pager.h. */
	struct mutex pager_mutex;	/* attach and detach */
	spinlock_t io_lock;		/* see the lock order above */
	struct list_head pagers;	/* struct kvmshare_pager.node */
	struct list_head draining;	/* stopping services, io_lock */
	struct kvmshare_pager *active;	/* gets the requests, or NULL */
	u64 failovers;			/* io_lock: active service replaced */
	u64 reissued;			/* io_lock: requests posted again */
	bool suspended;			/* io_lock: stopped, none attached */
	struct list_head io_pending;	/* requests not yet posted */
	struct list_head io_pending_in;	/* page-ins not yet posted: first */
	unsigned long nr_pending;
	unsigned long *block_map;	/* backing store blocks in use */
	u64 backing_blocks;		/* 0: no backing store yet */
	u64 blocks_used;
	u64 block_hint;			/* where to look for a free block */
	u64 next_pager_id;
	wait_queue_head_t room_wq;	/* faults waiting for pool pages */
	struct delayed_work evict_work;	/* eviction and access sampling */
	unsigned long next_sample;	/* jiffies, evict_work only */
	u64 low_pages;			/* keep this much free when paging */
	bool dying;			/* no more eviction or collapse work */
	/*
	 * Background collapse (pool_huge.c): one pass per huge_collapse_ms,
	 * at most one collapse in flight per pool; the id of the partition
	 * the last pass looked at (the work only).
	 */
	struct delayed_work collapse_work;
	u64 collapse_last;
	unsigned int collapse_backoff_ms; /* after no block: 0, 1 s..60 s */
	struct list_head collapse_node;	/* kvmshare_collapse_pools */
	/*
	 * Test hook (debugfs inject_*): the next inject_count times the
	 * paging code passes point inject_point it sleeps inject_ms, to
	 * widen a race window in a regression test, or fails there (an
	 * allocation, kvmshare_inject_fail()). 0: off.
	 */
	u32 inject_point;
	u32 inject_ms;
	atomic_t inject_count;

	/*
	 * debugfs <pool>/pager_timing: phases of host paging timed while
	 * @timing is on (read once per phase, no lock), summed per CPU.
	 */
	bool timing;
	struct kvmshare_timing __percpu *tsum;

	struct kvmshare_pool_policy policy;	/* pool_policy.c */
};

struct kvmshare_part {
	struct kobject kobj;		/* .../partitions/<file name> */
	struct kvmshare_pool *pool;
	struct list_head node;		/* in pool->parts, under pool->lock */
	struct xarray pages;		/* index -> page or value entry */
	struct xarray io;		/* index -> request in flight */
	struct inode *inode;		/* the file; NULL once evicted */
	u64 id;				/* the inode number */

	/* Under pool->lock. */
	u64 resident;			/* pages in @pages */
	u64 paged_out;			/* KVMSHARE_ENT_OUT entries */
	u64 zero;			/* KVMSHARE_ENT_ZERO entries */
	u64 entitlement;		/* guaranteed pages */
	u64 limit;			/* most resident pages, 0: no limit */
	u64 target;			/* evict down to this, 0: no target */
	u32 weight;

	/* Access sampling, only touched by the eviction work. */
	u64 sampled;			/* pages unmapped by the last sample */
	u64 active_estimate;		/* resident pages in use, estimated */
	struct xarray unit_picks;	/* unit base -> picks in the last sample */
	/*
	 * Per-unit state of pool_huge.c, index base >> 9, under its own
	 * xa_lock (taken with no other lock of the pool held): a unit
	 * page-in in flight (struct kvmshare_unit_in), or a value entry of
	 * KVMSHARE_UNIT_* flags (hints for choosing a unit page-in).
	 */
	struct xarray units;
	/*
	 * Deferred partial punches (pool_huge.c), index base >> 9: a bitmap
	 * of KVMSHARE_UNIT_PAGES bits (64 bytes) per unit that has pages
	 * punched and zeroed in place, not freed yet. Made and changed
	 * under the unit's folio lock, the tree under its own xa_lock
	 * (innermost); erased in the section, under the pages xa_lock, where
	 * the unit leaves the array. The eviction work's cursors over it
	 * (kvmshare_huge_holes_reclaim(), kvmshare_huge_holes_rescan()) and
	 * the huge_punch_split_pct lowering it last rescanned for are only
	 * touched by that work (holes_gen under pool->lock).
	 */
	struct xarray holes;
	unsigned long holes_next;
	unsigned long holes_scan;
	unsigned int holes_gen;
	/*
	 * Unit page-in guesses (pool_pagein.c), under units' xa_lock, read
	 * without it as hints: guesses left, and whether the partition's
	 * first guess (made with no evidence) is spent.
	 */
	unsigned int unit_guesses;
	bool unit_first_spent;
	pgoff_t evict_cursor;		/* where eviction goes on */
	unsigned long collapse_cursor;	/* unit the collapse work goes on at */
	unsigned int collapse_sweep;	/* its wraps: held-range memory */
	atomic64_t pageouts_inflight;	/* page-outs posted, not ended */
	bool visited;			/* by this eviction pass, pool->lock */

	/*
	 * Adaptive read-ahead (pool_pagein.c): a heuristic, updated without
	 * a lock; a lost update only delays the adaptation by one page-in.
	 */
	unsigned int ra_window;		/* pages, a power of 2 */
	atomic_t ra_issued;		/* read-ahead pages since last page-in */
	atomic_t ra_hits;		/* hits on them since the last page-in */
	atomic_t ra_wasted;		/* evicted untouched since then */

	struct kvmshare_part_counters cnt;
	struct kvmshare_part_policy policy;	/* pool_policy.c */
};

/* Partition state of an inode: embeds the VFS inode. */
struct kvmshare_inode {
	struct kvmshare_part *part;	/* NULL for the root directory */
	struct inode vfs_inode;
};

static inline struct kvmshare_inode *KVMSHARE_I(struct inode *inode)
{
	return container_of(inode, struct kvmshare_inode, vfs_inode);
}

static inline struct kvmshare_part *kvmshare_part_of(struct inode *inode)
{
	return KVMSHARE_I(inode)->part;
}

static inline struct kvmshare_pool *kvmshare_pool_of(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* pool_main.c */
extern struct kset *kvmshare_kset;
extern struct dentry *kvmshare_debugfs;

/* pool_acct.c: the pool's page accounting (pool->lock only) */
u64 kvmshare_owed(u64 entitlement, u64 resident);
void kvmshare_acct_init(struct kvmshare_pool *pool);
void kvmshare_acct_exit(struct kvmshare_pool *pool);
void kvmshare_acct_balance(struct kvmshare_pool *pool);
bool kvmshare_charge_pagein(struct kvmshare_part *part, struct page **page);
bool kvmshare_charge_page(struct kvmshare_part *part, struct page **page);
bool kvmshare_charge_spare(struct kvmshare_part *part, struct page **page);
bool kvmshare_unit_room(struct kvmshare_part *part);
bool kvmshare_charge_unit(struct kvmshare_part *part, struct list_head *held);
bool kvmshare_collapse_room(struct kvmshare_part *part, u64 copy, u64 grow);
bool kvmshare_charge_collapse(struct kvmshare_part *part, u64 copy, u64 grow,
			      struct list_head *held);
void kvmshare_collapse_end(struct kvmshare_part *part, u64 copy, u64 grow,
			   struct list_head *held, bool done);
void kvmshare_uncharge_unit(struct kvmshare_part *part,
			    struct list_head *held);
void kvmshare_held_return_list(struct kvmshare_pool *pool,
			       struct list_head *held);
bool kvmshare_has_room(struct kvmshare_part *part, bool pagein);
bool kvmshare_part_pressed(struct kvmshare_part *part);
void kvmshare_uncharge(struct kvmshare_part *part, u64 n);
void kvmshare_uncharge_page(struct kvmshare_part *part, struct page *page);
void kvmshare_held_return(struct kvmshare_pool *pool, struct page *held);
void kvmshare_free_pages(struct list_head *pages);
void kvmshare_account_out(struct kvmshare_part *part, unsigned long kind,
			  long delta);
int kvmshare_acct_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr,
			   u64 *ent, u64 *limit);
void kvmshare_acct_part_gone(struct kvmshare_part *part);
void kvmshare_acct_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info);
int kvmshare_pool_resize(struct kvmshare_pool *pool, u64 size_pages,
			 u64 reserve_pages);

/* pool_part.c: partitions and their pages */
struct kvmshare_part *kvmshare_part_create(struct kvmshare_pool *pool,
					   const char *name, struct inode *inode);
void kvmshare_part_destroy(struct kvmshare_part *part);
void kvmshare_part_unlinked(struct kvmshare_part *part);
void kvmshare_parts_leave_sysfs(struct kvmshare_pool *pool);
int kvmshare_part_rename(struct kvmshare_part *part, const char *name);
struct page *kvmshare_page_alloc(struct kvmshare_part *part,
				 struct vm_area_struct *vma, pgoff_t index,
				 gfp_t gfp, struct page *held);
struct page *kvmshare_part_get_page(struct kvmshare_part *part, pgoff_t index,
				    struct vm_area_struct *vma, bool alloc,
				    int *err);
struct page *kvmshare_part_get_page_wait(struct kvmshare_part *part,
					 struct address_space *mapping,
					 pgoff_t index, bool alloc, int *err);
void kvmshare_count_failure(struct kvmshare_part *part);
u64 kvmshare_part_remove_range(struct kvmshare_part *part,
			       struct address_space *mapping,
			       pgoff_t start, pgoff_t end);
u64 kvmshare_part_undo_alloc(struct kvmshare_part *part,
			     struct address_space *mapping, pgoff_t index);
int kvmshare_part_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr);
void kvmshare_part_get_attr(struct kvmshare_part *part,
			    struct kvmshare_part_attr *attr);
void kvmshare_part_get_counters(struct kvmshare_part *part,
				struct kvmshare_part_stats *st);
void kvmshare_pool_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info);

/* pool_req.c, pool_pagein.c, pool_evict.c, pool_service.c: host paging */
int kvmshare_io_cache_init(void);
void kvmshare_io_cache_exit(void);
int kvmshare_pager_init(struct kvmshare_pool *pool);
void kvmshare_pager_exit(struct kvmshare_pool *pool);
long kvmshare_pager_attach(struct kvmshare_pool *pool, void __user *uarg);
bool kvmshare_pager_active(struct kvmshare_pool *pool);
int kvmshare_pagein_start(struct kvmshare_part *part, pgoff_t index,
			  void *entry, struct vm_area_struct *vma,
			  struct kvmshare_io **iop);
int kvmshare_io_wait(struct kvmshare_io *io);
void kvmshare_io_async(struct kvmshare_io *io);
bool kvmshare_async_restore(void);
long kvmshare_pager_stop_id(struct kvmshare_pool *pool, void __user *uarg);
void kvmshare_pager_part_gone(struct kvmshare_part *part);
void kvmshare_pager_debugfs(struct kvmshare_pool *pool, struct dentry *dir);
void kvmshare_pager_get_info(struct kvmshare_pool *pool,
			     struct kvmshare_pool_info *info);
void kvmshare_io_put(struct kvmshare_io *io);
struct kvmshare_io *kvmshare_io_lookup(struct kvmshare_part *part,
				       pgoff_t index);
void kvmshare_block_release(struct kvmshare_pool *pool, u64 block,
			    struct kvmshare_part *part, pgoff_t index);
void kvmshare_block_removed(struct kvmshare_part *part, pgoff_t index,
			    u64 block);
void kvmshare_evict_kick(struct kvmshare_pool *pool);
int kvmshare_page_has_data(struct page *page);
void kvmshare_pageout_range(struct kvmshare_part *part,
			    struct address_space *mapping, pgoff_t first,
			    pgoff_t last);
int kvmshare_wait_room(struct kvmshare_part *part);
void kvmshare_ra_init(struct kvmshare_part *part);
unsigned int kvmshare_ra_window(struct kvmshare_part *part);
void kvmshare_ra_hit(struct kvmshare_part *part, pgoff_t index);
/* Why a fault pages its unit in whole (kvmshare_ra_unit_wanted()). */
enum kvmshare_unit_why {
	KVMSHARE_UNIT_NO,	/* it does not: 4 KiB */
	KVMSHARE_UNIT_SEEN,	/* a touched 4 KiB neighbour across its edge */
	KVMSHARE_UNIT_GUESS,	/* a walk goes on from a unit paged in */
	KVMSHARE_UNIT_FIRST,	/* the partition's first guess */
};

enum kvmshare_unit_why kvmshare_ra_unit_wanted(struct kvmshare_part *part,
					       pgoff_t index, bool whole);
bool kvmshare_ra_unit_commit(struct kvmshare_part *part,
			     enum kvmshare_unit_why why);
const char *kvmshare_stream_state(struct kvmshare_part *part);

/*
 * Points of the paging code where a regression test may make it sleep
 * (debugfs <pool>/inject_point, inject_ms, inject_count), or, for a point
 * passed to kvmshare_inject_fail(), fail (inject_ms is not used there).
 */
enum kvmshare_inject_point {
	KVMSHARE_INJ_NONE,
	KVMSHARE_INJ_PAGEIN_AHEAD = 1,	/* read-ahead: entry read, no io yet */
	KVMSHARE_INJ_PAGEOUT_SWAPPED = 2, /* page-out: entry OUT, registered */
	KVMSHARE_INJ_EVICT_CHECKED = 3,	/* eviction: refcount checked */
	KVMSHARE_INJ_ATTACH_FD = 4,	/* attach: the fd is in the table */
	KVMSHARE_INJ_PAGEOUT_CHECKED = 5, /* page-out end: refcount checked */
	KVMSHARE_INJ_REMOVE_READ = 6,	/* removal: a value entry read */
	KVMSHARE_INJ_NOMEM = 7,	/* page-in, held pages: no page */
	KVMSHARE_INJ_PARTIAL_HELD = 8,	/* truncate, punch: ends paged in */
	KVMSHARE_INJ_PAGEOUT_UNCHARGED = 9, /* page-out end: still in flight */
	KVMSHARE_INJ_EVICT_QUEUE = 10,	/* page-out: registered, not queued */
	KVMSHARE_INJ_EVICT_KICK = 11,	/* eviction kick: dying was false */
	KVMSHARE_INJ_UNIT_ALLOCATED = 12, /* new unit: allocated, locked */
	KVMSHARE_INJ_UNIT_NOMEM = 13,	/* new unit: the allocation fails */
	KVMSHARE_INJ_EVICT_HELD = 14,	/* eviction pass: holds an inode */
	KVMSHARE_INJ_SPLIT_COPIED = 15,	/* split: copied, entries not swapped */
	KVMSHARE_INJ_SPLIT_NOMEM = 16,	/* split: a 4 KiB page is not had */
	KVMSHARE_INJ_UNIT_OUT_QUEUE = 17, /* unit page-out: registered, unlocked */
	KVMSHARE_INJ_UNIT_OUT_CHECKED = 18, /* unit page-out end: checked */
	KVMSHARE_INJ_UNIT_IN_READ = 19,	/* unit page-in: read, not installed */
	KVMSHARE_INJ_UNIT_IN_NOMEM = 20, /* unit page-in: no 2 MiB block */
	KVMSHARE_INJ_COLLAPSE_COPIED = 21, /* collapse: copied, not swapped */
	KVMSHARE_INJ_COLLAPSE_NOMEM = 22, /* collapse: no 2 MiB block */
	KVMSHARE_INJ_PUNCH_DEFERRED = 23, /* punch: zeroed, unit locked */
};

void kvmshare_inject(struct kvmshare_pool *pool, u32 point);
bool kvmshare_inject_fail(struct kvmshare_pool *pool, u32 point);

/* pool_huge.c: 2 MiB units */

/*
 * Whether @entry, an entry of part->pages, is a subpage of a unit. Read
 * without the array's lock this is a hint only: the caller confirms it
 * under the lock or the unit's folio lock.
 */
static inline bool kvmshare_is_unit(void *entry)
{
	return entry && !xa_is_value(entry) && PageCompound((struct page *)entry);
}

static inline pgoff_t kvmshare_unit_base(pgoff_t index)
{
	return round_down(index, KVMSHARE_UNIT_PAGES);
}

void kvmshare_huge_forget(struct kvmshare_part *part, pgoff_t start,
			  pgoff_t end);
void kvmshare_huge_init(struct kvmshare_pool *pool);
void kvmshare_huge_exit(struct kvmshare_pool *pool);
void kvmshare_huge_rearm(struct kvmshare_pool *pool);
struct vm_fault;
void kvmshare_huge_pte_seen(struct kvmshare_part *part, struct vm_fault *vmf,
			    struct page *page);
struct page *kvmshare_huge_fault(struct kvmshare_part *part,
				 struct vm_fault *vmf, struct kvmshare_io **iop);
vm_fault_t kvmshare_huge_wait(struct kvmshare_part *part,
			      struct vm_fault *vmf);
vm_fault_t kvmshare_huge_retry(struct vm_fault *vmf);
vm_fault_t kvmshare_huge_map_check(struct kvmshare_part *part,
				   struct vm_fault *vmf, struct page *page);
bool kvmshare_huge_remove(struct kvmshare_part *part,
			  struct address_space *mapping, pgoff_t index,
			  void *entry, u64 *n);
u64 kvmshare_huge_trim(struct kvmshare_part *part,
		       struct address_space *mapping, pgoff_t *first,
		       pgoff_t *end, bool punch);
void kvmshare_huge_written(struct kvmshare_part *part, pgoff_t index,
			   struct page *page);
void kvmshare_huge_holes_exit(struct kvmshare_part *part);
u64 kvmshare_huge_holes_reclaim(struct kvmshare_part *part,
				struct inode *inode, u64 want);
bool kvmshare_huge_holes_rescan(struct kvmshare_part *part,
				struct inode *inode);
unsigned int kvmshare_huge_punch_gen(void);
void kvmshare_huge_set_size(struct inode *inode, loff_t newsize);
void kvmshare_huge_grow(struct inode *inode, loff_t oldsize, loff_t newsize);
unsigned long kvmshare_huge_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);

/* pool_file.c: file, inode and directory operations */
extern const struct file_operations kvmshare_file_ops;
extern const struct inode_operations kvmshare_file_iops;
extern const struct file_operations kvmshare_dir_ops;
extern const struct inode_operations kvmshare_dir_iops;
extern const struct inode_operations kvmshare_subdir_iops;

#endif /* _KVMSHARE_POOL_H */
