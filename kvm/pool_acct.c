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
 * Locks: pool->lock (spinlock) only, a leaf: it protects the pool's
 * page counts (size, reserve, used, entitled, owed, low watermark) and
 * every partition's (resident, paged_out, zero, entitlement, limit,
 * target, weight). It nests inside everything else (the invalidate_lock,
 * page locks, a part->pages xa_lock, pool->io_lock, pager_mutex,
 * policy.mutex); nothing is taken under it and nothing here sleeps with
 * it held. pool->room_wq is woken after it is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/spinlock.h>
#include <linux/wait.h>

#include "pool.h"

u64 kvmshare_owed(u64 entitlement, u64 resident)
{
	return entitlement > resident ? entitlement - resident : 0;
}

/*
 * Take one page of the pool for @part, or refuse, leaving the pool's
 * reserve (@reserve) and its low watermark (@low) free for partitions at
 * or above their entitlement.
 */
static bool __kvmshare_charge(struct kvmshare_part *part, bool reserve,
			      bool low)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok = false;
	u64 keep;

	spin_lock(&pool->lock);
	keep = (reserve ? pool->reserve_pages : 0) +
	       (low ? pool->low_pages : 0);
	if (part->limit && part->resident >= part->limit)
		goto out;
	if (part->resident < part->entitlement) {
		pool->owed_pages--;
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
	return ok;
}

/*
 * Take one page of the pool for @part, or refuse. A page-in (@pagein) may
 * use the pool's reserve: a page that was evicted comes back even when the
 * pool is momentarily full, while eviction makes room again.
 */
bool kvmshare_charge(struct kvmshare_part *part, bool pagein)
{
	return __kvmshare_charge(part, !pagein, false);
}

/*
 * Take a page only if the pool has it to spare: the reserve and the low
 * watermark stay free (read-ahead must not make eviction run).
 */
bool kvmshare_charge_spare(struct kvmshare_part *part)
{
	return __kvmshare_charge(part, true, true);
}

/* Whether kvmshare_charge() would succeed now. */
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

/* Give @n pages of @part back to the pool. */
void kvmshare_uncharge(struct kvmshare_part *part, u64 n)
{
	struct kvmshare_pool *pool = part->pool;
	u64 before;

	if (!n)
		return;
	spin_lock(&pool->lock);
	before = kvmshare_owed(part->entitlement, part->resident);
	part->resident -= n;
	pool->used_pages -= n;
	pool->owed_pages += kvmshare_owed(part->entitlement, part->resident) -
			    before;
	spin_unlock(&pool->lock);
	wake_up_all(&pool->room_wq);
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

/**
 * kvmshare_acct_set_attr - apply new accounting attributes of a partition
 * @part: the partition
 * @attr: the attributes; only the fields named in @attr->flags change
 * @ent: the entitlement that was checked (for the caller's message)
 * @limit: the limit that was checked (for the caller's message)
 *
 * Return: 0, -EINVAL (entitlement above the limit) or -ENOSPC (the pool
 * cannot guarantee the entitlement). Nothing changes on error.
 */
int kvmshare_acct_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr,
			   u64 *ent, u64 *limit)
{
	struct kvmshare_pool *pool = part->pool;
	u64 entitled, owed, target;
	u32 weight;
	int ret = 0;

	spin_lock(&pool->lock);
	*ent = attr->flags & KVMSHARE_ATTR_ENTITLEMENT ?
		attr->entitlement_pages : part->entitlement;
	*limit = attr->flags & KVMSHARE_ATTR_LIMIT ?
		attr->limit_pages : part->limit;
	weight = attr->flags & KVMSHARE_ATTR_WEIGHT ?
		attr->weight : part->weight;
	target = attr->flags & KVMSHARE_ATTR_TARGET ?
		attr->target_pages : part->target;
	if (*limit && *ent > *limit) {
		ret = -EINVAL;
		goto unlock;
	}
	if (*ent > pool->size_pages) {
		ret = -ENOSPC;
		goto unlock;
	}
	/* Every term is bounded by size_pages (checked above): no overflow. */
	entitled = pool->entitled_pages - part->entitlement + *ent;
	owed = pool->owed_pages -
	       kvmshare_owed(part->entitlement, part->resident) +
	       kvmshare_owed(*ent, part->resident);
	if (entitled + pool->reserve_pages > pool->size_pages ||
	    pool->used_pages + owed + pool->reserve_pages > pool->size_pages) {
		ret = -ENOSPC;
		goto unlock;
	}
	pool->entitled_pages = entitled;
	pool->owed_pages = owed;
	part->entitlement = *ent;
	part->limit = *limit;
	part->weight = weight;
	part->target = target;
unlock:
	spin_unlock(&pool->lock);
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
