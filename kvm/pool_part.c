// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: partitions of a pool, their pages and the pool's accounting.
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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "pool.h"

static u64 kvmshare_owed(u64 entitlement, u64 resident)
{
	return entitlement > resident ? entitlement - resident : 0;
}

/* Take one page of the pool for @part, or refuse. */
static bool kvmshare_charge(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	bool ok = false;

	spin_lock(&pool->lock);
	if (part->limit && part->resident >= part->limit)
		goto out;
	if (part->resident < part->entitlement) {
		pool->owed_pages--;
		ok = true;
	} else if (pool->used_pages + pool->owed_pages + pool->reserve_pages <
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

/* Give @n pages of @part back to the pool. */
static void kvmshare_uncharge(struct kvmshare_part *part, u64 n)
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
}

/**
 * kvmshare_part_get_page - find, or allocate, the page at @index
 * @part: the partition
 * @index: page index in the file
 * @alloc: allocate (and charge) a zeroed page when there is none
 * @err: set to -ENOSPC (pool or limit) or -ENOMEM (host) on failure
 *
 * The caller holds the mapping's invalidate_lock (shared or exclusive), so
 * the page cannot be removed from the file meanwhile. Returns the page with
 * a reference for the caller, or NULL (also when !@alloc and there is
 * none, with *@err = 0).
 */
struct page *kvmshare_part_get_page(struct kvmshare_part *part, pgoff_t index,
				    bool alloc, int *err)
{
	struct page *page, *old;

	*err = 0;
	xa_lock(&part->pages);
	page = xa_load(&part->pages, index);
	if (page)
		get_page(page);
	xa_unlock(&part->pages);
	if (page || !alloc)
		return page;

	if (!kvmshare_charge(part)) {
		*err = -ENOSPC;
		goto fail;
	}
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_RETRY_MAYFAIL |
			  __GFP_NOWARN);
	if (!page) {
		*err = -ENOMEM;
		goto uncharge;
	}

	xa_lock(&part->pages);
	old = __xa_cmpxchg(&part->pages, index, NULL, page, GFP_KERNEL);
	if (!old)
		get_page(page);		/* the array keeps the first ref */
	else if (!xa_is_err(old))
		get_page(old);
	xa_unlock(&part->pages);

	if (!old) {
		atomic64_inc(&part->cnt.allocated);
		return page;
	}
	/* Lost a race with another fault, or the array had no memory. */
	put_page(page);
	kvmshare_uncharge(part, 1);
	if (!xa_is_err(old))
		return old;
	*err = xa_err(old);
	goto fail;

uncharge:
	kvmshare_uncharge(part, 1);
fail:
	atomic64_inc(&part->cnt.fault_failures);
	atomic64_inc(&part->pool->fault_failures);
	return NULL;
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
 * locked here and unmapped again if it got mapped. Returns the number of
 * pages removed.
 */
u64 kvmshare_part_remove_range(struct kvmshare_part *part,
			       struct address_space *mapping,
			       pgoff_t start, pgoff_t end)
{
	struct page *page;
	unsigned long index;
	u64 n = 0;

	xa_for_each_range(&part->pages, index, page, start, end) {
		lock_page(page);
		xa_erase(&part->pages, index);
		if (mapping && page_mapped(page))
			unmap_mapping_pages(mapping, index, 1, false);
		unlock_page(page);
		put_page(page);
		n++;
		cond_resched();
	}
	kvmshare_uncharge(part, n);
	return n;
}

int kvmshare_part_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr)
{
	struct kvmshare_pool *pool = part->pool;
	u64 ent, limit, entitled, owed;
	u32 weight;
	int i, ret = 0;

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

	spin_lock(&pool->lock);
	ent = attr->flags & KVMSHARE_ATTR_ENTITLEMENT ?
		attr->entitlement_pages : part->entitlement;
	limit = attr->flags & KVMSHARE_ATTR_LIMIT ?
		attr->limit_pages : part->limit;
	weight = attr->flags & KVMSHARE_ATTR_WEIGHT ?
		attr->weight : part->weight;
	if (limit && ent > limit) {
		ret = -EINVAL;
		goto unlock;
	}
	if (ent > pool->size_pages) {
		ret = -ENOSPC;
		goto unlock;
	}
	/* Every term is bounded by size_pages (checked above): no overflow. */
	entitled = pool->entitled_pages - part->entitlement + ent;
	owed = pool->owed_pages -
	       kvmshare_owed(part->entitlement, part->resident) +
	       kvmshare_owed(ent, part->resident);
	if (entitled + pool->reserve_pages > pool->size_pages ||
	    pool->used_pages + owed + pool->reserve_pages > pool->size_pages) {
		ret = -ENOSPC;
		goto unlock;
	}
	pool->entitled_pages = entitled;
	pool->owed_pages = owed;
	part->entitlement = ent;
	part->limit = limit;
	part->weight = weight;
unlock:
	spin_unlock(&pool->lock);
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
	spin_unlock(&part->pool->lock);
	st->faults = atomic64_read(&part->cnt.faults);
	st->fault_failures = atomic64_read(&part->cnt.fault_failures);
	st->allocated_pages = atomic64_read(&part->cnt.allocated);
	st->punched_pages = atomic64_read(&part->cnt.punched);
	st->truncated_pages = atomic64_read(&part->cnt.truncated);
}

void kvmshare_pool_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info)
{
	u64 committed;

	memset(info, 0, sizeof(*info));
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
	info->fault_failures = atomic64_read(&pool->fault_failures);
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
};

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
	NULL,
};
ATTRIBUTE_GROUPS(kvmshare_part);

static void kvmshare_part_release(struct kobject *kobj)
{
	kfree(to_part(kobj));
}

static const struct kobj_type kvmshare_part_ktype = {
	.release = kvmshare_part_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kvmshare_part_groups,
};

/**
 * kvmshare_part_create - make the partition state of a new file
 * @pool: the pool
 * @name: the file name, also the sysfs directory name
 *
 * The VFS guarantees that no other linked file of the pool has @name, and
 * a partition leaves sysfs when its last link goes, so the name is free.
 */
struct kvmshare_part *kvmshare_part_create(struct kvmshare_pool *pool,
					   const char *name)
{
	struct kvmshare_part *part;
	int ret;

	part = kzalloc(sizeof(*part), GFP_KERNEL);
	if (!part)
		return ERR_PTR(-ENOMEM);
	part->pool = pool;
	part->weight = KVMSHARE_WEIGHT_DEFAULT;
	xa_init(&part->pages);
	INIT_LIST_HEAD(&part->node);
	kobject_init(&part->kobj, &kvmshare_part_ktype);
	ret = kobject_add(&part->kobj, pool->parts_kobj, "%s", name);
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
	if (part->kobj.state_in_sysfs)
		kobject_del(&part->kobj);
}

int kvmshare_part_rename(struct kvmshare_part *part, const char *name)
{
	return kobject_rename(&part->kobj, name);
}

/* The inode is being evicted: free every page, drop the inode's ref. */
void kvmshare_part_destroy(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	u64 n;

	n = kvmshare_part_remove_range(part, NULL, 0, ULONG_MAX);
	atomic64_add(n, &part->cnt.truncated);
	xa_destroy(&part->pages);

	spin_lock(&pool->lock);
	pool->entitled_pages -= part->entitlement;
	pool->owed_pages -= kvmshare_owed(part->entitlement, part->resident);
	list_del(&part->node);
	pool->nr_parts--;
	spin_unlock(&pool->lock);
	kobject_put(&part->kobj);
}
