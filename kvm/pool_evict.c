// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare host paging: eviction. The pool evicts pages of partitions that
 * are above their target, or all partitions above their entitlement when
 * the pool runs short, to a backing store that a paging service serves
 * (pool_service.c). The pool owns the backing store's block map, like the
 * kernel does a swap device's, so any service on the same store can serve
 * any request.
 *
 * A page leaves memory only once the service confirmed its copy durable;
 * it is kept if it was touched, written or pinned meanwhile. All-zero
 * pages are dropped without I/O. Which pages go is learnt by sampling (as
 * VMware ESX does): each period a few resident pages of each partition are
 * unmapped; those not faulted back by the next period are idle and go
 * first, and the share faulted back estimates the partition's active
 * memory.
 *
 * Locks, outermost first:
 *
 *  pool->evict_work     (not a lock) one eviction pass at a time; it owns
 *                       part->sampled, active_estimate and evict_cursor.
 *  page lock            (trylock) held while a page is checked for pins
 *                       and its entry swapped or its page-out registered.
 *  part->pages xa_lock  under the page lock: the reference check and
 *                       entry swap of an all-zero page, in one step
 *                       (kvmshare_page_swap_out()), and the marks.
 *  part->io xa_lock     under the page lock, not with the above: the
 *                       page-out's registration.
 *  pool->io_lock        taken alone, for a backing block.
 *  pool->lock           taken alone, to choose the partition to evict
 *                       from and for part->visited.
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

/* Ranges of the parameters (Documentation/admin-guide/module-parameters.rst) */
#define KVMSHARE_SAMPLE_MS_MAX		3600000U
#define KVMSHARE_SAMPLE_PAGES_MAX	65536U
#define KVMSHARE_EVICT_BATCH_MAX	65536U

static int kvmshare_param_set_sample_ms(const char *val,
					const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_SAMPLE_MS_MAX);
}

static const struct kernel_param_ops kvmshare_sample_ms_ops = {
	.set = kvmshare_param_set_sample_ms,
	.get = param_get_uint,
};

static unsigned int sample_ms = 1000;
module_param_cb(sample_ms, &kvmshare_sample_ms_ops, &sample_ms, 0644);
MODULE_PARM_DESC(sample_ms,
		 "Access sampling and eviction period, 1..3600000 ms (default 1000)");

static int kvmshare_param_set_sample_pages(const char *val,
					   const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_SAMPLE_PAGES_MAX);
}

static const struct kernel_param_ops kvmshare_sample_pages_ops = {
	.set = kvmshare_param_set_sample_pages,
	.get = param_get_uint,
};

static unsigned int sample_pages = 64;
module_param_cb(sample_pages, &kvmshare_sample_pages_ops, &sample_pages,
		0644);
MODULE_PARM_DESC(sample_pages,
		 "Pages per partition sampled each period, 1..65536 (default 64)");

static int kvmshare_param_set_evict_batch(const char *val,
					  const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_EVICT_BATCH_MAX);
}

static const struct kernel_param_ops kvmshare_evict_batch_ops = {
	.set = kvmshare_param_set_evict_batch,
	.get = param_get_uint,
};

static unsigned int evict_batch = 1024;
module_param_cb(evict_batch, &kvmshare_evict_batch_ops, &evict_batch, 0644);
MODULE_PARM_DESC(evict_batch,
		 "Most pages evicted per partition per pass, 1..65536 (default 1024)");

/* Eviction */

/*
 * Try to evict page @index of @part. Returns 1 if a page left (or a
 * page-out started), 0 if it was skipped.
 */
static int kvmshare_evict_one(struct kvmshare_part *part,
			      struct address_space *mapping, pgoff_t index,
			      struct page *page)
{
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_io *io;
	u64 block;
	int ret = 0, data;

	if (xa_load(&part->io, index))
		return 0;			/* already under I/O */
	if (!trylock_page(page))
		return 0;
	/*
	 * (a unit's subpage: kvmshare_evict_found() skips those; a poisoned
	 * page is never read again, see kvmshare_fault())
	 */
	if (xa_load(&part->pages, index) != page || PageCompound(page) ||
	    PageHWPoison(page))
		goto unlock;
	/*
	 * A fault maps the page only with it locked (VM_FAULT_LOCKED), and
	 * KVM maps it only while a host PTE does: unmapped now (sampled,
	 * read ahead, or by the walk's run, kvmshare_evict_run()), it stays
	 * so, and the zap with its mmu-notifier round is not needed.
	 */
	if (page_mapped(page))
		unmap_mapping_pages(mapping, index, 1, false);
	/* The array's ref + the caller's: anything more is a pin. */
	if (page_mapped(page) || page_count(page) != 2) {
		atomic64_inc(&part->cnt.pinned_skips);
		goto unlock;
	}
	kvmshare_inject(pool, KVMSHARE_INJ_EVICT_CHECKED);
	ClearPageDirty(page);
	xa_clear_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED);
	if (xa_get_mark(&part->pages, index, KVMSHARE_MARK_AHEAD)) {
		/* Read ahead for nothing: the window shrinks. */
		xa_clear_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);
		atomic64_inc(&part->cnt.readahead_wasted);
		atomic_inc(&part->ra_wasted);
	}

	data = kvmshare_page_has_data(page);
	if (data < 0)
		goto unlock;			/* a machine check: queued */
	if (!data) {
		if (!kvmshare_page_swap_out(part, index, page,
					    kvmshare_ent(KVMSHARE_ENT_ZERO,
							 0, 0)))
			goto unlock;
		put_page(page);			/* the array's */
		kvmshare_uncharge(part, 1);
		atomic64_inc(&part->cnt.zero_elided);
		ret = 1;
		goto unlock;
	}
	if (!kvmshare_pager_active(pool))
		goto unlock;
	spin_lock(&pool->io_lock);
	if (!kvmshare_block_get(pool, &block)) {
		spin_unlock(&pool->io_lock);
		goto unlock;
	}
	spin_unlock(&pool->io_lock);
	get_page(page);				/* the request's */
	io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_PAGE_OUT, index, block,
			       page);
	if (!io)
		goto undo;
	refcount_inc(&io->ref);			/* the array's */
	if (xa_insert(&part->io, index, io, GFP_KERNEL)) {
		kvmshare_io_put(io);
		kvmshare_io_put(io);
		goto undo;
	}
	unlock_page(page);
	atomic64_inc(&part->pageouts_inflight);
	trace_kvmshare_pageout_start(io);
	kvmshare_inject(pool, KVMSHARE_INJ_EVICT_QUEUE);
	kvmshare_io_queue(pool, io);	/* the caller kicks the service */
	return 1;
undo:
	put_page(page);
	spin_lock(&pool->io_lock);
	__kvmshare_block_put(pool, block);
	spin_unlock(&pool->io_lock);
unlock:
	unlock_page(page);
	return ret;
}

#define KVMSHARE_EVICT_BATCH	32	/* page-outs queued per kick */
#define KVMSHARE_EVICT_UNITS	8	/* units a cursor walk notes */

/* One walk of a partition's pages by eviction or fadvise(DONTNEED). */
struct kvmshare_evict_walk {
	u64 done;		/* pages that left, or whose page-out is queued */
	u64 want;		/* pages the walk is to free (runs: not above) */
	u64 room;		/* pages the partition may lose before its floor */
	pgoff_t unmapped_to;	/* the walk's run is unmapped up to here */
	bool below;		/* a fault waits for room: a unit may pass the floor */
	bool defer;		/* note units in @units, do not take them */
	bool wait;		/* fadvise: wait for a unit's lock */
	unsigned int nr_units;
	pgoff_t units[KVMSHARE_EVICT_UNITS];	/* noted: an index in each */
};

/*
 * The cursor walk goes through a partition in index order and takes the
 * 4 KiB pages it finds: unmap them a run at a time, one zap and one KVM
 * invalidation (with its flush of every vCPU's TLB) for up to
 * KVMSHARE_EVICT_BATCH pages instead of one each (about 60-110 us a page
 * in the test VM, the largest cost of a page-out: Documentation/plans/
 * pager-v2.md, 0a). A run starts at a mapped page, is no longer than the
 * pages still wanted, and ends at a 2 MiB boundary: the range of a
 * 4 KiB page is not a unit, and a unit the walk only notes keeps its
 * mapping. A page of the run the walk then skips (pinned, under I/O) is
 * faulted back in when used: an unmap is never wrong, only a cost.
 */
static void kvmshare_evict_run(struct address_space *mapping, pgoff_t index,
			       struct page *page, struct kvmshare_evict_walk *w)
{
	u64 n;

	if (index < w->unmapped_to || !page_mapped(page) ||
	    w->done >= w->want)
		return;
	n = min_t(u64, KVMSHARE_EVICT_BATCH, w->want - w->done);
	n = min_t(u64, n, KVMSHARE_UNIT_PAGES -
		  (index & (KVMSHARE_UNIT_PAGES - 1)));
	unmap_mapping_pages(mapping, index, n, false);
	w->unmapped_to = index + n;
}

/*
 * Evict @page, found at @index of @part without a reference, and count it
 * in @w->done when it left or its page-out was queued. Page-outs are
 * posted in batches as they are chosen; the caller kicks the service at
 * the end. A 2 MiB unit goes whole (kvmshare_huge_evict(), 512 pages),
 * but only if @w->done stays within @w->room, the pages the partition may
 * lose before its floor: closer to the floor than a unit, it stays,
 * counted in huge_skips (4 KiB pages of the partition may still go).
 * With @w->below (a fault waits for room), a unit goes as long as
 * anything is left to free, so that a partition made of units cannot
 * starve the fault (review s26, M2): it then ends below its floor by less
 * than 512 pages, pages a page-in below the entitlement never lacks.
 * With @w->defer a unit is only noted in @w->units (while there is space)
 * for the caller to take later. *@index moves to the unit's last page, so
 * that the walk goes on after it.
 */
static void kvmshare_evict_found(struct kvmshare_part *part,
				 struct address_space *mapping,
				 unsigned long *index, struct page *page,
				 struct kvmshare_evict_walk *w)
{
	u64 t0;
	int left;

	if (kvmshare_is_unit(page)) {
		unsigned long at = *index;
		long n = 0;

		*index = kvmshare_unit_base(at) + KVMSHARE_UNIT_PAGES - 1;
		if (w->defer) {
			if (w->nr_units < KVMSHARE_EVICT_UNITS)
				w->units[w->nr_units++] = at;
			return;
		}
		if (w->done + KVMSHARE_UNIT_PAGES <= w->room ||
		    (w->below && w->done < w->room))
			n = kvmshare_huge_evict(part, mapping, at, page,
						w->wait);
		else
			atomic64_inc(&part->cnt.huge_skips);
		if (n > 0) {
			w->done += n;
			kvmshare_pager_kick(part->pool);
		}
		return;
	}
	if (!get_page_unless_zero(page))
		return;
	t0 = kvmshare_t_start(part->pool);
	if (w->defer)
		kvmshare_evict_run(mapping, *index, page, w);
	left = kvmshare_evict_one(part, mapping, *index, page);
	kvmshare_t_end(part->pool, left ? KVMSHARE_T_EVICT_PAGE :
		       KVMSHARE_T_EVICT_SKIP, t0);
	if (left && !(++w->done % KVMSHARE_EVICT_BATCH))
		kvmshare_pager_kick(part->pool);
	put_page(page);
}

/*
 * Evict up to @want resident pages of @part, and never more than @room
 * (how far it is above its floor; @want is that, or the pass's batch).
 * First the pages sampling found idle and pages read ahead and not used,
 * units included, found through their marks (a walk of the whole array
 * for them would cost every pass the partition's size). Then one walk
 * from where the last pass stopped (evict_cursor, moved as it goes and
 * wrapped at the end: no page is looked at twice before the others):
 * it takes 4 KiB pages and only notes units, which sampling did not find
 * idle (review s26, M4: a unit in use costs 2 MiB of I/O and is kept),
 * and takes the units it noted if the 4 KiB pages fell short (review
 * s26b, H1: a walk over units only moves on, and takes them); it stops
 * once KVMSHARE_EVICT_UNITS units are noted, and the next walk starts at
 * the first noted unit this one did not try. Each walk
 * looks at no more than 8 * @want + 64 pages and units. A unit counts
 * 512 pages: it is taken while fewer than @want are done, and only if it
 * fits in @room; when a fault waits for room (@waiter), a unit the walk
 * noted may pass the floor, as a last resort (review s26b, M4). A
 * backing store without the blocks for a unit does not stop the pass
 * (review s26b, M2): 4 KiB pages, all-zero pages and units may still go.
 */
static u64 kvmshare_evict_part(struct kvmshare_part *part,
			       struct address_space *mapping, u64 want,
			       u64 room, bool waiter)
{
	static const xa_mark_t first[] = {
		KVMSHARE_MARK_SAMPLED, KVMSHARE_MARK_AHEAD,
	};
	struct kvmshare_evict_walk w = { .want = want, .room = room };
	unsigned long index, limit = 8 * want + 64, looked = 0, values = 0;
	bool end = true;
	unsigned int m;
	void *entry;

	for (m = 0; m < ARRAY_SIZE(first) && w.done < want; m++) {
		xa_for_each_marked(&part->pages, index, entry, first[m]) {
			if (w.done >= want || looked >= limit)
				break;
			if (xa_is_value(entry))
				continue;
			looked++;
			kvmshare_evict_found(part, mapping, &index, entry, &w);
			cond_resched();
		}
	}

	looked = 0;
	w.defer = true;
	xa_for_each_start(&part->pages, index, entry, part->evict_cursor) {
		if (w.done >= want || looked >= limit) {
			end = false;
			break;
		}
		if (xa_is_value(entry)) {
			/* (a range paged out: not a look, but long) */
			if (!(++values % 1024))
				cond_resched();
			continue;
		}
		looked++;
		kvmshare_evict_found(part, mapping, &index, entry, &w);
		part->evict_cursor = index + 1;
		cond_resched();
		if (w.nr_units == KVMSHARE_EVICT_UNITS) {
			end = false;		/* no room for more notes */
			break;
		}
	}
	if (end)
		part->evict_cursor = 0;		/* wrap */

	w.defer = false;
	w.below = waiter;
	for (m = 0; m < w.nr_units && w.done < want; m++) {
		index = w.units[m];
		entry = xa_load(&part->pages, index);
		if (entry && !xa_is_value(entry) && kvmshare_is_unit(entry))
			kvmshare_evict_found(part, mapping, &index, entry, &w);
		cond_resched();
	}
	/*
	 * Units noted and not tried (the pass had what it wanted): the next
	 * pass starts at the first of them, not after the last. Moving on
	 * past them made each pass of a partition of units walk all of it
	 * for the two units a pass of evict_batch takes (with the kick's
	 * walk of the backlog, kvmshare_pager_kick(), one of the two causes
	 * of paging 96 of 128 units out at 0.24 k pages/s at 256 MiB
	 * against 2.4 k at 64 MiB).
	 */
	if (m < w.nr_units)
		part->evict_cursor = kvmshare_unit_base(w.units[m]);
	kvmshare_pager_kick(part->pool);
	return w.done;
}

/*
 * Page out the resident pages [@first, @last] of @part now (fadvise
 * DONTNEED): those in use or pinned are skipped, as by eviction. A unit
 * the range touches goes whole (no floor applies here); its lock is
 * waited for, not tried (kvmshare_huge_evict()). A full backing store
 * does not stop the walk: all-zero pages and units may still go.
 */
void kvmshare_pageout_range(struct kvmshare_part *part,
			    struct address_space *mapping, pgoff_t first,
			    pgoff_t last)
{
	struct kvmshare_evict_walk w = { .room = U64_MAX, .wait = true };
	unsigned long index;
	void *entry;

	xa_for_each_range(&part->pages, index, entry, first, last) {
		if (xa_is_value(entry))
			continue;
		kvmshare_evict_found(part, mapping, &index, entry, &w);
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kvmshare_pager_kick(part->pool);
}

/*
 * The hits of the units the last sample picked (review s26, M1): a unit
 * the sample unmapped and marked whose mark is gone was touched, and
 * each pick that landed in it counts a hit, as each counted one sampled
 * page. Picks are uniform over the file's pages, so a unit is picked
 * 512 times as often as a 4 KiB page; counting it once per pick (not
 * 512 per unit) keeps the estimate a share of pages.
 */
static u64 kvmshare_unit_hits(struct kvmshare_part *part)
{
	unsigned long base;
	u64 hits = 0;
	void *v;

	xa_for_each(&part->unit_picks, base, v) {
		void *entry = xa_load(&part->pages, base);

		if (entry && !xa_is_value(entry) && kvmshare_is_unit(entry) &&
		    !xa_get_mark(&part->pages, base, KVMSHARE_MARK_SAMPLED))
			hits += xa_to_value(v);
	}
	xa_destroy(&part->unit_picks);
	return hits;
}

/*
 * A pick of the sample landed in the unit at @index: sample it (unmap and
 * mark it) at its first pick of this sample, and count every pick of it
 * (kvmshare_unit_hits()). A unit still marked from an earlier sample (or
 * whose page-out is under way) was not touched since: the pick counts,
 * and its hit if it is touched now (review s26b, L2). Returns the pages
 * sampled: 1 or 0.
 */
static unsigned int kvmshare_sample_unit(struct kvmshare_part *part,
					 struct address_space *mapping,
					 unsigned long index, void *entry)
{
	unsigned long base = kvmshare_unit_base(index);
	void *v = xa_load(&part->unit_picks, base);

	if (!v) {
		if (!xa_get_mark(&part->pages, base, KVMSHARE_MARK_SAMPLED) &&
		    !kvmshare_huge_sample(part, mapping, index, entry))
			return 0;
		v = xa_mk_value(0);
	}
	/* No memory: the pick is not counted (nor would its hit be). */
	if (xa_is_err(xa_store(&part->unit_picks, base,
			       xa_mk_value(xa_to_value(v) + 1), GFP_KERNEL)))
		return 0;
	return 1;
}

/*
 * Unmap a sample of resident pages; estimate active memory from the last:
 * resident pages times hits over pages sampled (picks of pages still
 * marked included). A unit is sampled as one
 * (kvmshare_huge_sample()) and counts as many sampled pages as picks
 * landed in it, and as many hits if it was touched (kvmshare_unit_hits()).
 */
static void kvmshare_sample_part(struct kvmshare_part *part,
				 struct address_space *mapping)
{
	struct kvmshare_pool *pool = part->pool;
	u64 hits = atomic64_xchg(&part->cnt.sample_hits, 0);
	u64 size = DIV_ROUND_UP_ULL(i_size_read(mapping->host), PAGE_SIZE);
	unsigned int i;
	u64 resident, n = 0;

	hits += kvmshare_unit_hits(part);
	spin_lock(&pool->lock);
	resident = part->resident;
	if (part->sampled) {
		hits = min(hits, part->sampled);
		part->active_estimate = div64_u64(resident * hits,
						  part->sampled);
	}
	spin_unlock(&pool->lock);
	if (!resident || !size)
		goto out;
	for (i = 0; i < sample_pages && n < resident; i++) {
		unsigned long index = get_random_u32_below(min_t(u64, size,
								 U32_MAX));
		struct page *page;
		void *entry;

		entry = xa_find(&part->pages, &index, ULONG_MAX, XA_PRESENT);
		if (!entry || xa_is_value(entry))
			continue;
		if (kvmshare_is_unit(entry)) {
			n += kvmshare_sample_unit(part, mapping, index, entry);
			continue;
		}
		/*
		 * Still marked from an earlier sample: not touched since, so
		 * sampled and idle so far, not left out (review s26b, L2: the
		 * estimate would tend to the hot pages' share).
		 */
		if (xa_get_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED)) {
			n++;
			continue;
		}
		page = entry;
		if (!get_page_unless_zero(page))
			continue;
		if (trylock_page(page)) {
			if (xa_load(&part->pages, index) == page) {
				unmap_mapping_pages(mapping, index, 1, false);
				xa_set_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED);
				n++;
			}
			unlock_page(page);
		}
		put_page(page);
	}
out:
	part->sampled = n;
}

/*
 * huge_punch_split_pct was lowered since a partition's holes were last
 * looked at: look at them again, one partition, a bounded part of it, per
 * call (kvmshare_huge_holes_rescan(); review s27 h7, H2). Returns whether
 * to run again soon.
 */
static bool kvmshare_evict_holes(struct kvmshare_pool *pool)
{
	unsigned int gen = kvmshare_huge_punch_gen();
	struct kvmshare_part *part, *found = NULL;
	struct inode *inode = NULL;
	bool more = false;

	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node) {
		if (part->holes_gen == gen)
			continue;
		if (!part->inode || xa_empty(&part->holes)) {
			part->holes_gen = gen;
			continue;
		}
		found = part;
		inode = igrab(part->inode);
		kobject_get(&part->kobj);
		break;
	}
	spin_unlock(&pool->lock);
	if (!found)
		return false;
	if (inode) {
		more = kvmshare_huge_holes_rescan(found, inode);
		iput(inode);
	}
	if (!more) {
		spin_lock(&pool->lock);
		found->holes_gen = gen;
		spin_unlock(&pool->lock);
	}
	kobject_put(&found->kobj);
	return true;
}

static void kvmshare_evict_work(struct work_struct *work)
{
	struct kvmshare_pool *pool = container_of(to_delayed_work(work),
						  struct kvmshare_pool,
						  evict_work);
	struct kvmshare_part *part;
	bool sample = time_after_eq(jiffies, pool->next_sample);
	bool again = false;
	u64 over;

	/*
	 * A kick that read dying before unmount set it (a sysfs write that
	 * unmount drains, the policy work) may queue a run after unmount's
	 * cancel: it must not igrab() an inode kill_litter_super() is
	 * evicting. kvmshare_pool_destroy() cancels it for good.
	 */
	if (READ_ONCE(pool->dying))
		return;
	if (sample)
		pool->next_sample = jiffies + msecs_to_jiffies(sample_ms);
	kvmshare_pager_watch(pool);

	for (;;) {
		struct kvmshare_part *victim = NULL;
		struct inode *inode = NULL;
		u64 short_by = 0, want = 0, best = 0, done, freed;
		bool waiter;

		/*
		 * Pick the partition most above its target, or, when the
		 * pool runs short, most above its entitlement. Partitions
		 * are visited once per pass (sample marks them).
		 */
		spin_lock(&pool->lock);
		if (pool->used_pages + pool->owed_pages + pool->reserve_pages +
		    pool->low_pages > pool->size_pages)
			short_by = pool->used_pages + pool->owed_pages +
				   pool->reserve_pages + 2 * pool->low_pages -
				   pool->size_pages;
		/*
		 * Faults wait for room: a racy peek is enough, a waiter
		 * that comes later kicks this work itself (or, one that
		 * kicked it just before it waited, the next period's pass).
		 */
		waiter = waitqueue_active(&pool->room_wq);
		if (waiter)
			short_by = max_t(u64, short_by, evict_batch);
		list_for_each_entry(part, &pool->parts, node) {
			u64 floor = max(part->target, part->entitlement);
			/* Page-outs under way will leave: count them gone. */
			u64 res = part->resident -
				  min_t(u64, part->resident,
					atomic64_read(&part->pageouts_inflight));

			if (part->visited || !part->inode)
				continue;
			over = 0;
			if (part->target && res > floor)
				over = res - floor;
			if (short_by && res > part->entitlement)
				over = max(over, res - part->entitlement);
			if (over > best || (sample && !victim)) {
				best = over;
				victim = part;
			}
		}
		if (victim) {
			victim->visited = true;
			want = min_t(u64, best, evict_batch);
			inode = igrab(victim->inode);
			kobject_get(&victim->kobj);
		}
		spin_unlock(&pool->lock);
		if (!victim)
			break;
		if (inode) {
			/*
			 * The pass holds the inode: a file removed and closed
			 * meanwhile is evicted by the iput() below, in this
			 * work, its pages given back then.
			 */
			kvmshare_inject(pool, KVMSHARE_INJ_EVICT_HELD);
			if (sample)
				kvmshare_sample_part(victim, inode->i_mapping);
			/*
			 * Memory wanted from it (short, or above its target):
			 * deferred holes go first, no I/O, and what they gave
			 * is not paged out (review s27 h7, H1, H2, M3).
			 */
			freed = kvmshare_huge_holes_reclaim(victim, inode,
							    want);
			if (freed) {
				want -= min(want, freed);
				best -= min(best, freed);
				again = true;
			}
			done = want ? kvmshare_evict_part(victim,
							  inode->i_mapping,
							  want, best,
							  waiter) : 0;
			trace_kvmshare_evict_pass(victim, want, done,
						  short_by);
			/* Made progress and there is more: go on at once. */
			if (done && done < best)
				again = true;
			iput(inode);
		}
		kobject_put(&victim->kobj);
		cond_resched();
	}

	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node)
		part->visited = false;
	spin_unlock(&pool->lock);

	if (kvmshare_evict_holes(pool))
		again = true;

	if (!READ_ONCE(pool->dying))
		queue_delayed_work(system_unbound_wq, &pool->evict_work,
				   again ? 1 : msecs_to_jiffies(sample_ms));
}

void kvmshare_evict_kick(struct kvmshare_pool *pool)
{
	if (READ_ONCE(pool->dying))
		return;
	/* (unmount may set dying and cancel the work here: see the work) */
	kvmshare_inject(pool, KVMSHARE_INJ_EVICT_KICK);
	mod_delayed_work(system_unbound_wq, &pool->evict_work, 0);
}

/* Start the pool's eviction and access sampling work. */
void kvmshare_evict_init(struct kvmshare_pool *pool)
{
	INIT_DELAYED_WORK(&pool->evict_work, kvmshare_evict_work);
	pool->next_sample = jiffies;
	queue_delayed_work(system_unbound_wq, &pool->evict_work,
			   msecs_to_jiffies(sample_ms));
}
