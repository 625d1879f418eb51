// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: host paging of a pool to user-space paging services.
 *
 * The pool evicts pages of partitions that are above their target, or all
 * partitions above their entitlement when the pool runs short, to a
 * backing store that a paging service process serves through a pager fd
 * (include/uapi/linux/kvmshare_pager.h, Documentation/pager.rst). The pool
 * owns the backing store's block map, like the kernel does a swap device's,
 * so that any service on the same store can serve any request.
 *
 * A page leaves memory only once the service confirmed its copy durable;
 * it is kept if it was touched, written or pinned meanwhile. All-zero pages
 * are dropped without I/O. Which pages go is learnt by sampling (as VMware
 * ESX does): each period a few resident pages of each partition are
 * unmapped; those not faulted back by the next period are idle and go
 * first, and the share faulted back estimates the partition's active
 * memory.
 *
 * Requests (struct kvmshare_io) hold a reference to their partition's and
 * pool's kobjects, so they can end after the file or the mount is gone.
 * One is referenced by: the part->io array while registered there, its
 * pending or in-flight state, and each waiter.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/crc32.h>
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

#define KVMSHARE_MAX_CLUSTER	64

static unsigned int sample_ms = 1000;
module_param(sample_ms, uint, 0644);
MODULE_PARM_DESC(sample_ms, "Access sampling and eviction period (ms)");

static unsigned int sample_pages = 64;
module_param(sample_pages, uint, 0644);
MODULE_PARM_DESC(sample_pages, "Pages per partition sampled each period");

static unsigned int evict_batch = 1024;
module_param(evict_batch, uint, 0644);
MODULE_PARM_DESC(evict_batch, "Most pages evicted per partition per pass");

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

static unsigned int pager_timeout_ms = 10000;
module_param(pager_timeout_ms, uint, 0644);
MODULE_PARM_DESC(pager_timeout_ms,
		 "A paging service that leaves a request unanswered this long (ms) fails over to the next service; with none, page-ins waiting that long fail (0: wait forever)");

static bool async_restore = true;
module_param(async_restore, bool, 0644);
MODULE_PARM_DESC(async_restore,
		 "Start a page-in and return at once when KVM asks for a page without waiting, so that its asynchronous page fault lets the guest run on (N: such faults wait)");

/* Whether faults that must not wait get an asynchronous restore. */
bool kvmshare_async_restore(void)
{
	return READ_ONCE(async_restore);
}

static unsigned int room_wait_s = 30;
module_param(room_wait_s, uint, 0644);
MODULE_PARM_DESC(room_wait_s,
		 "Seconds a fault waits for eviction to make room");

struct kvmshare_io {
	struct list_head node;		/* pool->io_pending, under io_lock */
	struct kvmshare_part *part;	/* kobject reference */
	pgoff_t index;
	u64 block;
	u32 op;				/* KVMSHARE_PAGER_OP_* */
	u32 crc;
	u32 tag;			/* in the pager's tag table, posted */
	u32 slot;			/* data buffer, posted */
	bool ahead;			/* a page-in ahead of a fault */
	unsigned long async;		/* bit 0: a fault did not wait for it */
	unsigned long start;		/* jiffies: created */
	unsigned long posted;		/* jiffies: posted to a service */
	u64 id;				/* request id while posted */
	struct page *page;		/* the page written or filled (ref) */
	struct completion done;
	refcount_t ref;
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
	u64 seq;			/* request id = seq << 12 | tag */
	wait_queue_head_t wq;		/* poll */

	atomic64_t requests;
	atomic64_t completions;
	atomic64_t bad_completions;
};

#define KVMSHARE_TAG_BITS	12	/* KVMSHARE_PAGER_MAX_ENTRIES */

/* The standard crc32c of a page (0 means "none" in the protocol). */
static u32 kvmshare_page_crc(struct page *page)
{
	return ~__crc32c_le(~0U, page_address(page), PAGE_SIZE);
}

/* The services part of struct kvmshare_pool_info. */
void kvmshare_pager_get_info(struct kvmshare_pool *pool,
			     struct kvmshare_pool_info *info)
{
	struct kvmshare_pager *p;

	spin_lock(&pool->io_lock);
	info->nr_pagers = 0;
	list_for_each_entry(p, &pool->pagers, node)
		info->nr_pagers++;
	list_for_each_entry(p, &pool->draining, node)
		info->nr_pagers++;
	p = pool->active;
	info->active_pager = p ? p->id : 0;
	info->stalled_pager = p && p->stalled ? p->id : 0;
	spin_unlock(&pool->io_lock);
}

bool kvmshare_pager_active(struct kvmshare_pool *pool)
{
	return !!READ_ONCE(pool->active);
}

/* Whether a stopping service still has requests of @part in flight. */
static bool kvmshare_part_draining(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_pager *p;
	u32 tag;

	lockdep_assert_held(&pool->io_lock);
	list_for_each_entry(p, &pool->draining, node)
		for (tag = 0; tag < p->sq_entries; tag++)
			if (p->tags[tag] && p->tags[tag]->part == part)
				return true;
	return false;
}

/*
 * The partition's paging stream: "active" (a service serves the pool),
 * "stalled" (it is past its deadline and no other can take over),
 * "suspending" (a stopping service still has its requests), "suspended"
 * (after a controlled stop, until a service attaches), "none".
 */
const char *kvmshare_stream_state(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	const char *state = "none";

	spin_lock(&pool->io_lock);
	if (pool->active)
		state = pool->active->stalled ? "stalled" : "active";
	else if (kvmshare_part_draining(part))
		state = "suspending";
	else if (pool->suspended)
		state = "suspended";
	spin_unlock(&pool->io_lock);
	return state;
}

/* Requests */

static struct kmem_cache *kvmshare_io_cache;

int kvmshare_io_cache_init(void)
{
	kvmshare_io_cache = KMEM_CACHE(kvmshare_io, 0);
	return kvmshare_io_cache ? 0 : -ENOMEM;
}

void kvmshare_io_cache_exit(void)
{
	kmem_cache_destroy(kvmshare_io_cache);
}

static struct kvmshare_io *kvmshare_io_alloc(struct kvmshare_part *part,
					     u32 op, pgoff_t index, u64 block,
					     struct page *page)
{
	struct kvmshare_io *io = kmem_cache_zalloc(kvmshare_io_cache,
						   GFP_KERNEL);

	if (!io)
		return NULL;
	INIT_LIST_HEAD(&io->node);
	io->part = part;
	kobject_get(&part->kobj);
	kobject_get(&part->pool->kobj);
	io->op = op;
	io->index = index;
	io->block = block;
	io->page = page;
	init_completion(&io->done);
	refcount_set(&io->ref, 1);
	io->start = jiffies;
	return io;
}

void kvmshare_io_put(struct kvmshare_io *io)
{
	struct kvmshare_pool *pool;

	if (!refcount_dec_and_test(&io->ref))
		return;
	pool = io->part->pool;
	kobject_put(&io->part->kobj);
	kobject_put(&pool->kobj);
	kmem_cache_free(kvmshare_io_cache, io);
}

/* The request in flight for page @index of @part, with a reference. */
struct kvmshare_io *kvmshare_io_lookup(struct kvmshare_part *part,
				       pgoff_t index)
{
	struct kvmshare_io *io;

	xa_lock(&part->io);
	io = xa_load(&part->io, index);
	if (io)
		refcount_inc(&io->ref);
	xa_unlock(&part->io);
	return io;
}

/* No service answers: none is active, or the active one is stalled. */
static bool kvmshare_pager_unavailable(struct kvmshare_pool *pool)
{
	bool ret;

	spin_lock(&pool->io_lock);
	ret = !pool->active || pool->active->stalled;
	spin_unlock(&pool->io_lock);
	return ret;
}

/*
 * Wait for @io to end: 0, -EINTR on a fatal signal, or -EIO when it did
 * not end within pager_timeout_ms and no service answers (none attached,
 * or the only one is stalled): the page stays on the backing store.
 */
int kvmshare_io_wait(struct kvmshare_io *io)
{
	struct kvmshare_part *part = io->part;
	unsigned int ms;
	long ret;

	for (;;) {
		unsigned long timeout = MAX_SCHEDULE_TIMEOUT;

		ms = READ_ONCE(pager_timeout_ms);
		if (ms)
			timeout = msecs_to_jiffies(ms);
		ret = wait_for_completion_killable_timeout(&io->done, timeout);
		if (ret < 0)
			return -EINTR;
		if (ret > 0)
			return 0;
		if (kvmshare_pager_unavailable(part->pool))
			break;
	}
	atomic64_inc(&part->cnt.pagein_timeouts);
	pr_warn_ratelimited("%s: page %lu of partition %llu: no paging service answered in %u ms\n",
			    part->pool->name, io->index, part->id, ms);
	return -EIO;
}

/* A fault did not wait for @io (KVM's asynchronous page fault). */
void kvmshare_io_async(struct kvmshare_io *io)
{
	if (!test_and_set_bit(0, &io->async))
		atomic64_inc(&io->part->cnt.async_restores);
}

/* Backing store blocks, under io_lock. */
static bool kvmshare_block_get(struct kvmshare_pool *pool, u64 *block)
{
	unsigned long b;

	lockdep_assert_held(&pool->io_lock);
	if (!pool->block_map)
		return false;
	b = find_next_zero_bit(pool->block_map, pool->backing_blocks,
			       pool->block_hint);
	if (b >= pool->backing_blocks)
		b = find_first_zero_bit(pool->block_map, pool->backing_blocks);
	if (b >= pool->backing_blocks)
		return false;
	__set_bit(b, pool->block_map);
	pool->blocks_used++;
	pool->block_hint = b + 1;
	*block = b;
	return true;
}

static void __kvmshare_block_put(struct kvmshare_pool *pool, u64 block)
{
	lockdep_assert_held(&pool->io_lock);
	if (block < pool->backing_blocks &&
	    __test_and_clear_bit(block, pool->block_map))
		pool->blocks_used--;
}

static void kvmshare_io_submit(struct kvmshare_pool *pool,
			       struct kvmshare_io *io);

/*
 * @block of page @index of @part is no longer needed: tell the service
 * (DISCARD, so a file back end can free the space), and free the block
 * when that is done. Without memory for the request, free it at once.
 */
void kvmshare_block_release(struct kvmshare_pool *pool, u64 block,
			    struct kvmshare_part *part, pgoff_t index)
{
	struct kvmshare_io *io = NULL;

	if (kvmshare_pager_active(pool))
		io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_DISCARD, index,
				       block, NULL);
	if (!io) {
		spin_lock(&pool->io_lock);
		__kvmshare_block_put(pool, block);
		spin_unlock(&pool->io_lock);
		return;
	}
	kvmshare_io_submit(pool, io);
}

/* Post what can be posted to the active service. */
static void kvmshare_pager_kick(struct kvmshare_pool *pool)
{
	struct kvmshare_pager *p;
	struct kvmshare_pager_req *sq;
	struct kvmshare_io *io, *tmp;
	bool posted = false;
	u32 slot, tag;

	spin_lock(&pool->io_lock);
	p = pool->active;
	if (!p)
		goto unlock;
	sq = (void *)p->ring + KVMSHARE_PAGER_SQ_OFFSET;
	list_for_each_entry_safe(io, tmp, &pool->io_pending, node) {
		struct kvmshare_pager_req *req;

		if (p->inflight >= p->sq_entries)
			break;
		slot = KVMSHARE_PAGER_NO_SLOT;
		if (io->op != KVMSHARE_PAGER_OP_DISCARD) {
			slot = find_first_zero_bit(p->slot_map, p->nr_slots);
			if (slot >= p->nr_slots)
				continue;	/* a DISCARD may still go */
			__set_bit(slot, p->slot_map);
		}
		tag = find_first_zero_bit(p->tag_map, p->sq_entries);
		__set_bit(tag, p->tag_map);
		p->tags[tag] = io;
		p->inflight++;
		io->tag = tag;
		io->slot = slot;
		io->posted = jiffies;
		io->id = (++p->seq << KVMSHARE_TAG_BITS) | tag;
		if (io->op == KVMSHARE_PAGER_OP_PAGE_OUT) {
			/*
			 * The crc is of what the service gets: the guest may
			 * have written the page since eviction chose it (it
			 * is then kept in memory when the page-out ends).
			 */
			memcpy_from_page(page_address(p->slots[slot]), io->page,
					 0, PAGE_SIZE);
			io->crc = kvmshare_page_crc(p->slots[slot]);
		}

		req = &sq[p->sq_tail & (p->sq_entries - 1)];
		memset(req, 0, sizeof(*req));
		req->id = io->id;
		req->op = io->op;
		req->slot = slot;
		req->block = io->block;
		req->part_id = io->part->id;
		req->page_index = io->index;
		req->crc32c = io->crc;
		p->sq_tail++;
		/* The entry is complete before the service can see it. */
		smp_store_release(&p->ring->sq_tail, p->sq_tail);
		list_del_init(&io->node);
		pool->nr_pending--;
		atomic64_inc(&p->requests);
		posted = true;
	}
	if (posted)
		wake_up_interruptible(&p->wq);
unlock:
	spin_unlock(&pool->io_lock);
}

/* Queue @io for the service; kvmshare_pager_kick() posts it. */
static void kvmshare_io_queue(struct kvmshare_pool *pool,
			      struct kvmshare_io *io)
{
	spin_lock(&pool->io_lock);
	list_add_tail(&io->node, &pool->io_pending);
	pool->nr_pending++;
	spin_unlock(&pool->io_lock);
}

static void kvmshare_io_submit(struct kvmshare_pool *pool,
			       struct kvmshare_io *io)
{
	kvmshare_io_queue(pool, io);
	kvmshare_pager_kick(pool);
}

/* A page-out ended: drop the page if nobody touched it meanwhile. */
static void kvmshare_pageout_done(struct kvmshare_io *io, int result)
{
	struct kvmshare_part *part = io->part;
	struct kvmshare_pool *pool = part->pool;
	struct page *page = io->page;
	bool dropped = false;

	lock_page(page);
	/*
	 * Array's ref + ours: anything more is a pin (GUP, a reader). With
	 * no service left to page it back in (the last one is stopping),
	 * the page stays in memory.
	 */
	if (!result && kvmshare_pager_active(pool) &&
	    !page_mapped(page) && !PageDirty(page) &&
	    page_count(page) == 2 &&
	    xa_cmpxchg(&part->pages, io->index, page,
		       kvmshare_ent(KVMSHARE_ENT_OUT, io->block, io->crc),
		       GFP_KERNEL) == page) {
		put_page(page);			/* the array's */
		dropped = true;
	}
	unlock_page(page);
	put_page(page);				/* ours */
	io->page = NULL;
	atomic64_dec(&part->pageouts_inflight);
	if (dropped) {
		kvmshare_account_out(part, KVMSHARE_ENT_OUT, 1);
		kvmshare_uncharge(part, 1);
		atomic64_inc(&part->cnt.pageouts);
		return;
	}
	if (result && result != -ECANCELED) {
		atomic64_inc(&part->cnt.pageout_errors);
		pr_info_ratelimited("%s: page-out of page %lu failed: %d\n",
				    pool->name, io->index, result);
	}
	spin_lock(&pool->io_lock);
	__kvmshare_block_put(pool, io->block);
	spin_unlock(&pool->io_lock);
}

/* A page-in ended: the page replaces the entry, or the data is lost. */
static void kvmshare_pagein_done(struct kvmshare_io *io, int result)
{
	struct kvmshare_part *part = io->part;
	struct kvmshare_pool *pool = part->pool;
	void *ent = kvmshare_ent(KVMSHARE_ENT_OUT, io->block, io->crc);
	void *old;

	if (!result && io->crc && kvmshare_page_crc(io->page) != io->crc)
		result = -EBADMSG;
	if (!result) {
		/* Replacing an entry allocates nothing: no sleep under lock. */
		xa_lock(&part->pages);
		old = __xa_cmpxchg(&part->pages, io->index, ent, io->page,
				   GFP_NOWAIT);
		if (old == ent && io->ahead)
			__xa_set_mark(&part->pages, io->index,
				      KVMSHARE_MARK_AHEAD);
		xa_unlock(&part->pages);
		if (old == ent) {
			io->page = NULL;	/* the array has it now */
			kvmshare_account_out(part, KVMSHARE_ENT_OUT, -1);
			atomic64_inc(&part->cnt.pageins);
			if (io->ahead)
				atomic64_inc(&part->cnt.readahead);
		}
	} else {
		old = xa_cmpxchg(&part->pages, io->index, ent,
				 kvmshare_ent(KVMSHARE_ENT_POISON, 0, 0),
				 GFP_KERNEL);
		if (old == ent) {
			kvmshare_account_out(part, KVMSHARE_ENT_OUT, -1);
			atomic64_inc(&part->cnt.pagein_errors);
			pr_warn_ratelimited("%s: page %lu of partition %llu lost: page-in failed (%d)\n",
					    pool->name, io->index, part->id,
					    result);
		}
	}
	if (io->page) {		/* not used: punched meanwhile, or failed */
		put_page(io->page);
		io->page = NULL;
		kvmshare_uncharge(part, 1);
	}
	spin_lock(&pool->io_lock);
	__kvmshare_block_put(pool, io->block);
	spin_unlock(&pool->io_lock);
}

/* @io is done (it left every queue): apply the result, wake waiters. */
static void kvmshare_io_end(struct kvmshare_io *io, int result)
{
	struct kvmshare_pool *pool = io->part->pool;

	switch (io->op) {
	case KVMSHARE_PAGER_OP_PAGE_OUT:
		kvmshare_pageout_done(io, result);
		break;
	case KVMSHARE_PAGER_OP_PAGE_IN:
		kvmshare_pagein_done(io, result);
		break;
	default:
		spin_lock(&pool->io_lock);
		__kvmshare_block_put(pool, io->block);
		spin_unlock(&pool->io_lock);
		break;
	}
	if (io->op != KVMSHARE_PAGER_OP_DISCARD &&
	    xa_cmpxchg(&io->part->io, io->index, io, NULL, GFP_KERNEL) == io)
		kvmshare_io_put(io);		/* the array's */
	complete_all(&io->done);
	kvmshare_io_put(io);			/* in flight */
	wake_up_all(&pool->room_wq);
}

/* Paging in */

/*
 * Register and queue a page-in of page @index of @part, whose entry the
 * caller found to be @entry (on the backing store, no request for it).
 * @ahead: a read-ahead, that takes only spare room of the pool. With @iop
 * the request is returned with a reference for the caller. Returns
 * -EINPROGRESS (queued: the caller kicks the service), -EAGAIN (the entry
 * changed or a request for it appeared), -ENOSPC, -ENOMEM.
 */
static int kvmshare_pagein_queue(struct kvmshare_part *part, pgoff_t index,
				 void *entry, bool ahead,
				 struct kvmshare_io **iop)
{
	struct kvmshare_io *io;
	struct page *page;
	int ret;

	if (!(ahead ? kvmshare_charge_spare(part) : kvmshare_charge(part, true)))
		return -ENOSPC;
	page = alloc_page(GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!page) {
		kvmshare_uncharge(part, 1);
		return -ENOMEM;
	}
	io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_PAGE_IN, index,
			       kvmshare_ent_block(entry), page);
	if (!io) {
		put_page(page);
		kvmshare_uncharge(part, 1);
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
		put_page(page);
		kvmshare_uncharge(part, 1);
		return ret == -EBUSY ? -EAGAIN : ret;
	}
	if (xa_load(&part->pages, index) != entry) {
		/* Punched between our look and the registration. */
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

/*
 * Page in, along with page @index, the other pages of its aligned window
 * of pagein_cluster pages that are on the backing store: a guest touching
 * one page of a region it used before touches its neighbours next, and one
 * round trip to the service brings them all. Stops when the pool has no
 * spare room. Read-ahead pages that are not touched go first on eviction.
 */
static void kvmshare_pagein_ahead(struct kvmshare_part *part, pgoff_t index)
{
	unsigned int n = READ_ONCE(pagein_cluster);
	pgoff_t first = round_down(index, n), i;
	void *entry;
	int ret;

	for (i = first; n > 1 && i < first + n; i++) {
		if (i == index)
			continue;
		entry = xa_load(&part->pages, i);
		if (!kvmshare_ent_is_out(entry) || xa_load(&part->io, i))
			continue;
		ret = kvmshare_pagein_queue(part, i, entry, true, NULL);
		if (ret == -ENOSPC || ret == -ENOMEM)
			break;
	}
}

/**
 * kvmshare_pagein_start - page in page @index of @part, or join its page-in
 * @part: the partition
 * @index: the page
 * @entry: the array's entry for it, as the caller found it
 * @iop: the request, with a reference, on -EINPROGRESS
 *
 * The caller holds the invalidate_lock shared. Returns -EINPROGRESS (wait
 * for *@iop with kvmshare_io_wait(), then look again), -EAGAIN (the entry
 * changed: look again), -ENOSPC (no room in the pool for the page: wait
 * for room), -ENOMEM.
 */
int kvmshare_pagein_start(struct kvmshare_part *part, pgoff_t index,
			  void *entry, struct kvmshare_io **iop)
{
	struct kvmshare_io *io;
	int ret;

	if (!kvmshare_ent_is_out(entry))
		return -EAGAIN;
	io = kvmshare_io_lookup(part, index);
	if (io) {
		*iop = io;
		return -EINPROGRESS;
	}
	ret = kvmshare_pagein_queue(part, index, entry, false, iop);
	if (ret == -EINPROGRESS) {
		kvmshare_pagein_ahead(part, index);
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
	void *kaddr;
	bool zero;
	u64 block;
	int ret = 0;

	if (xa_load(&part->io, index))
		return 0;			/* already under I/O */
	if (!trylock_page(page))
		return 0;
	if (xa_load(&part->pages, index) != page)
		goto unlock;
	unmap_mapping_pages(mapping, index, 1, false);
	/* The array's ref + the caller's: anything more is a pin. */
	if (page_mapped(page) || page_count(page) != 2) {
		atomic64_inc(&part->cnt.pinned_skips);
		goto unlock;
	}
	ClearPageDirty(page);
	xa_clear_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED);
	xa_clear_mark(&part->pages, index, KVMSHARE_MARK_AHEAD);

	kaddr = kmap_local_page(page);
	zero = !memchr_inv(kaddr, 0, PAGE_SIZE);
	kunmap_local(kaddr);
	if (zero) {
		if (xa_cmpxchg(&part->pages, index, page,
			       kvmshare_ent(KVMSHARE_ENT_ZERO, 0, 0),
			       GFP_KERNEL) != page)
			goto unlock;
		put_page(page);			/* the array's */
		kvmshare_account_out(part, KVMSHARE_ENT_ZERO, 1);
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

/*
 * Evict @page, found at @index of @part without a reference, and count it
 * in *@done when it left or its page-out was queued. Page-outs are posted
 * in batches as they are chosen; the caller kicks the service at the end.
 */
static void kvmshare_evict_found(struct kvmshare_part *part,
				 struct address_space *mapping,
				 unsigned long index, struct page *page,
				 u64 *done)
{
	if (!get_page_unless_zero(page))
		return;
	if (kvmshare_evict_one(part, mapping, index, page) &&
	    !(++*done % KVMSHARE_EVICT_BATCH))
		kvmshare_pager_kick(part->pool);
	put_page(page);
}

/* Evict up to @want resident pages of @part: sampled-idle pages first. */
static u64 kvmshare_evict_part(struct kvmshare_part *part,
			       struct address_space *mapping, u64 want)
{
	unsigned long index;
	void *entry;
	u64 done = 0, looked = 0;
	int pass;

	for (pass = 0; pass < 2 && done < want; pass++) {
		unsigned long start = pass ? part->evict_cursor : 0;

		xa_for_each_start(&part->pages, index, entry, start) {
			if (done >= want || looked >= 8 * want + 64)
				break;
			if (xa_is_value(entry))
				continue;
			if (!pass && !xa_get_mark(&part->pages, index,
						  KVMSHARE_MARK_SAMPLED) &&
			    !xa_get_mark(&part->pages, index,
					 KVMSHARE_MARK_AHEAD))
				continue;
			looked++;
			kvmshare_evict_found(part, mapping, index, entry,
					     &done);
			part->evict_cursor = index + 1;
			cond_resched();
		}
		if (pass && done < want && looked < 8 * want + 64)
			part->evict_cursor = 0;	/* wrap */
	}
	kvmshare_pager_kick(part->pool);
	return done;
}

/*
 * Page out the resident pages [@first, @last] of @part now (fadvise
 * DONTNEED): those in use or pinned are skipped, as by eviction.
 */
void kvmshare_pageout_range(struct kvmshare_part *part,
			    struct address_space *mapping, pgoff_t first,
			    pgoff_t last)
{
	unsigned long index;
	void *entry;
	u64 n = 0;

	xa_for_each_range(&part->pages, index, entry, first, last) {
		if (xa_is_value(entry))
			continue;
		kvmshare_evict_found(part, mapping, index, entry, &n);
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kvmshare_pager_kick(part->pool);
}

/* Unmap a sample of resident pages; estimate active memory from the last. */
static void kvmshare_sample_part(struct kvmshare_part *part,
				 struct address_space *mapping)
{
	struct kvmshare_pool *pool = part->pool;
	u64 hits = atomic64_xchg(&part->cnt.sample_hits, 0);
	u64 size = DIV_ROUND_UP_ULL(i_size_read(mapping->host), PAGE_SIZE);
	unsigned int i, n = 0;
	u64 resident;

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
		if (!entry || xa_is_value(entry) ||
		    xa_get_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED))
			continue;
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

static void kvmshare_pager_watch(struct kvmshare_pool *pool);

static void kvmshare_evict_work(struct work_struct *work)
{
	struct kvmshare_pool *pool = container_of(to_delayed_work(work),
						  struct kvmshare_pool,
						  evict_work);
	struct kvmshare_part *part;
	bool sample = time_after_eq(jiffies, pool->next_sample);
	bool again = false;
	u64 over;

	if (sample)
		pool->next_sample = jiffies + msecs_to_jiffies(sample_ms);
	kvmshare_pager_watch(pool);

	for (;;) {
		struct kvmshare_part *victim = NULL;
		struct inode *inode = NULL;
		u64 short_by = 0, want = 0, best = 0, done;

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
		 * that comes later kicks this work itself.
		 */
		if (waitqueue_active(&pool->room_wq))
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
			if (sample)
				kvmshare_sample_part(victim, inode->i_mapping);
			done = want ? kvmshare_evict_part(victim,
							  inode->i_mapping,
							  want) : 0;
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

	if (!READ_ONCE(pool->dying))
		queue_delayed_work(system_unbound_wq, &pool->evict_work,
				   again ? 1 : msecs_to_jiffies(sample_ms));
}

void kvmshare_evict_kick(struct kvmshare_pool *pool)
{
	if (!READ_ONCE(pool->dying))
		mod_delayed_work(system_unbound_wq, &pool->evict_work, 0);
}

/* The pager fd */

static __poll_t kvmshare_pager_poll(struct file *file, poll_table *wait)
{
	struct kvmshare_pager *p = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &p->wq, wait);
	if (READ_ONCE(p->ring->sq_head) != READ_ONCE(p->sq_tail))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(p->gone))
		mask |= EPOLLHUP;
	return mask;
}

/*
 * @p stops serving (under io_lock): it leaves the candidates, and if it
 * was the active service the next one (primaries first) takes over. With
 * @requeue its unfinished requests go back to the front of the queue for
 * that one (they are idempotent); a stopping service keeps them and
 * finishes them. Returns the number of requests requeued.
 */
static u32 __kvmshare_pager_leave(struct kvmshare_pager *p, u32 state,
				  bool requeue)
{
	struct kvmshare_pool *pool = p->pool;
	struct kvmshare_pager *next;
	LIST_HEAD(requeue_list);
	u32 tag, n = 0;

	lockdep_assert_held(&pool->io_lock);
	list_del_init(&p->node);
	p->state = state;
	p->stalled = false;
	if (state == KVMSHARE_PAGER_STATE_STOPPING)
		list_add_tail(&p->node, &pool->draining);
	else
		WRITE_ONCE(p->gone, true);
	for (tag = 0; requeue && tag < p->sq_entries; tag++) {
		struct kvmshare_io *io = p->tags[tag];

		if (!io)
			continue;
		p->tags[tag] = NULL;
		list_add_tail(&io->node, &requeue_list);
		pool->nr_pending++;
		n++;
	}
	if (requeue) {
		bitmap_zero(p->tag_map, p->sq_entries);
		p->inflight = 0;
		list_splice(&requeue_list, &pool->io_pending);
		pool->reissued += n;
	}
	if (pool->active == p) {
		next = list_first_entry_or_null(&pool->pagers,
						struct kvmshare_pager, node);
		WRITE_ONCE(pool->active, next);
		if (next) {
			next->state = KVMSHARE_PAGER_STATE_ACTIVE;
			if (state != KVMSHARE_PAGER_STATE_STOPPING)
				pool->failovers++;
		}
	}
	return n;
}

/* Pages of the pool's partitions on the backing store. */
static u64 kvmshare_pool_paged_out(struct kvmshare_pool *pool)
{
	struct kvmshare_part *part;
	u64 n = 0;

	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node)
		n += part->paged_out;
	spin_unlock(&pool->lock);
	return n;
}

/*
 * A stopping service has nothing in flight any more: it is stopped. If no
 * service is left and pages reached the backing store after all (a
 * page-out that raced with the stop), it serves on instead: pages are
 * never stranded. Returns true when it stopped.
 */
static bool __kvmshare_pager_stopped(struct kvmshare_pager *p)
{
	struct kvmshare_pool *pool = p->pool;
	u64 out;

	lockdep_assert_held(&pool->io_lock);
	if (p->state != KVMSHARE_PAGER_STATE_STOPPING || p->inflight)
		return false;
	if (!pool->active) {
		out = kvmshare_pool_paged_out(pool);
		if (out) {
			list_move(&p->node, &pool->pagers);
			p->state = KVMSHARE_PAGER_STATE_ACTIVE;
			WRITE_ONCE(pool->active, p);
			pr_warn("%s: stop of paging service %llu undone: %llu pages reached the backing store meanwhile\n",
				pool->name, p->id, out);
			return false;
		}
	}
	list_del_init(&p->node);
	p->state = KVMSHARE_PAGER_STATE_STOPPED;
	WRITE_ONCE(p->gone, true);
	spin_lock(&pool->lock);
	p->suspended = pool->nr_parts;
	spin_unlock(&pool->lock);
	if (!pool->active)
		pool->suspended = true;
	return true;
}

static void kvmshare_pager_log_stopped(struct kvmshare_pager *p)
{
	pr_info("%s: paging service %llu stopped: %llu streams suspended, %llu completed\n",
		p->pool->name, p->id, p->suspended, p->completed);
	wake_up_interruptible(&p->wq);
}

/* Another service could take over from @p. */
static bool kvmshare_pager_has_peer(struct kvmshare_pager *p)
{
	struct kvmshare_pager *q;

	lockdep_assert_held(&p->pool->io_lock);
	list_for_each_entry(q, &p->pool->pagers, node)
		if (q != p)
			return true;
	return false;
}

/*
 * Completions: an array of struct kvmshare_pager_cqe. A service that
 * reports an error for a page-out or page-in while another service is
 * attached is failed over: the request and everything else it had in
 * flight go to the next service, so an error of one service is not a lost
 * page. With no other service the error is the request's result.
 */
static ssize_t kvmshare_pager_write(struct file *file, const char __user *buf,
				    size_t len, loff_t *ppos)
{
	struct kvmshare_pager *p = file->private_data;
	struct kvmshare_pool *pool = p->pool;
	struct kvmshare_pager_cqe cqe;
	bool stopped = false;
	u32 failed = 0;
	u64 next_id = 0;
	size_t done;

	if (len % sizeof(cqe)) {
		pr_info_ratelimited("%s: pager %llu: completion write of %zu bytes is not a multiple of %zu\n",
				    pool->name, p->id, len, sizeof(cqe));
		return -EINVAL;
	}
	for (done = 0; done < len; done += sizeof(cqe)) {
		struct kvmshare_io *io = NULL;
		bool reissue = false;
		u32 tag;

		if (copy_from_user(&cqe, buf + done, sizeof(cqe)))
			return done ? done : -EFAULT;
		tag = cqe.id & ((1U << KVMSHARE_TAG_BITS) - 1);
		spin_lock(&pool->io_lock);
		if (!cqe.flags && !cqe.reserved[0] && !cqe.reserved[1] &&
		    cqe.result <= 0 && cqe.result >= -MAX_ERRNO &&
		    tag < p->sq_entries && p->tags[tag] &&
		    p->tags[tag]->id == cqe.id) {
			io = p->tags[tag];
			p->tags[tag] = NULL;
			__clear_bit(tag, p->tag_map);
			p->inflight--;
		}
		if (io && cqe.result && io->op != KVMSHARE_PAGER_OP_DISCARD &&
		    kvmshare_pager_has_peer(p)) {
			/* Its slot is not used again: the service is gone. */
			list_add(&io->node, &pool->io_pending);
			pool->nr_pending++;
			pool->reissued++;
			failed = 1 + __kvmshare_pager_leave(p,
					KVMSHARE_PAGER_STATE_FAILED, true);
			next_id = pool->active ? pool->active->id : 0;
			reissue = true;
		}
		spin_unlock(&pool->io_lock);
		if (reissue) {
			pr_warn("%s: paging service %llu reported error %d (request %llu): failed over to service %llu, %u requests reissued\n",
				pool->name, p->id, cqe.result, cqe.id,
				next_id, failed);
			atomic64_inc(&p->completions);
			continue;
		}
		if (io && io->op != KVMSHARE_PAGER_OP_DISCARD) {
			/*
			 * The slot stays ours until its bit is cleared: copy
			 * without the lock, then give it back.
			 */
			if (io->op == KVMSHARE_PAGER_OP_PAGE_IN && !cqe.result)
				memcpy_to_page(io->page, 0,
					       page_address(p->slots[io->slot]),
					       PAGE_SIZE);
			spin_lock(&pool->io_lock);
			__clear_bit(io->slot, p->slot_map);
			spin_unlock(&pool->io_lock);
		}
		if (!io) {
			atomic64_inc(&p->bad_completions);
			if (READ_ONCE(p->gone))
				pr_info_ratelimited("%s: pager %llu: completion %llu ignored: the service no longer serves the pool\n",
						    pool->name, p->id, cqe.id);
			else
				pr_info_ratelimited("%s: pager %llu: bad completion (id %llu, result %d, flags 0x%x): unknown, repeated or malformed\n",
						    pool->name, p->id, cqe.id,
						    cqe.result, cqe.flags);
			continue;
		}
		atomic64_inc(&p->completions);
		kvmshare_io_end(io, cqe.result);
	}
	spin_lock(&pool->io_lock);
	stopped = __kvmshare_pager_stopped(p);
	spin_unlock(&pool->io_lock);
	if (stopped)
		kvmshare_pager_log_stopped(p);
	if (failed)
		wake_up_interruptible(&p->wq);
	kvmshare_pager_kick(pool);
	return len;
}

/*
 * Detach a service (its fd is released): its unfinished requests go back
 * to the front of the queue, for the next service (nothing is lost:
 * page-outs keep their pages until a service confirms them, page-ins
 * wait).
 */
static void kvmshare_pager_detach(struct kvmshare_pager *p)
{
	struct kvmshare_pool *pool = p->pool;
	bool was_active;
	u64 next_id;
	u32 n = 0;

	mutex_lock(&pool->pager_mutex);
	spin_lock(&pool->io_lock);
	was_active = pool->active == p;
	if (!p->gone)
		n = __kvmshare_pager_leave(p, KVMSHARE_PAGER_STATE_FAILED,
					   true);
	next_id = pool->active ? pool->active->id : 0;
	spin_unlock(&pool->io_lock);
	mutex_unlock(&pool->pager_mutex);
	if (was_active && next_id)
		pr_warn("%s: paging service %llu went away: failed over to service %llu, %u requests reissued\n",
			pool->name, p->id, next_id, n);
	else
		pr_info("%s: paging service %llu detached\n", pool->name,
			p->id);
	wake_up_interruptible(&p->wq);
	kvmshare_pager_kick(pool);
	/* Faults waiting for room fail now if no service is left. */
	wake_up_all(&pool->room_wq);
}

/* @p has had a request unanswered for longer than @ms (io_lock held). */
static bool kvmshare_pager_late(struct kvmshare_pager *p, unsigned int ms)
{
	unsigned long oldest = jiffies;
	u32 tag;

	lockdep_assert_held(&p->pool->io_lock);
	for (tag = 0; tag < p->sq_entries; tag++)
		if (p->tags[tag] && time_before(p->tags[tag]->posted, oldest))
			oldest = p->tags[tag]->posted;
	return time_after(jiffies, oldest + msecs_to_jiffies(ms));
}

/*
 * Deadlines, from the eviction work (about once a second): the active
 * service, or a stopping one, that left a request unanswered for
 * pager_timeout_ms is failed over to the next service. With none, the
 * active one is marked stalled (faults then fail after the timeout
 * instead of waiting on) until it answers again.
 */
static void kvmshare_pager_watch(struct kvmshare_pool *pool)
{
	const u32 failed = KVMSHARE_PAGER_STATE_FAILED;
	unsigned int ms = READ_ONCE(pager_timeout_ms);
	struct kvmshare_pager *p, *tmp, *late[2] = { NULL, NULL };
	u64 stall_id = 0, next_id;
	u32 n[2] = { 0, 0 };
	int i = 0;

	/* Held so that no service is freed under us (see detach). */
	if (!ms || !mutex_trylock(&pool->pager_mutex))
		return;
	spin_lock(&pool->io_lock);
	list_for_each_entry_safe(p, tmp, &pool->draining, node) {
		if (!i && p->inflight && kvmshare_pager_late(p, ms)) {
			n[i] = __kvmshare_pager_leave(p, failed, true);
			late[i++] = p;
		}
	}
	p = pool->active;
	if (p && p->inflight) {
		if (!kvmshare_pager_late(p, ms)) {
			p->stalled = false;
		} else if (kvmshare_pager_has_peer(p)) {
			n[i] = __kvmshare_pager_leave(p, failed, true);
			late[i++] = p;
		} else if (!p->stalled) {
			p->stalled = true;
			stall_id = p->id;
		}
	} else if (p) {
		p->stalled = false;
	}
	next_id = pool->active ? pool->active->id : 0;
	spin_unlock(&pool->io_lock);

	if (stall_id)
		pr_warn("%s: paging service %llu has not answered in %u ms and no other service is attached: page-ins fail until it answers\n",
			pool->name, stall_id, ms);
	for (i = 0; i < 2 && late[i]; i++) {
		pr_warn("%s: paging service %llu did not answer in %u ms: failed over to service %llu, %u requests reissued\n",
			pool->name, late[i]->id, ms, next_id, n[i]);
		wake_up_interruptible(&late[i]->wq);
	}
	mutex_unlock(&pool->pager_mutex);
	if (late[0])
		kvmshare_pager_kick(pool);
}

/*
 * Controlled stop of service @p (pager_mutex held): it takes no new
 * requests and finishes those in flight, then is stopped. Refused (-EBUSY)
 * if no other service is attached and pages are on the backing store.
 */
static void kvmshare_pager_cancel_pending(struct kvmshare_pool *pool);

static int kvmshare_pager_stop(struct kvmshare_pager *p)
{
	struct kvmshare_pool *pool = p->pool;
	bool stopped, alone;
	u32 inflight;
	u64 out = 0;

	lockdep_assert_held(&pool->pager_mutex);
	spin_lock(&pool->io_lock);
	if (p->gone || p->state == KVMSHARE_PAGER_STATE_STOPPING) {
		spin_unlock(&pool->io_lock);
		return 0;
	}
	alone = !kvmshare_pager_has_peer(p);
	if (alone)
		out = kvmshare_pool_paged_out(pool);
	if (out) {
		spin_unlock(&pool->io_lock);
		pr_info_ratelimited("%s: stop of paging service %llu refused: %llu pages are on the backing store and no other paging service is attached (attach one, or bring the pages back first)\n",
				    pool->name, p->id, out);
		return -EBUSY;
	}
	__kvmshare_pager_leave(p, KVMSHARE_PAGER_STATE_STOPPING, false);
	inflight = p->inflight;
	stopped = __kvmshare_pager_stopped(p);
	spin_unlock(&pool->io_lock);
	pr_info("%s: paging service %llu stopping: %u requests in flight; %s\n",
		pool->name, p->id, inflight,
		alone ? "no service left, streams suspend" :
		"the next service takes over");
	if (stopped)
		kvmshare_pager_log_stopped(p);
	if (alone)
		kvmshare_pager_cancel_pending(pool);
	kvmshare_pager_kick(pool);
	return 0;
}

/*
 * No service is left (the last one stopped): page-outs and discards still
 * queued end now. A page-out's page stays in memory and its block is
 * freed, as is a discard's; page-ins wait for the next service.
 */
static void kvmshare_pager_cancel_pending(struct kvmshare_pool *pool)
{
	struct kvmshare_io *io, *tmp;
	LIST_HEAD(cancel);

	spin_lock(&pool->io_lock);
	if (!pool->active) {
		list_for_each_entry_safe(io, tmp, &pool->io_pending, node) {
			if (io->op == KVMSHARE_PAGER_OP_PAGE_IN)
				continue;
			list_move_tail(&io->node, &cancel);
			pool->nr_pending--;
		}
	}
	spin_unlock(&pool->io_lock);
	list_for_each_entry_safe(io, tmp, &cancel, node) {
		list_del_init(&io->node);
		kvmshare_io_end(io, -ECANCELED);
	}
}

/* KVMSHARE_IOC_PAGER_STOP on the pool's directory. */
long kvmshare_pager_stop_id(struct kvmshare_pool *pool, void __user *uarg)
{
	struct kvmshare_pager_stop st;
	struct kvmshare_pager *p, *found = NULL;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&st, uarg, sizeof(st)))
		return -EFAULT;
	if (st.reserved[0] || st.reserved[1] || st.reserved[2] ||
	    !st.pager_id) {
		pr_info_ratelimited("%s: pager stop: bad id or reserved fields\n",
				    pool->name);
		return -EINVAL;
	}
	/* A service is freed only after its detach, which takes the mutex. */
	mutex_lock(&pool->pager_mutex);
	spin_lock(&pool->io_lock);
	list_for_each_entry(p, &pool->pagers, node)
		if (p->id == st.pager_id)
			found = p;
	list_for_each_entry(p, &pool->draining, node)
		if (p->id == st.pager_id)
			found = p;
	spin_unlock(&pool->io_lock);
	ret = found ? kvmshare_pager_stop(found) : -ESRCH;
	mutex_unlock(&pool->pager_mutex);
	return ret;
}

/* A partition is gone: a stopping service counts its stream completed. */
void kvmshare_pager_part_gone(struct kvmshare_part *part)
{
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_pager *p;

	spin_lock(&pool->io_lock);
	list_for_each_entry(p, &pool->draining, node)
		p->completed++;
	spin_unlock(&pool->io_lock);
}

static void kvmshare_pager_free(struct kvmshare_pager *p)
{
	u32 i;

	if (p->slots) {
		for (i = 0; i < p->nr_slots; i++)
			if (p->slots[i])
				__free_page(p->slots[i]);
	}
	kvfree(p->slots);
	bitmap_free(p->slot_map);
	bitmap_free(p->tag_map);
	kvfree(p->tags);
	vfree(p->ring);
	kobject_put(&p->pool->kobj);
	kfree(p);
}

static int kvmshare_pager_release(struct inode *inode, struct file *file)
{
	struct kvmshare_pager *p = file->private_data;

	kvmshare_pager_detach(p);
	kvmshare_pager_free(p);
	return 0;
}

/* The ring (header and requests) then the slots, as in the uapi header. */
static int kvmshare_pager_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kvmshare_pager *p = file->private_data;
	unsigned long ring_pages = p->ring_bytes >> PAGE_SHIFT;
	unsigned long pages = vma_pages(vma), i;
	int ret;

	if (!(vma->vm_flags & VM_SHARED) ||
	    vma->vm_pgoff + pages > ring_pages + p->nr_slots)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_flags &= ~VM_MAYEXEC;
	for (i = 0; i < pages; i++) {
		unsigned long off = vma->vm_pgoff + i;
		struct page *page;

		if (off < ring_pages)
			page = vmalloc_to_page((void *)p->ring +
					       (off << PAGE_SHIFT));
		else
			page = p->slots[off - ring_pages];
		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     page);
		if (ret)
			return ret;
	}
	return 0;
}

static long kvmshare_pager_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct kvmshare_pager *p = file->private_data;
	struct kvmshare_pager_info info;
	int ret;

	if (cmd == KVMSHARE_PAGER_IOC_STOP) {
		mutex_lock(&p->pool->pager_mutex);
		ret = kvmshare_pager_stop(p);
		mutex_unlock(&p->pool->pager_mutex);
		return ret;
	}
	if (cmd != KVMSHARE_PAGER_IOC_INFO)
		return -ENOTTY;
	memset(&info, 0, sizeof(info));
	info.pager_id = p->id;
	spin_lock(&p->pool->io_lock);
	info.role = p->standby;
	info.state = p->state;
	info.inflight = p->inflight;
	info.suspended_streams = p->suspended;
	info.completed_streams = p->completed;
	spin_unlock(&p->pool->io_lock);
	info.requests = atomic64_read(&p->requests);
	info.completions = atomic64_read(&p->completions);
	info.bad_completions = atomic64_read(&p->bad_completions);
	return copy_to_user((void __user *)arg, &info, sizeof(info)) ?
		-EFAULT : 0;
}

static const struct file_operations kvmshare_pager_fops = {
	.owner = THIS_MODULE,
	.release = kvmshare_pager_release,
	.poll = kvmshare_pager_poll,
	.write = kvmshare_pager_write,
	.mmap = kvmshare_pager_mmap,
	.unlocked_ioctl = kvmshare_pager_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static int kvmshare_pager_check(struct kvmshare_pool *pool,
				const struct kvmshare_pager_attach *a)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(a->reserved); i++)
		if (a->reserved[i])
			return -EINVAL;
	if (a->version != KVMSHARE_PAGER_VERSION ||
	    (a->flags & ~KVMSHARE_PAGER_F_ALL) ||
	    a->sq_entries < KVMSHARE_PAGER_MIN_ENTRIES ||
	    a->sq_entries > KVMSHARE_PAGER_MAX_ENTRIES ||
	    !is_power_of_2(a->sq_entries) || !a->nr_slots ||
	    a->nr_slots > KVMSHARE_PAGER_MAX_SLOTS ||
	    a->nr_slots > a->sq_entries || !a->backing_blocks ||
	    a->backing_blocks > KVMSHARE_MAX_BLOCKS)
		return -EINVAL;
	if (pool->backing_blocks && a->backing_blocks != pool->backing_blocks)
		return -EINVAL;
	return 0;
}

/* KVMSHARE_IOC_PAGER_ATTACH on the pool's directory. */
long kvmshare_pager_attach(struct kvmshare_pool *pool, void __user *uarg)
{
	struct kvmshare_pager_attach a;
	struct kvmshare_pager *p;
	unsigned long *map = NULL;
	u32 i;
	int ret, fd;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->pool = pool;
	kobject_get(&pool->kobj);
	INIT_LIST_HEAD(&p->node);
	init_waitqueue_head(&p->wq);
	p->standby = a.flags & KVMSHARE_PAGER_F_STANDBY;
	p->state = KVMSHARE_PAGER_STATE_STANDBY;

	mutex_lock(&pool->pager_mutex);
	ret = kvmshare_pager_check(pool, &a);
	if (ret) {
		pr_info_ratelimited("%s: paging service attach refused: bad version, flags, sizes or reserved fields (backing store %llu blocks)\n",
				    pool->name, pool->backing_blocks);
		goto err;
	}
	ret = -ENOMEM;
	p->sq_entries = a.sq_entries;
	p->nr_slots = a.nr_slots;
	p->ring_bytes = KVMSHARE_PAGER_SLOT_OFFSET(a.sq_entries);
	p->ring = vmalloc_user(p->ring_bytes);
	p->slots = kvcalloc(p->nr_slots, sizeof(*p->slots), GFP_KERNEL);
	p->slot_map = bitmap_zalloc(p->nr_slots, GFP_KERNEL);
	p->tags = kvcalloc(p->sq_entries, sizeof(*p->tags), GFP_KERNEL);
	p->tag_map = bitmap_zalloc(p->sq_entries, GFP_KERNEL);
	if (!p->ring || !p->slots || !p->slot_map || !p->tags || !p->tag_map)
		goto err;
	for (i = 0; i < p->nr_slots; i++) {
		p->slots[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!p->slots[i])
			goto err;
	}
	if (!pool->backing_blocks) {
		map = bitmap_zalloc(a.backing_blocks, GFP_KERNEL);
		if (!map)
			goto err;
	}
	p->ring->sq_entries = p->sq_entries;
	p->ring->nr_slots = p->nr_slots;

	fd = anon_inode_getfd("kvmshare-pager", &kvmshare_pager_fops, p,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err;
	}
	spin_lock(&pool->io_lock);
	if (map) {
		pool->block_map = map;
		pool->backing_blocks = a.backing_blocks;
	}
	p->id = ++pool->next_pager_id;
	p->ring->pager_id = p->id;
	if (p->standby && pool->active)
		list_add_tail(&p->node, &pool->pagers);
	else
		list_add(&p->node, &pool->pagers);
	if (!pool->active || (!p->standby && pool->active->standby)) {
		/* A primary takes over from a standby: no request is lost. */
		if (pool->active)
			pool->active->state = KVMSHARE_PAGER_STATE_STANDBY;
		WRITE_ONCE(pool->active, p);
		p->state = KVMSHARE_PAGER_STATE_ACTIVE;
	}
	pool->suspended = false;
	spin_unlock(&pool->io_lock);
	mutex_unlock(&pool->pager_mutex);
	pr_info("%s: paging service %llu attached (%s, %u entries, %u slots, %llu blocks)\n",
		pool->name, p->id, pool->active == p ? "active" : "standby",
		p->sq_entries, p->nr_slots, pool->backing_blocks);
	kvmshare_pager_kick(pool);
	kvmshare_evict_kick(pool);
	return fd;

err:
	mutex_unlock(&pool->pager_mutex);
	bitmap_free(map);
	kvmshare_pager_free(p);
	return ret;
}

/*
 * debugfs <pool>/restores: page-ins under way, one line each: partition,
 * page, request id (0: not posted yet), age in ms, read-ahead, whether a
 * fault went on without waiting (KVM's asynchronous page fault).
 */
static int kvmshare_restores_show(struct seq_file *m, void *v)
{
	struct kvmshare_pool *pool = m->private;
	struct kvmshare_part *part;
	struct kvmshare_io *io;
	unsigned long index;

	seq_puts(m, "partition page request age_ms ahead async\n");
	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node) {
		/* The array's reference keeps each request alive. */
		xa_lock(&part->io);
		xa_for_each(&part->io, index, io) {
			if (io->op != KVMSHARE_PAGER_OP_PAGE_IN)
				continue;
			seq_printf(m, "%llu %lu %llu %u %d %d\n", part->id,
				   index, READ_ONCE(io->id),
				   jiffies_to_msecs(jiffies - io->start),
				   io->ahead, test_bit(0, &io->async));
		}
		xa_unlock(&part->io);
	}
	spin_unlock(&pool->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvmshare_restores);

static const char *const kvmshare_pager_state_names[] = {
	[KVMSHARE_PAGER_STATE_ACTIVE] = "active",
	[KVMSHARE_PAGER_STATE_STANDBY] = "standby",
	[KVMSHARE_PAGER_STATE_STOPPING] = "stopping",
	[KVMSHARE_PAGER_STATE_STOPPED] = "stopped",
	[KVMSHARE_PAGER_STATE_FAILED] = "failed",
};

static void kvmshare_pager_show_one(struct seq_file *m,
				    struct kvmshare_pager *p)
{
	seq_printf(m, "%llu %s %s %u %llu %llu %llu %d\n", p->id,
		   p->standby ? "standby" : "primary",
		   kvmshare_pager_state_names[p->state], p->inflight,
		   (u64)atomic64_read(&p->requests),
		   (u64)atomic64_read(&p->completions),
		   (u64)atomic64_read(&p->bad_completions), p->stalled);
}

/* debugfs <pool>/pagers: the services attached, one line each. */
static int kvmshare_pagers_show(struct seq_file *m, void *v)
{
	struct kvmshare_pool *pool = m->private;
	struct kvmshare_pager *p;

	seq_puts(m, "id role state inflight requests completions bad stalled\n");
	spin_lock(&pool->io_lock);
	list_for_each_entry(p, &pool->pagers, node)
		kvmshare_pager_show_one(m, p);
	list_for_each_entry(p, &pool->draining, node)
		kvmshare_pager_show_one(m, p);
	spin_unlock(&pool->io_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvmshare_pagers);

/* The pool's debugfs files of host paging, in @dir. */
void kvmshare_pager_debugfs(struct kvmshare_pool *pool, struct dentry *dir)
{
	debugfs_create_file("restores", 0400, dir, pool,
			    &kvmshare_restores_fops);
	debugfs_create_file("pagers", 0400, dir, pool, &kvmshare_pagers_fops);
}

int kvmshare_pager_init(struct kvmshare_pool *pool)
{
	mutex_init(&pool->pager_mutex);
	spin_lock_init(&pool->io_lock);
	INIT_LIST_HEAD(&pool->pagers);
	INIT_LIST_HEAD(&pool->draining);
	INIT_LIST_HEAD(&pool->io_pending);
	init_waitqueue_head(&pool->room_wq);
	INIT_DELAYED_WORK(&pool->evict_work, kvmshare_evict_work);
	pool->low_pages = clamp_t(u64, pool->size_pages / 64, 16, 4096);
	pool->next_sample = jiffies;
	queue_delayed_work(system_unbound_wq, &pool->evict_work,
			   msecs_to_jiffies(sample_ms));
	return 0;
}

/*
 * The mount is going away (no file is open): stop eviction work and end
 * the requests no service took (DISCARDs of the last partitions).
 */
void kvmshare_pager_exit(struct kvmshare_pool *pool)
{
	struct kvmshare_io *io, *tmp;
	LIST_HEAD(drop);

	WRITE_ONCE(pool->dying, true);
	cancel_delayed_work_sync(&pool->evict_work);
	spin_lock(&pool->io_lock);
	list_splice_init(&pool->io_pending, &drop);
	pool->nr_pending = 0;
	spin_unlock(&pool->io_lock);
	list_for_each_entry_safe(io, tmp, &drop, node) {
		list_del_init(&io->node);
		kvmshare_io_end(io, -ECANCELED);
	}
	wake_up_all(&pool->room_wq);
}
