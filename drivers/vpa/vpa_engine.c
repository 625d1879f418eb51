// SPDX-License-Identifier: GPL-2.0
/*
 * vpa software engine: runs the descriptors of work queues.
 *
 * A doorbell becomes a request (requester id, global work queue, tail) to
 * vpa_engine_ring(), which checks that the queue is owned by the group
 * with that requester id before it queues the queue's work on the
 * adapter's engine workqueue. One turn of a queue runs at most its share
 * of VPA_TURN_DESCS descriptors, then requeues it behind the others.
 *
 * Every access of a descriptor to guest memory goes through two checks:
 * the virtual adapter's DMA windows (vpa_dma_window_ok()) and the VM's
 * VFIO container, through which every byte is copied (vfio_dma_rw()): it
 * refuses an IOVA the VM has not mapped or a write to a read-only
 * mapping. No guest page is pinned. Pinning would put the engine inside
 * VFIO's unmap protocol: VFIO calls a pinning driver's dma_unmap
 * callback with its device_list_lock held, a lock it takes under the
 * container's iommu->lock, and the callback must wait for any descriptor
 * using the pages while that descriptor needs iommu->lock to pin its
 * next page - a lock cycle lockdep reported. With copies, the engine
 * holds no lock of ours while in VFIO and VFIO never calls into us.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/slab.h>

#include "vpa.h"
#include "vpa_trace.h"

void vpa_audit(struct vpa_vdev *v, enum vpa_audit what)
{
	atomic64_inc(&v->audit[what]);
}

/* Record the first error since VPA_REG_ERR was last cleared. */
void vpa_vdev_set_err(struct vpa_vdev *v, u32 err)
{
	spin_lock(&v->cfg_lock);
	if (!v->err)
		v->err = err;
	spin_unlock(&v->cfg_lock);
}

/* Raise interrupt vector @vec of the virtual adapter, if the VM set one. */
void vpa_vdev_signal(struct vpa_vdev *v, u32 vec)
{
	struct eventfd_ctx *ctx = NULL;

	spin_lock(&v->irq_lock);
	if (v->irq_type == VFIO_PCI_MSIX_IRQ_INDEX && vec < v->nr[VPA_RES_VEC])
		ctx = v->msix[vec];
	else if (v->irq_type == VFIO_PCI_MSI_IRQ_INDEX)
		ctx = v->msi;
	if (ctx)
		eventfd_signal(ctx, 1);
	spin_unlock(&v->irq_lock);
}

/*
 * Guest memory access. Every byte a descriptor reads or writes is copied
 * with vfio_dma_rw() through the VM's container, into or out of the
 * turn's bounce buffers: nothing is pinned, so no unmap has to wait for
 * the engine (VFIO calls no dma_unmap callback of ours), a guest page of
 * the pool may still be paged out while the adapter is idle, and a
 * descriptor works on private copies the guest cannot change under it.
 * vfio_dma_rw() refuses an IOVA the VM has not mapped (-EINVAL), a write
 * to a read-only mapping (-EPERM) and a range whose memory cannot be
 * faulted in (-EFAULT).
 */

/* Count and log a refused access. */
static void vpa_dma_refused(struct vpa_vdev *v, int err, u64 iova, u32 len,
			    bool write)
{
	vpa_audit(v, err == -EPERM ? VPA_AUD_READONLY : VPA_AUD_UNMAPPED);
	dev_dbg_ratelimited(&v->mdev->dev,
			    "DMA %s of IOVA %#llx+%u refused: %d\n",
			    write ? "write" : "read", iova, len, err);
}

/*
 * Copy @len bytes at @iova. On a refusal, find the first page that is
 * refused by copying again a page at a time: *@ok gets the bytes before
 * it (copied). Returns 0 (*@ok = @len) or the errno; the caller counts
 * the refusal it reports (vpa_dma_refused()).
 */
static int vpa_dma_rw(struct vpa_vdev *v, u64 iova, void *buf, u32 len,
		      bool write, u32 *ok)
{
	u32 n;
	int ret;

	*ok = 0;
	ret = vfio_dma_rw(&v->vfio, iova, buf, len, write);
	if (!ret) {
		*ok = len;
		return 0;
	}
	while (*ok < len) {
		n = min_t(u32, len - *ok, PAGE_SIZE - offset_in_page(iova + *ok));
		ret = vfio_dma_rw(&v->vfio, iova + *ok, buf + *ok, n, write);
		if (ret)
			return ret;
		*ok += n;
	}
	return 0;	/* the refusal went away meanwhile */
}

/*
 * Is [iova, iova + len) a range at all? It must be non-empty and end at
 * or below 2^64 - 1; checked before anything else looks at it, also in a
 * build whose window checks can be bypassed.
 */
static bool vpa_range_ok(u64 iova, u32 len)
{
	return len && iova + len > iova;
}

/*
 * Does a DMA window allow @len bytes at @iova for @need? Checked against
 * the queue's snapshot of the windows (see struct vpa_wq).
 */
static bool vpa_dma_window_ok(struct vpa_vdev *v, struct vpa_wq *wq, u64 iova,
			      u64 len, u32 need)
{
	u32 i, nr;

	if (!vpa_checks_on())
		return true;
	/*
	 * Only windows the snapshot has and the adapter still owns: after a
	 * grow, entries beyond the snapshot's count are stale (a window
	 * revoked earlier); after a shrink, the revoked ones are gone now.
	 */
	nr = min(wq->snap_nr, READ_ONCE(v->nr[VPA_RES_WIN]));
	for (i = 0; i < nr; i++) {
		struct vpa_win *w = &wq->snap[i];

		/* [iova, iova + len) inside [base, base + size), no wrap */
		if ((w->attr & w->admin & need) == need &&
		    iova >= w->base && len <= w->size &&
		    iova - w->base <= w->size - len)
			return true;
	}
	return false;
}

/*
 * Check a whole access: a range that wraps, or one outside the windows,
 * is refused and counted (dma_window).
 */
static int vpa_dma_check(struct vpa_vdev *v, struct vpa_wq *wq, u64 iova,
			 u32 len, bool write)
{
	if (vpa_range_ok(iova, len) &&
	    vpa_dma_window_ok(v, wq, iova, len,
			      write ? VPA_WIN_WRITE : VPA_WIN_READ))
		return 0;
	vpa_audit(v, VPA_AUD_WINDOW);
	dev_dbg_ratelimited(&v->mdev->dev, "DMA %s of %#llx+%u outside windows\n",
			    write ? "write" : "read", iova, len);
	return -EACCES;
}

/* Copy between guest memory at @iova and @buf, after the checks. */
static int vpa_dma_copy(struct vpa_vdev *v, struct vpa_wq *wq, u64 iova,
			void *buf, u32 len, bool write)
{
	u32 ok;
	int ret;

	ret = vpa_dma_check(v, wq, iova, len, write);
	if (ret)
		return ret;
	ret = vpa_dma_rw(v, iova, buf, len, write, &ok);
	if (ret)
		vpa_dma_refused(v, ret, iova + ok, len - ok, write);
	return ret;
}

/* Bytes of each range a descriptor works on at a time. */
#define VPA_PIECE	SZ_64K

/*
 * A turn's bounce buffers: what a piece of a descriptor reads from the
 * source and reads from or writes to the destination. A turn takes one
 * from its adapter's idle ones (or allocates one) and gives it back.
 */
struct vpa_bounce {
	struct list_head node;		/* in vpa_adapter::bounce_free */
	u8 src[VPA_PIECE];
	u8 dst[VPA_PIECE];
};

static struct vpa_bounce *vpa_bounce_get(struct vpa_adapter *ad)
{
	struct vpa_bounce *b;

	spin_lock(&ad->bounce_lock);
	b = list_first_entry_or_null(&ad->bounce_free, struct vpa_bounce,
				     node);
	if (b)
		list_del(&b->node);
	spin_unlock(&ad->bounce_lock);
	return b ?: kvmalloc(sizeof(*b), GFP_KERNEL);
}

static void vpa_bounce_put(struct vpa_adapter *ad, struct vpa_bounce *b)
{
	spin_lock(&ad->bounce_lock);
	list_add(&b->node, &ad->bounce_free);
	spin_unlock(&ad->bounce_lock);
}

/* Free the idle bounce buffers; the engine workqueue is gone. */
void vpa_engine_free_bounce(struct vpa_adapter *ad)
{
	struct vpa_bounce *b, *next;

	list_for_each_entry_safe(b, next, &ad->bounce_free, node)
		kvfree(b);
	INIT_LIST_HEAD(&ad->bounce_free);
}

/* Result of running one descriptor: its record, the host's errno. */
struct vpa_run {
	struct vpa_completion cr;
	int err;
	struct vpa_bounce *b;
};

static void vpa_fault(struct vpa_run *r, u8 status, u64 addr)
{
	r->cr.status = status;
	r->cr.fault_addr = addr;
}

/* What a descriptor's operation reads and writes. */
#define VPA_WALK_SRC		BIT(0)	/* reads [src, src + len) */
#define VPA_WALK_DST_RD		BIT(1)	/* reads [dst, dst + len) */
#define VPA_WALK_DST_WR		BIT(2)	/* writes [dst, dst + len) */
#define VPA_WALK_DST		(VPA_WALK_DST_RD | VPA_WALK_DST_WR)

/*
 * Walk [src, src+len) and/or [dst, dst+len), as @how says, a piece of at
 * most VPA_PIECE bytes at a time. For each piece, the source and
 * (VPA_WALK_DST_RD) the destination are read into the bounce buffers, @fn
 * works on them (NULL for a side @how does not name), and
 * (VPA_WALK_DST_WR) the destination's buffer is written back. Both
 * ranges are checked whole (wrap-around, windows: vpa_dma_check())
 * before any byte is touched. A refused page ends the walk at that page:
 * what lies before it is done (bytes_done) and its address is the
 * fault's. Returns 0, an errno with the fault in @r, or what @fn returned
 * non-zero (it stops; nothing of that piece is written).
 */
typedef int (*vpa_walk_fn)(void *dst, const void *src, u32 n, void *arg);

/*
 * Read *@n bytes at @iova for vpa_walk(). A read refused part way shrinks
 * *@n to what came before the refused page (done now, the fault comes
 * with the next piece); one refused at once is the fault (@status).
 */
static int vpa_walk_read(struct vpa_vdev *v, struct vpa_run *r, u64 iova,
			 void *buf, u32 *n, u8 status)
{
	u32 ok;
	int ret;

	ret = vpa_dma_rw(v, iova, buf, *n, false, &ok);
	if (ret && !ok) {
		vpa_dma_refused(v, ret, iova, *n, false);
		vpa_fault(r, status, iova);
		return ret;
	}
	*n = ok;
	return 0;
}

static int vpa_walk(struct vpa_vdev *v, struct vpa_wq *wq, struct vpa_run *r,
		    unsigned int how, u64 src, u64 dst, u32 len,
		    vpa_walk_fn fn, void *arg)
{
	bool has_src = how & VPA_WALK_SRC, has_dst = how & VPA_WALK_DST;
	bool dst_rd = how & VPA_WALK_DST_RD, dst_wr = how & VPA_WALK_DST_WR;
	u8 dst_fault = dst_wr ? VPA_CS_DMA_WRITE : VPA_CS_DMA_READ;
	u8 *s = has_src ? r->b->src : NULL, *d = has_dst ? r->b->dst : NULL;
	u32 n, ok, done = 0;
	int ret;

	if (has_src && vpa_dma_check(v, wq, src, len, false)) {
		vpa_fault(r, VPA_CS_DMA_READ, src);
		return -EACCES;
	}
	if (has_dst && vpa_dma_check(v, wq, dst, len, dst_wr)) {
		vpa_fault(r, dst_fault, dst);
		return -EACCES;
	}
	while (done < len) {
		n = min_t(u32, len - done, VPA_PIECE);
		if (has_src) {
			ret = vpa_walk_read(v, r, src + done, s, &n,
					    VPA_CS_DMA_READ);
			if (ret)
				return ret;
		}
		if (dst_rd) {
			ret = vpa_walk_read(v, r, dst + done, d, &n, dst_fault);
			if (ret)
				return ret;
		}
		ret = fn(d, s, n, arg);
		if (ret)
			return ret;
		if (dst_wr) {
			ret = vpa_dma_rw(v, dst + done, d, n, true, &ok);
			if (ret) {
				vpa_dma_refused(v, ret, dst + done + ok,
						n - ok, true);
				vpa_fault(r, dst_fault, dst + done + ok);
				r->cr.bytes_done = done + ok;
				return ret;
			}
		}
		done += n;
		r->cr.bytes_done = done;
	}
	return 0;
}

static int vpa_do_copy(void *dst, const void *src, u32 n, void *arg)
{
	memcpy(dst, src, n);
	return 0;
}

struct vpa_fill {
	u64 pattern;
	u32 pos;	/* bytes filled so far, for the pattern phase */
};

static int vpa_do_fill(void *dst, const void *src, u32 n, void *arg)
{
	struct vpa_fill *f = arg;
	u8 *d = dst;
	u32 i;

	for (i = 0; i < n; i++, f->pos++)
		d[i] = f->pattern >> (8 * (f->pos & 7));
	return 0;
}

struct vpa_cmp {
	u32 pos;
	bool differ;
};

static int vpa_do_compare(void *dst, const void *src, u32 n, void *arg)
{
	struct vpa_cmp *c = arg;
	const u8 *a = src, *b = dst;
	u32 i;

	/* private copies: the guest cannot change them under us */
	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	c->pos += i;
	if (i == n)
		return 0;
	c->differ = true;
	return 1;
}

static int vpa_do_crc(void *dst, const void *src, u32 n, void *arg)
{
	u32 *crc = arg;

	*crc = __crc32c_le(*crc, src, n);
	return 0;
}

/* Validate and run one descriptor; the outcome is in @r->cr. */
static void vpa_run_desc(struct vpa_vdev *v, struct vpa_wq *wq,
			 const struct vpa_desc *d, struct vpa_run *r)
{
	u32 size = d->size;
	u64 src = d->src, dst = d->dst;
	struct vpa_fill fill;
	struct vpa_cmp cmp = { };
	u32 crc;
	int ret;

	memset(&r->cr, 0, sizeof(r->cr));
	if (d->opcode > VPA_OP_MAX) {
		r->cr.status = VPA_CS_BAD_OPCODE;
		goto bad;
	}
	if (d->flags & ~VPA_DESC_F_ALL) {
		r->cr.status = VPA_CS_BAD_FLAGS;
		goto bad;
	}
	if (d->rsvd0 || d->rsvd1 || d->rsvd2[0] || d->rsvd2[1] ||
	    ((d->flags & VPA_DESC_F_COMPL) && (d->completion & 31))) {
		r->cr.status = VPA_CS_BAD_RSVD;
		goto bad;
	}
	if (d->opcode != VPA_OP_NOP && (!size || size > VPA_MAX_XFER)) {
		r->cr.status = VPA_CS_BAD_SIZE;
		goto bad;
	}

	switch (d->opcode) {
	case VPA_OP_MEMMOVE:
		ret = vpa_walk(v, wq, r, VPA_WALK_SRC | VPA_WALK_DST_WR, src,
			       dst, size, vpa_do_copy, NULL);
		break;
	case VPA_OP_FILL:
		fill.pattern = d->pattern;
		fill.pos = 0;
		ret = vpa_walk(v, wq, r, VPA_WALK_DST_WR, 0, dst, size,
			       vpa_do_fill, &fill);
		break;
	case VPA_OP_COMPARE:
		ret = vpa_walk(v, wq, r, VPA_WALK_SRC | VPA_WALK_DST_RD, src,
			       dst, size, vpa_do_compare, &cmp);
		if (ret == 1) {
			ret = 0;
			r->cr.result = 1;
		}
		r->cr.bytes_done = cmp.pos;
		break;
	case VPA_OP_CRC32C:
		crc = d->crc_seed;
		ret = vpa_walk(v, wq, r, VPA_WALK_SRC, src, 0, size, vpa_do_crc,
			       &crc);
		r->cr.result = crc;
		break;
	default:	/* NOP */
		ret = 0;
		break;
	}
	if (!ret)
		r->cr.status = VPA_CS_SUCCESS;
	r->err = ret;
	return;
bad:
	r->err = -EINVAL;
	vpa_audit(v, VPA_AUD_BAD_DESC);
}

/* Publish a new head in the status page. Caller holds cfg_lock. */
static void vpa_wq_publish(struct vpa_vdev *v, struct vpa_wq *wq)
{
	u64 done = atomic64_read(&v->audit[VPA_AUD_DONE]);

	WRITE_ONCE(v->stat[VPA_STAT_WQ_HEAD(wq->local) / 4], wq->head);
	WRITE_ONCE(v->stat[VPA_STAT_DONE_LO / 4], lower_32_bits(done));
	WRITE_ONCE(v->stat[VPA_STAT_DONE_HI / 4], upper_32_bits(done));
	WRITE_ONCE(v->stat[VPA_STAT_DMA_FAULTS / 4],
		   atomic64_read(&v->audit[VPA_AUD_UNMAPPED]) +
		   atomic64_read(&v->audit[VPA_AUD_READONLY]) +
		   atomic64_read(&v->audit[VPA_AUD_WINDOW]));
}

/*
 * Run up to @turn descriptors of @wq. Returns true if work is left for
 * another turn.
 */
static bool vpa_wq_run(struct vpa_wq *wq, struct vpa_bounce *b, u32 turn)
{
	struct vpa_vdev *v = wq->vdev;
	u32 head, size, gen, i;
	struct vpa_run run = { .b = b };
	struct vpa_desc desc;
	bool more = false;
	u64 ring;
	int ret;

	for (i = 0; i < turn; i++) {
		spin_lock(&v->cfg_lock);
		if (READ_ONCE(v->dead) || !(v->ctrl & VPA_CTRL_ENABLE) ||
		    !(wq->ctrl & VPA_WQ_CTRL_ENABLE) || wq->frozen ||
		    v->recovery || v->failed || wq->head == wq->tail) {
			spin_unlock(&v->cfg_lock);
			return false;
		}
		head = wq->head;
		size = wq->size;
		ring = wq->ring;
		gen = wq->gen;
		if (wq->snap_gen != v->win_gen) {
			wq->snap_nr = v->nr[VPA_RES_WIN];
			memcpy(wq->snap, v->win,
			       wq->snap_nr * sizeof(wq->snap[0]));
			wq->snap_gen = v->win_gen;
		}
		spin_unlock(&v->cfg_lock);

		ret = vpa_dma_copy(v, wq, ring + (u64)head * sizeof(desc),
				   &desc, sizeof(desc), false);
		if (ret) {
			/* the queue cannot go on: stop it until re-enabled */
			vpa_vdev_set_err(v, VPA_ERR_RING);
			spin_lock(&v->cfg_lock);
			if (wq->gen == gen)
				wq->ctrl &= ~VPA_WQ_CTRL_ENABLE;
			spin_unlock(&v->cfg_lock);
			return false;
		}
		vpa_run_desc(v, wq, &desc, &run);
		trace_vpa_desc_done(v, wq, &desc, &run.cr, run.err);
		trace_vpa_desc_rejected(v, wq, &desc, &run.cr, run.err);
		if (desc.flags & VPA_DESC_F_COMPL) {
			ret = vpa_dma_copy(v, wq, desc.completion, &run.cr,
					   sizeof(run.cr), true);
			if (ret)
				vpa_vdev_set_err(v, VPA_ERR_COMPLETION);
		}

		atomic64_inc(&v->audit[VPA_AUD_DONE]);
		spin_lock(&v->cfg_lock);
		if (wq->gen == gen) {
			wq->head = (head + 1) & (size - 1);
			more = wq->head != wq->tail;
		}
		vpa_wq_publish(v, wq);
		spin_unlock(&v->cfg_lock);
		if (desc.flags & VPA_DESC_F_IRQ)
			vpa_vdev_signal(v, wq->vec);
		if (!more)
			return false;
	}
	return true;
}

/*
 * One turn of a work queue on an engine, with bounce buffers taken from
 * the adapter's idle ones (if none is idle and no memory is left for a
 * new one, the turn is queued again).
 */
static void vpa_wq_work(struct work_struct *work)
{
	struct vpa_wq *wq = container_of(work, struct vpa_wq, work);
	struct vpa_vdev *v = wq->vdev;
	struct vpa_bounce *b;
	bool more = true;

	b = vpa_bounce_get(v->ad);
	if (b) {
		more = vpa_wq_run(wq, b, max_t(u32, 1, v->nr[VPA_RES_ENG] *
					       VPA_TURN_DESCS / 100));
		vpa_bounce_put(v->ad, b);
	}
	/* turn used up with work left: go behind the other queues */
	if (more)
		queue_work(v->ad->engines, &wq->work);
}

void vpa_engine_init_wq(struct vpa_vdev *v, struct vpa_wq *wq)
{
	wq->vdev = v;
	INIT_WORK(&wq->work, vpa_wq_work);
}

/**
 * vpa_engine_ring - the back end's entry for one doorbell
 * @ad:		the adapter
 * @rid:	requester id the request carries
 * @global:	global work queue index it names
 * @tail:	new tail
 *
 * Return: 0, -EPERM if the queue is not owned by the group with @rid (or
 * may not take work), -EINVAL for a tail beyond the ring or a disabled
 * queue.
 */
int vpa_engine_ring(struct vpa_adapter *ad, u16 rid, u32 global, u32 tail)
{
	struct vpa_wq *wq;
	struct vpa_vdev *v;
	int ret = 0;

	mutex_lock(&ad->lock);
	if (vpa_checks_on() &&
	    vpa_core_check_rid(ad->core, rid, VPA_RES_WQ, global,
			       VPA_ATTR_SUBMIT)) {
		mutex_unlock(&ad->lock);
		atomic64_inc(&ad->rid_rejects);
		trace_vpa_doorbell_refused(ad, rid, global, -EPERM);
		dev_dbg_ratelimited(ad->dev,
				    "request from rid %#x for wq %u refused\n",
				    rid, global);
		return -EPERM;
	}
	wq = global < VPA_CORE_MAX_ITEMS ? ad->wq_owner[global] : NULL;
	if (!wq) {
		mutex_unlock(&ad->lock);
		trace_vpa_doorbell_refused(ad, rid, global, -EPERM);
		return -EPERM;
	}
	v = wq->vdev;
	spin_lock(&v->cfg_lock);
	if (!(wq->ctrl & VPA_WQ_CTRL_ENABLE) || tail >= wq->size)
		ret = -EINVAL;
	else
		wq->tail = tail;
	spin_unlock(&v->cfg_lock);
	if (!ret)
		queue_work(ad->engines, &wq->work);
	mutex_unlock(&ad->lock);
	return ret;
}

/*
 * Queue every enabled queue of @v that has work, e.g. when the adapter
 * is enabled or a queue unfrozen. Caller holds cfg_lock.
 */
void vpa_engine_kick(struct vpa_vdev *v)
{
	u32 i;

	lockdep_assert_held(&v->cfg_lock);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		struct vpa_wq *wq = &v->wq[i];

		if ((wq->ctrl & VPA_WQ_CTRL_ENABLE) && wq->head != wq->tail)
			queue_work(v->ad->engines, &wq->work);
	}
}

/*
 * Stop @wq between two descriptors: when this returns the engine is not
 * in it, and it runs nothing until wq->frozen is cleared. A descriptor
 * the engine was on completes and moves the head first, so each one runs
 * once or not at all.
 */
void vpa_engine_freeze_wq(struct vpa_vdev *v, struct vpa_wq *wq)
{
	spin_lock(&v->cfg_lock);
	wq->frozen = true;
	spin_unlock(&v->cfg_lock);
	cancel_work_sync(&wq->work);
}

/*
 * Stop all work of @v: nothing of it runs on an engine, and nothing of it
 * touches the VM's memory, when this returns. Callers have made sure no
 * new work is queued (queues disabled or the device dead). Bounded: a
 * running turn ends after the descriptor it is on. Every queue slot is
 * cancelled, not only the ones @v owns now: a queue taken by a resize
 * may still have a turn queued or running (one that was not enabled when
 * the resize looked, so it was not frozen), and that turn must not
 * outlive @v.
 */
void vpa_engine_stop(struct vpa_vdev *v)
{
	u32 i;

	for (i = 0; i < VPA_MAX_WQS; i++)
		cancel_work_sync(&v->wq[i].work);
}
