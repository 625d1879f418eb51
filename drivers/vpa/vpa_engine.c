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
 * VFIO container: pages are pinned with vfio_pin_pages(), which refuses
 * an IOVA the VM has not mapped or a write to a read-only mapping. Pinned
 * pages are cached per virtual adapter (vpa_vdev::pins) until the VM
 * unmaps them (vfio dma_unmap callback), the device closes, or the cache
 * is full.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/highmem.h>
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

/* Pin cache. */

static void vpa_pin_drop(struct vpa_vdev *v, unsigned long pfn)
{
	lockdep_assert_held(&v->dma_lock);
	xa_erase(&v->pins, pfn);
	vfio_unpin_pages(&v->vfio, (dma_addr_t)pfn << PAGE_SHIFT, 1);
	v->nr_pins--;
}

/* Unpin every cached page in [iova, iova + len). */
void vpa_dma_unpin_range(struct vpa_vdev *v, u64 iova, u64 len)
{
	unsigned long pfn, first, last;
	void *entry;

	if (!len)
		return;
	first = iova >> PAGE_SHIFT;
	last = (iova + len - 1) >> PAGE_SHIFT;
	if (last < first)
		last = ULONG_MAX;
	mutex_lock(&v->dma_lock);
	xa_for_each_range(&v->pins, pfn, entry, first, last)
		vpa_pin_drop(v, pfn);
	mutex_unlock(&v->dma_lock);
}

static void vpa_pin_flush(struct vpa_vdev *v)
{
	unsigned long pfn;
	void *entry;

	lockdep_assert_held(&v->dma_lock);
	xa_for_each(&v->pins, pfn, entry)
		vpa_pin_drop(v, pfn);
}

/*
 * Make room in the pin cache for one more descriptor. Called between
 * descriptors only: a page a descriptor got from vpa_dma_page() must stay
 * pinned until the descriptor is done with it, so the cache is never
 * emptied in the middle of one (it may hold VPA_PIN_CACHE_MAX pages then).
 */
static void vpa_pin_make_room(struct vpa_vdev *v)
{
	lockdep_assert_held(&v->dma_lock);
	if (v->nr_pins > VPA_PIN_CACHE_MAX - VPA_DESC_MAX_PINS)
		vpa_pin_flush(v);
}

/*
 * The page behind @iova, pinned through the VM's container for reading,
 * or for writing if @write. Returns the page or an ERR_PTR; a refusal is
 * counted in the audit. The page stays pinned (and cached) at least until
 * the descriptor being run ends: nothing here unpins another page.
 */
static struct page *vpa_dma_page(struct vpa_vdev *v, u64 iova, bool write)
{
	unsigned long pfn = iova >> PAGE_SHIFT;
	struct page *page, *old_page = NULL;
	void *entry;
	int prot, ret;

	lockdep_assert_held(&v->dma_lock);
	entry = xa_load(&v->pins, pfn);
	if (entry) {
		if (!write || xa_pointer_tag(entry))
			return xa_untag_pointer(entry);
		old_page = xa_untag_pointer(entry);
	}

	prot = IOMMU_READ | (write ? IOMMU_WRITE : 0);
	ret = vfio_pin_pages(&v->vfio, iova & PAGE_MASK, 1, prot, &page);
	if (ret != 1) {
		if (ret == -EPERM)
			vpa_audit(v, VPA_AUD_READONLY);
		else
			vpa_audit(v, VPA_AUD_UNMAPPED);
		dev_dbg_ratelimited(&v->mdev->dev,
				    "DMA %s of IOVA %#llx refused: %d\n",
				    write ? "write" : "read", iova, ret);
		return ERR_PTR(ret < 0 ? ret : -EFAULT);
	}
	ret = xa_err(xa_store(&v->pins, pfn, xa_tag_pointer(page, write),
			      GFP_KERNEL));
	if (ret) {
		vfio_unpin_pages(&v->vfio, iova & PAGE_MASK, 1);
		return ERR_PTR(ret);
	}
	if (old_page)	/* the writable pin replaces the read-only one */
		vfio_unpin_pages(&v->vfio, iova & PAGE_MASK, 1);
	else
		v->nr_pins++;
	return page;
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

/* Copy between guest memory at @iova and @buf. */
static int vpa_dma_copy(struct vpa_vdev *v, struct vpa_wq *wq, u64 iova,
			void *buf, u32 len, bool write)
{
	struct page *page;
	u32 off, n;
	void *p;
	int ret;

	ret = vpa_dma_check(v, wq, iova, len, write);
	if (ret)
		return ret;
	while (len) {
		off = offset_in_page(iova);
		n = min_t(u32, len, PAGE_SIZE - off);
		page = vpa_dma_page(v, iova, write);
		if (IS_ERR(page))
			return PTR_ERR(page);
		p = kmap_local_page(page);
		if (write)
			memcpy(p + off, buf, n);
		else
			memcpy(buf, p + off, n);
		kunmap_local(p);
		iova += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Result of running one descriptor: its record, the host's errno. */
struct vpa_run {
	struct vpa_completion cr;
	int err;
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
 * Walk [src, src+len) and/or [dst, dst+len), as @how says, a piece at a
 * time, where a piece never crosses a page of either. @fn gets kernel
 * addresses (NULL for a side @how does not name). Both ranges are checked
 * whole (wrap-around, windows: vpa_dma_check()) before any page is
 * touched. Returns 0, an errno with the fault in @r, or what @fn returned
 * non-zero (it stops).
 */
typedef int (*vpa_walk_fn)(void *dst, const void *src, u32 n, void *arg);

static int vpa_walk(struct vpa_vdev *v, struct vpa_wq *wq, struct vpa_run *r,
		    unsigned int how, u64 src, u64 dst, u32 len,
		    vpa_walk_fn fn, void *arg)
{
	bool has_src = how & VPA_WALK_SRC, has_dst = how & VPA_WALK_DST;
	bool dst_wr = how & VPA_WALK_DST_WR;
	u8 dst_fault = dst_wr ? VPA_CS_DMA_WRITE : VPA_CS_DMA_READ;
	struct page *sp, *dp;
	void *s, *d;
	u32 n, done = 0;
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
		n = len - done;
		sp = NULL;
		dp = NULL;
		s = NULL;
		d = NULL;
		if (has_src) {
			n = min_t(u32, n, PAGE_SIZE - offset_in_page(src + done));
			sp = vpa_dma_page(v, src + done, false);
			if (IS_ERR(sp)) {
				vpa_fault(r, VPA_CS_DMA_READ, src + done);
				return PTR_ERR(sp);
			}
		}
		if (has_dst) {
			n = min_t(u32, n, PAGE_SIZE - offset_in_page(dst + done));
			dp = vpa_dma_page(v, dst + done, dst_wr);
			if (IS_ERR(dp)) {
				vpa_fault(r, dst_fault, dst + done);
				return PTR_ERR(dp);
			}
		}
		if (sp)
			s = kmap_local_page(sp) + offset_in_page(src + done);
		if (dp)
			d = kmap_local_page(dp) + offset_in_page(dst + done);
		ret = fn(d, s, n, arg);
		if (dp)
			kunmap_local(d);
		if (sp)
			kunmap_local(s);
		if (ret)
			return ret;
		done += n;
		r->cr.bytes_done = done;
	}
	return 0;
}

static int vpa_do_copy(void *dst, const void *src, u32 n, void *arg)
{
	memmove(dst, src, n);
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

	if (!memcmp(a, b, n)) {
		c->pos += n;
		return 0;
	}
	/*
	 * The guest may change either side under us: the byte memcmp() saw
	 * differ may be equal again. Never look past this piece; if no byte
	 * differs any more, the piece counts as equal.
	 */
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

/* One turn of a work queue on an engine. */
static void vpa_wq_work(struct work_struct *work)
{
	struct vpa_wq *wq = container_of(work, struct vpa_wq, work);
	struct vpa_vdev *v = wq->vdev;
	u32 head, size, gen, turn, i;
	struct vpa_desc desc;
	struct vpa_run run;
	bool more = false;
	u64 ring;
	int ret;

	turn = max_t(u32, 1, v->nr[VPA_RES_ENG] * VPA_TURN_DESCS / 100);
	for (i = 0; i < turn; i++) {
		spin_lock(&v->cfg_lock);
		if (READ_ONCE(v->dead) || !(v->ctrl & VPA_CTRL_ENABLE) ||
		    !(wq->ctrl & VPA_WQ_CTRL_ENABLE) || wq->frozen ||
		    v->recovery || v->failed || wq->head == wq->tail) {
			spin_unlock(&v->cfg_lock);
			return;
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

		mutex_lock(&v->dma_lock);
		vpa_pin_make_room(v);
		ret = vpa_dma_copy(v, wq, ring + (u64)head * sizeof(desc),
				   &desc, sizeof(desc), false);
		if (ret) {
			mutex_unlock(&v->dma_lock);
			/* the queue cannot go on: stop it until re-enabled */
			vpa_vdev_set_err(v, VPA_ERR_RING);
			spin_lock(&v->cfg_lock);
			if (wq->gen == gen)
				wq->ctrl &= ~VPA_WQ_CTRL_ENABLE;
			spin_unlock(&v->cfg_lock);
			return;
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
		mutex_unlock(&v->dma_lock);

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
			return;
	}
	/* turn used up with work left: go behind the other queues */
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
 * Stop all work of @v and drop its pins: nothing of it runs on an engine
 * and nothing stays pinned when this returns. Callers have made sure no
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
	mutex_lock(&v->dma_lock);
	vpa_pin_flush(v);
	mutex_unlock(&v->dma_lock);
}
