// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: partitions of a pool and their pages. The accounting of their
 * pages is pool_acct.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/kernfs.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "pool.h"
#include "kvmshare_trace.h"

/**
 * kvmshare_page_alloc - a page for @index of @part, placed by NUMA policy
 * @part: the partition
 * @vma: the mapping being faulted, or NULL
 * @index: page index in the file
 * @gfp: how to allocate
 * @held: the page held for @part (below its entitlement, see pool_acct.c),
 *	or NULL
 *
 * In a fault, the page goes where the NUMA policy of @vma puts the page's
 * address: the policy mbind() gave that range (QEMU's host-nodes and
 * policy), else the faulting task's. The pool keeps no policy of its own
 * (the kernel's shared-policy helpers are not exported to modules), so
 * outside a fault (read, write, fallocate, read-ahead beyond @vma) the
 * page follows the calling task's policy, as alloc_page() does.
 *
 * @held is zeroed and on whatever node it was allocated on: when @vma
 * has a policy, a page is first allocated by it without retrying hard,
 * and @held goes back to the pool if that succeeds; otherwise @held is
 * used as is (the entitlement is kept even where placement cannot be).
 * Returns the page, or NULL.
 */
struct page *kvmshare_page_alloc(struct kvmshare_part *part,
				 struct vm_area_struct *vma, pgoff_t index,
				 gfp_t gfp, struct page *held)
{
	struct folio *folio;
	unsigned long addr;
	struct page *page;

	if (vma && (index < vma->vm_pgoff ||
		    index - vma->vm_pgoff >= vma_pages(vma)))
		vma = NULL;
	if (held && !(vma && vma_policy(vma)))
		return held;
	if (held)
		gfp = (gfp & ~__GFP_RETRY_MAYFAIL) | __GFP_NORETRY |
		      __GFP_NOWARN;
	if (vma) {
		addr = vma->vm_start + ((index - vma->vm_pgoff) << PAGE_SHIFT);
		folio = vma_alloc_folio(gfp, 0, vma, addr, false);
		page = folio ? &folio->page : NULL;
	} else {
		page = alloc_page(gfp);
	}
	if (!held)
		return page;
	if (!page) {
		atomic64_inc(&part->cnt.unplaced);
		return held;
	}
	kvmshare_held_return(part->pool, held);
	return page;
}

/**
 * kvmshare_part_get_page - find, or allocate, the page at @index
 * @part: the partition
 * @index: page index in the file
 * @vma: the mapping being faulted, whose NUMA policy places a new page;
 *	NULL outside a fault (see kvmshare_page_alloc())
 * @alloc: allocate (and charge) a zeroed page when there is none, or when
 *	the page was all-zero and dropped
 * @err: why there is no page
 *
 * The caller holds the mapping's invalidate_lock (shared or exclusive), so
 * the page cannot be punched out meanwhile. Returns the page with a
 * reference for the caller, or NULL with *@err: 0 (a hole or an all-zero
 * page, and !@alloc), -ENOSPC (pool or limit), -ENOMEM (host),
 * -EWOULDBLOCK (the page is on the backing store: page it in, see
 * kvmshare_part_get_page_wait()), -EHWPOISON (its content was lost).
 */
struct page *kvmshare_part_get_page(struct kvmshare_part *part, pgoff_t index,
				    struct vm_area_struct *vma, bool alloc,
				    int *err)
{
	struct page *page, *old;
	void *entry;

	*err = 0;
	xa_lock(&part->pages);
	entry = xa_load(&part->pages, index);
	if (entry && !xa_is_value(entry))
		get_page(entry);
	xa_unlock(&part->pages);
	if (entry && !xa_is_value(entry))
		return entry;
	if (kvmshare_ent_is_out(entry)) {
		*err = -EWOULDBLOCK;
		return NULL;
	}
	if (entry && kvmshare_ent_kind(entry) == KVMSHARE_ENT_POISON) {
		*err = -EHWPOISON;
		return NULL;
	}
	if (!alloc)
		return NULL;

	/* Below its entitlement, @part gets the zeroed page held for it. */
	if (!kvmshare_charge_page(part, &page)) {
		*err = -ENOSPC;
		goto fail;
	}
	page = kvmshare_page_alloc(part, vma, index, GFP_HIGHUSER | __GFP_ZERO |
				   __GFP_RETRY_MAYFAIL | __GFP_NOWARN, page);
	if (!page) {
		*err = -ENOMEM;
		goto uncharge;
	}

	/* Replace the hole, or the all-zero entry, found above. */
	xa_lock(&part->pages);
	old = __xa_cmpxchg(&part->pages, index, entry, page, GFP_KERNEL);
	if (old == entry)
		get_page(page);		/* the array keeps the first ref */
	else if (old && !xa_is_err(old) && !xa_is_value(old))
		get_page(old);
	xa_unlock(&part->pages);

	if (old == entry) {
		if (entry)
			kvmshare_account_out(part, KVMSHARE_ENT_ZERO, -1);
		atomic64_inc(&part->cnt.allocated);
		return page;
	}
	/* Lost a race, or the array had no memory: undo and tell why. */
	kvmshare_uncharge_page(part, page);
	if (old && !xa_is_err(old) && !xa_is_value(old))
		return old;
	*err = xa_is_err(old) ? xa_err(old) : -EAGAIN;
	if (*err == -EAGAIN)
		return NULL;
	goto fail;

uncharge:
	kvmshare_uncharge(part, 1);
fail:
	return NULL;
}

/*
 * A page could not be given (pool, limit or host memory) and the caller
 * gives up: counted once per refusal the user sees, not per retry.
 */
void kvmshare_count_failure(struct kvmshare_part *part)
{
	atomic64_inc(&part->cnt.fault_failures);
	atomic64_inc(&part->pool->fault_failures);
}

/**
 * kvmshare_part_get_page_wait - kvmshare_part_get_page(), sleeping as needed
 * @part: the partition
 * @mapping: its address space
 * @index: page index
 * @alloc: as for kvmshare_part_get_page()
 * @err: as for kvmshare_part_get_page(), or -EINTR (fatal signal)
 *
 * For read, write and fallocate: takes the invalidate_lock itself, pages
 * the page in from the backing store and waits for it, and waits for
 * eviction to make room when the pool is full and a paging service is
 * attached. Must not be called with the invalidate_lock held.
 */
struct page *kvmshare_part_get_page_wait(struct kvmshare_part *part,
					 struct address_space *mapping,
					 pgoff_t index, bool alloc, int *err)
{
	struct kvmshare_io *io;
	struct page *page;
	void *entry;

	for (;;) {
		filemap_invalidate_lock_shared(mapping);
		page = kvmshare_part_get_page(part, index, NULL, alloc, err);
		if (*err == -EWOULDBLOCK) {
			entry = xa_load(&part->pages, index);
			*err = kvmshare_pagein_start(part, index, entry, NULL,
						     &io);
		}
		filemap_invalidate_unlock_shared(mapping);
		if (page) {
			/* Read or written: as used as a fault's. */
			kvmshare_ra_hit(part, index);
			return page;
		}
		if (*err == -EAGAIN)
			continue;
		if (*err == -EINPROGRESS) {
			*err = kvmshare_io_wait(io);
			kvmshare_io_put(io);
			if (*err)
				break;
			continue;
		}
		if (*err == -ENOSPC && kvmshare_pager_active(part->pool)) {
			*err = kvmshare_wait_room(part);
			if (*err == -ENOSPC)
				kvmshare_count_failure(part);
			if (*err)
				break;
			continue;
		}
		if (*err == -ENOSPC || *err == -ENOMEM)
			kvmshare_count_failure(part);
		break;
	}
	trace_kvmshare_refused(part, index, *err, false);
	return NULL;
}

/*
 * Remove the entry @entry found at @index (read without the array's lock).
 * Returns false if the entry changed meanwhile (a page-in or a page-out
 * ended, eviction swapped the page): the caller looks again, so nothing
 * that replaced it survives the removal. Counts removed pages in *@n.
 */
static bool kvmshare_part_remove_one(struct kvmshare_part *part,
				     struct address_space *mapping,
				     unsigned long index, void *entry, u64 *n)
{
	struct page *page;
	bool removed;

	if (xa_is_value(entry)) {
		/*
		 * Not in memory: forget it. A block under page-in, or of a
		 * page-out not ended yet, is freed by that request when it
		 * ends.
		 */
		kvmshare_inject(part->pool, KVMSHARE_INJ_REMOVE_READ);
		if (xa_cmpxchg(&part->pages, index, entry, NULL,
			       GFP_KERNEL) != entry)
			return false;
		kvmshare_account_out(part, kvmshare_ent_kind(entry), -1);
		if (kvmshare_ent_kind(entry) == KVMSHARE_ENT_OUT)
			kvmshare_block_removed(part, index,
					       kvmshare_ent_block(entry));
		return true;
	}
	/*
	 * A finishing page-out may drop the page meanwhile. Take a reference
	 * only if it is still live, and let the exchange below tell whether
	 * it is still ours.
	 */
	page = entry;
	if (!get_page_unless_zero(page))
		return false;
	lock_page(page);
	removed = xa_cmpxchg(&part->pages, index, page, NULL,
			     GFP_KERNEL) == page;
	if (removed) {
		if (mapping && page_mapped(page))
			unmap_mapping_pages(mapping, index, 1, false);
		put_page(page);		/* the array's */
		(*n)++;
	}
	unlock_page(page);
	put_page(page);
	return removed;
}

/* Whether @entry is still the entry at @index, and a unit's subpage. */
static bool kvmshare_unit_confirm(struct kvmshare_part *part, pgoff_t index,
				  void *entry)
{
	bool unit;

	xa_lock(&part->pages);
	unit = xa_load(&part->pages, index) == entry &&
	       kvmshare_is_unit(entry);
	xa_unlock(&part->pages);
	return unit;
}

/**
 * kvmshare_part_remove_range - give pages [@start, @end] back to the pool
 * @part: the partition
 * @mapping: its address space, already unmapped over the range
 * @start: first page index
 * @end: last page index (inclusive)
 *
 * The caller holds the mapping's invalidate_lock exclusively and has
 * unmapped the range once. A fault that found a page before that can still
 * be installing its PTE: it holds the page lock until done, so the page is
 * locked here and unmapped again if it got mapped. A 2 MiB unit goes in
 * whole (kvmshare_huge_remove()): the range covers it in whole (callers
 * trim it with kvmshare_huge_trim()). Returns the number of pages removed.
 */
u64 kvmshare_part_remove_range(struct kvmshare_part *part,
			       struct address_space *mapping,
			       pgoff_t start, pgoff_t end)
{
	unsigned long index;
	void *entry;
	u64 n = 0;

	xa_for_each_range(&part->pages, index, entry, start, end) {
		while (entry) {
			if (kvmshare_is_unit(entry)) {
				if (kvmshare_unit_base(index) < start ||
				    kvmshare_unit_base(index) +
				    KVMSHARE_UNIT_PAGES - 1 > end) {
					/*
					 * The hint may be stale (a 4 KiB page
					 * freed and reused): skip only a
					 * unit the array holds.
					 */
					if (!kvmshare_unit_confirm(part, index,
								   entry)) {
						cond_resched();
						entry = xa_load(&part->pages,
								index);
						continue;
					}
					/* Not expected: callers trim. */
					pr_warn_ratelimited("%s/%llu: unit at %lu not in range %lu-%lu: kept\n",
							    part->pool->name,
							    part->id,
							    kvmshare_unit_base(index),
							    start, end);
					index = kvmshare_unit_base(index) +
						KVMSHARE_UNIT_PAGES - 1;
					break;
				}
				if (kvmshare_huge_remove(part, mapping, index,
							 entry, &n))
					break;
			} else if (kvmshare_part_remove_one(part, mapping,
							    index, entry,
							    &n)) {
				break;
			}
			cond_resched();
			entry = xa_load(&part->pages, index);
		}
		cond_resched();
	}
	kvmshare_uncharge(part, n);
	kvmshare_huge_forget(part, start, end);
	return n;
}

/**
 * kvmshare_part_undo_alloc - give back a page a failed fallocate() took
 * @part: the partition
 * @mapping: its address space
 * @index: the page, allocated by the failed call
 *
 * Only what nobody used since: a page still all-zero (and not pinned), or
 * an all-zero entry it became. A page written meanwhile through a mapping
 * (fallocate() holds the inode lock, so not by write()), or paged out
 * since, holds data and stays. The caller holds the invalidate_lock
 * exclusively: no fault can find the page; one that found it before has
 * its PTE in place once the page lock is ours, and the page is unmapped
 * before its content is looked at. Returns the pages given back (0 or 1).
 */
u64 kvmshare_part_undo_alloc(struct kvmshare_part *part,
			     struct address_space *mapping, pgoff_t index)
{
	struct page *page;
	void *entry;
	u64 n = 0;

	entry = xa_load(&part->pages, index);
	if (!entry)
		return 0;
	if (xa_is_value(entry)) {
		if (kvmshare_ent_kind(entry) == KVMSHARE_ENT_ZERO &&
		    xa_cmpxchg(&part->pages, index, entry, NULL,
			       GFP_KERNEL) == entry)
			kvmshare_account_out(part, KVMSHARE_ENT_ZERO, -1);
		return 0;
	}
	page = entry;
	/* Never a unit's: fallocate() makes 4 KiB pages, units clear marks. */
	if (kvmshare_is_unit(page) || !get_page_unless_zero(page))
		return 0;
	lock_page(page);
	if (xa_load(&part->pages, index) != page ||
	    page_maybe_dma_pinned(page) || PageCompound(page) ||
	    PageHWPoison(page))
		goto unlock;
	unmap_mapping_pages(mapping, index, 1, false);
	/* (read safe from machine checks: the guest may have written it) */
	if (!kvmshare_page_has_data(page) &&
	    xa_cmpxchg(&part->pages, index, page, NULL, GFP_KERNEL) == page) {
		put_page(page);		/* the array's */
		n = 1;
	}
unlock:
	unlock_page(page);
	put_page(page);
	kvmshare_uncharge(part, n);
	return n;
}

int kvmshare_part_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr)
{
	struct kvmshare_pool *pool = part->pool;
	u64 ent, limit;
	int i, ret;

	if (attr->flags & ~KVMSHARE_ATTR_ALL) {
		pr_info_ratelimited("%s/%s: unknown attribute flags 0x%x\n",
				    pool->name, kobject_name(&part->kobj),
				    attr->flags & ~KVMSHARE_ATTR_ALL);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(attr->reserved); i++) {
		if (attr->reserved[i]) {
			pr_info_ratelimited("%s/%s: reserved attribute fields must be zero\n",
					    pool->name,
					    kobject_name(&part->kobj));
			return -EINVAL;
		}
	}
	if ((attr->flags & KVMSHARE_ATTR_WEIGHT) &&
	    (attr->weight < KVMSHARE_WEIGHT_MIN ||
	     attr->weight > KVMSHARE_WEIGHT_MAX)) {
		pr_info_ratelimited("%s/%s: weight %u not in %u..%u\n",
				    pool->name, kobject_name(&part->kobj),
				    attr->weight, KVMSHARE_WEIGHT_MIN,
				    KVMSHARE_WEIGHT_MAX);
		return -EINVAL;
	}

	ret = kvmshare_acct_set_attr(part, attr, &ent, &limit);
	if (!ret && (attr->flags & KVMSHARE_ATTR_TARGET))
		kvmshare_evict_kick(pool);
	if (ret == -EINVAL)
		pr_info_ratelimited("%s/%s: entitlement %llu above limit %llu\n",
				    pool->name, kobject_name(&part->kobj),
				    ent, limit);
	else if (ret == -ENOSPC)
		pr_info_ratelimited("%s/%s: pool cannot guarantee an entitlement of %llu pages\n",
				    pool->name, kobject_name(&part->kobj), ent);
	return ret;
}

void kvmshare_part_get_attr(struct kvmshare_part *part,
			    struct kvmshare_part_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	spin_lock(&part->pool->lock);
	attr->flags = KVMSHARE_ATTR_ALL;
	attr->entitlement_pages = part->entitlement;
	attr->limit_pages = part->limit;
	attr->target_pages = part->target;
	attr->weight = part->weight;
	spin_unlock(&part->pool->lock);
}

/* Everything of struct kvmshare_part_stats but the file size. */
void kvmshare_part_get_counters(struct kvmshare_part *part,
				struct kvmshare_part_stats *st)
{
	memset(st, 0, sizeof(*st));
	spin_lock(&part->pool->lock);
	st->resident_pages = part->resident;
	st->paged_out_pages = part->paged_out;
	st->zero_pages = part->zero;
	st->active_estimate_pages = part->active_estimate;
	spin_unlock(&part->pool->lock);
	st->pageouts = atomic64_read(&part->cnt.pageouts);
	st->pageins = atomic64_read(&part->cnt.pageins);
	st->pagein_errors = atomic64_read(&part->cnt.pagein_errors);
	st->pageout_errors = atomic64_read(&part->cnt.pageout_errors);
	st->zero_elided = atomic64_read(&part->cnt.zero_elided);
	st->pinned_skips = atomic64_read(&part->cnt.pinned_skips);
	st->faults = atomic64_read(&part->cnt.faults);
	st->fault_failures = atomic64_read(&part->cnt.fault_failures);
	st->allocated_pages = atomic64_read(&part->cnt.allocated);
	st->punched_pages = atomic64_read(&part->cnt.punched);
	st->truncated_pages = atomic64_read(&part->cnt.truncated);
	st->readahead_pages = atomic64_read(&part->cnt.readahead);
	st->readahead_hits = atomic64_read(&part->cnt.readahead_hits);
	st->pagein_timeouts = atomic64_read(&part->cnt.pagein_timeouts);
	st->async_restores = atomic64_read(&part->cnt.async_restores);
	st->unplaced_pages = atomic64_read(&part->cnt.unplaced);
}

void kvmshare_pool_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info)
{
	memset(info, 0, sizeof(*info));
	kvmshare_acct_get_info(pool, info);
	info->fault_failures = atomic64_read(&pool->fault_failures);
	spin_lock(&pool->io_lock);
	info->backing_blocks = pool->backing_blocks;
	info->blocks_used = pool->blocks_used;
	info->pending_requests = pool->nr_pending;
	info->failovers = pool->failovers;
	info->reissued_requests = pool->reissued;
	spin_unlock(&pool->io_lock);
	kvmshare_pager_get_info(pool, info);
}

/* sysfs: /sys/fs/kvmshare/<pool>/partitions/<name>/ */

#define to_part(k) container_of(k, struct kvmshare_part, kobj)

/*
 * A file either shows one u64 of struct kvmshare_part_stats (@flag 0), or
 * is a tunable: one field of struct kvmshare_part_attr, named by its
 * KVMSHARE_ATTR_* @flag, written through kvmshare_part_set_attr().
 */
struct kvmshare_part_sysfs {
	struct kobj_attribute kattr;
	size_t off;
	u32 flag;
};

#define to_part_sysfs(a) container_of(a, struct kvmshare_part_sysfs, kattr)

static ssize_t kvmshare_part_show(struct kobject *kobj,
				  struct kobj_attribute *kattr, char *buf)
{
	struct kvmshare_part_sysfs *a = to_part_sysfs(kattr);
	struct kvmshare_part *part = to_part(kobj);
	struct kvmshare_part_stats st;
	struct kvmshare_part_attr attr;

	switch (a->flag) {
	case 0:
		kvmshare_part_get_counters(part, &st);
		return sysfs_emit(buf, "%llu\n",
				  *(u64 *)((char *)&st + a->off));
	case KVMSHARE_ATTR_WEIGHT:
		kvmshare_part_get_attr(part, &attr);
		return sysfs_emit(buf, "%u\n", attr.weight);
	default:
		kvmshare_part_get_attr(part, &attr);
		return sysfs_emit(buf, "%llu\n",
				  *(u64 *)((char *)&attr + a->off));
	}
}

static ssize_t kvmshare_part_store(struct kobject *kobj,
				   struct kobj_attribute *kattr,
				   const char *buf, size_t len)
{
	struct kvmshare_part_sysfs *a = to_part_sysfs(kattr);
	struct kvmshare_part_attr attr = { .flags = a->flag };
	u64 v;
	int ret;

	ret = kstrtou64(buf, 0, &v);
	if (ret)
		return ret;
	if (a->flag == KVMSHARE_ATTR_WEIGHT) {
		if (v > U32_MAX)
			return -EINVAL;
		attr.weight = v;
	} else {
		*(u64 *)((char *)&attr + a->off) = v;
	}
	ret = kvmshare_part_set_attr(to_part(kobj), &attr);
	return ret ? ret : len;
}

#define KVMSHARE_PART_COUNTER(_name, _field) {				\
	.kattr = __ATTR(_name, 0444, kvmshare_part_show, NULL),		\
	.off = offsetof(struct kvmshare_part_stats, _field),		\
}

#define KVMSHARE_PART_TUNABLE(_name, _field, _flag) {			\
	.kattr = __ATTR(_name, 0644, kvmshare_part_show,		\
			kvmshare_part_store),				\
	.off = offsetof(struct kvmshare_part_attr, _field),		\
	.flag = _flag,							\
}

static struct kvmshare_part_sysfs kvmshare_part_sysfs[] = {
	KVMSHARE_PART_COUNTER(resident_pages, resident_pages),
	KVMSHARE_PART_COUNTER(faults, faults),
	KVMSHARE_PART_COUNTER(fault_failures, fault_failures),
	KVMSHARE_PART_COUNTER(allocated_pages, allocated_pages),
	KVMSHARE_PART_COUNTER(punched_pages, punched_pages),
	KVMSHARE_PART_COUNTER(truncated_pages, truncated_pages),
	KVMSHARE_PART_TUNABLE(entitlement_pages, entitlement_pages,
			      KVMSHARE_ATTR_ENTITLEMENT),
	KVMSHARE_PART_TUNABLE(limit_pages, limit_pages, KVMSHARE_ATTR_LIMIT),
	KVMSHARE_PART_TUNABLE(weight, weight, KVMSHARE_ATTR_WEIGHT),
	KVMSHARE_PART_TUNABLE(target_pages, target_pages, KVMSHARE_ATTR_TARGET),
	KVMSHARE_PART_COUNTER(paged_out_pages, paged_out_pages),
	KVMSHARE_PART_COUNTER(zero_pages, zero_pages),
	KVMSHARE_PART_COUNTER(pageouts, pageouts),
	KVMSHARE_PART_COUNTER(pageins, pageins),
	KVMSHARE_PART_COUNTER(pagein_errors, pagein_errors),
	KVMSHARE_PART_COUNTER(pageout_errors, pageout_errors),
	KVMSHARE_PART_COUNTER(zero_elided, zero_elided),
	KVMSHARE_PART_COUNTER(pinned_skips, pinned_skips),
	KVMSHARE_PART_COUNTER(active_estimate_pages, active_estimate_pages),
	KVMSHARE_PART_COUNTER(readahead_pages, readahead_pages),
	KVMSHARE_PART_COUNTER(readahead_hits, readahead_hits),
	KVMSHARE_PART_COUNTER(pagein_timeouts, pagein_timeouts),
	KVMSHARE_PART_COUNTER(async_restores, async_restores),
	KVMSHARE_PART_COUNTER(unplaced_pages, unplaced_pages),
};

static ssize_t stream_state_show(struct kobject *kobj,
				 struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s\n", kvmshare_stream_state(to_part(kobj)));
}

static struct kobj_attribute kvmshare_part_stream_state =
	__ATTR_RO(stream_state);

/* Adaptive read-ahead (pool_pagein.c): the window and how it moved. */
static ssize_t readahead_window_show(struct kobject *kobj,
				     struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", kvmshare_ra_window(to_part(kobj)));
}

static struct kobj_attribute kvmshare_part_readahead_window =
	__ATTR_RO(readahead_window);

/* Counters of struct kvmshare_part_counters that are in sysfs only. */
struct kvmshare_part_cnt_attr {
	struct kobj_attribute kattr;
	size_t off;			/* in struct kvmshare_part_counters */
};

static ssize_t kvmshare_part_cnt_show(struct kobject *kobj,
				      struct kobj_attribute *kattr, char *buf)
{
	struct kvmshare_part_cnt_attr *a =
		container_of(kattr, struct kvmshare_part_cnt_attr, kattr);
	atomic64_t *c = (void *)&to_part(kobj)->cnt + a->off;

	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(c));
}

#define KVMSHARE_PART_CNT(_name, _field) {				\
	.kattr = __ATTR(_name, 0444, kvmshare_part_cnt_show, NULL),	\
	.off = offsetof(struct kvmshare_part_counters, _field),		\
}

static struct kvmshare_part_cnt_attr kvmshare_part_readahead_wasted =
	KVMSHARE_PART_CNT(readahead_wasted, readahead_wasted);
static struct kvmshare_part_cnt_attr kvmshare_part_readahead_shrinks =
	KVMSHARE_PART_CNT(readahead_shrinks, readahead_shrinks);
static struct kvmshare_part_cnt_attr kvmshare_part_readahead_grows =
	KVMSHARE_PART_CNT(readahead_grows, readahead_grows);
/* 2 MiB units (pool_huge.c). */
static struct kvmshare_part_cnt_attr kvmshare_part_huge_units =
	KVMSHARE_PART_CNT(huge_units, huge_units);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_faults =
	KVMSHARE_PART_CNT(huge_faults, huge_faults);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_fallbacks =
	KVMSHARE_PART_CNT(huge_fallbacks, huge_fallbacks);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_skips =
	KVMSHARE_PART_CNT(huge_skips, huge_skips);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_waits =
	KVMSHARE_PART_CNT(huge_waits, huge_waits);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_poisoned =
	KVMSHARE_PART_CNT(huge_poisoned, huge_poisoned);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pinned_cuts =
	KVMSHARE_PART_CNT(huge_pinned_cuts, huge_pinned_cuts);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_splits =
	KVMSHARE_PART_CNT(huge_splits, huge_splits);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_split_failures =
	KVMSHARE_PART_CNT(huge_split_failures, huge_split_failures);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pageouts =
	KVMSHARE_PART_CNT(huge_pageouts, huge_pageouts);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pageouts_kept =
	KVMSHARE_PART_CNT(huge_pageouts_kept, huge_pageouts_kept);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_held_skips =
	KVMSHARE_PART_CNT(huge_held_skips, huge_held_skips);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pageins =
	KVMSHARE_PART_CNT(huge_pageins, huge_pageins);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pagein_sparse =
	KVMSHARE_PART_CNT(huge_pagein_sparse, huge_pagein_sparse);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_pagein_failures =
	KVMSHARE_PART_CNT(huge_pagein_failures, huge_pagein_failures);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapses =
	KVMSHARE_PART_CNT(huge_collapses, huge_collapses);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_failures =
	KVMSHARE_PART_CNT(huge_collapse_failures, huge_collapse_failures);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_pte_skips =
	KVMSHARE_PART_CNT(huge_collapse_pte_skips, huge_collapse_pte_skips);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_room_skips =
	KVMSHARE_PART_CNT(huge_collapse_room_skips, huge_collapse_room_skips);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_nomem =
	KVMSHARE_PART_CNT(huge_collapse_nomem, huge_collapse_nomem);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_retries =
	KVMSHARE_PART_CNT(huge_collapse_retries, huge_collapse_retries);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_collapse_held_skips =
	KVMSHARE_PART_CNT(huge_collapse_held_skips, huge_collapse_held_skips);

static struct kvmshare_part_cnt_attr kvmshare_part_huge_punch_deferred =
	KVMSHARE_PART_CNT(huge_punch_deferred, huge_punch_deferred);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_punch_pending =
	KVMSHARE_PART_CNT(huge_punch_pending, huge_punch_pending);
static struct kvmshare_part_cnt_attr kvmshare_part_huge_punch_splits =
	KVMSHARE_PART_CNT(huge_punch_splits, huge_punch_splits);

static struct attribute *kvmshare_part_attrs[] = {
	&kvmshare_part_sysfs[0].kattr.attr,
	&kvmshare_part_sysfs[1].kattr.attr,
	&kvmshare_part_sysfs[2].kattr.attr,
	&kvmshare_part_sysfs[3].kattr.attr,
	&kvmshare_part_sysfs[4].kattr.attr,
	&kvmshare_part_sysfs[5].kattr.attr,
	&kvmshare_part_sysfs[6].kattr.attr,
	&kvmshare_part_sysfs[7].kattr.attr,
	&kvmshare_part_sysfs[8].kattr.attr,
	&kvmshare_part_sysfs[9].kattr.attr,
	&kvmshare_part_sysfs[10].kattr.attr,
	&kvmshare_part_sysfs[11].kattr.attr,
	&kvmshare_part_sysfs[12].kattr.attr,
	&kvmshare_part_sysfs[13].kattr.attr,
	&kvmshare_part_sysfs[14].kattr.attr,
	&kvmshare_part_sysfs[15].kattr.attr,
	&kvmshare_part_sysfs[16].kattr.attr,
	&kvmshare_part_sysfs[17].kattr.attr,
	&kvmshare_part_sysfs[18].kattr.attr,
	&kvmshare_part_sysfs[19].kattr.attr,
	&kvmshare_part_sysfs[20].kattr.attr,
	&kvmshare_part_sysfs[21].kattr.attr,
	&kvmshare_part_sysfs[22].kattr.attr,
	&kvmshare_part_sysfs[23].kattr.attr,
	&kvmshare_part_stream_state.attr,
	&kvmshare_part_readahead_window.attr,
	&kvmshare_part_readahead_wasted.kattr.attr,
	&kvmshare_part_readahead_shrinks.kattr.attr,
	&kvmshare_part_readahead_grows.kattr.attr,
	&kvmshare_part_huge_units.kattr.attr,
	&kvmshare_part_huge_faults.kattr.attr,
	&kvmshare_part_huge_fallbacks.kattr.attr,
	&kvmshare_part_huge_skips.kattr.attr,
	&kvmshare_part_huge_waits.kattr.attr,
	&kvmshare_part_huge_poisoned.kattr.attr,
	&kvmshare_part_huge_pinned_cuts.kattr.attr,
	&kvmshare_part_huge_splits.kattr.attr,
	&kvmshare_part_huge_split_failures.kattr.attr,
	&kvmshare_part_huge_pageouts.kattr.attr,
	&kvmshare_part_huge_pageouts_kept.kattr.attr,
	&kvmshare_part_huge_held_skips.kattr.attr,
	&kvmshare_part_huge_pageins.kattr.attr,
	&kvmshare_part_huge_pagein_sparse.kattr.attr,
	&kvmshare_part_huge_pagein_failures.kattr.attr,
	&kvmshare_part_huge_collapses.kattr.attr,
	&kvmshare_part_huge_collapse_failures.kattr.attr,
	&kvmshare_part_huge_collapse_pte_skips.kattr.attr,
	&kvmshare_part_huge_collapse_room_skips.kattr.attr,
	&kvmshare_part_huge_collapse_nomem.kattr.attr,
	&kvmshare_part_huge_collapse_retries.kattr.attr,
	&kvmshare_part_huge_collapse_held_skips.kattr.attr,
	&kvmshare_part_huge_punch_deferred.kattr.attr,
	&kvmshare_part_huge_punch_pending.kattr.attr,
	&kvmshare_part_huge_punch_splits.kattr.attr,
	NULL,
};

static const struct attribute_group kvmshare_part_group = {
	.attrs = kvmshare_part_attrs,
};

static const struct attribute_group *kvmshare_part_groups[] = {
	&kvmshare_part_group,
	&kvmshare_part_policy_group,
	&kvmshare_part_metrics_group,
	NULL,
};

static void kvmshare_part_release(struct kobject *kobj)
{
	struct kvmshare_part *part = to_part(kobj);

	xa_destroy(&part->unit_picks);	/* (values only) */
	xa_destroy(&part->units);	/* (values only: no page-in in flight) */
	kvmshare_huge_holes_exit(part);
	kfree(part);
}

static const struct kobj_type kvmshare_part_ktype = {
	.release = kvmshare_part_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kvmshare_part_groups,
};

/* Lockdep classes of a partition's two arrays (the lock order: pool.h). */
static struct lock_class_key kvmshare_pages_lock_key;
static struct lock_class_key kvmshare_io_lock_key;
static struct lock_class_key kvmshare_units_lock_key;
static struct lock_class_key kvmshare_holes_lock_key;

/* -EEXIST if a partition in sysfs has @name. Under names_lock. */
static int kvmshare_part_name_taken(struct kvmshare_pool *pool,
				    const char *name)
{
	struct kernfs_node *kn;

	lockdep_assert_held(&pool->names_lock);
	kn = kernfs_find_and_get(pool->parts_kobj->sd, name);
	if (!kn)
		return 0;
	kernfs_put(kn);
	return -EEXIST;
}

/**
 * kvmshare_part_create - make the partition state of a new file
 * @pool: the pool
 * @name: the partition's name, its sysfs directory's (kvmshare_create())
 * @inode: the file's inode (its number is the partition id)
 *
 * A partition leaves sysfs when its last link goes, so a name is free
 * once no linked file has it. Two files of different directories may
 * map to one name ("a!b" at the top and b in a): the second is refused
 * with EEXIST, checked under names_lock before sysfs sees the name
 * (sysfs would warn with a stack dump).
 */
struct kvmshare_part *kvmshare_part_create(struct kvmshare_pool *pool,
					   const char *name, struct inode *inode)
{
	struct kvmshare_part *part;
	int ret;

	/*
	 * Every file of the table is in the group (with stream_state, the
	 * read-ahead window and its three counters, the twenty-six of units).
	 */
	BUILD_BUG_ON(ARRAY_SIZE(kvmshare_part_attrs) !=
		     ARRAY_SIZE(kvmshare_part_sysfs) + 31);
	part = kzalloc(sizeof(*part), GFP_KERNEL);
	if (!part)
		return ERR_PTR(-ENOMEM);
	part->pool = pool;
	part->inode = inode;
	part->id = inode->i_ino;
	part->weight = KVMSHARE_WEIGHT_DEFAULT;
	kvmshare_ra_init(part);
	xa_init(&part->pages);
	lockdep_set_class(&part->pages.xa_lock, &kvmshare_pages_lock_key);
	xa_init(&part->io);
	xa_init(&part->unit_picks);
	xa_init(&part->units);
	lockdep_set_class(&part->units.xa_lock, &kvmshare_units_lock_key);
	xa_init(&part->holes);
	lockdep_set_class(&part->holes.xa_lock, &kvmshare_holes_lock_key);
	lockdep_set_class(&part->io.xa_lock, &kvmshare_io_lock_key);
	INIT_LIST_HEAD(&part->node);
	kobject_init(&part->kobj, &kvmshare_part_ktype);
	mutex_lock(&pool->names_lock);
	ret = kvmshare_part_name_taken(pool, name);
	if (!ret)
		ret = kobject_add(&part->kobj, pool->parts_kobj, "%s", name);
	mutex_unlock(&pool->names_lock);
	if (ret) {
		kobject_put(&part->kobj);
		return ERR_PTR(ret);
	}
	spin_lock(&pool->lock);
	list_add_tail(&part->node, &pool->parts);
	pool->nr_parts++;
	spin_unlock(&pool->lock);
	return part;
}

/* The file's last link is gone: leave sysfs (the name may be reused). */
void kvmshare_part_unlinked(struct kvmshare_part *part)
{
	/* Not while the policy notifies it (pool_policy.h). */
	mutex_lock(&part->pool->policy.notify_lock);
	if (part->kobj.state_in_sysfs)
		kobject_del(&part->kobj);
	mutex_unlock(&part->pool->policy.notify_lock);
}

/*
 * The pool is being unmounted: every partition leaves sysfs, which waits
 * for the readers of its files (kernfs drains them). No file can be
 * created, linked or unlinked any more, and the eviction worker is
 * stopped, so the list only shrinks meanwhile (by inode eviction).
 */
void kvmshare_parts_leave_sysfs(struct kvmshare_pool *pool)
{
	struct kvmshare_part *part, *found;

	for (;;) {
		found = NULL;
		spin_lock(&pool->lock);
		list_for_each_entry(part, &pool->parts, node) {
			if (part->kobj.state_in_sysfs) {
				found = part;
				kobject_get(&found->kobj);
				break;
			}
		}
		spin_unlock(&pool->lock);
		if (!found)
			break;
		kvmshare_part_unlinked(found);
		kobject_put(&found->kobj);
	}
}

int kvmshare_part_rename(struct kvmshare_part *part, const char *name)
{
	struct kvmshare_pool *pool = part->pool;
	int ret;

	mutex_lock(&pool->names_lock);
	ret = strcmp(kobject_name(&part->kobj), name) ?
	      kvmshare_part_name_taken(pool, name) : 0;
	if (!ret)
		ret = kobject_rename(&part->kobj, name);
	mutex_unlock(&pool->names_lock);
	return ret;
}

/*
 * The inode is being evicted: free every page and block, drop the inode's
 * reference. Requests still in flight hold their own references to the
 * partition and pool and end on their own (their pages stay counted in
 * the pool until then).
 */
void kvmshare_part_destroy(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	u64 n;

	kvmshare_policy_part_destroy(part);
	spin_lock(&pool->lock);
	part->inode = NULL;
	spin_unlock(&pool->lock);
	n = kvmshare_part_remove_range(part, NULL, 0, ULONG_MAX);
	atomic64_add(n, &part->cnt.truncated);

	kvmshare_acct_part_gone(part);
	kvmshare_pager_part_gone(part);
	/*
	 * Out of sysfs now (unmount: the file was not unlinked): requests
	 * still ending may hold the kobject past the pool's removal.
	 */
	kvmshare_part_unlinked(part);
	kobject_put(&part->kobj);
}
