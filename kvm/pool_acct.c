// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: the pool's accounting - which partition may take a page of
 * the pool, and what the pool owes to each. A layer below paging
 * (pool_pager.c) and partitions (pool_part.c): it knows page counts only,
 * never pages, files or requests.
 *
 * Accounting invariant, under pool->lock:
 *
 *   used_pages + owed_pages + reserve_pages <= size_pages
 *
 * where owed_pages is the sum over partitions of max(0, entitlement -
 * resident): the pages the pool still owes to partitions below their
 * entitlement. A partition below its entitlement takes a page out of what
 * is owed to it, so it always succeeds; one at or above it takes a page
 * only while the invariant leaves room. So entitlements are guaranteed no
 * matter what the other partitions do.
 *
 * The pool's size is a count, but what is owed is memory: the pool holds
 * owed_pages real pages aside (pool->held, allocated when an entitlement
 * is raised, as hugetlbfs reserves min_size at mount), and a partition
 * below its entitlement gets its new page, or the page a page-in fills,
 * from there, so that its fault succeeds even when the host has no free
 * memory left; such a page that is not used goes back there
 * (kvmshare_uncharge_page()). An entitlement the
 * host cannot set aside now is refused (-ENOMEM), a pool larger than the
 * host's memory cannot be mounted (pool_main.c). When a partition gives
 * pages back below its entitlement, the held pages are topped up again by
 * pool->refill_work (best effort: the host may be short at that moment).
 *
 * Locks:
 *
 *  pool->acct_mutex  serialises changes of entitlements (allocating the
 *                    pages to hold happens under it, not under the lock);
 *                    taken outside pool->lock, never under any lock of
 *                    pool_pager.c or a page lock.
 *  pool->lock        (spinlock) a leaf: the pool's page counts (size,
 *                    reserve, used, entitled, owed, low watermark), the
 *                    held pages (held, nr_held) and every partition's
 *                    (resident, paged_out, zero, entitlement, limit,
 *                    target, weight). It nests inside everything else
 *                    (the invalidate_lock, page locks, a part->pages
 *                    xa_lock, pool->io_lock, pager_mutex, policy.mutex,
 *                    acct_mutex); nothing is taken under it, nothing
 *                    allocates or frees a page under it.
 *
 * pool->room_wq is woken after pool->lock is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "pool.h"

u64 kvmshare_owed(u64 entitlement, u64 resident)
{
	return entitlement > resident ? entitlement - resident : 0;
}

/* Free the pages on @pages (linked by lru), nobody else's. */
void kvmshare_free_pages(struct list_head *pages)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

static struct page *kvmshare_held_take(struct kvmshare_pool *pool)
{
	struct page *page;

	lockdep_assert_held(&pool->lock);
	page = list_first_entry_or_null(&pool->held, struct page, lru);
	if (page) {
		list_del(&page->lru);
		pool->nr_held--;
	}
	return page;
}

/*
 * Take one page of the pool for @part, or refuse, leaving the pool's
 * reserve (@reserve) and its low watermark (@low) free for partitions at
 * or above their entitlement. A page taken out of what is owed to @part
 * comes with the page held for it, handed to the caller through @held
 * (every caller uses it: freeing it here and allocating again could fail
 * while the host is short of memory, which the held page is there for).
 */
static bool __kvmshare_charge(struct kvmshare_part *part, bool reserve,
			      bool low, struct page **held)
{
	struct kvmshare_pool *pool = part->pool;
	struct page *page = NULL;
	bool ok = false;
	u64 keep;

	spin_lock(&pool->lock);
	keep = (reserve ? pool->reserve_pages : 0) +
	       (low ? pool->low_pages : 0);
	if (part->limit && part->resident >= part->limit)
		goto out;
	if (part->resident < part->entitlement) {
		pool->owed_pages--;
		page = kvmshare_held_take(pool);
		ok = true;
	} else if (pool->used_pages + pool->owed_pages + keep <
		   pool->size_pages) {
		ok = true;
	}
	if (ok) {
		part->resident++;
		pool->used_pages++;
	}
out:
	spin_unlock(&pool->lock);
	*held = page;
	return ok;
}

/*
 * Take one page of the pool for a page-in of @part, or refuse. A page-in
 * may use the pool's reserve: a page that was evicted comes back even
 * when the pool is momentarily full, while eviction makes room again.
 * Below its entitlement, *@page is the page held for @part (the page-in
 * needs no allocation that can fail); otherwise NULL (the caller
 * allocates). On the page-in's error paths, kvmshare_uncharge_page().
 */
bool kvmshare_charge_pagein(struct kvmshare_part *part, struct page **page)
{
	return __kvmshare_charge(part, false, false, page);
}

/*
 * Take one page of the pool for a new page (not a page-in) of @part, or
 * refuse, leaving the pool's reserve free: *@page is the zeroed
 * page held for @part when it is below its entitlement, for the caller
 * to use, or NULL (the caller allocates).
 */
bool kvmshare_charge_page(struct kvmshare_part *part, struct page **page)
{
	return __kvmshare_charge(part, true, false, page);
}

/*
 * Take a page only if the pool has it to spare: the reserve and the low
 * watermark stay free (read-ahead must not make eviction run). Below the
 * entitlement *@page is the page held for @part, as for
 * kvmshare_charge_pagein(); otherwise NULL.
 */
bool kvmshare_charge_spare(struct kvmshare_part *part, struct page **page)
{
	return __kvmshare_charge(part, true, true, page);
}

static bool kvmshare_rehold_locked(struct kvmshare_pool *pool,
				   struct page *page);

/*
 * A charge of @below pages under entitlement: what the pool owes drops by
 * them, and as many held pages as it has come off its held list onto
 * @held, for the caller to give back. Caller holds pool->lock.
 */
static void kvmshare_owed_take(struct kvmshare_pool *pool, u64 below,
			       struct list_head *held)
{
	struct page *page;
	u64 i;

	pool->owed_pages -= below;
	for (i = 0; i < below; i++) {
		page = kvmshare_held_take(pool);
		if (!page)
			break;
		list_add(&page->lru, held);
	}
}

/*
 * Whether a new unit of @part fits (kvmshare_charge_unit()); *@below is
 * the part of it owed to @part. Called with pool->lock.
 */
static bool kvmshare_unit_fits(struct kvmshare_part *part, u64 *below)
{
	struct kvmshare_pool *pool = part->pool;
	u64 n = KVMSHARE_UNIT_PAGES;

	lockdep_assert_held(&pool->lock);
	if (part->limit && part->resident + n > part->limit)
		return false;
	if (part->target && part->resident + n > part->target)
		return false;
	*below = min(n, kvmshare_owed(part->entitlement, part->resident));
	return n == *below ||
	       pool->used_pages + pool->owed_pages + pool->reserve_pages +
	       pool->low_pages + (n - *below) <= pool->size_pages;
}

/*
 * Whether kvmshare_charge_unit() would take a unit for @part now, nothing
 * charged: a fault looks before it allocates the 2 MiB block, which it
 * charges only once it has it (kvmshare_huge_fault()). A hint: the
 * charge decides.
 */
bool kvmshare_unit_room(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok;
	u64 below;

	spin_lock(&pool->lock);
	ok = kvmshare_unit_fits(part, &below);
	spin_unlock(&pool->lock);
	return ok;
}

/**
 * kvmshare_charge_unit - take the 512 pages of a new 2 MiB unit, or none
 * @part: the partition
 * @held: where the pages held for @part go (see below)
 *
 * All or nothing: refused when the unit would take @part above its limit
 * or its target (eviction would then have to take pages it cannot: it
 * leaves units alone), or when the part above @part's entitlement does
 * not fit the pool with its reserve and its low watermark left free (a
 * unit must not make the pool page, where a 4 KiB page may). The pages
 * below the entitlement come out of what is owed to @part, as for
 * kvmshare_charge_page(), with the pages held for them (fewer when the
 * refill is behind), which are moved onto @held: the caller returns them
 * with kvmshare_held_return_list() once it has its unit, or undoes the
 * charge with kvmshare_uncharge_unit(), which holds them again.
 */
bool kvmshare_charge_unit(struct kvmshare_part *part, struct list_head *held)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok = false;
	u64 below;

	spin_lock(&pool->lock);
	if (!kvmshare_unit_fits(part, &below))
		goto out;
	kvmshare_owed_take(pool, below, held);
	part->resident += KVMSHARE_UNIT_PAGES;
	pool->used_pages += KVMSHARE_UNIT_PAGES;
	ok = true;
out:
	spin_unlock(&pool->lock);
	return ok;
}

/*
 * Whether a collapse of @part copying @copy pages and filling @grow
 * all-zero entries fits (kvmshare_charge_collapse()); *@below is the part
 * of @grow owed to @part. Called with pool->lock.
 */
static bool kvmshare_collapse_fits(struct kvmshare_part *part, u64 copy,
				   u64 grow, u64 *below)
{
	struct kvmshare_pool *pool = part->pool;

	lockdep_assert_held(&pool->lock);
	if (grow && part->limit && part->resident + grow > part->limit)
		return false;
	if (grow && part->target && part->resident + grow > part->target)
		return false;
	*below = min(grow, kvmshare_owed(part->entitlement, part->resident));
	return pool->used_pages + pool->owed_pages + pool->reserve_pages +
	       pool->low_pages + pool->collapse_pages + copy +
	       (grow - *below) <= pool->size_pages;
}

/**
 * kvmshare_collapse_room - whether a collapse would be charged now
 * @part: the partition
 * @copy: as for kvmshare_charge_collapse()
 * @grow: as for kvmshare_charge_collapse()
 *
 * The same rule as kvmshare_charge_collapse(), nothing charged: a
 * collapse looks before it locks, allocates or touches anything (VM s27:
 * a pool without room must count a room skip, not a failure of a
 * collapse tried for nothing, nor allocate and free a 2 MiB block each
 * period). A hint: the charge decides.
 */
bool kvmshare_collapse_room(struct kvmshare_part *part, u64 copy, u64 grow)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok;
	u64 below;

	spin_lock(&pool->lock);
	ok = kvmshare_collapse_fits(part, copy, grow, &below);
	spin_unlock(&pool->lock);
	return ok;
}

/**
 * kvmshare_charge_collapse - charge a collapse of 4 KiB pages into a unit
 * @part: the partition
 * @copy: the 4 KiB pages the collapse copies (charged to @part already,
 *	freed after the swap: the copy holds them twice meanwhile)
 * @grow: the all-zero entries the unit fills with memory
 * @held: where the pages held for @part go (see kvmshare_charge_unit())
 *
 * Review s27 h6, H1 and M2: only @grow is @part's, charged as a new
 * unit's pages are (under @part's limit and target, out of what is owed
 * to it first, with the held pages for those, the rest where the pool
 * fits it with its reserve and low watermark free). The @copy pages are
 * the pool's for the copy's duration (pool->collapse_pages): admitted
 * only where they fit next to everything used and owed, the reserve, the
 * low watermark and other collapses in flight, and counted against
 * nothing else: no partition's resident, owed or held pages, limit or
 * target move for them, so no fault of @part or of another partition is
 * refused, made to wait, or makes eviction run because of a collapse.
 * Called with no page allocated for the collapse still to come (the
 * caller holds its folio already). All or nothing; undo or end with
 * kvmshare_collapse_end().
 */
bool kvmshare_charge_collapse(struct kvmshare_part *part, u64 copy, u64 grow,
			      struct list_head *held)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok = false;
	u64 below;

	spin_lock(&pool->lock);
	if (!kvmshare_collapse_fits(part, copy, grow, &below))
		goto out;
	kvmshare_owed_take(pool, below, held);
	part->resident += grow;
	pool->used_pages += grow;
	pool->collapse_pages += copy;
	ok = true;
out:
	spin_unlock(&pool->lock);
	return ok;
}

/*
 * Take @n pages off @part's and the pool's use, and what the pool owes
 * partitions below their entitlement up by what @part is owed again.
 * Called with pool->lock.
 */
static void kvmshare_uncharge_locked(struct kvmshare_part *part, u64 n)
{
	struct kvmshare_pool *pool = part->pool;
	u64 before = kvmshare_owed(part->entitlement, part->resident);

	lockdep_assert_held(&pool->lock);
	part->resident -= n;
	pool->used_pages -= n;
	pool->owed_pages += kvmshare_owed(part->entitlement, part->resident) -
			    before;
}

/*
 * Undo kvmshare_charge_unit(): the unit was not made. The pages on @held
 * (zeroed, unused) are held again while the pool holds fewer than it
 * owes, else freed.
 */
void kvmshare_uncharge_unit(struct kvmshare_part *part,
			    struct list_head *held)
{
	struct kvmshare_pool *pool = part->pool;
	struct page *page, *tmp;
	LIST_HEAD(extra);

	spin_lock(&pool->lock);
	kvmshare_uncharge_locked(part, KVMSHARE_UNIT_PAGES);
	list_for_each_entry_safe(page, tmp, held, lru) {
		list_del(&page->lru);
		if (!kvmshare_rehold_locked(pool, page))
			list_add(&page->lru, &extra);
	}
	spin_unlock(&pool->lock);
	kvmshare_free_pages(&extra);
	wake_up_all(&pool->room_wq);
	kvmshare_acct_balance(pool);
}

/**
 * kvmshare_collapse_end - end what kvmshare_charge_collapse() charged
 * @part: the partition
 * @copy: as charged
 * @grow: as charged
 * @held: the pages held for @part the charge moved there (emptied)
 * @done: the unit was made (@grow stays @part's), or not (undone)
 *
 * The copied pages are not the pool's any more either way: freed with
 * the 4 KiB pages, or left as they were. The held pages go back (held
 * again while the pool owes more than it holds) before anything is
 * uncharged, so that the refill never allocates pages that are freed a
 * moment later (review s27 h6, L4).
 */
void kvmshare_collapse_end(struct kvmshare_part *part, u64 copy, u64 grow,
			   struct list_head *held, bool done)
{
	struct kvmshare_pool *pool = part->pool;
	struct page *page, *tmp;
	LIST_HEAD(extra);

	spin_lock(&pool->lock);
	pool->collapse_pages -= copy;
	list_for_each_entry_safe(page, tmp, held, lru) {
		list_del(&page->lru);
		if (!kvmshare_rehold_locked(pool, page))
			list_add(&page->lru, &extra);
	}
	if (!done)
		kvmshare_uncharge_locked(part, grow);
	spin_unlock(&pool->lock);
	kvmshare_free_pages(&extra);
	if (!done && grow) {
		wake_up_all(&pool->room_wq);
		kvmshare_acct_balance(pool);
	}
}

/*
 * Whether kvmshare_charge_pagein() (@pagein) or kvmshare_charge_page()
 * would succeed now.
 */
bool kvmshare_has_room(struct kvmshare_part *part, bool pagein)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok;

	spin_lock(&pool->lock);
	if (part->limit && part->resident >= part->limit)
		ok = false;
	else
		ok = part->resident < part->entitlement ||
		     pool->used_pages + pool->owed_pages +
		     (pagein ? 0 : pool->reserve_pages) < pool->size_pages;
	spin_unlock(&pool->lock);
	return ok;
}

/*
 * Whether memory is wanted from @part: the pool is short, or @part holds
 * more than its target (and its entitlement), which the eviction work
 * would page out (kvmshare_evict_work()). A racy look (kvmshare_unit_defer()).
 */
bool kvmshare_part_pressed(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	bool pressed;

	spin_lock(&pool->lock);
	pressed = pool->used_pages + pool->owed_pages + pool->reserve_pages +
		  pool->low_pages > pool->size_pages ||
		  (part->target &&
		   part->resident > max(part->target, part->entitlement));
	spin_unlock(&pool->lock);
	return pressed;
}

/* Hold at most what is owed: free the rest. */
static void kvmshare_held_trim(struct kvmshare_pool *pool)
{
	LIST_HEAD(extra);

	spin_lock(&pool->lock);
	while (pool->nr_held > pool->owed_pages)
		list_add(&kvmshare_held_take(pool)->lru, &extra);
	spin_unlock(&pool->lock);
	kvmshare_free_pages(&extra);
}

static u64 kvmshare_held_short(struct kvmshare_pool *pool)
{
	u64 n;

	spin_lock(&pool->lock);
	n = pool->owed_pages > pool->nr_held ?
	    pool->owed_pages - pool->nr_held : 0;
	spin_unlock(&pool->lock);
	return n;
}

/* Allocate @n zeroed pages onto @pages; false if the host has fewer. */
static bool kvmshare_alloc_held(struct kvmshare_pool *pool,
				struct list_head *pages, u64 n)
{
	struct page *page;

	while (n--) {
		page = NULL;
		if (!kvmshare_inject_fail(pool, KVMSHARE_INJ_NOMEM))
			page = alloc_page(GFP_HIGHUSER | __GFP_ZERO |
					  __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
		if (!page)
			return false;
		list_add(&page->lru, pages);
		cond_resched();
	}
	return true;
}

static void kvmshare_held_add(struct kvmshare_pool *pool,
			      struct list_head *pages)
{
	struct page *page, *tmp;

	spin_lock(&pool->lock);
	list_for_each_entry_safe(page, tmp, pages, lru) {
		list_move(&page->lru, &pool->held);
		pool->nr_held++;
	}
	spin_unlock(&pool->lock);
}

/* Top the held pages up to what is owed, a batch at a time. */
static void kvmshare_refill_work(struct work_struct *work)
{
	struct kvmshare_pool *pool = container_of(work, struct kvmshare_pool,
						  refill_work);
	LIST_HEAD(pages);
	u64 n;
	bool ok;

	while ((n = kvmshare_held_short(pool))) {
		ok = kvmshare_alloc_held(pool, &pages, min_t(u64, n, 256));
		kvmshare_held_add(pool, &pages);
		if (!ok) {
			pr_warn_ratelimited("pool %s: host short of memory: %llu pages owed to entitlements not set aside\n",
					    pool->name, kvmshare_held_short(pool));
			break;
		}
	}
	kvmshare_held_trim(pool);
}

/*
 * The pool owes a different number of pages: free held pages it no longer
 * owes, or have the worker set more aside.
 */
void kvmshare_acct_balance(struct kvmshare_pool *pool)
{
	kvmshare_held_trim(pool);
	if (kvmshare_held_short(pool))
		queue_work(system_unbound_wq, &pool->refill_work);
}

void kvmshare_acct_init(struct kvmshare_pool *pool)
{
	mutex_init(&pool->acct_mutex);
	INIT_LIST_HEAD(&pool->held);
	INIT_WORK(&pool->refill_work, kvmshare_refill_work);
}

/* The pool goes away (no partition left: nothing owed). */
void kvmshare_acct_exit(struct kvmshare_pool *pool)
{
	LIST_HEAD(pages);

	cancel_work_sync(&pool->refill_work);
	spin_lock(&pool->lock);
	list_splice_init(&pool->held, &pages);
	pool->nr_held = 0;
	spin_unlock(&pool->lock);
	kvmshare_free_pages(&pages);
}

/* Give @n pages of @part back to the pool. */
void kvmshare_uncharge(struct kvmshare_part *part, u64 n)
{
	struct kvmshare_pool *pool = part->pool;

	if (!n)
		return;
	spin_lock(&pool->lock);
	kvmshare_uncharge_locked(part, n);
	spin_unlock(&pool->lock);
	wake_up_all(&pool->room_wq);
	kvmshare_acct_balance(pool);
}

/*
 * Hold @page (zeroed, nobody else's) again if the pool holds fewer pages
 * than it owes; false if it does not need it. Called with pool->lock.
 */
static bool kvmshare_rehold_locked(struct kvmshare_pool *pool,
				   struct page *page)
{
	lockdep_assert_held(&pool->lock);
	if (pool->nr_held >= pool->owed_pages)
		return false;
	list_add(&page->lru, &pool->held);
	pool->nr_held++;
	return true;
}

/*
 * @held, the page held for a partition below its entitlement, was not
 * used: the partition got a page where the mapping's NUMA policy places
 * it instead (kvmshare_page_alloc()). Hold it again while the pool holds
 * fewer pages than it owes, else free it.
 */
void kvmshare_held_return(struct kvmshare_pool *pool, struct page *held)
{
	bool hold;

	spin_lock(&pool->lock);
	hold = kvmshare_rehold_locked(pool, held);
	spin_unlock(&pool->lock);
	if (!hold)
		put_page(held);
}

/* kvmshare_held_return() for each page on @held (the list ends empty). */
void kvmshare_held_return_list(struct kvmshare_pool *pool,
			       struct list_head *held)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, held, lru) {
		list_del(&page->lru);
		kvmshare_held_return(pool, page);
	}
}

/*
 * Give back one page of @part along with the page itself, which nobody
 * else holds (one taken by kvmshare_charge_page() or
 * kvmshare_charge_pagein() and not used). If the pool now holds fewer
 * pages than it owes (@part was below its entitlement), the page is held
 * again, zeroed, rather than freed and allocated anew by the refill,
 * which may fail while the host is short of memory; otherwise it is
 * freed.
 */
void kvmshare_uncharge_page(struct kvmshare_part *part, struct page *page)
{
	struct kvmshare_pool *pool = part->pool;
	bool clean = page_ref_count(page) == 1, hold;

	/* Zeroed outside the lock: held pages are handed out zeroed. */
	if (clean)
		clear_highpage(page);
	spin_lock(&pool->lock);
	kvmshare_uncharge_locked(part, 1);
	hold = clean && kvmshare_rehold_locked(pool, page);
	spin_unlock(&pool->lock);
	if (!hold)
		put_page(page);
	wake_up_all(&pool->room_wq);
	kvmshare_acct_balance(pool);
}

/* A page of @part became (@delta 1) or stopped being (-1) a value entry. */
void kvmshare_account_out(struct kvmshare_part *part, unsigned long kind,
			  long delta)
{
	spin_lock(&part->pool->lock);
	if (kind == KVMSHARE_ENT_OUT)
		part->paged_out += delta;
	else if (kind == KVMSHARE_ENT_ZERO)
		part->zero += delta;
	spin_unlock(&part->pool->lock);
}

/* Remount with a new size or reserve: refused if it breaks the invariant. */
int kvmshare_pool_resize(struct kvmshare_pool *pool, u64 size_pages,
			 u64 reserve_pages)
{
	int ret = 0;

	spin_lock(&pool->lock);
	if (reserve_pages > size_pages ||
	    pool->entitled_pages > size_pages - reserve_pages ||
	    pool->used_pages + pool->owed_pages > size_pages - reserve_pages) {
		ret = -EBUSY;
	} else {
		pool->size_pages = size_pages;
		pool->reserve_pages = reserve_pages;
	}
	spin_unlock(&pool->lock);
	return ret;
}

/*
 * Check @attr against the pool under pool->lock; on success, the new
 * values in @ent, @limit, @weight, @target and the pool's owed pages after
 * the change in @owed.
 */
static int kvmshare_acct_check(struct kvmshare_part *part,
			       const struct kvmshare_part_attr *attr,
			       u64 *ent, u64 *limit, u64 *owed, u64 *entitled)
{
	struct kvmshare_pool *pool = part->pool;

	lockdep_assert_held(&pool->lock);
	*ent = attr->flags & KVMSHARE_ATTR_ENTITLEMENT ?
		attr->entitlement_pages : part->entitlement;
	*limit = attr->flags & KVMSHARE_ATTR_LIMIT ?
		attr->limit_pages : part->limit;
	if (*limit && *ent > *limit)
		return -EINVAL;
	if (*ent > pool->size_pages)
		return -ENOSPC;
	/* Every term is bounded by size_pages (checked above): no overflow. */
	*entitled = pool->entitled_pages - part->entitlement + *ent;
	*owed = pool->owed_pages -
		kvmshare_owed(part->entitlement, part->resident) +
		kvmshare_owed(*ent, part->resident);
	/*
	 * Only a raised entitlement makes a new promise. The pool may be
	 * past its size already (page-ins dip into the reserve): a target,
	 * weight or limit must still go through then, as that is when the
	 * policy needs them most.
	 */
	if (*ent > part->entitlement &&
	    (*entitled + pool->reserve_pages > pool->size_pages ||
	     pool->used_pages + *owed + pool->reserve_pages > pool->size_pages))
		return -ENOSPC;
	return 0;
}

/**
 * kvmshare_acct_set_attr - apply new accounting attributes of a partition
 * @part: the partition
 * @attr: the attributes; only the fields named in @attr->flags change
 * @ent: the entitlement that was checked (for the caller's message)
 * @limit: the limit that was checked (for the caller's message)
 *
 * A raised entitlement first sets its pages aside (see the top of this
 * file).
 *
 * Return: 0, -EINVAL (entitlement above the limit), -ENOSPC (the pool
 * cannot guarantee the entitlement) or -ENOMEM (the host cannot set it
 * aside now). Nothing changes on error.
 */
int kvmshare_acct_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr,
			   u64 *ent, u64 *limit)
{
	struct kvmshare_pool *pool = part->pool;
	u64 entitled, owed, need = 0;
	unsigned long avail;
	LIST_HEAD(pages);
	int ret;

	mutex_lock(&pool->acct_mutex);
	spin_lock(&pool->lock);
	ret = kvmshare_acct_check(part, attr, ent, limit, &owed, &entitled);
	if (!ret && owed > pool->owed_pages && owed > pool->nr_held)
		need = owed - pool->nr_held;
	spin_unlock(&pool->lock);
	if (ret)
		goto out;

	if (need) {
		/* Leave the host a little: it must keep running. */
		avail = si_mem_available();
		if (need + totalram_pages() / 32 > avail ||
		    !kvmshare_alloc_held(pool, &pages, need)) {
			pr_info_ratelimited("%s/%s: host cannot set aside %llu pages for an entitlement of %llu pages (%lu available)\n",
					    pool->name,
					    kobject_name(&part->kobj), need,
					    *ent, avail);
			kvmshare_free_pages(&pages);
			ret = -ENOMEM;
			goto out;
		}
	}

	spin_lock(&pool->lock);
	/* Faults and page-outs may have moved the counts: check again. */
	ret = kvmshare_acct_check(part, attr, ent, limit, &owed, &entitled);
	if (!ret) {
		pool->entitled_pages = entitled;
		pool->owed_pages = owed;
		part->entitlement = *ent;
		part->limit = *limit;
		if (attr->flags & KVMSHARE_ATTR_WEIGHT)
			part->weight = attr->weight;
		if (attr->flags & KVMSHARE_ATTR_TARGET)
			part->target = attr->target_pages;
	}
	spin_unlock(&pool->lock);
	kvmshare_held_add(pool, &pages);
	kvmshare_acct_balance(pool);
out:
	mutex_unlock(&pool->acct_mutex);
	return ret;
}

/* @part leaves the pool (its pages are gone): drop what it is owed. */
void kvmshare_acct_part_gone(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;

	spin_lock(&pool->lock);
	pool->entitled_pages -= part->entitlement;
	pool->owed_pages -= kvmshare_owed(part->entitlement, part->resident);
	part->entitlement = 0;
	list_del_init(&part->node);
	pool->nr_parts--;
	spin_unlock(&pool->lock);
	kvmshare_held_trim(pool);
}

/* The page counts of struct kvmshare_pool_info. */
void kvmshare_acct_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info)
{
	u64 committed;

	spin_lock(&pool->lock);
	info->size_pages = pool->size_pages;
	info->reserve_pages = pool->reserve_pages;
	info->used_pages = pool->used_pages;
	info->free_pages = pool->size_pages - pool->used_pages;
	info->entitled_pages = pool->entitled_pages;
	committed = pool->used_pages + pool->owed_pages + pool->reserve_pages;
	info->available_pages = pool->size_pages > committed ?
				pool->size_pages - committed : 0;
	info->nr_partitions = pool->nr_parts;
	spin_unlock(&pool->lock);
}
