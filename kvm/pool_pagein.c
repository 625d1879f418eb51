// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare host paging: paging in. A fault, read or write that finds a
 * page on the backing store registers a page-in (in part->io) with a new
 * page charged to the pool, and reads ahead the rest of its aligned
 * window; the request ends in kvmshare_pagein_done() (pool_req.c).
 *
 * This file owns no lock. Callers hold the mapping's invalidate_lock
 * shared (no page leaves the file meanwhile); it takes, one at a time and
 * never nested, part->io's xa_lock (registration), pool->lock (charging,
 * pool_part.c) and pool->io_lock (queueing, pool_req.c), and
 * part->pages' xa_lock (read-ahead marks; callers may hold a page lock).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/debugfs.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/kvmshare_pager.h>

#include "pool.h"
#include "pool_pager.h"
#include "kvmshare_trace.h"

#define KVMSHARE_MAX_CLUSTER	64

static int kvmshare_set_cluster(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret = kstrtouint(val, 0, &n);

	if (ret)
		return ret;
	if (!n || n > KVMSHARE_MAX_CLUSTER || !is_power_of_2(n))
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, n);
	return 0;
}

static const struct kernel_param_ops kvmshare_cluster_ops = {
	.set = kvmshare_set_cluster,
	.get = param_get_uint,
};

static unsigned int pagein_cluster = 16;
module_param_cb(pagein_cluster, &kvmshare_cluster_ops, &pagein_cluster, 0644);
MODULE_PARM_DESC(pagein_cluster,
		 "Page in the aligned window of this many pages around a faulting page (power of 2, at most 64; 1: only the faulting page)");

static bool readahead_adapt = true;
module_param(readahead_adapt, bool, 0644);
MODULE_PARM_DESC(readahead_adapt,
		 "Adapt each partition's read-ahead window (1 to pagein_cluster pages) to how its read-ahead is used: halve it when its pages are not touched, double it on sequential access (default Y; N: always pagein_cluster)");

/*
 * Off by default: KVM (6.1) completes an asynchronous page fault by
 * faulting the page in again from the vCPU thread (kvm_arch_async_page_ready,
 * a prefetch) and raises the machine check of a failed page-in there, in
 * whatever the guest runs at that moment, not in the process that touched
 * the page (Documentation/admin-guide/paging.rst, "Asynchronous restore").
 */
static bool async_restore;
module_param(async_restore, bool, 0644);
MODULE_PARM_DESC(async_restore,
		 "Start a page-in and return at once when KVM asks for a page without waiting, so that its asynchronous page fault lets the guest run on; a failed page-in is then a machine check in whatever the guest runs when KVM completes the fault (default N: such faults wait, and a lost page costs only the process that touches it)");

/* Whether faults that must not wait get an asynchronous restore. */
bool kvmshare_async_restore(void)
{
	return READ_ONCE(async_restore);
}

#define KVMSHARE_ROOM_WAIT_MAX_S	3600U

static int kvmshare_param_set_room_wait(const char *val,
					const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_ROOM_WAIT_MAX_S);
}

static const struct kernel_param_ops kvmshare_room_wait_ops = {
	.set = kvmshare_param_set_room_wait,
	.get = param_get_uint,
};

static unsigned int room_wait_s = 30;
module_param_cb(room_wait_s, &kvmshare_room_wait_ops, &room_wait_s, 0644);
MODULE_PARM_DESC(room_wait_s,
		 "Seconds a fault waits for eviction to make room, 1..3600 (default 30)");

/* Paging in */

/*
 * Register and queue a page-in of page @index of @part, whose entry the
 * caller found to be @entry (on the backing store, no request for it).
 * @ahead: a read-ahead, that takes only spare room of the pool. @vma: the
 * mapping a fault came through (NULL outside a fault), whose NUMA policy
 * places the page (kvmshare_page_alloc()). With @iop
 * the request is returned with a reference for the caller. Returns
 * -EINPROGRESS (queued: the caller kicks the service), -EAGAIN (the entry
 * changed or a request for it appeared), -ENOSPC, -ENOMEM.
 */
static int kvmshare_pagein_queue(struct kvmshare_part *part, pgoff_t index,
				 void *entry, bool ahead,
				 struct vm_area_struct *vma,
				 struct kvmshare_io **iop)
{
	struct kvmshare_io *io;
	struct page *page = NULL;
	int ret;

	/* Below the entitlement, the page held for it: nothing can fail. */
	if (!(ahead ? kvmshare_charge_spare(part, &page) :
	      kvmshare_charge_pagein(part, &page)))
		return -ENOSPC;
	if (page || !kvmshare_inject_fail(part->pool, KVMSHARE_INJ_NOMEM))
		page = kvmshare_page_alloc(part, vma, index, GFP_HIGHUSER |
					   __GFP_RETRY_MAYFAIL | __GFP_NOWARN,
					   page);
	if (!page) {
		kvmshare_uncharge(part, 1);
		return -ENOMEM;
	}
	if (ahead)	/* as if alloc_page() slept */
		kvmshare_inject(part->pool, KVMSHARE_INJ_PAGEIN_AHEAD);
	io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_PAGE_IN, index,
			       kvmshare_ent_block(entry), page);
	if (!io) {
		kvmshare_uncharge_page(part, page);
		return -ENOMEM;
	}
	io->crc = kvmshare_ent_crc(entry);
	io->ahead = ahead;
	refcount_inc(&io->ref);			/* the array's */
	ret = xa_insert(&part->io, index, io, GFP_KERNEL);
	if (ret) {
		/* Someone else started it (-EBUSY), or no memory. */
		io->page = NULL;
		kvmshare_io_put(io);
		kvmshare_io_put(io);
		kvmshare_uncharge_page(part, page);
		return ret == -EBUSY ? -EAGAIN : ret;
	}
	/*
	 * Traced before the check below: its cancel ends the page-in
	 * (kvmshare_pagein_end), and every end event has its start.
	 */
	trace_kvmshare_pagein_start(io);
	if (xa_load(&part->pages, index) != entry) {
		/*
		 * Punched, or paged in by another request that completed,
		 * between our look and the registration.
		 */
		kvmshare_io_end(io, -ECANCELED);
		return -EAGAIN;
	}
	if (iop) {
		refcount_inc(&io->ref);		/* the caller's */
		*iop = io;
	}
	kvmshare_io_queue(part->pool, io);
	return -EINPROGRESS;
}

/* Adaptive read-ahead */

void kvmshare_ra_init(struct kvmshare_part *part)
{
	part->ra_window = KVMSHARE_MAX_CLUSTER;
	atomic_set(&part->ra_issued, 0);
	atomic_set(&part->ra_hits, 0);
	atomic_set(&part->ra_wasted, 0);
}

/* The read-ahead window of @part now, in pages (sysfs readahead_window). */
unsigned int kvmshare_ra_window(struct kvmshare_part *part)
{
	unsigned int limit = READ_ONCE(pagein_cluster);

	if (!READ_ONCE(readahead_adapt))
		return limit;
	return min(READ_ONCE(part->ra_window), limit);
}

/*
 * Page @index of @part is used (a fault, a read or a write found it): if
 * it was read ahead, that read-ahead was a hit.
 */
void kvmshare_ra_hit(struct kvmshare_part *part, pgoff_t index)
{
	bool hit;

	if (!xa_get_mark(&part->pages, index, KVMSHARE_MARK_AHEAD))
		return;
	xa_lock(&part->pages);
	hit = xa_get_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);
	if (hit)
		__xa_clear_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);
	xa_unlock(&part->pages);
	if (hit) {
		atomic64_inc(&part->cnt.readahead_hits);
		atomic_inc(&part->ra_hits);
	}
}

/* Whether page @index of @part is in memory and was touched since. */
static bool kvmshare_ra_used(struct kvmshare_part *part, pgoff_t index)
{
	void *entry = xa_load(&part->pages, index);

	return entry && !xa_is_value(entry) &&
	       !xa_get_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);
}

/*
 * A fault starts a page-in of page @index of @part: choose the window to
 * read ahead, from what happened to the read-ahead since the last page-in.
 *
 *  - read-ahead pages were evicted untouched: halve the window;
 *  - a neighbour of @index was touched, or at least half of the pages
 *    read ahead were touched: sequential access, double it;
 *  - pages were read ahead and none was touched: halve it;
 *  - otherwise (nothing read ahead, some touched) keep it.
 *
 * The first page-in of a partition reads the whole window: no evidence
 * yet. A random permutation of a partition's pages shrinks the window at
 * first (its read-ahead pages are touched late) and grows it again as
 * more neighbours are in memory; sparse access (one page per window)
 * ends at 1, where nothing is read ahead.
 */
static unsigned int kvmshare_ra_adapt(struct kvmshare_part *part,
				      pgoff_t index)
{
	unsigned int limit = READ_ONCE(pagein_cluster);
	unsigned int old = min(READ_ONCE(part->ra_window), limit), w = old;
	unsigned int issued, hits, wasted;

	issued = atomic_xchg(&part->ra_issued, 0);
	hits = atomic_xchg(&part->ra_hits, 0);
	wasted = atomic_xchg(&part->ra_wasted, 0);
	if (!READ_ONCE(readahead_adapt) || limit == 1)
		return limit;
	if (wasted)
		w = max(w / 2, 1U);
	else if ((index && kvmshare_ra_used(part, index - 1)) ||
		 kvmshare_ra_used(part, index + 1) ||
		 (issued && hits * 2 >= issued))
		w = min(w * 2, limit);
	else if (issued && !hits)
		w = max(w / 2, 1U);
	if (w < old)
		atomic64_inc(&part->cnt.readahead_shrinks);
	else if (w > old)
		atomic64_inc(&part->cnt.readahead_grows);
	WRITE_ONCE(part->ra_window, w);
	return w;
}

/* The smallest read-ahead limit at which a unit page-in may be guessed. */
#define KVMSHARE_UNIT_PAGEIN_WINDOW	16
/*
 * Guesses a unit page-in with 4 KiB evidence allows: a walk that goes on
 * through units mapped by PMDs (whose pages fault no more) gets this many
 * units whole before it needs evidence again, so that (n + 1) / (n + 2)
 * of a long walk comes back whole (a unit between goes 4 KiB and gives
 * the evidence). Also what one piece of evidence can cost: n units read.
 */
#define KVMSHARE_UNIT_GUESSES		16

/* Whether page @index of @part is in memory. */
static bool kvmshare_ra_resident(struct kvmshare_part *part, pgoff_t index)
{
	void *entry = xa_load(&part->pages, index);

	return entry && !xa_is_value(entry);
}

/*
 * Whether page @index of @part is a 4 KiB page in memory that a fault,
 * read() or write() touched: not read ahead untouched (AHEAD mark), not
 * a unit's subpage (a unit made or paged in whole is mapped by a PMD: a
 * touch of its other pages is never seen, so its pages are no evidence
 * of anything but the one fault that brought it; review s26 huge5, M1).
 * A hint: the entry may change meanwhile.
 */
static bool kvmshare_ra_touched_4k(struct kvmshare_part *part, pgoff_t index)
{
	void *entry = xa_load(&part->pages, index);

	return entry && !xa_is_value(entry) &&
	       !PageCompound((struct page *)entry) &&
	       !xa_get_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);
}

/**
 * kvmshare_ra_unit_wanted - whether a fault at @index should page its unit in
 * @part: the partition
 * @index: the faulting page, in a unit whose pages are all on the backing
 *	store, all-zero or holes
 * @whole: the unit was paged out whole (a hint, pool_huge.c)
 *
 * A unit page-in reads up to 512 pages for one fault: worth it only when
 * the guest will touch them. Only the first or last page of such a unit
 * can have a neighbour in memory. Looked at without a lock (hints); the
 * partition's state changes only when the page-in has its charge and its
 * folio (kvmshare_ra_unit_commit()), and the 4 KiB read-ahead window not
 * at all (review s26 huge5, M2).
 *
 *  - KVMSHARE_UNIT_SEEN: the neighbour across the unit's edge is a 4 KiB
 *    page the guest touched (kvmshare_ra_touched_4k()): it walks into
 *    this unit. Renews the partition's guesses.
 *  - KVMSHARE_UNIT_GUESS: the unit was paged out whole, the neighbour
 *    across the edge is in memory (a unit paged in before: the walk goes
 *    on, unseen under its PMD) and a guess is left. Bounds what a guest
 *    touching the first page of each unit costs: the units that one
 *    piece of 4 KiB evidence allows (KVMSHARE_UNIT_GUESSES).
 *  - KVMSHARE_UNIT_FIRST: the partition's first guess, anywhere in a
 *    unit paged out whole: no evidence can exist yet. Once per partition.
 *
 * No guess when pagein_cluster is under KVMSHARE_UNIT_PAGEIN_WINDOW (the
 * administrator wants little read-ahead), whatever readahead_adapt says.
 */
enum kvmshare_unit_why kvmshare_ra_unit_wanted(struct kvmshare_part *part,
					       pgoff_t index, bool whole)
{
	pgoff_t base = kvmshare_unit_base(index);
	pgoff_t next;

	if (index == base && index)
		next = index - 1;
	else if (index == base + KVMSHARE_UNIT_PAGES - 1)
		next = index + 1;
	else
		next = ULONG_MAX;		/* no neighbour in memory */
	if (next != ULONG_MAX && kvmshare_ra_touched_4k(part, next))
		return KVMSHARE_UNIT_SEEN;
	if (!whole || READ_ONCE(pagein_cluster) < KVMSHARE_UNIT_PAGEIN_WINDOW)
		return KVMSHARE_UNIT_NO;
	if (!READ_ONCE(part->unit_first_spent))
		return KVMSHARE_UNIT_FIRST;
	if (READ_ONCE(part->unit_guesses) && next != ULONG_MAX &&
	    kvmshare_ra_resident(part, next))
		return KVMSHARE_UNIT_GUESS;
	return KVMSHARE_UNIT_NO;
}

/**
 * kvmshare_ra_unit_commit - a unit page-in chosen for @why has what it needs
 * @part: the partition
 * @why: what kvmshare_ra_unit_wanted() said
 *
 * Called once the page-in has its charge and its folio. Renews the
 * guesses (SEEN) or takes the one it uses, looked at again under the
 * lock: of two faults that both saw the last guess, one gets it.
 *
 * Return: whether the page-in may go on (else the caller undoes it).
 */
bool kvmshare_ra_unit_commit(struct kvmshare_part *part,
			     enum kvmshare_unit_why why)
{
	bool ok = true;

	xa_lock(&part->units);
	switch (why) {
	case KVMSHARE_UNIT_SEEN:
		WRITE_ONCE(part->unit_guesses, KVMSHARE_UNIT_GUESSES);
		break;
	case KVMSHARE_UNIT_FIRST:
		ok = !part->unit_first_spent;
		WRITE_ONCE(part->unit_first_spent, true);
		break;
	case KVMSHARE_UNIT_GUESS:
		ok = part->unit_guesses;
		if (ok)
			WRITE_ONCE(part->unit_guesses, part->unit_guesses - 1);
		break;
	default:
		ok = false;
		break;
	}
	xa_unlock(&part->units);
	return ok;
}

/*
 * Page in, along with page @index, the other pages of its aligned window
 * (kvmshare_ra_adapt(): 1 to pagein_cluster pages) that are on the
 * backing store: a guest touching one page of a region it used before
 * touches its neighbours next, and one round trip to the service brings
 * them all. Stops when the pool has no spare room. Read-ahead pages that
 * are not touched go first on eviction.
 */
static void kvmshare_pagein_ahead(struct kvmshare_part *part, pgoff_t index,
				  struct vm_area_struct *vma)
{
	unsigned int n = kvmshare_ra_adapt(part, index);
	pgoff_t first = round_down(index, n), i;
	void *entry;
	int ret;

	for (i = first; n > 1 && i < first + n; i++) {
		if (i == index)
			continue;
		entry = xa_load(&part->pages, i);
		if (!kvmshare_ent_is_out(entry) || xa_load(&part->io, i))
			continue;
		ret = kvmshare_pagein_queue(part, i, entry, true, vma, NULL);
		if (ret == -ENOSPC || ret == -ENOMEM)
			break;
		if (ret == -EINPROGRESS)
			atomic_inc(&part->ra_issued);
	}
}

/**
 * kvmshare_pagein_start - page in page @index of @part, or join its page-in
 * @part: the partition
 * @index: the page
 * @entry: the array's entry for it, as the caller found it
 * @vma: the mapping being faulted, or NULL (see kvmshare_page_alloc())
 * @iop: the request, with a reference, on -EINPROGRESS
 *
 * The caller holds the invalidate_lock shared. Returns -EINPROGRESS (wait
 * for *@iop with kvmshare_io_wait(), then look again), -EAGAIN (the entry
 * changed: look again), -ENOSPC (no room in the pool for the page: wait
 * for room), -ENOMEM.
 */
int kvmshare_pagein_start(struct kvmshare_part *part, pgoff_t index,
			  void *entry, struct vm_area_struct *vma,
			  struct kvmshare_io **iop)
{
	u64 t0 = kvmshare_t_start(part->pool);
	struct kvmshare_io *io;
	int ret;

	if (!kvmshare_ent_is_out(entry))
		return -EAGAIN;
	io = kvmshare_io_lookup(part, index);
	if (io) {
		*iop = io;
		return -EINPROGRESS;
	}
	ret = kvmshare_pagein_queue(part, index, entry, false, vma, iop);
	if (ret == -EINPROGRESS) {
		kvmshare_pagein_ahead(part, index, vma);
		/* Timed: page-ins queued (steps 1-7); the kick is its own. */
		kvmshare_t_end(part->pool, KVMSHARE_T_PAGEIN_START, t0);
		kvmshare_pager_kick(part->pool);
	}
	return ret;
}

/* Wait until @part may take a page (eviction made room); 0 or errno. */
int kvmshare_wait_room(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	long ret;

	kvmshare_evict_kick(pool);
	ret = wait_event_killable_timeout(pool->room_wq,
					  kvmshare_has_room(part, true) ||
					  !kvmshare_pager_active(pool),
					  room_wait_s * HZ);
	if (ret < 0)
		return -EINTR;
	return ret ? 0 : -ENOSPC;
}
