// SPDX-License-Identifier: GPL-2.0
/*
 * vpa front end: each virtual adapter is an mdev and a VFIO PCI device
 * with an emulated config space, three BARs (see uapi/linux/vpa.h), MSI
 * and MSI-X, registered on the emulated IOMMU path so that all its DMA
 * goes through vfio_dma_rw() of the VM's container.
 *
 * Region offsets of the device fd: region index << VPA_OFFSET_SHIFT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_core.h>

#include "vpa.h"

#define VPA_OFFSET_SHIFT	40
#define VPA_OFFSET_MASK		((1ULL << VPA_OFFSET_SHIFT) - 1)
#define VPA_INDEX(off)		((off) >> VPA_OFFSET_SHIFT)

#define VPA_CAP_MSIX		0x40
#define VPA_CAP_MSI		0x50

static struct vpa_vdev *vpa_of(struct vfio_device *vdev)
{
	return container_of(vdev, struct vpa_vdev, vfio);
}

/* Config space. */

static void vpa_cfg_put(u8 *p, u32 off, u32 val, u32 len)
{
	while (len--) {
		p[off++] = val;
		val >>= 8;
	}
}

static u32 vpa_cfg_get(const u8 *p, u32 off, u32 len)
{
	u32 val = 0;

	while (len--)
		val = (val << 8) | p[off + len];
	return val;
}

/* A 64-bit memory BAR at @off of @size bytes. */
static void vpa_cfg_bar(struct vpa_vdev *v, u32 off, u32 size, bool pref)
{
	vpa_cfg_put(v->cfg, off, PCI_BASE_ADDRESS_MEM_TYPE_64 |
		    (pref ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0), 4);
	vpa_cfg_put(v->cfg_wmask, off, ~(size - 1), 4);
	vpa_cfg_put(v->cfg_wmask, off + 4, 0xffffffff, 4);
}

static void vpa_cfg_init(struct vpa_vdev *v)
{
	u8 *c = v->cfg, *m = v->cfg_wmask;

	memset(c, 0, VPA_CFG_SIZE);
	memset(m, 0, VPA_CFG_SIZE);
	vpa_cfg_put(c, PCI_VENDOR_ID, VPA_PCI_VENDOR_ID, 2);
	vpa_cfg_put(c, PCI_DEVICE_ID, VPA_PCI_DEVICE_ID, 2);
	vpa_cfg_put(c, PCI_STATUS, PCI_STATUS_CAP_LIST, 2);
	vpa_cfg_put(c, PCI_REVISION_ID, 1, 1);
	vpa_cfg_put(c, PCI_CLASS_PROG, VPA_PCI_CLASS, 3);
	vpa_cfg_put(c, PCI_SUBSYSTEM_VENDOR_ID, VPA_PCI_VENDOR_ID, 2);
	vpa_cfg_put(c, PCI_SUBSYSTEM_ID, VPA_PCI_DEVICE_ID, 2);
	vpa_cfg_put(c, PCI_CAPABILITY_LIST, VPA_CAP_MSIX, 1);
	vpa_cfg_put(m, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		    PCI_COMMAND_INTX_DISABLE, 2);
	m[PCI_CACHE_LINE_SIZE] = 0xff;
	m[PCI_LATENCY_TIMER] = 0xff;
	m[PCI_INTERRUPT_LINE] = 0xff;
	vpa_cfg_bar(v, PCI_BASE_ADDRESS_0, VPA_BAR0_SIZE, false);
	vpa_cfg_bar(v, PCI_BASE_ADDRESS_2, VPA_BAR2_SIZE, false);
	vpa_cfg_bar(v, PCI_BASE_ADDRESS_4, VPA_BAR4_SIZE, true);

	/* MSI-X: table and PBA in BAR0 */
	c[VPA_CAP_MSIX] = PCI_CAP_ID_MSIX;
	c[VPA_CAP_MSIX + PCI_CAP_LIST_NEXT] = VPA_CAP_MSI;
	vpa_cfg_put(c, VPA_CAP_MSIX + PCI_MSIX_FLAGS,
		    (v->nr[VPA_RES_VEC] - 1) & PCI_MSIX_FLAGS_QSIZE, 2);
	vpa_cfg_put(m, VPA_CAP_MSIX + PCI_MSIX_FLAGS,
		    PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	vpa_cfg_put(c, VPA_CAP_MSIX + PCI_MSIX_TABLE, VPA_MSIX_TABLE, 4);
	vpa_cfg_put(c, VPA_CAP_MSIX + PCI_MSIX_PBA, VPA_MSIX_PBA, 4);

	/* MSI: one vector, 64-bit address */
	c[VPA_CAP_MSI] = PCI_CAP_ID_MSI;
	vpa_cfg_put(c, VPA_CAP_MSI + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, 2);
	vpa_cfg_put(m, VPA_CAP_MSI + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	vpa_cfg_put(m, VPA_CAP_MSI + PCI_MSI_ADDRESS_LO, 0xfffffffc, 4);
	vpa_cfg_put(m, VPA_CAP_MSI + PCI_MSI_ADDRESS_HI, 0xffffffff, 4);
	vpa_cfg_put(m, VPA_CAP_MSI + PCI_MSI_DATA_64, 0xffff, 2);
}

static int vpa_cfg_write(struct vpa_vdev *v, u32 off, u32 val, u32 len)
{
	u32 mask = vpa_cfg_get(v->cfg_wmask, off, len);
	u32 old = vpa_cfg_get(v->cfg, off, len);

	lockdep_assert_held(&v->lock);
	if (!mask && val != old) {
		vpa_audit(v, VPA_AUD_CFG_RO);
		dev_dbg_ratelimited(&v->mdev->dev,
				    "config write %#x at %#x: read-only\n",
				    val, off);
	}
	vpa_cfg_put(v->cfg, off, (old & ~mask) | (val & mask), len);
	return 0;
}

/* BAR0 registers. */

static u32 vpa_wq_reg_read(struct vpa_vdev *v, struct vpa_wq *wq, u32 reg)
{
	switch (reg) {
	case VPA_WQ_RING_LO:
		return lower_32_bits(wq->ring);
	case VPA_WQ_RING_HI:
		return upper_32_bits(wq->ring);
	case VPA_WQ_SIZE:
		return wq->size;
	case VPA_WQ_CTRL:
		return wq->ctrl;
	case VPA_WQ_HEAD:
		return wq->head;
	case VPA_WQ_TAIL:
		return wq->tail;
	case VPA_WQ_VEC:
		return wq->vec;
	default:	/* VPA_WQ_DB */
		return wq->db;
	}
}

static u32 vpa_win_reg_read(struct vpa_win *w, u32 reg)
{
	switch (reg) {
	case VPA_WIN_BASE_LO:
		return lower_32_bits(w->base);
	case VPA_WIN_BASE_HI:
		return upper_32_bits(w->base);
	case VPA_WIN_SIZE_LO:
		return lower_32_bits(w->size);
	case VPA_WIN_SIZE_HI:
		return upper_32_bits(w->size);
	case VPA_WIN_ATTR:
		return w->attr & w->admin;
	default:
		return 0;
	}
}

static int vpa_bar0_read(struct vpa_vdev *v, u32 off, u32 *val)
{
	u64 done = atomic64_read(&v->audit[VPA_AUD_DONE]);
	u32 n;

	spin_lock(&v->cfg_lock);
	switch (off) {
	case VPA_REG_VERSION:
		*val = VPA_VERSION;
		break;
	case VPA_REG_NR_WQS ... VPA_REG_ENG_SHARE:
		*val = v->nr[(off - VPA_REG_NR_WQS) / 4];
		break;
	case VPA_REG_RID:
		*val = v->rid;
		break;
	case VPA_REG_CTRL:
		*val = v->ctrl;
		break;
	case VPA_REG_STATUS:
		*val = (v->ctrl & VPA_CTRL_ENABLE ? VPA_STS_ENABLED : 0) |
		       (v->err ? VPA_STS_ERROR : 0) |
		       (v->dead ? VPA_STS_DEAD : 0) |
		       (v->quiescing ? VPA_STS_QUIESCE : 0) |
		       (v->recovery ? VPA_STS_RECOVERY : 0) |
		       (v->failed ? VPA_STS_FAILED : 0);
		break;
	case VPA_REG_EVENT:
		*val = v->event;
		break;
	case VPA_REG_EVT_VEC:
		*val = v->evt_vec;
		break;
	case VPA_REG_EVT_SEQ:
		*val = v->evt_seq;
		break;
	case VPA_REG_ACK:
		*val = 0;
		break;
	case VPA_REG_QUIESCE_WQS:
		*val = v->quiesce_wqs;
		break;
	case VPA_REG_DEADLINE_MS:
		*val = READ_ONCE(vpa_ack_timeout_ms);
		break;
	case VPA_REG_ERR:
		*val = v->err;
		break;
	case VPA_REG_DMA_FAULTS:
		*val = atomic64_read(&v->audit[VPA_AUD_UNMAPPED]) +
		       atomic64_read(&v->audit[VPA_AUD_READONLY]) +
		       atomic64_read(&v->audit[VPA_AUD_WINDOW]);
		break;
	case VPA_REG_DONE_LO:
		*val = lower_32_bits(done);
		break;
	case VPA_REG_DONE_HI:
		*val = upper_32_bits(done);
		break;
	case VPA_REG_WQ(0) ... VPA_REG_WQ(VPA_MAX_WQS) - 1:
		n = (off - VPA_REG_WQ(0)) / 0x20;
		if (n >= v->nr[VPA_RES_WQ])
			goto bad;
		*val = vpa_wq_reg_read(v, &v->wq[n], off & 0x1f);
		break;
	case VPA_REG_WIN(0) ... VPA_REG_WIN(VPA_MAX_WINS) - 1:
		n = (off - VPA_REG_WIN(0)) / 0x20;
		if (n >= v->nr[VPA_RES_WIN])
			goto bad;
		*val = vpa_win_reg_read(&v->win[n], off & 0x1f);
		break;
	case VPA_MSIX_TABLE ... VPA_BAR0_SIZE - 1:
		*val = 0;	/* the VMM emulates the table and PBA */
		break;
	default:
		*val = 0;
		break;
	}
	spin_unlock(&v->cfg_lock);
	return 0;
bad:
	spin_unlock(&v->cfg_lock);
	return -EINVAL;
}

/* Reset the work queue and window state; caller holds cfg_lock. */
static void vpa_regs_reset(struct vpa_vdev *v)
{
	u32 i;

	v->ctrl = 0;
	v->err = 0;
	v->failed = false;
	v->evt_vec = 0;
	/* a pending quiesce request stays visible: it still wants an ack */
	v->event &= v->quiescing ? VPA_EVT_QUIESCE | VPA_EVT_ERROR : 0;
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		struct vpa_wq *wq = &v->wq[i];

		wq->ring = 0;
		wq->size = 0;
		wq->ctrl = 0;
		wq->head = 0;
		wq->tail = 0;
		wq->vec = 0;
		wq->db = i < vpa_usable(v, VPA_RES_DB) ? i : 0;
		wq->gen++;
	}
	v->win_gen++;
	for (i = 0; i < v->nr[VPA_RES_WIN]; i++) {
		v->win[i].base = 0;
		v->win[i].size = 0;
		v->win[i].attr = 0;
	}
}

/* A write to a work queue register; caller holds cfg_lock. */
static int vpa_wq_reg_write(struct vpa_vdev *v, struct vpa_wq *wq, u32 reg,
			    u32 val)
{
	bool on = wq->ctrl & VPA_WQ_CTRL_ENABLE;

	switch (reg) {
	case VPA_WQ_RING_LO:
		if (on || (val & 63))
			return -EINVAL;
		wq->ring = (wq->ring & ~0xffffffffULL) | val;
		return 0;
	case VPA_WQ_RING_HI:
		if (on)
			return -EINVAL;
		wq->ring = ((u64)val << 32) | lower_32_bits(wq->ring);
		return 0;
	case VPA_WQ_SIZE:
		if (on || val < 2 || val > VPA_MAX_RING || !is_power_of_2(val))
			return -EINVAL;
		wq->size = val;
		return 0;
	case VPA_WQ_CTRL:
		if (val & ~VPA_WQ_CTRL_ALL)
			return -EINVAL;
		if ((val & VPA_WQ_CTRL_ENABLE) && !on) {
			if (!wq->size || v->failed)
				return -EINVAL;
			/* not a queue, or on a doorbell, a shrink is taking */
			if (wq->local >= vpa_usable(v, VPA_RES_WQ) ||
			    wq->db >= vpa_usable(v, VPA_RES_DB))
				return -EINVAL;
			wq->head = 0;
			wq->tail = 0;
			WRITE_ONCE(v->stat[VPA_STAT_WQ_HEAD(wq->local) / 4], 0);
		}
		if (val != wq->ctrl)
			wq->gen++;
		wq->ctrl = val;
		return 0;
	case VPA_WQ_VEC:
		if (val >= vpa_usable(v, VPA_RES_VEC))
			return -EINVAL;
		wq->vec = val;
		return 0;
	case VPA_WQ_DB:
		if (val >= vpa_usable(v, VPA_RES_DB))
			return -EINVAL;
		wq->db = val;
		return 0;
	default:	/* HEAD, TAIL: read-only */
		return -EINVAL;
	}
}

static int vpa_win_reg_write(struct vpa_win *w, u32 reg, u32 val)
{
	switch (reg) {
	case VPA_WIN_BASE_LO:
		if (val & ~PAGE_MASK)
			return -EINVAL;
		w->base = (w->base & ~0xffffffffULL) | val;
		return 0;
	case VPA_WIN_BASE_HI:
		w->base = ((u64)val << 32) | lower_32_bits(w->base);
		return 0;
	case VPA_WIN_SIZE_LO:
		if (val & ~PAGE_MASK)
			return -EINVAL;
		w->size = (w->size & ~0xffffffffULL) | val;
		return 0;
	case VPA_WIN_SIZE_HI:
		w->size = ((u64)val << 32) | lower_32_bits(w->size);
		return 0;
	case VPA_WIN_ATTR:
		if (val & ~VPA_WIN_ALL)
			return -EINVAL;
		w->attr = val;
		return 0;
	default:
		return -EINVAL;
	}
}

static int vpa_bar0_write(struct vpa_vdev *v, u32 off, u32 val)
{
	bool reset = false, kick = false;
	int ret = 0;
	u32 n;

	spin_lock(&v->cfg_lock);
	switch (off) {
	case VPA_REG_CTRL:
		if (val & ~VPA_CTRL_ALL) {
			ret = -EINVAL;
		} else if (val & VPA_CTRL_RESET) {
			vpa_regs_reset(v);
			reset = true;
		} else if ((val & VPA_CTRL_ENABLE) && v->failed) {
			ret = -EINVAL;	/* failed: reset first */
		} else {
			kick = (val & ~v->ctrl) & VPA_CTRL_ENABLE;
			v->ctrl = val;
		}
		break;
	case VPA_REG_ERR:
		if (val)	/* any non-zero write clears */
			v->err = 0;
		break;
	case VPA_REG_EVENT:
		if (val & ~VPA_EVT_ALL)
			ret = -EINVAL;
		else
			v->event &= ~val;
		break;
	case VPA_REG_EVT_VEC:
		if (val >= vpa_usable(v, VPA_RES_VEC))
			ret = -EINVAL;
		else
			v->evt_vec = val;
		break;
	case VPA_REG_ACK:
		ret = vpa_vdev_ack(v, val);
		break;
	case VPA_REG_WQ(0) ... VPA_REG_WQ(VPA_MAX_WQS) - 1:
		n = (off - VPA_REG_WQ(0)) / 0x20;
		if (n >= v->nr[VPA_RES_WQ])
			ret = -EINVAL;
		else
			ret = vpa_wq_reg_write(v, &v->wq[n], off & 0x1f, val);
		break;
	case VPA_REG_WIN(0) ... VPA_REG_WIN(VPA_MAX_WINS) - 1:
		n = (off - VPA_REG_WIN(0)) / 0x20;
		if (n >= v->nr[VPA_RES_WIN])
			ret = -EINVAL;
		else
			ret = vpa_win_reg_write(&v->win[n], off & 0x1f, val);
		v->win_gen++;
		break;
	case VPA_MSIX_TABLE ... VPA_BAR0_SIZE - 1:
		break;		/* the VMM emulates the table and PBA */
	default:
		ret = -EINVAL;	/* read-only or no register */
		break;
	}
	if (ret && !v->err)
		v->err = VPA_ERR_REG;
	if (kick)
		vpa_engine_kick(v);
	spin_unlock(&v->cfg_lock);
	if (reset)
		vpa_engine_stop(v);
	if (ret) {
		vpa_audit(v, VPA_AUD_BAD_MMIO);
		dev_dbg_ratelimited(&v->mdev->dev,
				    "BAR0 write %#x at %#x refused\n", val, off);
	}
	return ret;
}

/* A doorbell: BAR2 page @db, offset @off. */
static int vpa_doorbell(struct vpa_vdev *v, u32 db, u32 off, u32 val)
{
	struct vpa_wq *wq = NULL;
	u32 i, global = 0;
	int ret;

	if (db >= v->nr[VPA_RES_DB] || off)
		goto bad;
	spin_lock(&v->cfg_lock);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		if (v->wq[i].db == db && (v->wq[i].ctrl & VPA_WQ_CTRL_ENABLE)) {
			wq = &v->wq[i];
			global = wq->global;
			break;
		}
	}
	spin_unlock(&v->cfg_lock);
	if (!wq) {
		vpa_vdev_set_err(v, VPA_ERR_DOORBELL);
		goto bad;
	}
	ret = vpa_engine_ring(v->ad, v->rid, global, val);
	if (ret) {
		vpa_vdev_set_err(v, VPA_ERR_DOORBELL);
		vpa_audit(v, VPA_AUD_BAD_MMIO);
		return ret;
	}
	return 0;
bad:
	vpa_audit(v, VPA_AUD_BAD_MMIO);
	dev_dbg_ratelimited(&v->mdev->dev, "doorbell %u+%#x refused\n", db, off);
	return -EINVAL;
}

/*
 * User memory is read before v->lock is taken and written after it is
 * dropped (here and in the ioctls): a fault on it may wait for as long as
 * the VMM wants (userfaultfd, FUSE), and destroy, reassign and error
 * recovery take v->lock.
 */
static ssize_t vpa_rw(struct vfio_device *vdev, char __user *ubuf,
		      size_t count, loff_t *ppos, bool write)
{
	struct vpa_vdev *v = vpa_of(vdev);
	u64 index = VPA_INDEX((u64)*ppos);
	u64 off = *ppos & VPA_OFFSET_MASK;
	u8 buf[VPA_CFG_SIZE];
	__le32 lval = 0;
	u32 val = 0;
	int ret = 0;

	if (!count || count > VPA_CFG_SIZE)
		return -EINVAL;
	if (write && copy_from_user(buf, ubuf, count))
		return -EFAULT;
	mutex_lock(&v->lock);
	if (v->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		if (off >= VPA_CFG_SIZE || count > VPA_CFG_SIZE - off) {
			ret = -EINVAL;
			goto out;
		}
		if (!write) {
			memcpy(buf, v->cfg + off, count);
			goto out;
		}
		/* writes: one naturally aligned 1, 2 or 4 byte access */
		if ((count != 1 && count != 2 && count != 4) ||
		    (off & (count - 1))) {
			ret = -EINVAL;
			goto out;
		}
		memcpy(&lval, buf, count);
		ret = vpa_cfg_write(v, off, le32_to_cpu(lval), count);
		goto out;
	}

	/* BARs: aligned 32-bit accesses only */
	if (count != 4 || (off & 3)) {
		ret = -EINVAL;
		goto bad;
	}
	if (write)
		memcpy(&lval, buf, 4);
	val = le32_to_cpu(lval);
	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX:
		if (off >= VPA_BAR0_SIZE) {
			ret = -EINVAL;
			goto bad;
		}
		ret = write ? vpa_bar0_write(v, off, val) :
			      vpa_bar0_read(v, off, &val);
		if (ret && !write)
			goto bad;
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		if (off >= VPA_BAR2_SIZE) {
			ret = -EINVAL;
			goto bad;
		}
		if (write)
			ret = vpa_doorbell(v, off / VPA_BAR2_PAGE,
					   off % VPA_BAR2_PAGE, val);
		else
			val = 0;
		break;
	case VFIO_PCI_BAR4_REGION_INDEX:
		if (write || off >= VPA_BAR4_SIZE) {
			ret = -EINVAL;
			goto bad;
		}
		val = READ_ONCE(v->stat[off / 4]);
		break;
	default:
		ret = -EINVAL;
		goto bad;
	}
	if (!write) {
		lval = cpu_to_le32(val);
		memcpy(buf, &lval, 4);
	}
	goto out;
bad:
	vpa_audit(v, VPA_AUD_BAD_MMIO);
	dev_dbg_ratelimited(&v->mdev->dev, "bad %s of %zu at region %llu+%#llx\n",
			    write ? "write" : "read", count, index, off);
out:
	mutex_unlock(&v->lock);
	if (!ret && !write && copy_to_user(ubuf, buf, count))
		ret = -EFAULT;
	return ret ? ret : count;
}

static ssize_t vpa_read(struct vfio_device *vdev, char __user *buf,
			size_t count, loff_t *ppos)
{
	return vpa_rw(vdev, buf, count, ppos, false);
}

static ssize_t vpa_write(struct vfio_device *vdev, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	return vpa_rw(vdev, (char __user *)buf, count, ppos, true);
}

static int vpa_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	struct vpa_vdev *v = vpa_of(vdev);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	int ret;

	if (VPA_INDEX(off) != VFIO_PCI_BAR4_REGION_INDEX ||
	    (off & VPA_OFFSET_MASK) ||
	    vma->vm_end - vma->vm_start != VPA_BAR4_SIZE)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;		/* the status page is read-only */
	/*
	 * No v->lock here: mmap runs under mmap_lock, and v->lock is held
	 * around copy_{from,to}_user() in the ioctl and read/write paths
	 * (which take mmap_lock on a fault): lockdep reported the cycle.
	 * The status page lives until the device is released, which an
	 * open fd (this mmap's file) prevents; a device that dies just
	 * after this check keeps a read-only page that no longer changes.
	 */
	if (READ_ONCE(v->dead))
		return -ENODEV;
	vma->vm_flags &= ~VM_MAYWRITE;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	ret = vm_insert_page(vma, vma->vm_start, v->stat_page);
	return ret;
}

/* Interrupts. */

static int vpa_irq_count(struct vpa_vdev *v, u32 index)
{
	switch (index) {
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return v->nr[VPA_RES_VEC];
	default:
		return 0;
	}
}

/* Drop every eventfd; caller holds v->lock. */
static void vpa_irqs_clear(struct vpa_vdev *v, bool req_too)
{
	struct eventfd_ctx *old[VPA_MAX_VECS + 2] = { };
	int i, n = 0;

	spin_lock(&v->irq_lock);
	for (i = 0; i < VPA_MAX_VECS; i++) {
		if (v->msix[i])
			old[n++] = v->msix[i];
		v->msix[i] = NULL;
	}
	if (v->msi)
		old[n++] = v->msi;
	v->msi = NULL;
	if (req_too && v->req) {
		old[n++] = v->req;
		v->req = NULL;
	}
	v->irq_type = -1;
	spin_unlock(&v->irq_lock);
	while (n--)
		eventfd_ctx_put(old[n]);
}

static struct eventfd_ctx **vpa_irq_slot(struct vpa_vdev *v, u32 index,
					 u32 i)
{
	switch (index) {
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return &v->msix[i];
	case VFIO_PCI_MSI_IRQ_INDEX:
		return &v->msi;
	default:
		return &v->req;
	}
}

static int vpa_set_irqs(struct vpa_vdev *v, struct vfio_irq_set *hdr,
			const s32 *fds)
{
	u32 action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	u32 data = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct eventfd_ctx *ctx[VPA_MAX_VECS] = { }, *old;
	u32 i;

	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;
	if (hdr->index != VFIO_PCI_MSI_IRQ_INDEX &&
	    hdr->index != VFIO_PCI_MSIX_IRQ_INDEX &&
	    hdr->index != VFIO_PCI_REQ_IRQ_INDEX)
		return -EINVAL;

	if (data == VFIO_IRQ_SET_DATA_NONE && !hdr->count) {
		if (hdr->index == VFIO_PCI_REQ_IRQ_INDEX) {
			spin_lock(&v->irq_lock);
			old = v->req;
			v->req = NULL;
			spin_unlock(&v->irq_lock);
			if (old)
				eventfd_ctx_put(old);
		} else if (v->irq_type == hdr->index) {
			vpa_irqs_clear(v, false);
		}
		return 0;
	}
	if (data == VFIO_IRQ_SET_DATA_NONE) {	/* loopback trigger */
		spin_lock(&v->irq_lock);
		for (i = hdr->start; i < hdr->start + hdr->count; i++) {
			struct eventfd_ctx *c = *vpa_irq_slot(v, hdr->index, i);

			if (c)
				eventfd_signal(c, 1);
		}
		spin_unlock(&v->irq_lock);
		return 0;
	}
	if (data != VFIO_IRQ_SET_DATA_EVENTFD)
		return -EINVAL;
	/* one interrupt type at a time, like a PCI function */
	if (hdr->index != VFIO_PCI_REQ_IRQ_INDEX && v->irq_type >= 0 &&
	    v->irq_type != hdr->index)
		return -EBUSY;

	for (i = 0; i < hdr->count; i++) {
		if (fds[i] < 0)
			continue;
		ctx[i] = eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(ctx[i])) {
			int ret = PTR_ERR(ctx[i]);

			ctx[i] = NULL;
			while (i--)
				if (ctx[i])
					eventfd_ctx_put(ctx[i]);
			return ret;
		}
	}
	for (i = 0; i < hdr->count; i++) {
		struct eventfd_ctx **slot;

		spin_lock(&v->irq_lock);
		slot = vpa_irq_slot(v, hdr->index, hdr->start + i);
		old = *slot;
		*slot = ctx[i];
		if (hdr->index != VFIO_PCI_REQ_IRQ_INDEX)
			v->irq_type = hdr->index;
		spin_unlock(&v->irq_lock);
		if (old)
			eventfd_ctx_put(old);
	}
	return 0;
}

/* Reset: back to power-on state; interrupts stay as the VMM set them. */
static void vpa_reset(struct vpa_vdev *v)
{
	spin_lock(&v->cfg_lock);
	vpa_regs_reset(v);
	spin_unlock(&v->cfg_lock);
	vpa_engine_stop(v);
	memset(v->stat, 0, PAGE_SIZE);
}

/* Takes v->lock of a device still alive: 0, or -ENODEV (not held). */
static int vpa_lock_live(struct vpa_vdev *v)
{
	mutex_lock(&v->lock);
	if (!v->dead)
		return 0;
	mutex_unlock(&v->lock);
	return -ENODEV;
}

static long vpa_ioctl_get_info(void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static long vpa_ioctl_region_info(void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	info.offset = (u64)info.index << VPA_OFFSET_SHIFT;
	info.cap_offset = 0;
	info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = VPA_CFG_SIZE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info.size = VPA_BAR0_SIZE;
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		info.size = VPA_BAR2_SIZE;
		break;
	case VFIO_PCI_BAR4_REGION_INDEX:
		info.size = VPA_BAR4_SIZE;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_MMAP;
		break;
	default:
		info.size = 0;
		info.flags = 0;
		break;
	}
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static long vpa_ioctl_irq_info(struct vpa_vdev *v, void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;
	int ret;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	ret = vpa_lock_live(v);
	if (ret)
		return ret;
	info.count = vpa_irq_count(v, info.index);
	mutex_unlock(&v->lock);
	info.flags = info.count ? VFIO_IRQ_INFO_EVENTFD : 0;
	if (info.index == VFIO_PCI_MSI_IRQ_INDEX ||
	    info.index == VFIO_PCI_MSIX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/* Validates @hdr against @v's interrupts now; caller holds v->lock. */
static int vpa_irqs_prepare(struct vpa_vdev *v, struct vfio_irq_set *hdr,
			    size_t *size)
{
	return vfio_set_irqs_validate_and_prepare(hdr,
						  vpa_irq_count(v, hdr->index),
						  VFIO_PCI_NUM_IRQS, size);
}

static long vpa_ioctl_set_irqs(struct vpa_vdev *v, unsigned long arg)
{
	struct vfio_irq_set hdr;
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	size_t size = 0, now;
	s32 *fds = NULL;
	int ret;

	if (copy_from_user(&hdr, (void __user *)arg, minsz))
		return -EFAULT;
	ret = vpa_lock_live(v);
	if (ret)
		return ret;
	ret = vpa_irqs_prepare(v, &hdr, &size);
	mutex_unlock(&v->lock);
	if (ret)
		return ret;
	if (size) {
		fds = memdup_user((void __user *)(arg + minsz), size);
		if (IS_ERR(fds))
			return PTR_ERR(fds);
	}
	ret = vpa_lock_live(v);
	if (ret)
		goto out;
	/* A resize may have taken vectors meanwhile: check again. */
	ret = vpa_irqs_prepare(v, &hdr, &now);
	if (!ret)
		ret = vpa_set_irqs(v, &hdr, fds);
	mutex_unlock(&v->lock);
out:
	kfree(fds);
	return ret;
}

static long vpa_ioctl(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg)
{
	struct vpa_vdev *v = vpa_of(vdev);
	void __user *uarg = (void __user *)arg;
	int ret;

	/* No user memory is touched under v->lock (vpa_rw()). */
	if (READ_ONCE(v->dead))
		return -ENODEV;
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vpa_ioctl_get_info(uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vpa_ioctl_region_info(uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vpa_ioctl_irq_info(v, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return vpa_ioctl_set_irqs(v, arg);
	case VFIO_DEVICE_RESET:
		ret = vpa_lock_live(v);
		if (ret)
			return ret;
		vpa_reset(v);
		mutex_unlock(&v->lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* Life cycle. */

static int vpa_open_device(struct vfio_device *vdev)
{
	struct vpa_vdev *v = vpa_of(vdev);
	int ret = 0;

	mutex_lock(&v->lock);
	if (v->dead) {
		ret = -ENODEV;
	} else {
		vpa_cfg_init(v);
		spin_lock(&v->cfg_lock);
		vpa_regs_reset(v);
		spin_unlock(&v->cfg_lock);
		memset(v->stat, 0, PAGE_SIZE);
		v->open = true;
	}
	mutex_unlock(&v->lock);
	return ret;
}

static void vpa_close_device(struct vfio_device *vdev)
{
	struct vpa_vdev *v = vpa_of(vdev);

	mutex_lock(&v->lock);
	spin_lock(&v->cfg_lock);
	vpa_regs_reset(v);
	spin_unlock(&v->cfg_lock);
	v->open = false;
	mutex_unlock(&v->lock);
	/* no new work: every queue is disabled; wait for what runs */
	vpa_engine_stop(v);
	mutex_lock(&v->lock);
	vpa_irqs_clear(v, true);
	mutex_unlock(&v->lock);
}

static void vpa_request(struct vfio_device *vdev, unsigned int count)
{
	struct vpa_vdev *v = vpa_of(vdev);

	spin_lock(&v->irq_lock);
	if (v->req) {
		if (!(count % 10))
			dev_notice_ratelimited(&v->mdev->dev,
					       "asking the user to release the device (%u)\n",
					       count);
		eventfd_signal(v->req, 1);
	} else if (!count) {
		dev_notice(&v->mdev->dev,
			   "device in use and no request eventfd: waiting\n");
	}
	spin_unlock(&v->irq_lock);
}

/**
 * vpa_vdev_kill - destroy a virtual adapter's resources now
 * @v:	the virtual adapter
 *
 * Used by direct destroy and by mdev remove. The device goes dead (every
 * VFIO access fails with -ENODEV), its queues stop (no descriptor touches
 * the VM's memory after), its resource group goes back to the adapter and
 * the user is asked to release the device. Bounded: nothing here waits for user space;
 * the longest wait is for the descriptor an engine is running. Safe to
 * call more than once. Takes v->lock and the adapter's lock
 * one after the other; the caller holds none of them.
 */
void vpa_vdev_kill(struct vpa_vdev *v)
{
	mutex_lock(&v->lock);
	if (v->dead) {
		mutex_unlock(&v->lock);
		return;
	}
	spin_lock(&v->cfg_lock);
	WRITE_ONCE(v->dead, true);
	vpa_regs_reset(v);
	spin_unlock(&v->cfg_lock);
	mutex_unlock(&v->lock);
	/* A wait for its acknowledgment ends now (vpa_acked()). */
	wake_up(&v->ack_wait);

	vpa_engine_stop(v);
	vpa_adapter_release_group(v->ad, v);

	spin_lock(&v->irq_lock);
	if (v->req)
		eventfd_signal(v->req, 1);
	spin_unlock(&v->irq_lock);
	dev_info(&v->mdev->dev, "destroyed\n");
}

static int vpa_init_dev(struct vfio_device *vdev)
{
	struct vpa_vdev *v = vpa_of(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	struct vpa_type *type = vpa_type_of(mdev);
	struct vpa_adapter *ad = container_of(mdev->type->parent,
					      struct vpa_adapter, parent);
	int i, ret;

	v->ad = ad;
	/*
	 * The mdev is freed once removed, while a reference to the vfio
	 * device (vpa_find_guid(), vpa_grab_all()) may still read it: it
	 * lives as long as @v (vpa_release_dev()).
	 */
	v->mdev = mdev;
	get_device(&mdev->dev);
	INIT_LIST_HEAD(&v->node);
	v->gid = -1;
	v->irq_type = -1;
	mutex_init(&v->lock);
	spin_lock_init(&v->cfg_lock);
	spin_lock_init(&v->irq_lock);
	for (i = 0; i < VPA_MAX_WQS; i++)
		vpa_engine_init_wq(v, &v->wq[i]);
	vpa_recov_init_vdev(v);

	v->stat_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!v->stat_page) {
		ret = -ENOMEM;
		goto err_mdev;
	}
	v->stat = page_address(v->stat_page);

	mutex_lock(&ad->lock);
	ret = vpa_core_alloc(ad->core, &type->req);
	if (ret < 0) {
		mutex_unlock(&ad->lock);
		goto err_page;
	}
	v->gid = ret;
	v->rid = vpa_core_rid(ad->core, v->gid);
	for (i = 0; i < VPA_RES_NR; i++)
		v->nr[i] = vpa_core_count(ad->core, v->gid, i);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		v->wq[i].local = i;
		v->wq[i].global = vpa_core_check(ad->core, v->gid, VPA_RES_WQ,
						 i, 0);
	}
	for (i = 0; i < v->nr[VPA_RES_WIN]; i++)
		v->win[i].admin = VPA_WIN_ALL;
	vpa_adapter_own_wqs(ad, v);
	mutex_unlock(&ad->lock);
	vpa_cfg_init(v);
	return 0;

err_page:
	__free_page(v->stat_page);
err_mdev:
	put_device(&mdev->dev);
	return ret;
}

static void vpa_release_dev(struct vfio_device *vdev)
{
	struct vpa_vdev *v = vpa_of(vdev);
	struct mdev_device *mdev = v->mdev;

	/* kill or remove returned the group; a failed probe did not */
	vpa_adapter_release_group(v->ad, v);
	__free_page(v->stat_page);
	mutex_destroy(&v->lock);
	vfio_free_device(vdev);
	put_device(&mdev->dev);
}

const struct vfio_device_ops vpa_vfio_ops = {
	.name = "vpa",
	.init = vpa_init_dev,
	.release = vpa_release_dev,
	.open_device = vpa_open_device,
	.close_device = vpa_close_device,
	.read = vpa_read,
	.write = vpa_write,
	.ioctl = vpa_ioctl,
	.mmap = vpa_mmap,
	.request = vpa_request,
};
