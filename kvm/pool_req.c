// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare host paging: requests (struct kvmshare_io) and the backing
 * store's blocks. A request is created by a page-in (pool_pagein.c), an
 * eviction (pool_evict.c) or a released block (DISCARD), queued on
 * pool->io_pending_in (page-ins, posted first: a fault waits for them)
 * or pool->io_pending (page-outs, discards), posted to the active
 * service's ring by
 * kvmshare_pager_kick() and ended by kvmshare_io_end() when a service
 * completes it (pool_service.c) or it is cancelled.
 *
 * Requests hold a reference to their partition's and pool's kobjects, so
 * they can end after the file or the mount is gone. One is referenced by:
 * the part->io array while registered there, its pending or in-flight
 * state, and each waiter.
 *
 * Locks this file owns or takes, outermost first (see pool.h for the
 * whole order):
 *
 *  page lock            kvmshare_pageout_done() holds it across the swap
 *                       of its page for the OUT entry.
 *  part->pages xa_lock  under the page lock (kvmshare_page_swap_out():
 *                       the reference check and the swap are one step),
 *                       or alone (kvmshare_pagein_done()).
 *  part->io xa_lock     taken alone: the requests registered per page
 *                       (part->io; a registered request holds a
 *                       reference) and each one's handed flag, so that a
 *                       request leaving the array and a removal handing it
 *                       its block decide in one step who frees the block.
 *  pool->io_lock        alone: both pending lists and nr_pending, the block
 *                       map (block_map, blocks_used, block_hint), and the
 *                       active service's ring tail, tags and slots while
 *                       a request is posted. Only a service's poll wait
 *                       queue and pool->lock (pool_service.c) are taken
 *                       under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <crypto/hash.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/kvmshare_pager.h>
#include <asm/unaligned.h>

#include "pool.h"
#include "pool_pager.h"
#include "kvmshare_trace.h"

#define KVMSHARE_PAGER_TIMEOUT_MIN_MS	100U
#define KVMSHARE_PAGER_TIMEOUT_MAX_MS	3600000U

/* 0 (wait forever) or 100..3600000 ms. */
static int kvmshare_param_set_pager_timeout(const char *val,
					    const struct kernel_param *kp)
{
	unsigned int ms;
	int ret = kstrtouint(val, 0, &ms);

	if (ret)
		return ret;
	if (ms && (ms < KVMSHARE_PAGER_TIMEOUT_MIN_MS ||
		   ms > KVMSHARE_PAGER_TIMEOUT_MAX_MS))
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	return 0;
}

static const struct kernel_param_ops kvmshare_pager_timeout_ops = {
	.set = kvmshare_param_set_pager_timeout,
	.get = param_get_uint,
};

unsigned int kvmshare_pager_timeout_ms = 10000;
module_param_cb(pager_timeout_ms, &kvmshare_pager_timeout_ops,
		&kvmshare_pager_timeout_ms, 0644);
MODULE_PARM_DESC(pager_timeout_ms,
		 "A paging service that leaves a request unanswered this long (ms) fails over to the next service; with none, page-ins waiting that long fail (0: wait forever, else 100..3600000; default 10000)");

/*
 * The crc32c of page-outs and page-ins: the crypto API's best crc32c
 * (crc32c-intel with SSE4.2, several times faster than tables on hardware)
 * or lib/crc32's tables, whichever computes a page faster here. Timed once
 * at module load, as the kernel's xor and raid6 code choose theirs: an
 * emulator (the test VM's TCG) may run the CPU's crc32 instruction and the
 * FPU state switch far slower than table loads. Set before any pool
 * exists; the transform is freed at unload.
 */
static struct crypto_shash *kvmshare_crc_tfm;
static u64 kvmshare_crc_ns[2];		/* a page: [0] tables, [1] the API */

static u32 kvmshare_crc_buf(bool api, const void *buf)
{
	u8 out[4];

	if (api) {
		SHASH_DESC_ON_STACK(desc, kvmshare_crc_tfm);

		desc->tfm = kvmshare_crc_tfm;
		/* crc32c's digest: seed ~0, inverted, little endian */
		if (!crypto_shash_digest(desc, buf, PAGE_SIZE, out))
			return get_unaligned_le32(out);
	}
	return ~__crc32c_le(~0U, buf, PAGE_SIZE);
}

/* The least time of a few runs over @buf, in ns. */
static u64 kvmshare_crc_time(bool api, const void *buf)
{
	u64 best = U64_MAX, t;
	int i;

	for (i = 0; i < 8; i++) {
		preempt_disable();
		t = ktime_get_ns();
		kvmshare_crc_buf(api, buf);
		t = ktime_get_ns() - t;
		preempt_enable();
		best = min(best, t);
	}
	return best;
}

void kvmshare_crc_init(void)
{
	struct crypto_shash *tfm = crypto_alloc_shash("crc32c", 0, 0);
	void *buf;

	if (IS_ERR(tfm)) {
		pr_info("no crc32c in the crypto API (%ld): using lib/crc32\n",
			PTR_ERR(tfm));
		return;
	}
	kvmshare_crc_tfm = tfm;
	buf = (void *)__get_free_page(GFP_KERNEL);
	if (!buf)
		return;				/* the API, untimed */
	get_random_bytes(buf, PAGE_SIZE);
	if (kvmshare_crc_buf(true, buf) != kvmshare_crc_buf(false, buf)) {
		pr_warn("%s disagrees with lib/crc32: not using it\n",
			crypto_shash_driver_name(tfm));
		kvmshare_crc_tfm = NULL;
		crypto_free_shash(tfm);
	} else {
		kvmshare_crc_ns[0] = kvmshare_crc_time(false, buf);
		kvmshare_crc_ns[1] = kvmshare_crc_time(true, buf);
		if (kvmshare_crc_ns[1] > kvmshare_crc_ns[0]) {
			kvmshare_crc_tfm = NULL;
			crypto_free_shash(tfm);
		}
	}
	free_page((unsigned long)buf);
}

void kvmshare_crc_exit(void)
{
	if (kvmshare_crc_tfm)
		crypto_free_shash(kvmshare_crc_tfm);
	kvmshare_crc_tfm = NULL;
}

/*
 * The load message's words on the crc32c in use: its name and, when both
 * were timed, each one's time for a page.
 */
void kvmshare_crc_describe(char *buf, size_t len)
{
	const char *name = kvmshare_crc_tfm ?
			   crypto_shash_driver_name(kvmshare_crc_tfm) :
			   "lib/crc32";

	if (kvmshare_crc_ns[0])
		snprintf(buf, len, "%s; a page: lib/crc32 %llu ns, crypto API %llu ns",
			 name, kvmshare_crc_ns[0], kvmshare_crc_ns[1]);
	else
		snprintf(buf, len, "%s", name);
}

/*
 * The standard crc32c of a page (0 means "none" in the protocol). May be
 * called in atomic context (the kick holds io_lock): the SIMD code falls
 * back by itself where it cannot use the FPU.
 */
u32 kvmshare_page_crc(struct page *page)
{
	return kvmshare_crc_buf(!!kvmshare_crc_tfm, page_address(page));
}

/* Sleep at @point if a test asked for it (see struct kvmshare_pool). */
void kvmshare_inject(struct kvmshare_pool *pool, u32 point)
{
	if (likely(READ_ONCE(pool->inject_point) != point))
		return;
	if (atomic_dec_if_positive(&pool->inject_count) < 0)
		return;
	msleep(READ_ONCE(pool->inject_ms));
}

/*
 * Whether a test asked the code at @point to fail (for instance, an
 * allocation to fail as if the host had no memory left): true the next
 * inject_count times it passes there.
 */
bool kvmshare_inject_fail(struct kvmshare_pool *pool, u32 point)
{
	if (likely(READ_ONCE(pool->inject_point) != point))
		return false;
	return atomic_dec_if_positive(&pool->inject_count) >= 0;
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

struct kvmshare_io *kvmshare_io_alloc(struct kvmshare_part *part,
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
	/* An exact latency for the end events, when they are on. */
	if (trace_kvmshare_pagein_end_enabled() ||
	    trace_kvmshare_pageout_end_enabled())
		io->start_ns = ktime_get_ns();
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

		ms = READ_ONCE(kvmshare_pager_timeout_ms);
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
bool kvmshare_block_get(struct kvmshare_pool *pool, u64 *block)
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

void __kvmshare_block_put(struct kvmshare_pool *pool, u64 block)
{
	lockdep_assert_held(&pool->io_lock);
	if (block < pool->backing_blocks &&
	    __test_and_clear_bit(block, pool->block_map))
		pool->blocks_used--;
}

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

/*
 * A machine check met reading guest @page in kernel mode (review s26b,
 * M3): on 6.1 nothing reports one that copy_mc_to_kernel() recovered from
 * to memory_failure(), so the page would be read, and the error consumed,
 * again at every pass. Queue it (safe in atomic context; not the
 * synchronous call, which locks the page, held by our caller): the page
 * gets PG_hwpoison, which keeps it from being read again.
 */
static void kvmshare_page_mce(struct page *page)
{
	memory_failure_queue(page_to_pfn(page), 0);
}

/**
 * kvmshare_page_has_data - whether a page holds anything but zeros
 * @page: a page of guest memory, resident (a 4 KiB page or a unit's
 *	subpage)
 *
 * Read with copy_mc_to_kernel() in small pieces, up to the first non-zero
 * byte: an uncorrected memory error not reported yet must not panic the
 * host (review s26, L4); it is queued for memory_failure().
 *
 * Return: 1 if it holds data, 0 if all zero, -EIO on a machine check.
 */
int kvmshare_page_has_data(struct page *page)
{
	u8 buf[512];
	void *from = kmap_local_page(page);
	unsigned int off;
	int ret = 0;

	for (off = 0; off < PAGE_SIZE; off += sizeof(buf)) {
		if (copy_mc_to_kernel(buf, from + off, sizeof(buf))) {
			kvmshare_page_mce(page);
			ret = -EIO;
			break;
		}
		if (memchr_inv(buf, 0, sizeof(buf))) {
			ret = 1;
			break;
		}
	}
	kunmap_local(from);
	return ret;
}

/*
 * One pass of kvmshare_page_crc_mc() over @from: by the crypto API when
 * @desc is set, else by lib/crc32. 0, -EHWPOISON on a machine check, or
 * -EIO if the API failed (the caller passes again by tables).
 */
static int kvmshare_crc_mc_pass(struct shash_desc *desc, const u8 *from,
				u32 *crc)
{
	u8 buf[512], out[4];
	unsigned int off;
	u32 c = ~0U;

	if (desc && crypto_shash_init(desc))
		return -EIO;
	for (off = 0; off < PAGE_SIZE; off += sizeof(buf)) {
		if (copy_mc_to_kernel(buf, from + off, sizeof(buf)))
			return -EHWPOISON;
		if (!desc)
			c = __crc32c_le(c, buf, sizeof(buf));
		else if (crypto_shash_update(desc, buf, sizeof(buf)))
			return -EIO;
	}
	if (!desc)
		*crc = ~c;
	else if (!crypto_shash_final(desc, out))
		*crc = get_unaligned_le32(out);
	else
		return -EIO;
	return 0;
}

/**
 * kvmshare_page_crc_mc - the crc32c of a page of guest memory
 * @page: a page just filled by a page-in (a 4 KiB page or a unit's
 *	subpage, which memory_failure() may have marked meanwhile)
 * @crc: set to the crc (as kvmshare_page_crc(), by the crc32c chosen at
 *	load)
 *
 * Read with copy_mc_to_kernel() in small pieces: an uncorrected memory
 * error in a page the I/O filled must not panic the host (review s26
 * huge5, M3); it is queued for memory_failure().
 *
 * Return: 0, or -EHWPOISON on a machine check.
 */
int kvmshare_page_crc_mc(struct page *page, u32 *crc)
{
	SHASH_DESC_ON_STACK(desc, kvmshare_crc_tfm);
	void *from = kmap_local_page(page);
	int ret = -EIO;

	if (kvmshare_crc_tfm) {
		desc->tfm = kvmshare_crc_tfm;
		ret = kvmshare_crc_mc_pass(desc, from, crc);
	}
	if (ret == -EIO)
		ret = kvmshare_crc_mc_pass(NULL, from, crc);
	kunmap_local(from);
	if (ret)
		kvmshare_page_mce(page);
	return ret;
}

/*
 * Copy the page of page-out @io into @slot and take its crc. Guest memory
 * read in kernel mode: copy_mc_to_kernel() returns on an uncorrected
 * memory error not reported yet instead of panicking the host (review
 * s26, L4). The request is posted anyway (under io_lock it cannot end)
 * and fails when it completes (kvmshare_pageout_done()): the page stays,
 * queued for memory_failure() (kvmshare_page_mce()).
 */
static void kvmshare_copy_out(struct page *slot, struct kvmshare_io *io)
{
	void *from = kmap_local_page(io->page);

	io->copy_failed = copy_mc_to_kernel(page_address(slot), from,
					    PAGE_SIZE) != 0;
	kunmap_local(from);
	if (io->copy_failed)
		kvmshare_page_mce(io->page);
	io->crc = kvmshare_page_crc(slot);
}

/*
 * Post @io to service @p in @slot (KVMSHARE_PAGER_NO_SLOT for a DISCARD):
 * a tag, the page-out's copy and crc into the slot, the ring entry. Under
 * io_lock, with room in the ring.
 */
static void kvmshare_post(struct kvmshare_pool *pool, struct kvmshare_pager *p,
			  struct kvmshare_io *io, u32 slot)
{
	struct kvmshare_pager_req *sq, *req;
	u32 tag;

	sq = (void *)p->ring + KVMSHARE_PAGER_SQ_OFFSET;
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
		 * The crc is of what the service gets: the guest may have
		 * written the page since eviction chose it (it is then kept
		 * in memory when the page-out ends).
		 */
		kvmshare_copy_out(p->slots[slot], io);
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
}

/*
 * Requests a kick passes over once the slots are taken, looking for a
 * DISCARD (which needs none): a bound, so that a backlog of page-outs
 * does not make every kick, under io_lock, walk all of it (with 96
 * units queued for page-out, 49152 requests, they went at a tenth of
 * the rate of a quarter of them; kvmshare_evict_part()'s walk was the
 * other cause).
 */
#define KVMSHARE_KICK_SKIP	64

/*
 * Post what can be posted to the active service: page-ins first (a fault
 * waits for each), then page-outs and discards, each list in its order.
 */
void kvmshare_pager_kick(struct kvmshare_pool *pool)
{
	struct list_head *lists[] = {
		&pool->io_pending_in, &pool->io_pending,
	};
	u64 t0 = kvmshare_t_start(pool), t = 0;
	unsigned int l, skipped = 0;
	struct kvmshare_io *io, *tmp;
	struct kvmshare_pager *p;
	bool posted = false;
	u32 slot;

	spin_lock(&pool->io_lock);
	p = pool->active;
	if (!p)
		goto unlock;
	/* Timed per entry posted, from the last (a skipped one included). */
	if (t0)
		t = ktime_get_ns();
	for (l = 0; l < ARRAY_SIZE(lists); l++) {
		list_for_each_entry_safe(io, tmp, lists[l], node) {
			if (p->inflight >= p->sq_entries)
				goto done;
			slot = KVMSHARE_PAGER_NO_SLOT;
			if (io->op != KVMSHARE_PAGER_OP_DISCARD) {
				slot = find_first_zero_bit(p->slot_map,
							   p->nr_slots);
				/* no slot: a DISCARD may still go */
				if (slot >= p->nr_slots) {
					if (!l || ++skipped > KVMSHARE_KICK_SKIP)
						break;
					continue;
				}
				__set_bit(slot, p->slot_map);
			}
			kvmshare_post(pool, p, io, slot);
			posted = true;
			kvmshare_t_next(pool, KVMSHARE_T_KICK_ENTRY, &t);
		}
	}
done:
	if (posted)
		wake_up_interruptible(&p->wq);
unlock:
	spin_unlock(&pool->io_lock);
	kvmshare_t_end(pool, KVMSHARE_T_KICK, t0);
}

/*
 * Queue @io for the active service (kvmshare_pager_kick() posts it). A
 * page-out or discard that finds no service (the last one stopped after its
 * caller checked) ends at once, as kvmshare_pager_cancel_pending() ends
 * those queued before the stop: the page stays in memory and the block is
 * freed, instead of both waiting for the next attach. Page-ins wait. Called
 * where it may sleep, with no page locked: ending a page-out locks its page.
 */
void kvmshare_io_queue(struct kvmshare_pool *pool,
		       struct kvmshare_io *io)
{
	bool cancel;

	might_sleep();
	spin_lock(&pool->io_lock);
	cancel = !pool->active && io->op != KVMSHARE_PAGER_OP_PAGE_IN;
	if (!cancel) {
		list_add_tail(&io->node, kvmshare_io_list(pool, io));
		pool->nr_pending++;
	}
	spin_unlock(&pool->io_lock);
	if (cancel)
		kvmshare_io_end(io, -ECANCELED);
}

void kvmshare_io_submit(struct kvmshare_pool *pool,
			struct kvmshare_io *io)
{
	kvmshare_io_queue(pool, io);
	kvmshare_pager_kick(pool);
}

/**
 * kvmshare_page_swap_out - replace a resident page by a value entry
 * @part: the partition
 * @index: the page's index
 * @page: the page, locked by the caller, who holds one reference
 * @ent: the value entry (zero, or on the backing store)
 *
 * Only if nobody but the array and the caller holds @page and it is not
 * mapped. The check and the swap are one step under the array's lock:
 * kvmshare_part_get_page() takes its references under that lock, so a
 * reader, a writer or a truncation either holds the page when it is
 * checked (it stays) or finds @ent, which is counted (paged_out or
 * zero) in the same step. Returns whether @page left; the caller then
 * drops the array's reference and uncharges it.
 */
bool kvmshare_page_swap_out(struct kvmshare_part *part, pgoff_t index,
			    struct page *page, void *ent)
{
	bool swapped = false;

	xa_lock(&part->pages);
	if (xa_load(&part->pages, index) == page && !page_mapped(page) &&
	    page_count(page) == 2) {
		/* Replacing an entry allocates nothing. */
		__xa_store(&part->pages, index, ent, GFP_NOWAIT);
		/*
		 * Counted before a removal can see the entry and uncount
		 * it (pool->lock nests inside the array's lock).
		 */
		kvmshare_account_out(part, kvmshare_ent_kind(ent), 1);
		swapped = true;
	}
	xa_unlock(&part->pages);
	return swapped;
}

/*
 * A page-out ended: drop the page if nobody touched it meanwhile. Returns
 * whether the block is still the request's (the page stayed): once the
 * page is dropped, the block belongs to the OUT entry that replaced it.
 * A unit's request never owns its block: the unit's page-out stores it
 * in an entry or frees it (kvmshare_huge_pageout_done()).
 */
static bool kvmshare_pageout_done(struct kvmshare_io *io, int result)
{
	struct kvmshare_part *part = io->part;
	struct kvmshare_pool *pool = part->pool;
	struct page *page = io->page;
	bool dropped = false;

	if (!result && io->copy_failed)
		result = -EIO;		/* (kvmshare_copy_out()) */
	if (io->unit) {
		/*
		 * A subpage of a unit: its block goes into the unit's
		 * entry, or is freed, when the unit's last request ends.
		 */
		kvmshare_huge_pageout_done(io, result);
		return false;
	}
	lock_page(page);
	/*
	 * Array's ref + ours: anything more is a pin (GUP, a reader). With
	 * no service left to page it back in (the last one is stopping),
	 * the page stays in memory.
	 */
	if (!result && kvmshare_pager_active(pool) &&
	    !page_mapped(page) && !PageDirty(page) &&
	    page_count(page) == 2) {
		kvmshare_inject(pool, KVMSHARE_INJ_PAGEOUT_CHECKED);
		if (kvmshare_page_swap_out(part, io->index, page,
					   kvmshare_ent(KVMSHARE_ENT_OUT,
							io->block, io->crc))) {
			put_page(page);		/* the array's */
			dropped = true;
		}
	}
	unlock_page(page);
	if (dropped)
		kvmshare_inject(pool, KVMSHARE_INJ_PAGEOUT_SWAPPED);
	put_page(page);				/* ours */
	io->page = NULL;
	if (dropped) {
		kvmshare_uncharge(part, 1);
		atomic64_inc(&part->cnt.pageouts);
	}
	/*
	 * Only after the uncharge: the eviction work reads resident minus
	 * the page-outs in flight (under pool->lock, which the uncharge
	 * takes): a page that had left the in-flight count but not yet the
	 * resident one looked like one more page to take, and it took one
	 * page below the partition's floor (resident 1199 of an
	 * entitlement of 1200 in pager_kvm_test target_and_entitlement;
	 * pager_race_test pageout_end_keeps_the_floor sleeps here).
	 */
	if (dropped)
		kvmshare_inject(pool, KVMSHARE_INJ_PAGEOUT_UNCHARGED);
	atomic64_dec(&part->pageouts_inflight);
	trace_kvmshare_pageout_end(io, result, dropped);
	if (dropped)
		return false;
	if (result && result != -ECANCELED) {
		atomic64_inc(&part->cnt.pageout_errors);
		pr_info_ratelimited("%s: page-out of page %lu failed: %d\n",
				    pool->name, io->index, result);
	}
	return true;
}

/*
 * A page-in ended: the page replaces the entry, or the data is lost.
 * Returns whether it replaced the entry, and so owns the block: a page-in
 * that found the entry changed owns nothing (it was cancelled because a
 * page-in of the same page that came first already replaced it, and that
 * one freed the block, which may be in use again by now).
 */
static bool kvmshare_pagein_done(struct kvmshare_io *io, int result)
{
	struct kvmshare_part *part = io->part;
	struct kvmshare_pool *pool = part->pool;
	void *ent = kvmshare_ent(KVMSHARE_ENT_OUT, io->block, io->crc);
	void *old;

	/* (the writer checked the data: kvmshare_pager_write()) */
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
	} else if (result == -EHWPOISON) {
		/*
		 * Our page is bad, not the data: the entry stays on the
		 * store, the page goes (an order-0 poisoned page is not
		 * reused) and the next fault reads it into another.
		 */
		old = NULL;
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
	trace_kvmshare_pagein_end(io, result, old == ent);
	if (io->page) {		/* not used: punched meanwhile, or failed */
		kvmshare_uncharge_page(part, io->page);
		io->page = NULL;
	}
	return old == ent;
}

/*
 * The OUT entry of page @index of @part, on @block, was removed (hole
 * punch, truncation, unlink). A request registered for that page (a
 * page-in still reading the block, or a page-out that put the entry there
 * and has not ended yet) is handed the block and frees it when it ends;
 * with none the block is released now. Deciding under part->io's lock
 * makes exactly one of the two free it.
 */
void kvmshare_block_removed(struct kvmshare_part *part, pgoff_t index,
			    u64 block)
{
	struct kvmshare_io *io;

	xa_lock(&part->io);
	io = xa_load(&part->io, index);
	if (io && io->block == block)
		io->handed = true;
	else
		io = NULL;
	xa_unlock(&part->io);
	if (!io)
		kvmshare_block_release(part->pool, block, part, index);
}

/* @io is done (it left every queue): apply the result, wake waiters. */
void kvmshare_io_end(struct kvmshare_io *io, int result)
{
	struct kvmshare_part *part = io->part;
	struct kvmshare_pool *pool = part->pool;
	bool owned = true, handed = false, registered = false;

	switch (io->op) {
	case KVMSHARE_PAGER_OP_PAGE_OUT:
		owned = kvmshare_pageout_done(io, result);
		break;
	case KVMSHARE_PAGER_OP_PAGE_IN:
		if (io->unit_in) {
			/* The unit's last request ends all of them. */
			kvmshare_huge_pagein_done(io, result);
			return;
		}
		owned = kvmshare_pagein_done(io, result);
		break;
	}
	if (io->op != KVMSHARE_PAGER_OP_DISCARD) {
		/*
		 * Leave the array and learn, in the same step, whether a
		 * removal handed us the block (kvmshare_block_removed()).
		 */
		xa_lock(&part->io);
		registered = __xa_cmpxchg(&part->io, io->index, io, NULL,
					  GFP_NOWAIT) == io;
		handed = io->handed;
		xa_unlock(&part->io);
	}
	if (handed && !owned && io->op == KVMSHARE_PAGER_OP_PAGE_OUT) {
		/* Written out, then the page was punched: discard it. */
		kvmshare_block_release(pool, io->block, part, io->index);
	} else if (owned || handed) {
		spin_lock(&pool->io_lock);
		__kvmshare_block_put(pool, io->block);
		spin_unlock(&pool->io_lock);
	}
	if (registered)
		kvmshare_io_put(io);		/* the array's */
	complete_all(&io->done);
	kvmshare_io_put(io);			/* in flight */
	wake_up_all(&pool->room_wq);
}
