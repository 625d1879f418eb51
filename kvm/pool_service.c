// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare host paging: the paging services and their pager fd
 * (include/uapi/linux/kvmshare_pager.h,
 * Documentation/userspace-api/pager.rst): attach, the ring and
 * completions, failover, deadlines, controlled stop, detach, and the
 * pool's paging state in debugfs.
 *
 * Locks, outermost first:
 *
 *  pool->pager_mutex    attach, detach, stop and the deadline watch: a
 *                       service is freed only after its detach, so one
 *                       found under it stays valid until it is dropped.
 *  pool->io_lock        pool->pagers, pool->draining, pool->active,
 *                       failovers, reissued, suspended, next_pager_id,
 *                       and each service's state, stalled, inflight,
 *                       ending, tags, tag_map, slot_map and sq_tail.
 *  pool->lock           taken under io_lock only to read page counts
 *                       (kvmshare_pool_paged_out()) and nr_parts.
 *
 * A request's data slot is the service's from its posting until its bit
 * in slot_map is cleared: the copy in or out of it is done without
 * io_lock.
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
 *
 * With @fence the service is replaced while it may still be alive (late,
 * or it reported an error): a write or discard of its that lands later
 * must not hit a block given to another page meanwhile. Its page-outs and
 * discards in flight are not reissued but moved to *@fence, for the
 * caller to end (-ECANCELED: a page-out's page stays in memory and is
 * chosen again later), and their blocks stay taken, fenced, until its fd
 * is released (kvmshare_pager_detach()). Page-ins only read: reissued.
 */
static u32 __kvmshare_pager_leave(struct kvmshare_pager *p, u32 state,
				  bool requeue, struct list_head *fence)
{
	struct kvmshare_pool *pool = p->pool;
	struct kvmshare_pager *next;
	LIST_HEAD(requeue_list);
	LIST_HEAD(requeue_in);
	u32 tag, n = 0;

	lockdep_assert_held(&pool->io_lock);
	list_del_init(&p->node);
	p->state = state;
	p->stalled = false;
	if (state == KVMSHARE_PAGER_STATE_STOPPING)
		list_add_tail(&p->node, &pool->draining);
	else
		WRITE_ONCE(p->gone, true);
	if (fence)
		WRITE_ONCE(p->replaced, true);
	for (tag = 0; requeue && tag < p->sq_entries; tag++) {
		struct kvmshare_io *io = p->tags[tag];

		if (!io)
			continue;
		p->tags[tag] = NULL;
		if (fence && io->op != KVMSHARE_PAGER_OP_PAGE_IN &&
		    p->nr_fenced < p->sq_entries) {
			p->fenced[p->nr_fenced++] = io->block;
			io->block = KVMSHARE_NO_BLOCK;
			list_add_tail(&io->node, fence);
			continue;
		}
		list_add_tail(&io->node, io->op == KVMSHARE_PAGER_OP_PAGE_IN ?
					 &requeue_in : &requeue_list);
		pool->nr_pending++;
		n++;
	}
	if (requeue) {
		bitmap_zero(p->tag_map, p->sq_entries);
		p->inflight = 0;
		list_splice(&requeue_in, &pool->io_pending_in);
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
	/*
	 * A completion still ending may put a page on the backing store
	 * after the stop found none there: its writer checks again here
	 * when it has ended.
	 */
	if (p->state != KVMSHARE_PAGER_STATE_STOPPING || p->inflight ||
	    p->ending)
		return false;
	if (!pool->active) {
		out = kvmshare_pool_paged_out(pool);
		if (out) {
			list_move(&p->node, &pool->pagers);
			p->state = KVMSHARE_PAGER_STATE_ACTIVE;
			WRITE_ONCE(pool->active, p);
			trace_kvmshare_pager_stop(p, KVMSHARE_TRACE_STOP_UNDONE,
						  0, out);
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
	trace_kvmshare_pager_stop(p, KVMSHARE_TRACE_STOP_STOPPED, 0, 0);
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
 * Take the request a completion names from @p's tags, or NULL when it names
 * none (unknown, repeated or malformed). A request taken counts in
 * p->ending until it is ended or handed on: a stop waits for it.
 */
static struct kvmshare_io *
kvmshare_pager_take(struct kvmshare_pager *p,
		    const struct kvmshare_pager_cqe *cqe)
{
	u32 tag = cqe->id & ((1U << KVMSHARE_TAG_BITS) - 1);
	struct kvmshare_io *io = NULL;

	spin_lock(&p->pool->io_lock);
	if (!cqe->flags && !cqe->reserved[0] && !cqe->reserved[1] &&
	    cqe->result <= 0 && cqe->result >= -MAX_ERRNO &&
	    tag < p->sq_entries && p->tags[tag] &&
	    p->tags[tag]->id == cqe->id) {
		io = p->tags[tag];
		p->tags[tag] = NULL;
		__clear_bit(tag, p->tag_map);
		p->inflight--;
		p->ending++;
	}
	spin_unlock(&p->pool->io_lock);
	return io;
}

/*
 * @io, taken from @p, failed while another service is attached: it goes to
 * the next service instead of ending, and @p is failed over unless it left
 * meanwhile (a deadline failed it over: *@failed is then 0). Returns
 * whether @io was handed on; *@failed (requests reissued by the failover,
 * this one included) and *@next_id say what to log, @fence collects @p's
 * fenced page-outs.
 */
static bool kvmshare_pager_hand_on(struct kvmshare_pager *p,
				   struct kvmshare_io *io,
				   struct list_head *fence, u32 *failed,
				   u64 *next_id)
{
	struct kvmshare_pool *pool = p->pool;
	bool handed = false;

	*failed = 0;
	spin_lock(&pool->io_lock);
	if (kvmshare_pager_has_peer(p)) {
		/* Its slot is not used again: the service is gone. */
		list_add(&io->node, kvmshare_io_list(pool, io));
		pool->nr_pending++;
		pool->reissued++;
		p->ending--;
		if (!p->gone)
			*failed = 1 + __kvmshare_pager_leave(p,
					KVMSHARE_PAGER_STATE_FAILED, true,
					fence);
		*next_id = pool->active ? pool->active->id : 0;
		handed = true;
	}
	spin_unlock(&pool->io_lock);
	return handed;
}

/*
 * Copy the data of page-in @io, completed by @p, from its slot (still
 * ours) into the request's page and check it against the entry's crc:
 * 0, -EBADMSG (bad data: counted), or -EHWPOISON when the page is
 * poisoned (not written then) or a machine check hits the crc's read of
 * it (kvmshare_page_crc_mc()).
 */
static int kvmshare_pager_fill(struct kvmshare_pager *p,
			       struct kvmshare_io *io)
{
	u32 crc;

	if (PageHWPoison(io->page))
		return -EHWPOISON;
	memcpy_to_page(io->page, 0, page_address(p->slots[io->slot]),
		       PAGE_SIZE);
	if (!io->crc)
		return 0;
	if (kvmshare_page_crc_mc(io->page, &crc))
		return -EHWPOISON;
	if (crc != io->crc) {
		atomic64_inc(&p->bad_checksums);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Completions: an array of struct kvmshare_pager_cqe. A service that
 * reports an error for a page-out or page-in, or whose page-in's data
 * does not match the page's crc32c, while another service is attached is
 * failed over: the request and everything else it had in flight go to the
 * next service, so an error of one service is not a lost page. With no
 * other service the error (-EBADMSG for a bad checksum) is the request's
 * result.
 */
static ssize_t kvmshare_pager_write(struct file *file, const char __user *buf,
				    size_t len, loff_t *ppos)
{
	struct kvmshare_pager *p = file->private_data;
	struct kvmshare_pool *pool = p->pool;
	struct kvmshare_pager_cqe cqe;
	struct kvmshare_io *io, *tmp;
	bool stopped = false;
	LIST_HEAD(fenced);
	ssize_t ret = len;
	u32 failed = 0;
	size_t done;

	if (len % sizeof(cqe)) {
		pr_info_ratelimited("%s: pager %llu: completion write of %zu bytes is not a multiple of %zu\n",
				    pool->name, p->id, len, sizeof(cqe));
		return -EINVAL;
	}
	for (done = 0; done < len; done += sizeof(cqe)) {
		u64 next_id = 0, t;
		u32 n = 0, op;
		int result;

		/* A write may carry many completions, or much garbage. */
		cond_resched();
		/* Timed: take, fill (page-ins), end, one after the other. */
		t = kvmshare_t_start(pool);
		if (copy_from_user(&cqe, buf + done, sizeof(cqe))) {
			/* What came before is done: finish it below. */
			ret = done ? done : -EFAULT;
			break;
		}
		io = kvmshare_pager_take(p, &cqe);
		kvmshare_t_next(pool, KVMSHARE_T_CQE_TAKE, &t);
		if (!io) {
			atomic64_inc(&p->bad_completions);
			if (READ_ONCE(p->replaced))
				atomic64_inc(&p->fenced_completions);
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
		result = cqe.result;
		op = io->op;
		/*
		 * The slot stays ours until its bit is cleared. The data is
		 * checked in the request's own page: the service can still
		 * write the slot.
		 */
		if (op == KVMSHARE_PAGER_OP_PAGE_IN && !result) {
			result = kvmshare_pager_fill(p, io);
			kvmshare_t_next(pool, KVMSHARE_T_CQE_FILL, &t);
		}
		/*
		 * A poisoned page of ours is not the service's fault: no
		 * other service is asked (it would read into the same page).
		 */
		if (result && result != -EHWPOISON &&
		    io->op != KVMSHARE_PAGER_OP_DISCARD &&
		    kvmshare_pager_hand_on(p, io, &fenced, &n, &next_id)) {
			failed += n;
			if (!n) {	/* its deadline failed it over already */
				pr_info_ratelimited("%s: request %llu of failed paging service %llu (error %d) goes to service %llu\n",
						    pool->name, cqe.id, p->id,
						    result, next_id);
				continue;
			}
			trace_kvmshare_pager_failover(pool, p->id, next_id,
						      KVMSHARE_TRACE_FO_ERROR,
						      n);
			if (result == -EBADMSG && !cqe.result)
				pr_warn("%s: paging service %llu returned data that fails its crc32c (request %llu): failed over to service %llu, %u requests reissued\n",
					pool->name, p->id, cqe.id, next_id, n);
			else
				pr_warn("%s: paging service %llu reported error %d (request %llu): failed over to service %llu, %u requests reissued\n",
					pool->name, p->id, result, cqe.id,
					next_id, n);
			continue;
		}
		spin_lock(&pool->io_lock);
		if (io->op != KVMSHARE_PAGER_OP_DISCARD)
			__clear_bit(io->slot, p->slot_map);
		spin_unlock(&pool->io_lock);
		kvmshare_io_end(io, result);
		spin_lock(&pool->io_lock);
		p->ending--;
		spin_unlock(&pool->io_lock);
		kvmshare_t_next(pool, op == KVMSHARE_PAGER_OP_PAGE_IN ?
				KVMSHARE_T_CQE_END_IN : KVMSHARE_T_CQE_END_OUT,
				&t);
	}
	spin_lock(&pool->io_lock);
	stopped = __kvmshare_pager_stopped(p);
	spin_unlock(&pool->io_lock);
	list_for_each_entry_safe(io, tmp, &fenced, node) {
		list_del_init(&io->node);
		kvmshare_io_end(io, -ECANCELED);
	}
	if (stopped)
		kvmshare_pager_log_stopped(p);
	if (failed)
		wake_up_interruptible(&p->wq);
	kvmshare_pager_kick(pool);
	return ret;
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
					   true, NULL);
	/* Gone for good: what it might still have written is free again. */
	while (p->nr_fenced)
		__kvmshare_block_put(pool, p->fenced[--p->nr_fenced]);
	next_id = pool->active ? pool->active->id : 0;
	spin_unlock(&pool->io_lock);
	mutex_unlock(&pool->pager_mutex);
	trace_kvmshare_pager_detach(p, n);
	if (was_active)
		trace_kvmshare_pager_failover(pool, p->id, next_id,
					      KVMSHARE_TRACE_FO_GONE, n);
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

/* At most this many late services are failed in one pass of the watch. */
#define KVMSHARE_WATCH_MAX	4

/*
 * Deadlines, from the eviction work (about once a second): a service that
 * left a request unanswered for pager_timeout_ms is failed over, its
 * page-ins reissued to the active service (fenced, see
 * __kvmshare_pager_leave()). That is the active one if another service
 * can take over, a stopping one, or one that is no longer active but
 * still has requests: a standby a primary took over from while it had
 * requests in flight (kvmshare_pager_attach()). Those are failed first,
 * so that a late active service is not replaced by a late one. With no
 * other service, the late active one is marked stalled (faults then fail
 * after the timeout instead of waiting on) until it answers again.
 */
void kvmshare_pager_watch(struct kvmshare_pool *pool)
{
	const u32 failed = KVMSHARE_PAGER_STATE_FAILED;
	unsigned int ms = READ_ONCE(kvmshare_pager_timeout_ms);
	struct kvmshare_pager *p, *tmp, *late[KVMSHARE_WATCH_MAX];
	struct kvmshare_io *io, *iot;
	u32 n[KVMSHARE_WATCH_MAX];
	u64 stall_id = 0, next_id;
	LIST_HEAD(fenced);
	int i = 0, nr;

	/* Held so that no service is freed under us (see detach). */
	if (!ms || !mutex_trylock(&pool->pager_mutex))
		return;
	spin_lock(&pool->io_lock);
	/* One slot is kept for the active service. */
	list_for_each_entry_safe(p, tmp, &pool->draining, node) {
		if (i < KVMSHARE_WATCH_MAX - 1 && p->inflight &&
		    kvmshare_pager_late(p, ms)) {
			n[i] = __kvmshare_pager_leave(p, failed, true,
						      &fenced);
			late[i++] = p;
		}
	}
	list_for_each_entry_safe(p, tmp, &pool->pagers, node) {
		if (i < KVMSHARE_WATCH_MAX - 1 && p != pool->active &&
		    p->inflight && kvmshare_pager_late(p, ms)) {
			/* Its requests fail over to the active service. */
			n[i] = __kvmshare_pager_leave(p, failed, true,
						      &fenced);
			late[i++] = p;
			pool->failovers++;
		}
	}
	p = pool->active;
	if (p && p->inflight) {
		if (!kvmshare_pager_late(p, ms)) {
			p->stalled = false;
		} else if (kvmshare_pager_has_peer(p)) {
			n[i] = __kvmshare_pager_leave(p, failed, true,
						      &fenced);
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

	if (stall_id) {
		trace_kvmshare_pager_failover(pool, stall_id, 0,
					      KVMSHARE_TRACE_FO_STALL, 0);
		pr_warn("%s: paging service %llu has not answered in %u ms and no other service is attached: page-ins fail until it answers\n",
			pool->name, stall_id, ms);
	}
	nr = i;
	for (i = 0; i < nr; i++) {
		trace_kvmshare_pager_failover(pool, late[i]->id, next_id,
					      KVMSHARE_TRACE_FO_TIMEOUT, n[i]);
		pr_warn("%s: paging service %llu did not answer in %u ms: failed over to service %llu, %u requests reissued\n",
			pool->name, late[i]->id, ms, next_id, n[i]);
		wake_up_interruptible(&late[i]->wq);
	}
	mutex_unlock(&pool->pager_mutex);
	list_for_each_entry_safe(io, iot, &fenced, node) {
		list_del_init(&io->node);
		kvmshare_io_end(io, -ECANCELED);
	}
	if (nr)
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
		trace_kvmshare_pager_stop(p, KVMSHARE_TRACE_STOP_REFUSED,
					  p->inflight, out);
		spin_unlock(&pool->io_lock);
		pr_info_ratelimited("%s: stop of paging service %llu refused: %llu pages are on the backing store and no other paging service is attached (attach one, or bring the pages back first)\n",
				    pool->name, p->id, out);
		return -EBUSY;
	}
	__kvmshare_pager_leave(p, KVMSHARE_PAGER_STATE_STOPPING, false, NULL);
	inflight = p->inflight;
	stopped = __kvmshare_pager_stopped(p);
	spin_unlock(&pool->io_lock);
	trace_kvmshare_pager_stop(p, KVMSHARE_TRACE_STOP_STOPPING, inflight, 0);
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
	kvfree(p->fenced);
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
	info.fenced_completions = atomic64_read(&p->fenced_completions);
	info.bad_checksums = atomic64_read(&p->bad_checksums);
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
	struct file *file;
	bool active;
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
	p->fenced = kvcalloc(p->sq_entries, sizeof(*p->fenced), GFP_KERNEL);
	if (!p->ring || !p->slots || !p->slot_map || !p->tags ||
	    !p->tag_map || !p->fenced)
		goto err;
	for (i = 0; i < p->nr_slots; i++) {
		p->slots[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!p->slots[i])
			goto err;
	}
	if (!pool->backing_blocks) {
		/* Up to 64 MiB (2 TiB of blocks): too big for kmalloc. */
		map = kvcalloc(BITS_TO_LONGS(a.backing_blocks),
			       sizeof(unsigned long), GFP_KERNEL);
		if (!map)
			goto err;
	}
	p->ring->sq_entries = p->sq_entries;
	p->ring->nr_slots = p->nr_slots;

	/*
	 * The fd goes into the table last, once nothing reads @p any more:
	 * from then on a close by another thread may free it.
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err;
	}
	file = anon_inode_getfile("kvmshare-pager", &kvmshare_pager_fops, p,
				  O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		ret = PTR_ERR(file);
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
		/*
		 * A primary takes over from a standby: no request is lost.
		 * The standby finishes what it has in flight, under the same
		 * deadline (kvmshare_pager_watch()).
		 */
		if (pool->active) {
			pool->active->state = KVMSHARE_PAGER_STATE_STANDBY;
			pool->active->stalled = false;
		}
		WRITE_ONCE(pool->active, p);
		p->state = KVMSHARE_PAGER_STATE_ACTIVE;
	}
	pool->suspended = false;
	active = pool->active == p;
	spin_unlock(&pool->io_lock);
	trace_kvmshare_pager_attach(p, active);
	pr_info("%s: paging service %llu attached (%s, %u entries, %u slots, %llu blocks)\n",
		pool->name, p->id, active ? "active" : "standby",
		p->sq_entries, p->nr_slots, pool->backing_blocks);
	mutex_unlock(&pool->pager_mutex);
	kvmshare_pager_kick(pool);
	kvmshare_evict_kick(pool);
	fd_install(fd, file);
	kvmshare_inject(pool, KVMSHARE_INJ_ATTACH_FD);
	return fd;

err:
	mutex_unlock(&pool->pager_mutex);
	kvfree(map);
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

static const char *const kvmshare_tphase_names[KVMSHARE_T_NR] = {
	[KVMSHARE_T_PAGEIN_START] = "pagein_start",
	[KVMSHARE_T_KICK] = "kick",
	[KVMSHARE_T_KICK_ENTRY] = "kick_entry",
	[KVMSHARE_T_CQE_TAKE] = "cqe_take",
	[KVMSHARE_T_CQE_FILL] = "cqe_fill",
	[KVMSHARE_T_CQE_END_IN] = "cqe_end_in",
	[KVMSHARE_T_CQE_END_OUT] = "cqe_end_out",
	[KVMSHARE_T_EVICT_PAGE] = "evict_page",
	[KVMSHARE_T_EVICT_SKIP] = "evict_skip",
};

/*
 * debugfs <pool>/pager_timing: whether phases are timed, then one line
 * per phase: its name, how many, and their time in ns, summed over the
 * CPUs. Writing a boolean turns the timing on (the sums start again from
 * 0) or off (the sums stay to be read).
 */
static int kvmshare_timing_show(struct seq_file *m, void *v)
{
	struct kvmshare_pool *pool = m->private;
	int ph, cpu;

	seq_printf(m, "enabled %d\n", READ_ONCE(pool->timing));
	seq_puts(m, "phase count ns\n");
	for (ph = 0; ph < KVMSHARE_T_NR; ph++) {
		u64 count = 0, ns = 0;

		for_each_possible_cpu(cpu) {
			struct kvmshare_timing *t = per_cpu_ptr(pool->tsum, cpu);

			count += READ_ONCE(t->count[ph]);
			ns += READ_ONCE(t->ns[ph]);
		}
		seq_printf(m, "%s %llu %llu\n", kvmshare_tphase_names[ph],
			   count, ns);
	}
	return 0;
}

static int kvmshare_timing_open(struct inode *inode, struct file *file)
{
	return single_open(file, kvmshare_timing_show, inode->i_private);
}

static ssize_t kvmshare_timing_write(struct file *file,
				     const char __user *buf, size_t len,
				     loff_t *ppos)
{
	struct kvmshare_pool *pool = file_inode(file)->i_private;
	bool on;
	int cpu, ret;

	ret = kstrtobool_from_user(buf, len, &on);
	if (ret)
		return ret;
	if (!on) {
		WRITE_ONCE(pool->timing, false);
		return len;
	}
	/*
	 * Phases under way may add to the sums as they are cleared: what
	 * they add is off by those few, which a measurement can bear.
	 */
	WRITE_ONCE(pool->timing, false);
	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(pool->tsum, cpu), 0,
		       sizeof(struct kvmshare_timing));
	WRITE_ONCE(pool->timing, true);
	return len;
}

static const struct file_operations kvmshare_timing_fops = {
	.owner = THIS_MODULE,
	.open = kvmshare_timing_open,
	.read = seq_read,
	.write = kvmshare_timing_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* The pool's debugfs files of host paging, in @dir. */
void kvmshare_pager_debugfs(struct kvmshare_pool *pool, struct dentry *dir)
{
	debugfs_create_file("restores", 0400, dir, pool,
			    &kvmshare_restores_fops);
	debugfs_create_file("pagers", 0400, dir, pool, &kvmshare_pagers_fops);
	debugfs_create_u32("inject_point", 0600, dir, &pool->inject_point);
	debugfs_create_u32("inject_ms", 0600, dir, &pool->inject_ms);
	debugfs_create_atomic_t("inject_count", 0600, dir,
				&pool->inject_count);
	debugfs_create_file("pager_timing", 0600, dir, pool,
			    &kvmshare_timing_fops);
}

int kvmshare_pager_init(struct kvmshare_pool *pool)
{
	mutex_init(&pool->pager_mutex);
	spin_lock_init(&pool->io_lock);
	INIT_LIST_HEAD(&pool->pagers);
	INIT_LIST_HEAD(&pool->draining);
	INIT_LIST_HEAD(&pool->io_pending);
	INIT_LIST_HEAD(&pool->io_pending_in);
	init_waitqueue_head(&pool->room_wq);
	pool->low_pages = clamp_t(u64, pool->size_pages / 64, 16, 4096);
	kvmshare_evict_init(pool);
	return 0;
}

/*
 * The mount is going away (no file is open): stop eviction work, and end
 * every request. Services still attached (their fds outlive the mount)
 * serve the pool no more: they are failed (POLLHUP), and what they have
 * in flight ends here with what no service took yet (DISCARDs of the last
 * partitions), so that no request holds a partition past the pool's
 * removal from sysfs, and none is requeued onto this pool, where nothing
 * would end it, when such a service detaches later.
 */
void kvmshare_pager_exit(struct kvmshare_pool *pool)
{
	struct kvmshare_pager *p, *tmp;
	struct kvmshare_io *io, *iot;
	LIST_HEAD(drop);

	WRITE_ONCE(pool->dying, true);
	cancel_delayed_work_sync(&pool->evict_work);
	mutex_lock(&pool->pager_mutex);
	spin_lock(&pool->io_lock);
	list_for_each_entry_safe(p, tmp, &pool->draining, node) {
		__kvmshare_pager_leave(p, KVMSHARE_PAGER_STATE_FAILED, true,
				       NULL);
		wake_up_interruptible(&p->wq);
	}
	list_for_each_entry_safe(p, tmp, &pool->pagers, node) {
		__kvmshare_pager_leave(p, KVMSHARE_PAGER_STATE_FAILED, true,
				       NULL);
		wake_up_interruptible(&p->wq);
	}
	WRITE_ONCE(pool->active, NULL);
	list_splice_init(&pool->io_pending_in, &drop);
	list_splice_init(&pool->io_pending, &drop);
	pool->nr_pending = 0;
	spin_unlock(&pool->io_lock);
	mutex_unlock(&pool->pager_mutex);
	list_for_each_entry_safe(io, iot, &drop, node) {
		list_del_init(&io->node);
		kvmshare_io_end(io, -ECANCELED);
	}
	wake_up_all(&pool->room_wq);
}
