// SPDX-License-Identifier: GPL-2.0
/*
 * vpa_guest: Linux guest driver of a vpa virtual adapter (PCI 1af4:10f5,
 * register interface in uapi/linux/vpa.h).
 *
 * It sets up every work queue it owns on one ring each, one DMA window
 * over all of guest memory and one interrupt vector for completions and
 * host events, and takes part in the host's lifecycle protocol:
 *
 *   QUIESCE (revoke/resize): stop using the queues named, wait until the
 *           engine has taken their last descriptor, acknowledge;
 *   QUIESCE + ERROR (adapter error): stop submitting, acknowledge; the
 *           host keeps the queues and resumes them (RESUME);
 *   CHANGED: re-read the resource counts, set up queues that appeared or
 *           lost their doorbell, forget queues that went;
 *   FAILED:  reset the virtual adapter and set everything up again.
 *
 * A descriptor whose queue was torn down (taken, or the adapter failed)
 * before its completion record was written was never executed and never
 * will be (the host's guarantee): it is submitted again on a live queue.
 *
 * The user interface (for tests) is sysfs on the PCI device:
 *   vpa_run    write N: run N descriptors (fill, copy, crc32c), each
 *              verified by the CPU; fails with EIO on a wrong result
 *   vpa_stats/ counters and state, one file each
 *
 * Locking: vg_dev::lock serialises register programming, submission and
 * event handling; nobody sleeps for a completion with it held. Counters
 * are atomics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/vpa.h>

#include "../vpa/vpa_attrs.h"

#define VG_RING		64		/* descriptors per ring */
#define VG_BUF		4096		/* bytes per descriptor buffer */
#define VG_WAIT_MS	30000		/* give up on one descriptor */
#define VG_DRAIN_MS	100		/* poll steps while draining */

struct vg_queue {
	struct vpa_desc *ring;
	dma_addr_t ring_dma;
	u32 tail;
	u32 gen;		/* bumped when the ring is (re)initialised */
	bool live;		/* set up and enabled */
};

/* A descriptor in flight and its buffers (src, dst, completion record). */
struct vg_slot {
	u8 *src;
	u8 *dst;
	struct vpa_completion *cr;
	dma_addr_t src_dma, dst_dma, cr_dma;
};

enum vg_stat {
	VG_SUBMITTED,		/* descriptors handed to the adapter */
	VG_VERIFIED,		/* results checked correct */
	VG_BAD,			/* wrong results or error status */
	VG_RESUBMITTED,		/* never run because their queue went */
	VG_EVENTS,		/* event interrupts */
	VG_ACKS,		/* quiesce requests acknowledged */
	VG_RESUMES,		/* error recoveries resumed */
	VG_CHANGES,		/* resource changes followed */
	VG_FAILURES,		/* resets after being failed */
	VG_NR
};

static const char * const vg_stat_names[VG_NR] = {
	"submitted", "verified", "bad", "resubmitted", "events", "acks",
	"resumes", "changes", "failures",
};

/**
 * struct vg_dev - one virtual adapter
 * @pdev:	the PCI device
 * @regs:	BAR0
 * @db:		BAR2 doorbells
 * @stat:	BAR4 status page
 * @lock:	serialises register programming, submission, event handling
 * @q:		work queues (under @lock)
 * @nr_wqs:	queues owned (under @lock)
 * @nr_dbs:	doorbells owned (under @lock)
 * @quiesce:	queues the host asked us to stop using (under @lock)
 * @paused:	error recovery: submit nothing (under @lock)
 * @next:	round robin over queues (under @lock)
 * @buf:	coherent buffers of the descriptor in flight (src, dst, record)
 * @buf_dma:	its bus address
 * @pending:	events latched by the interrupt, for @evt_work
 * @evt_work:	handles events
 * @wait:	woken on interrupts and state changes
 * @stats:	counters, enum vg_stat
 */
struct vg_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	void __iomem *db;
	void __iomem *stat;
	struct mutex lock;		/* see above */
	struct vg_queue q[VPA_MAX_WQS];
	u32 nr_wqs;
	u32 nr_dbs;
	u32 quiesce;
	bool paused;
	u32 next;
	void *buf;
	dma_addr_t buf_dma;
	atomic_t pending;
	struct work_struct evt_work;
	wait_queue_head_t wait;
	atomic64_t stats[VG_NR];
};

static u32 vg_rd(struct vg_dev *vg, u32 off)
{
	return readl(vg->regs + off);
}

static void vg_wr(struct vg_dev *vg, u32 off, u32 val)
{
	writel(val, vg->regs + off);
}

static void vg_count(struct vg_dev *vg, enum vg_stat s)
{
	atomic64_inc(&vg->stats[s]);
}

/*
 * Set up and enable queue @i on doorbell @i (a doorbell rings one queue:
 * only queues with a doorbell of their own are used). Under lock.
 */
static int vg_queue_start(struct vg_dev *vg, u32 i)
{
	struct vg_queue *q = &vg->q[i];
	u32 base = VPA_REG_WQ(i);

	lockdep_assert_held(&vg->lock);
	if (!q->ring) {
		q->ring = dma_alloc_coherent(&vg->pdev->dev,
					     VG_RING * sizeof(*q->ring),
					     &q->ring_dma, GFP_KERNEL);
		if (!q->ring)
			return -ENOMEM;
	}
	memset(q->ring, 0, VG_RING * sizeof(*q->ring));
	vg_wr(vg, base + VPA_WQ_CTRL, 0);
	vg_wr(vg, base + VPA_WQ_RING_LO, lower_32_bits(q->ring_dma));
	vg_wr(vg, base + VPA_WQ_RING_HI, upper_32_bits(q->ring_dma));
	vg_wr(vg, base + VPA_WQ_SIZE, VG_RING);
	vg_wr(vg, base + VPA_WQ_VEC, 0);
	vg_wr(vg, base + VPA_WQ_DB, i);
	vg_wr(vg, base + VPA_WQ_CTRL, VPA_WQ_CTRL_ENABLE);
	if (!(vg_rd(vg, base + VPA_WQ_CTRL) & VPA_WQ_CTRL_ENABLE))
		return -EIO;
	q->tail = 0;
	q->gen++;
	q->live = true;
	return 0;
}

/* Forget queue @i: its ring's unfinished descriptors will be resent. */
static void vg_queue_drop(struct vg_dev *vg, u32 i)
{
	lockdep_assert_held(&vg->lock);
	vg->q[i].live = false;
	vg->q[i].gen++;
}

/* Program the whole adapter from scratch. Under lock. */
static int vg_setup(struct vg_dev *vg)
{
	u32 i;
	int ret;

	lockdep_assert_held(&vg->lock);
	vg->nr_wqs = min_t(u32, vg_rd(vg, VPA_REG_NR_WQS), VPA_MAX_WQS);
	vg->nr_dbs = min_t(u32, vg_rd(vg, VPA_REG_NR_DBS), VPA_MAX_DBS);
	if (!vg->nr_wqs || !vg->nr_dbs || !vg_rd(vg, VPA_REG_NR_WINS))
		return -ENODEV;
	vg_wr(vg, VPA_REG_EVT_VEC, 0);
	/* window 0: all of guest memory (no IOMMU in the guest) */
	vg_wr(vg, VPA_REG_WIN(0) + VPA_WIN_BASE_LO, 0);
	vg_wr(vg, VPA_REG_WIN(0) + VPA_WIN_BASE_HI, 0);
	vg_wr(vg, VPA_REG_WIN(0) + VPA_WIN_SIZE_LO, 0);
	vg_wr(vg, VPA_REG_WIN(0) + VPA_WIN_SIZE_HI, 1U << 14);	/* 64 TiB */
	vg_wr(vg, VPA_REG_WIN(0) + VPA_WIN_ATTR, VPA_WIN_ALL);
	vg_wr(vg, VPA_REG_CTRL, VPA_CTRL_ENABLE);
	for (i = 0; i < VPA_MAX_WQS; i++) {
		if (i >= vg->nr_wqs || i >= vg->nr_dbs) {
			vg->q[i].live = false;
			continue;
		}
		ret = vg_queue_start(vg, i);
		if (ret)
			return ret;
	}
	vg->quiesce = 0;
	return 0;
}

/* Wait (bounded) until the engine took every descriptor of @mask. */
static void vg_drain(struct vg_dev *vg, u32 mask, unsigned int ms)
{
	unsigned int waited = 0;
	u32 i, busy;

	do {
		busy = 0;
		for (i = 0; i < vg->nr_wqs; i++)
			if ((mask & BIT(i)) && vg->q[i].live &&
			    readl(vg->stat + VPA_STAT_WQ_HEAD(i)) != vg->q[i].tail)
				busy |= BIT(i);
		if (!busy)
			return;
		msleep(VG_DRAIN_MS / 10);
		waited += VG_DRAIN_MS / 10;
	} while (waited < ms);
}

static void vg_evt_work(struct work_struct *work)
{
	struct vg_dev *vg = container_of(work, struct vg_dev, evt_work);
	u32 ev = atomic_xchg(&vg->pending, 0), sts, mask, seq, dl, i, n;

	mutex_lock(&vg->lock);
	sts = vg_rd(vg, VPA_REG_STATUS);
	if (ev & VPA_EVT_FAILED || (sts & VPA_STS_FAILED)) {
		dev_warn(&vg->pdev->dev, "failed by the host: resetting\n");
		vg_wr(vg, VPA_REG_CTRL, VPA_CTRL_RESET);
		for (i = 0; i < VPA_MAX_WQS; i++)
			vg_queue_drop(vg, i);
		vg->paused = false;
		if (vg_setup(vg))
			dev_err(&vg->pdev->dev, "setup after failure failed\n");
		vg_count(vg, VG_FAILURES);
		sts = vg_rd(vg, VPA_REG_STATUS);
	}
	if (sts & VPA_STS_QUIESCE) {
		mask = vg_rd(vg, VPA_REG_QUIESCE_WQS);
		seq = vg_rd(vg, VPA_REG_EVT_SEQ);
		dl = vg_rd(vg, VPA_REG_DEADLINE_MS);
		if (sts & VPA_STS_RECOVERY) {
			vg->paused = true;	/* the engine is stopped */
		} else {
			vg->quiesce = mask;
			vg_drain(vg, mask, dl / 2);
		}
		vg_wr(vg, VPA_REG_ACK, seq);
		vg_count(vg, VG_ACKS);
	}
	if (ev & VPA_EVT_CHANGED) {
		n = min_t(u32, vg_rd(vg, VPA_REG_NR_WQS), VPA_MAX_WQS);
		vg->nr_dbs = min_t(u32, vg_rd(vg, VPA_REG_NR_DBS), VPA_MAX_DBS);
		for (i = 0; i < VPA_MAX_WQS; i++) {
			bool on = i < n && (vg_rd(vg, VPA_REG_WQ(i) + VPA_WQ_CTRL) &
					    VPA_WQ_CTRL_ENABLE);

			if (vg->q[i].live && !on)
				vg_queue_drop(vg, i);
		}
		vg->nr_wqs = n;
		for (i = 0; i < n && i < vg->nr_dbs; i++)
			if (!vg->q[i].live && vg_queue_start(vg, i))
				dev_err(&vg->pdev->dev, "queue %u: setup failed\n", i);
		vg->quiesce = 0;
		vg_count(vg, VG_CHANGES);
	}
	if ((ev & VPA_EVT_RESUME) && !(sts & VPA_STS_RECOVERY)) {
		vg->paused = false;
		vg_count(vg, VG_RESUMES);
	}
	mutex_unlock(&vg->lock);
	wake_up_all(&vg->wait);
}

static irqreturn_t vg_irq(int irq, void *data)
{
	struct vg_dev *vg = data;
	u32 ev = vg_rd(vg, VPA_REG_EVENT);

	if (ev && ev != ~0U) {
		vg_wr(vg, VPA_REG_EVENT, ev & VPA_EVT_ALL);
		atomic_or(ev & VPA_EVT_ALL, &vg->pending);
		vg_count(vg, VG_EVENTS);
		schedule_work(&vg->evt_work);
	}
	wake_up_all(&vg->wait);
	return IRQ_HANDLED;
}

/* Fill descriptor @d for operation number @i on @s; the CPU's answer. */
static void vg_make(struct vg_slot *s, u64 i, struct vpa_desc *d, u32 *crc)
{
	u32 k;

	memset(d, 0, sizeof(*d));
	memset(s->cr, 0, sizeof(*s->cr));
	d->flags = VPA_DESC_F_COMPL | VPA_DESC_F_IRQ;
	d->completion = s->cr_dma;
	d->size = VG_BUF;
	for (k = 0; k < VG_BUF; k++)
		s->src[k] = (u8)(i * 131 + k * 7);
	memset(s->dst, 0, VG_BUF);
	switch (i % 3) {
	case 0:
		d->opcode = VPA_OP_FILL;
		d->dst = s->dst_dma;
		d->pattern = 0x0102030405060708ULL * (i | 1);
		break;
	case 1:
		d->opcode = VPA_OP_MEMMOVE;
		d->src = s->src_dma;
		d->dst = s->dst_dma;
		break;
	default:
		d->opcode = VPA_OP_CRC32C;
		d->src = s->src_dma;
		d->crc_seed = ~0U;
		*crc = __crc32c_le(~0U, s->src, VG_BUF);
		break;
	}
}

static bool vg_check(struct vg_slot *s, const struct vpa_desc *d, u32 crc)
{
	u32 k;

	if (s->cr->status != VPA_CS_SUCCESS)
		return false;
	switch (d->opcode) {
	case VPA_OP_FILL:
		for (k = 0; k < VG_BUF; k++)
			if (s->dst[k] != (u8)(d->pattern >> (8 * (k & 7))))
				return false;
		return true;
	case VPA_OP_MEMMOVE:
		return !memcmp(s->src, s->dst, VG_BUF);
	default:
		return s->cr->result == crc;
	}
}

/*
 * Submit @d on a live queue not being quiesced. Returns the queue and its
 * generation in @qi/@gen, or an errno. Under lock.
 */
static int vg_submit(struct vg_dev *vg, const struct vpa_desc *d, u32 *qi,
		     u32 *gen)
{
	struct vg_queue *q;
	u32 i, n;

	lockdep_assert_held(&vg->lock);
	for (n = 0; n < vg->nr_wqs; n++) {
		i = (vg->next + n) % vg->nr_wqs;
		if (vg->q[i].live && !(vg->quiesce & BIT(i)))
			break;
	}
	if (n == vg->nr_wqs)
		return -EAGAIN;
	vg->next = i + 1;
	q = &vg->q[i];
	q->ring[q->tail] = *d;
	q->tail = (q->tail + 1) % VG_RING;
	dma_wmb();
	writel(q->tail, vg->db + i * VPA_BAR2_PAGE);
	*qi = i;
	*gen = q->gen;
	vg_count(vg, VG_SUBMITTED);
	return 0;
}

/* Is the descriptor in flight on (@qi, @gen) lost for good? */
static bool vg_gone(struct vg_dev *vg, u32 qi, u32 gen)
{
	return READ_ONCE(vg->q[qi].gen) != gen;
}

/* Run @count verified descriptors. */
static int vg_run(struct vg_dev *vg, u32 count)
{
	struct vg_slot s;
	struct vpa_desc d;
	u32 i, crc = 0, qi, gen;
	long left;
	int ret;

	s.src = vg->buf;
	s.dst = vg->buf + VG_BUF;
	s.cr = vg->buf + 2 * VG_BUF;
	s.src_dma = vg->buf_dma;
	s.dst_dma = vg->buf_dma + VG_BUF;
	s.cr_dma = vg->buf_dma + 2 * VG_BUF;
	for (i = 0; i < count; i++) {
		vg_make(&s, atomic64_read(&vg->stats[VG_SUBMITTED]), &d, &crc);
again:
		left = msecs_to_jiffies(VG_WAIT_MS);
		for (;;) {
			mutex_lock(&vg->lock);
			ret = vg->paused ? -EAGAIN : vg_submit(vg, &d, &qi, &gen);
			mutex_unlock(&vg->lock);
			if (ret != -EAGAIN)
				break;
			left = wait_event_interruptible_timeout(vg->wait,
								!READ_ONCE(vg->paused),
								left);
			if (left <= 0)
				return left ? (int)left : -ETIMEDOUT;
		}
		if (ret)
			return ret;
		left = wait_event_interruptible_timeout(vg->wait,
							READ_ONCE(s.cr->status) ||
							vg_gone(vg, qi, gen),
							msecs_to_jiffies(VG_WAIT_MS));
		if (left < 0)
			return left;
		dma_rmb();
		if (!READ_ONCE(s.cr->status)) {
			if (!left)
				return -ETIMEDOUT;
			vg_count(vg, VG_RESUBMITTED);	/* never ran */
			memset(s.cr, 0, sizeof(*s.cr));
			goto again;
		}
		if (!vg_check(&s, &d, crc)) {
			vg_count(vg, VG_BAD);
			dev_err_ratelimited(&vg->pdev->dev,
					    "op %u: status %#x result %#x: wrong\n",
					    d.opcode, s.cr->status, s.cr->result);
			return -EIO;
		}
		vg_count(vg, VG_VERIFIED);
	}
	return 0;
}

static DEFINE_MUTEX(vg_run_lock);	/* one vpa_run at a time */

static ssize_t vpa_run_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct vg_dev *vg = dev_get_drvdata(dev);
	u32 n;
	int ret;

	ret = kstrtou32(buf, 0, &n);
	if (ret)
		return ret;
	if (!n || n > 1000000)
		return -EINVAL;
	mutex_lock(&vg_run_lock);
	ret = vg_run(vg, n);
	mutex_unlock(&vg_run_lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(vpa_run);

/* vpa_stats/<name>: one counter each; the attribute's number is its index. */
static ssize_t vg_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vg_dev *vg = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n",
			  (s64)atomic64_read(&vg->stats[vpa_attr_num(attr)]));
}

static const struct device_attribute vg_stat_tmpl =
	__ATTR(stat, 0444, vg_stat_show, NULL);

/* vpa_stats/queues: work queues in use. */
static ssize_t queues_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vg_dev *vg = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(vg->nr_wqs));
}
static DEVICE_ATTR_RO(queues);

/* vpa_stats/status: the device's status register. */
static ssize_t status_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vg_dev *vg = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%#x\n", vg_rd(vg, VPA_REG_STATUS));
}
static DEVICE_ATTR_RO(status);

/* Filled by vg_init() from vg_stat_names, before the driver registers. */
static struct dev_ext_attribute vg_stat_attrs[VG_NR];
static struct attribute *vg_stat_list[VG_NR + 3];

static const struct attribute_group vg_stats_group = {
	.name = "vpa_stats",
	.attrs = vg_stat_list,
};

static struct attribute *vg_attrs[] = {
	&dev_attr_vpa_run.attr,
	NULL,
};

static const struct attribute_group vg_group = {
	.attrs = vg_attrs,
};

static const struct attribute_group *vg_groups[] = {
	&vg_group,
	&vg_stats_group,
	NULL,
};

static void vg_free_rings(struct vg_dev *vg)
{
	u32 i;

	for (i = 0; i < VPA_MAX_WQS; i++)
		if (vg->q[i].ring)
			dma_free_coherent(&vg->pdev->dev,
					  VG_RING * sizeof(*vg->q[i].ring),
					  vg->q[i].ring, vg->q[i].ring_dma);
}

static int vg_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vg_dev *vg;
	int ret;

	vg = devm_kzalloc(&pdev->dev, sizeof(*vg), GFP_KERNEL);
	if (!vg)
		return -ENOMEM;
	vg->pdev = pdev;
	mutex_init(&vg->lock);
	init_waitqueue_head(&vg->wait);
	INIT_WORK(&vg->evt_work, vg_evt_work);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0) | BIT(2) | BIT(4),
				 KBUILD_MODNAME);
	if (ret)
		return ret;
	vg->regs = pcim_iomap_table(pdev)[0];
	vg->db = pcim_iomap_table(pdev)[2];
	vg->stat = pcim_iomap_table(pdev)[4];
	if ((vg_rd(vg, VPA_REG_VERSION) >> 16) != (VPA_VERSION >> 16) ||
	    (vg_rd(vg, VPA_REG_VERSION) & 0xffff) < 1) {
		dev_err(&pdev->dev, "version %#x not supported\n",
			vg_rd(vg, VPA_REG_VERSION));
		return -ENODEV;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	pci_set_master(pdev);
	vg->buf = dmam_alloc_coherent(&pdev->dev, 3 * VG_BUF, &vg->buf_dma,
				      GFP_KERNEL);
	if (!vg->buf)
		return -ENOMEM;
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX | PCI_IRQ_MSI);
	if (ret < 0)
		return ret;
	ret = request_irq(pci_irq_vector(pdev, 0), vg_irq, 0, KBUILD_MODNAME,
			  vg);
	if (ret)
		goto err_vectors;
	pci_set_drvdata(pdev, vg);
	mutex_lock(&vg->lock);
	ret = vg_setup(vg);
	mutex_unlock(&vg->lock);
	if (ret)
		goto err_irq;
	dev_info(&pdev->dev, "virtual adapter: %u queues, %u doorbells, rid %04x\n",
		 vg->nr_wqs, vg->nr_dbs, vg_rd(vg, VPA_REG_RID));
	return 0;

err_irq:
	vg_wr(vg, VPA_REG_CTRL, VPA_CTRL_RESET);
	free_irq(pci_irq_vector(pdev, 0), vg);
	cancel_work_sync(&vg->evt_work);
	vg_free_rings(vg);
err_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
}

static void vg_remove(struct pci_dev *pdev)
{
	struct vg_dev *vg = pci_get_drvdata(pdev);

	vg_wr(vg, VPA_REG_CTRL, VPA_CTRL_RESET);	/* engine off */
	free_irq(pci_irq_vector(pdev, 0), vg);
	cancel_work_sync(&vg->evt_work);
	pci_free_irq_vectors(pdev);
	vg_free_rings(vg);
}

/*
 * 1af4:10f5 lies in a range open to anyone's experiments, so the class
 * must match too, and probe checks the version register.
 */
static const struct pci_device_id vg_ids[] = {
	{ PCI_DEVICE(VPA_PCI_VENDOR_ID, VPA_PCI_DEVICE_ID),
	  .class = VPA_PCI_CLASS, .class_mask = 0xffffff },
	{ }
};
MODULE_DEVICE_TABLE(pci, vg_ids);

static struct pci_driver vg_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vg_ids,
	.probe = vg_probe,
	.remove = vg_remove,
	.dev_groups = vg_groups,
};

static int __init vg_init(void)
{
	struct attribute **a;

	a = vpa_attrs_fill(vg_stat_list, vg_stat_attrs, &vg_stat_tmpl,
			   vg_stat_names, VG_NR, 0);
	*a++ = &dev_attr_queues.attr;
	*a++ = &dev_attr_status.attr;
	*a = NULL;
	return pci_register_driver(&vg_driver);
}

static void __exit vg_exit(void)
{
	pci_unregister_driver(&vg_driver);
}

module_init(vg_init);
module_exit(vg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Guest driver of vpa virtual adapters");
