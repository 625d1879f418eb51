// SPDX-License-Identifier: GPL-2.0
/*
 * vpa SR-IOV back end: an NVMe physical function with SR-IOV (QEMU's
 * emulated NVMe, Documentation/plans/sriov.md), handed to vpa with
 * driver_override like any other function. Its flexible queue and
 * interrupt resources become the adapter's work queues and vectors, to
 * be given to VFs (groups) by the Virtualization Management command.
 *
 * Probe (in this order; remove and the error paths undo it in reverse):
 *   1. enable the function (memory only),
 *   2. claim BAR0,
 *   3. 64-bit DMA,
 *   4. map BAR0 and allocate the admin queue (vpa_nvme.c); INTx off
 *      (completions are polled),
 *   5. disable the controller (an earlier owner may have left it running
 *      on its own queues), bus master on, enable it with vpa's queue,
 *   6. Identify: Virtualization Management supported, the primary's
 *      capabilities checked (vpa_sriov_check()),
 *   7. a primary flexible allocation of 0, always (an earlier owner may
 *      have set one that the next function reset would apply); if the
 *      primary holds flexible resources now, a function reset applies it
 *      and the controller is enabled again,
 *   8. take every secondary controller of this primary offline with
 *      nothing assigned, then check with the capabilities read again that
 *      no flexible resource is assigned or allocated anywhere,
 *   9. start the adapter: flexible queues as work queues, flexible
 *      interrupts as vectors, no other type, no mdev parent,
 *  10. the vpa_nvme/ sysfs directory.
 * A function with VFs enabled is refused: taking its resources would pull
 * them from under the VFs' users. The function's INTx setting is restored
 * at remove.
 *
 * The values vpa_nvme/ shows are written by the probe before the directory
 * exists and never change while it exists: they are read without a lock.
 *
 * VF groups (plans/sriov.md, step 4). A VF's group is a core group whose
 * index is the VF's number and whose requester id is the VF's routing id;
 * it is made from one of the VF group types (the mdev types' policies, on
 * flexible queues and interrupts only) for a VF that exists, and its
 * resources are assigned to the VF's secondary controller (the one the
 * Secondary Controller List names with that VF number) with
 * Virtualization Management ACT 8, which is then brought online (ACT 9).
 * A group outlives a disable of the VFs (its secondary offline with
 * nothing assigned, its resources still counted as the group's) and is
 * brought online again by the next enable that has its VF.
 *
 * Locking (outer first):
 *   device lock of the PF (probe, remove, sriov_configure, reset_done)
 *     -> vpa_sriov::lock (every group's state, the enabled VF count)
 *       -> vpa_nvme::lock (one admin command)
 *       -> vpa_adapter::lock (the core)
 * VFs are added and removed (pci_enable_sriov(), pci_disable_sriov())
 * under the device lock only, never under vpa_sriov::lock: see
 * vpa_sriov_enable().
 * The sysfs files of the groups and types take vpa_sriov::lock, never the
 * device lock: remove, under the device lock, deletes their directories
 * first, which waits for the files' callbacks to return.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/kobject.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "vpa.h"
#include "vpa_nvme.h"
#include "vpa_sriov_types.h"

/*
 * Test hook (debugfs vpa/sriov_probe_fail): a probe step 1-10 that fails
 * with -ECANCELED, to exercise each error path; 0 (default): none.
 */
u32 vpa_sriov_fail_step;

/*
 * Test hook (debugfs vpa/sriov_group_fail): a step of bringing a group
 * online that fails with -ECANCELED instead of sending its command, to
 * exercise the undo: 1 the VQ assignment, 2 the VI assignment, 3 the
 * online; 0 (default): none.
 */
u32 vpa_sriov_group_fail;

/* VFs that may have a group: a group's index is its VF's number */
#define VPA_SRIOV_MAX_VFS	VPA_CORE_MAX_GROUPS

/* State of a VF's secondary controller, as vpa last set it. */
enum vpa_vf_state {
	VPA_VF_NONE,		/* no group: offline, nothing assigned */
	VPA_VF_OFFLINE,		/* a group; offline, nothing assigned */
	VPA_VF_ONLINE,		/* the group's resources assigned, online */
	VPA_VF_ERROR,		/* a command failed: unknown until destroy */
};

static const char * const vpa_vf_state_names[] = {
	[VPA_VF_NONE] = "none",
	[VPA_VF_OFFLINE] = "offline",
	[VPA_VF_ONLINE] = "online",
	[VPA_VF_ERROR] = "error",
};

/**
 * struct vpa_vf_type - vpa_sriov_types/<name>/ of one adapter
 * @kobj:	its directory; the last reference frees it
 * @ad:		the adapter
 * @def:	the type
 */
struct vpa_vf_type {
	struct kobject kobj;
	struct vpa_adapter *ad;
	const struct vpa_vf_type_def *def;
};

/**
 * struct vpa_vf - one VF that may have a group: vpa_vfs/<index>/
 * @kobj:	its directory; the last reference frees it
 * @ad:		the adapter
 * @index:	the VF's number (0-based), also the group's index
 * @scid:	its secondary controller (Secondary Controller List, VFN)
 * @def:	the group's type, NULL for no group
 * @rid:	the group's requester id: the VF's routing id at creation
 * @nr:		the group's resources by type (VQ as wq, VI as vec)
 * @state:	enum vpa_vf_state
 * @nsid:	the namespace vpa attached to the secondary, 0 for none
 *
 * Fields from @def on are under vpa_sriov::lock.
 */
struct vpa_vf {
	struct kobject kobj;
	struct vpa_adapter *ad;
	u16 index;
	u16 scid;
	const struct vpa_vf_type_def *def;
	u16 rid;
	u32 nr[VPA_RES_NR];
	int state;
	u32 nsid;
};

/**
 * struct vpa_sriov - the SR-IOV back end of one adapter
 * @nv:		the primary controller's admin queue
 * @caps:	Primary Controller Capabilities as read after step 7
 * @cntlid:	the primary's controller id
 * @vq_released: flexible queue resources the primary held at probe
 * @vi_released: flexible interrupt resources the primary held at probe
 * @secondaries: secondary controllers of this primary the device lists
 * @own_reset:	the probe is resetting the function (step 7)
 * @intx_off:	INTx was disabled before the probe (restored at remove)
 * @slots:	VF numbers that may have a group: below the lower of
 *		TotalVFs and VPA_SRIOV_MAX_VFS
 * @scid:	the secondary controller of VF n (VFN n + 1), if @has_sc
 * @has_sc:	VF n has a secondary controller (found by the probe)
 * @lock:	serialises the groups: @num_vfs and every vpa_vf's state;
 *		taken by sysfs, sriov_configure and reset_done
 * @num_vfs:	VFs enabled by vpa_sriov_configure()
 * @types_dir:	vpa_sriov_types/
 * @types:	its subdirectories (NULL for a type the device cannot fit)
 * @vfs_dir:	vpa_vfs/
 * @vf:		its subdirectories, one per VF number with a secondary
 */
struct vpa_sriov {
	struct vpa_nvme nv;
	struct vpa_nvme_caps caps;
	u16 cntlid;
	u16 vq_released;
	u16 vi_released;
	u32 secondaries;
	bool own_reset;
	bool intx_off;
	u16 slots;
	u16 scid[VPA_SRIOV_MAX_VFS];
	DECLARE_BITMAP(has_sc, VPA_SRIOV_MAX_VFS);
	struct mutex lock;		/* groups, num_vfs */
	u16 num_vfs;
	struct kobject *types_dir;
	struct vpa_vf_type *types[VPA_VF_NR_TYPES];
	struct kobject *vfs_dir;
	struct vpa_vf *vf[VPA_SRIOV_MAX_VFS];
};

/* An NVMe function with SR-IOV: the SR-IOV back end's. */
bool vpa_sriov_match(struct pci_dev *pdev)
{
	return pdev->class == PCI_CLASS_STORAGE_EXPRESS &&
	       pci_sriov_get_totalvfs(pdev) > 0;
}

static int vpa_sriov_step(struct pci_dev *pdev, u32 step)
{
	if (READ_ONCE(vpa_sriov_fail_step) != step)
		return 0;
	dev_info(&pdev->dev, "probe: failure injected at step %u\n", step);
	return -ECANCELED;
}

/*
 * The primary's capabilities, as the device answered, against what vpa
 * can use: both resource types, granularity 1, room for one VF at least,
 * counts that add up (allocated to the primary and assigned to
 * secondaries within the total). Return: 0, -ENODEV (unsupported) or -EIO
 * (inconsistent).
 */
static int vpa_sriov_check(struct pci_dev *pdev, const struct vpa_sriov *sr)
{
	const struct vpa_nvme_caps *c = &sr->caps;

	if (c->cntlid != sr->cntlid) {
		dev_err(&pdev->dev, "capabilities of controller %u, not of %u\n",
			c->cntlid, sr->cntlid);
		return -EIO;
	}
	if ((c->crt & 3) != 3 || !c->vqfrt || !c->vifrt) {
		dev_err(&pdev->dev, "no flexible queues and interrupts (CRT %#x, VQFRT %u, VIFRT %u)\n",
			c->crt, c->vqfrt, c->vifrt);
		return -ENODEV;
	}
	if (c->vqgran != 1 || c->vigran != 1) {
		dev_err(&pdev->dev, "granularity VQ %u, VI %u: only 1 is supported\n",
			c->vqgran, c->vigran);
		return -ENODEV;
	}
	if (c->vqfrsm < VPA_SRIOV_VF_MIN_VQ || c->vifrsm < VPA_SRIOV_VF_MIN_VI) {
		dev_err(&pdev->dev, "a secondary may get %u VQ and %u VI: a VF needs %u and %u\n",
			c->vqfrsm, c->vifrsm, VPA_SRIOV_VF_MIN_VQ,
			VPA_SRIOV_VF_MIN_VI);
		return -ENODEV;
	}
	if ((u64)c->vqrfap + c->vqrfa > c->vqfrt ||
	    (u64)c->virfap + c->virfa > c->vifrt) {
		dev_err(&pdev->dev, "inconsistent capabilities: VQ %u+%u of %u, VI %u+%u of %u\n",
			c->vqrfap, c->vqrfa, c->vqfrt, c->virfap, c->virfa,
			c->vifrt);
		return -EIO;
	}
	return 0;
}

/* Step 6: Identify the controller and its primary capabilities. */
static int vpa_sriov_identify(struct pci_dev *pdev, struct vpa_sriov *sr)
{
	u16 oacs;
	int ret;

	ret = vpa_nvme_identify_ctrl(&sr->nv, &sr->cntlid, &oacs);
	if (ret)
		return ret;
	if (!(oacs & VPA_NVME_OACS_VMS)) {
		dev_err(&pdev->dev, "no Virtualization Management (OACS %#x)\n",
			oacs);
		return -ENODEV;
	}
	ret = vpa_nvme_primary_caps(&sr->nv, sr->cntlid, &sr->caps);
	return ret ? ret : vpa_sriov_check(pdev, sr);
}

/*
 * Step 7: the primary gives back its flexible resources. A primary
 * flexible allocation applies at the next function reset (QEMU's model
 * applies it at no controller reset; a device may do so at either), so
 * an allocation of 0 is always recorded: one an earlier owner left
 * pending would otherwise take resources back at some later reset that
 * vpa counts as free. No VF exists, so the reset takes none away.
 */
static int vpa_sriov_release(struct pci_dev *pdev, struct vpa_sriov *sr)
{
	u16 vq = sr->caps.vqrfap, vi = sr->caps.virfap;
	int ret;

	ret = vpa_nvme_virt_mgmt(&sr->nv, sr->cntlid, VPA_NVME_ACT_PRI_FLEX,
				 VPA_NVME_RT_VQ, 0);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, sr->cntlid,
					 VPA_NVME_ACT_PRI_FLEX,
					 VPA_NVME_RT_VI, 0);
	if (ret || (!vq && !vi))
		return ret;
	sr->own_reset = true;
	ret = pci_reset_function_locked(pdev);
	sr->own_reset = false;
	if (ret) {
		dev_err(&pdev->dev, "function reset failed: %d\n", ret);
		return ret;
	}
	ret = vpa_nvme_enable(&sr->nv);
	if (!ret)
		ret = vpa_nvme_primary_caps(&sr->nv, sr->cntlid, &sr->caps);
	if (!ret)
		ret = vpa_sriov_check(pdev, sr);
	if (ret)
		return ret;
	if (sr->caps.vqrfap || sr->caps.virfap) {
		dev_err(&pdev->dev, "the primary still holds %u VQ and %u VI after a function reset\n",
			sr->caps.vqrfap, sr->caps.virfap);
		return -EIO;
	}
	sr->vq_released = vq;
	sr->vi_released = vi;
	dev_info(&pdev->dev, "the primary gave back %u flexible VQ and %u VI\n",
		 vq, vi);
	return 0;
}

/* Take secondary @s offline with nothing assigned. */
static int vpa_sriov_empty(struct vpa_sriov *sr, const struct vpa_nvme_sec *s)
{
	int ret = 0;

	if (s->scs & 1)
		ret = vpa_nvme_virt_mgmt(&sr->nv, s->scid,
					 VPA_NVME_ACT_SEC_OFFLINE, 0, 0);
	if (!ret && s->nvq)
		ret = vpa_nvme_virt_mgmt(&sr->nv, s->scid,
					 VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VQ,
					 0);
	if (!ret && s->nvi)
		ret = vpa_nvme_virt_mgmt(&sr->nv, s->scid,
					 VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VI,
					 0);
	return ret;
}

/*
 * One pass over the Secondary Controller List, a page at a time (each
 * page starts at the id after the last one listed): with @fix, every
 * secondary of this primary that is online or holds resources is emptied
 * (what an earlier owner left); without, one found so is an error.
 * Counts this primary's secondaries into @n, and the ones emptied into
 * @fixed.
 */
static int vpa_sriov_sec_pass(struct pci_dev *pdev, struct vpa_sriov *sr,
			      struct vpa_nvme_sec *sec, bool fix, u32 *n,
			      u32 *fixed)
{
	unsigned int got, i, page;
	u32 first = 0;
	int ret;

	/* ids are 16 bits: 65536 / 127 pages at most */
	for (page = 0; page <= U16_MAX / VPA_NVME_SEC_MAX; page++) {
		ret = vpa_nvme_secondaries(&sr->nv, first, sec, &got);
		if (ret)
			return ret;
		for (i = 0; i < got; i++) {
			const struct vpa_nvme_sec *s = &sec[i];

			if (s->scid < first) {
				dev_err(&pdev->dev, "secondary list: id %u listed after %u\n",
					s->scid, first);
				return -EIO;
			}
			first = s->scid + 1;
			if (s->pcid != sr->cntlid)
				continue;
			(*n)++;
			if (s->vfn >= 1 && s->vfn <= VPA_SRIOV_MAX_VFS) {
				if (__test_and_set_bit(s->vfn - 1, sr->has_sc)) {
					dev_err(&pdev->dev, "secondary list: VF %u listed twice\n",
						s->vfn);
					return -EIO;
				}
				sr->scid[s->vfn - 1] = s->scid;
			}
			if (!(s->scs & 1) && !s->nvq && !s->nvi)
				continue;
			if (!fix) {
				dev_err(&pdev->dev, "secondary %u still %s with %u VQ, %u VI\n",
					s->scid, s->scs & 1 ? "online" : "offline",
					s->nvq, s->nvi);
				return -EIO;
			}
			dev_dbg(&pdev->dev, "secondary %u (VF %u) was %s with %u VQ, %u VI\n",
				s->scid, s->vfn, s->scs & 1 ? "online" : "offline",
				s->nvq, s->nvi);
			ret = vpa_sriov_empty(sr, s);
			if (ret)
				return ret;
			(*fixed)++;
		}
		if (got < VPA_NVME_SEC_MAX || first > U16_MAX)
			return 0;
	}
	dev_err(&pdev->dev, "secondary list does not end\n");
	return -EIO;
}

/*
 * Step 8: every secondary controller of this primary offline, with no
 * resources assigned (what an earlier owner left), checked by reading
 * the list again; then the primary's capabilities, read again, must show
 * no flexible resource assigned to any secondary (one the list missed
 * included) or allocated to the primary.
 */
static int vpa_sriov_offline(struct pci_dev *pdev, struct vpa_sriov *sr)
{
	const struct vpa_nvme_caps *c = &sr->caps;
	struct vpa_nvme_sec *sec;
	u32 n, fixed = 0;
	int ret;

	sec = kcalloc(VPA_NVME_SEC_MAX, sizeof(*sec), GFP_KERNEL);
	if (!sec)
		return -ENOMEM;
	n = 0;
	bitmap_zero(sr->has_sc, VPA_SRIOV_MAX_VFS);
	ret = vpa_sriov_sec_pass(pdev, sr, sec, true, &n, &fixed);
	if (!ret && fixed) {
		n = 0;
		bitmap_zero(sr->has_sc, VPA_SRIOV_MAX_VFS);
		ret = vpa_sriov_sec_pass(pdev, sr, sec, false, &n, &fixed);
	}
	kfree(sec);
	if (ret)
		return ret;
	sr->secondaries = n;
	if (fixed)
		dev_info(&pdev->dev, "took back %u secondaries an earlier owner left online or with resources\n",
			 fixed);
	ret = vpa_nvme_primary_caps(&sr->nv, sr->cntlid, &sr->caps);
	if (!ret)
		ret = vpa_sriov_check(pdev, sr);
	if (!ret && (c->vqrfa || c->virfa || c->vqrfap || c->virfap)) {
		dev_err(&pdev->dev, "flexible resources still in use: VQ %u assigned, %u allocated; VI %u assigned, %u allocated\n",
			c->vqrfa, c->vqrfap, c->virfa, c->virfap);
		ret = -EIO;
	}
	return ret;
}

/* A total the device reported, bounded by what the core can hold. */
static u32 vpa_sriov_total(struct pci_dev *pdev, const char *what, u32 n)
{
	if (n <= VPA_CORE_MAX_ITEMS)
		return n;
	dev_warn(&pdev->dev, "%u flexible %s: vpa uses %u\n", n, what,
		 VPA_CORE_MAX_ITEMS);
	return VPA_CORE_MAX_ITEMS;
}

/* Step 9: the adapter's core: flexible VQ as work queues, VI as vectors. */
static int vpa_sriov_start(struct vpa_adapter *ad)
{
	const struct vpa_nvme_caps *c = &ad->sriov->caps;
	struct vpa_shape shape = { };
	struct pci_dev *pdev = ad->pdev;

	shape.total[VPA_RES_WQ] = vpa_sriov_total(pdev, "VQ", c->vqfrt);
	shape.total[VPA_RES_VEC] = vpa_sriov_total(pdev, "VI", c->vifrt);
	shape.group_max[VPA_RES_WQ] = min_t(u32, c->vqfrsm,
					    shape.total[VPA_RES_WQ]);
	shape.group_max[VPA_RES_VEC] = min_t(u32, c->vifrsm,
					     shape.total[VPA_RES_VEC]);
	shape.group_min[VPA_RES_WQ] = VPA_SRIOV_VF_MIN_VQ;
	shape.group_min[VPA_RES_VEC] = VPA_SRIOV_VF_MIN_VI;
	return vpa_adapter_start(ad, &shape, pci_dev_id(pdev));
}

/*
 * vpa_nvme/: what the probe found, one value each (the attribute's number
 * says which).
 */
enum vpa_sriov_field {
	VPA_SR_CNTLID, VPA_SR_VQ_FLEX, VPA_SR_VI_FLEX, VPA_SR_VQ_MAX,
	VPA_SR_VI_MAX, VPA_SR_VQ_PRIV, VPA_SR_VI_PRIV, VPA_SR_VQ_REL,
	VPA_SR_VI_REL, VPA_SR_SEC, VPA_SR_NR
};

static const char * const vpa_sriov_names[VPA_SR_NR] = {
	[VPA_SR_CNTLID] = "cntlid",
	[VPA_SR_VQ_FLEX] = "vq_flexible",
	[VPA_SR_VI_FLEX] = "vi_flexible",
	[VPA_SR_VQ_MAX] = "vq_max_per_vf",
	[VPA_SR_VI_MAX] = "vi_max_per_vf",
	[VPA_SR_VQ_PRIV] = "vq_private",
	[VPA_SR_VI_PRIV] = "vi_private",
	[VPA_SR_VQ_REL] = "vq_released",
	[VPA_SR_VI_REL] = "vi_released",
	[VPA_SR_SEC] = "secondaries",
};

static ssize_t vpa_sriov_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	const struct vpa_adapter *ad = dev_get_drvdata(dev);
	const struct vpa_sriov *sr = ad->sriov;
	const struct vpa_nvme_caps *c = &sr->caps;
	u32 v;

	switch (vpa_attr_num(attr)) {
	case VPA_SR_CNTLID:
		v = sr->cntlid;
		break;
	case VPA_SR_VQ_FLEX:
		v = c->vqfrt;
		break;
	case VPA_SR_VI_FLEX:
		v = c->vifrt;
		break;
	case VPA_SR_VQ_MAX:
		v = c->vqfrsm;
		break;
	case VPA_SR_VI_MAX:
		v = c->vifrsm;
		break;
	case VPA_SR_VQ_PRIV:
		v = c->vqprt;
		break;
	case VPA_SR_VI_PRIV:
		v = c->viprt;
		break;
	case VPA_SR_VQ_REL:
		v = sr->vq_released;
		break;
	case VPA_SR_VI_REL:
		v = sr->vi_released;
		break;
	default:
		v = sr->secondaries;
		break;
	}
	return sysfs_emit(buf, "%u\n", v);
}

static const struct device_attribute vpa_sriov_tmpl =
	__ATTR(sriov, 0444, vpa_sriov_show, NULL);
static struct dev_ext_attribute vpa_sriov_attrs[VPA_SR_NR];
static struct attribute *vpa_sriov_list[VPA_SR_NR + 1];

static const struct attribute_group vpa_sriov_group = {
	.name = "vpa_nvme",
	.attrs = vpa_sriov_list,
};

/* Build vpa_nvme/'s attributes; at module init, before any probe. */
void vpa_sriov_sysfs_init(void)
{
	*vpa_attrs_fill(vpa_sriov_list, vpa_sriov_attrs, &vpa_sriov_tmpl,
			vpa_sriov_names, VPA_SR_NR, 0) = NULL;
}

/* VF groups */

/* VF @n of @pdev with a reference (pci_dev_put()), or NULL. */
static struct pci_dev *vpa_sriov_vf_get(struct pci_dev *pdev, unsigned int n)
{
	struct pci_dev *vf = NULL;

	/* a VF has its PF's vendor id */
	while ((vf = pci_get_device(pdev->vendor, PCI_ANY_ID, vf)))
		if (vf->is_virtfn && vf->physfn == pdev &&
		    pci_iov_vf_id(vf) == n)
			return vf;
	return NULL;
}

/* The test hook's failure for step @step of vpa_vf_online(), or 0. */
static int vpa_vf_inject(u32 step)
{
	return READ_ONCE(vpa_sriov_group_fail) == step ? -ECANCELED : 0;
}

/*
 * Give group @vf's resources to its secondary controller and bring it
 * online: ACT 8 for VQ and VI, ACT 9. On failure what was assigned is
 * taken back (ACT 8 with 0, in reverse); if that fails too the state is
 * VPA_VF_ERROR (the device may hold resources the core still counts as
 * the group's), else VPA_VF_OFFLINE. Caller holds sr->lock.
 */
static int vpa_vf_online(struct vpa_sriov *sr, struct vpa_vf *vf)
{
	u16 vq = vf->nr[VPA_RES_WQ], vi = vf->nr[VPA_RES_VEC];
	bool stuck = false;
	int ret;

	lockdep_assert_held(&sr->lock);
	ret = vpa_vf_inject(1);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VQ, vq);
	if (ret)
		goto out;
	ret = vpa_vf_inject(2);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VI, vi);
	if (ret)
		goto undo_vq;
	ret = vpa_vf_inject(3);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
					 VPA_NVME_ACT_SEC_ONLINE, 0, 0);
	if (ret)
		goto undo_vi;
	vf->state = VPA_VF_ONLINE;
	return 0;

undo_vi:
	stuck |= vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
				    VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VI,
				    0) != 0;
undo_vq:
	stuck |= vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
				    VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VQ,
				    0) != 0;
out:
	vf->state = stuck ? VPA_VF_ERROR : VPA_VF_OFFLINE;
	dev_info_ratelimited(vf->ad->dev, "VF %u (secondary %u) not online with %u VQ, %u VI: %d%s\n",
			     vf->index, vf->scid, vq, vi, ret,
			     stuck ? ", its resources not taken back" : "");
	return ret;
}

/*
 * Take @vf's secondary offline (ACT 7) with nothing assigned (ACT 8 with
 * 0: QEMU's offline clears the assignment itself, the specification does
 * not say so). State VPA_VF_OFFLINE, or VPA_VF_ERROR if a command failed.
 * Caller holds sr->lock.
 */
static int vpa_vf_offline(struct vpa_sriov *sr, struct vpa_vf *vf)
{
	int ret;

	lockdep_assert_held(&sr->lock);
	ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid, VPA_NVME_ACT_SEC_OFFLINE,
				 0, 0);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VQ, 0);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vf->scid,
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VI, 0);
	vf->state = ret ? VPA_VF_ERROR : VPA_VF_OFFLINE;
	if (ret)
		dev_warn_ratelimited(vf->ad->dev, "VF %u (secondary %u) not taken offline: %d\n",
				     vf->index, vf->scid, ret);
	return ret;
}

/* Give @vf's group back to the core. Caller holds sr->lock. */
static void vpa_vf_free(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	lockdep_assert_held(&ad->sriov->lock);
	mutex_lock(&ad->lock);
	vpa_core_free(ad->core, vf->index);
	mutex_unlock(&ad->lock);
	vf->def = NULL;
	vf->rid = 0;
	memset(vf->nr, 0, sizeof(vf->nr));
	vf->state = VPA_VF_NONE;
}

/*
 * Create a group of type @def for VF @n: the core's resources, the VF's
 * routing id, ACT 8 and ACT 9. Return: 0, -EINVAL (no such VF number),
 * -EEXIST (it has a group), -ENODEV (the VF is not enabled), -ENOSPC (the
 * adapter cannot meet the type now), -EIO (the device refused; nothing
 * is left unless taking it back failed too: state "error").
 */
static int vpa_vf_create(struct vpa_adapter *ad,
			 const struct vpa_vf_type_def *def, u32 n)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *vfdev;
	struct vpa_vf *vf;
	u16 rid;
	int ret;

	lockdep_assert_held(&sr->lock);
	if (n >= sr->slots || !sr->vf[n])
		return -EINVAL;
	vf = sr->vf[n];
	if (vf->def)
		return -EEXIST;
	if (n >= sr->num_vfs)
		return -ENODEV;
	vfdev = vpa_sriov_vf_get(ad->pdev, n);
	if (!vfdev)
		return -ENODEV;
	rid = pci_dev_id(vfdev);
	pci_dev_put(vfdev);

	mutex_lock(&ad->lock);
	ret = vpa_core_alloc_at(ad->core, &def->req, n, rid);
	if (ret >= 0) {
		vf->nr[VPA_RES_WQ] = vpa_core_count(ad->core, n, VPA_RES_WQ);
		vf->nr[VPA_RES_VEC] = vpa_core_count(ad->core, n,
						     VPA_RES_VEC);
	}
	mutex_unlock(&ad->lock);
	if (ret < 0)
		return ret;
	vf->def = def;
	vf->rid = rid;
	ret = vpa_vf_online(sr, vf);
	if (ret && vf->state != VPA_VF_ERROR)
		vpa_vf_free(ad, vf);
	if (!ret)
		dev_info(ad->dev, "VF %u: group %s, rid %04x, secondary %u online with %u VQ, %u VI\n",
			 n, def->name, rid, vf->scid, vf->nr[VPA_RES_WQ],
			 vf->nr[VPA_RES_VEC]);
	return ret;
}

/*
 * Destroy @vf's group: its namespace detached, its secondary offline with
 * nothing assigned (unless it is so already), its resources back to the
 * core. A failed command leaves the group (its state "error" if the
 * secondary's is unknown): destroy again. Return: 0, -ENOENT (no group)
 * or the command's error.
 */
static int vpa_vf_destroy(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_sriov *sr = ad->sriov;
	int ret;

	lockdep_assert_held(&sr->lock);
	if (!vf->def)
		return -ENOENT;
	if (vf->nsid) {
		ret = vpa_nvme_ns_attach(&sr->nv, vf->nsid, vf->scid, false);
		if (ret)
			return ret;
		vf->nsid = 0;
	}
	if (vf->state != VPA_VF_OFFLINE) {
		ret = vpa_vf_offline(sr, vf);
		if (ret)
			return ret;
	}
	vpa_vf_free(ad, vf);
	dev_info(ad->dev, "VF %u: group destroyed\n", vf->index);
	return 0;
}

/*
 * Refuse to disable VFs that are in use: one bound to a driver (unbind
 * it first: taking its secondary offline would pull the queues from
 * under that driver) or assigned. The driver check is advisory: a bind
 * racing the disable is the administrator's own.
 */
static int vpa_sriov_vfs_busy(struct vpa_adapter *ad)
{
	struct pci_dev *pdev = ad->pdev, *vf;
	unsigned int i;

	if (pci_vfs_assigned(pdev)) {
		dev_info_ratelimited(ad->dev, "VFs assigned: not disabled\n");
		return -EBUSY;
	}
	for (i = 0; i < ad->sriov->num_vfs; i++) {
		vf = vpa_sriov_vf_get(pdev, i);
		if (!vf)
			continue;
		if (pci_dev_driver(vf)) {
			dev_info_ratelimited(ad->dev, "VF %u (%s) is bound to a driver: unbind it before disabling the VFs\n",
					     i, pci_name(vf));
			pci_dev_put(vf);
			return -EBUSY;
		}
		pci_dev_put(vf);
	}
	return 0;
}

/*
 * pci_enable_sriov() and pci_disable_sriov() run without vpa_sriov::lock:
 * adding and removing the VFs creates and drains their sysfs files, whose
 * lockdep classes the PF's own files share, and the PF's "reset" takes
 * vpa_sriov::lock (reset_done) inside its file's callback. The device
 * lock the PCI core holds around sriov_configure (and remove) keeps
 * enables and disables apart; @num_vfs is 0 whenever VFs may be missing,
 * so no group is made for a VF that is coming or going.
 */

/* Disable the VFs: every secondary offline first. */
static int vpa_sriov_disable(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, failed = 0;
	int ret;

	mutex_lock(&sr->lock);
	ret = vpa_sriov_vfs_busy(ad);
	if (ret) {
		mutex_unlock(&sr->lock);
		return ret;
	}
	sr->num_vfs = 0;
	for (i = 0; i < sr->slots; i++) {
		struct vpa_vf *vf = sr->vf[i];

		if (vf && vf->def && vf->state != VPA_VF_OFFLINE &&
		    vpa_vf_offline(sr, vf))
			failed++;
	}
	mutex_unlock(&sr->lock);
	pci_disable_sriov(ad->pdev);
	if (failed)
		dev_warn(ad->dev, "VFs disabled; %u groups in state error (destroy them)\n",
			 failed);
	return 0;
}

/*
 * Enable @n VFs and bring every group of a VF below @n online (one in
 * state error is taken offline first). The group's requester id must
 * still be its VF's routing id (First VF Offset and VF Stride may change
 * with NumVFs). All or nothing: on failure the groups brought online are
 * taken offline again and the VFs disabled. Return: @n or -errno.
 */
static int vpa_sriov_enable(struct vpa_adapter *ad, int n)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *vfdev;
	struct vpa_vf *vf;
	unsigned int i, j, on = 0;
	int ret;

	ret = pci_enable_sriov(ad->pdev, n);
	if (ret) {
		dev_info_ratelimited(ad->dev, "%d VFs not enabled: %d\n", n,
				     ret);
		return ret;
	}
	mutex_lock(&sr->lock);
	for (i = 0; i < min_t(unsigned int, n, sr->slots); i++) {
		vf = sr->vf[i];
		if (!vf || !vf->def)
			continue;
		vfdev = vpa_sriov_vf_get(ad->pdev, i);
		if (!vfdev || pci_dev_id(vfdev) != vf->rid) {
			dev_info_ratelimited(ad->dev, "VF %u: routing id %04x, its group's requester id %04x: VFs not enabled\n",
					     i, vfdev ? pci_dev_id(vfdev) : 0,
					     vf->rid);
			pci_dev_put(vfdev);
			ret = -EIO;
			goto undo;
		}
		pci_dev_put(vfdev);
		if (vf->state == VPA_VF_ERROR) {
			ret = vpa_vf_offline(sr, vf);
			if (ret)
				goto undo;
		}
		ret = vpa_vf_online(sr, vf);
		if (ret)
			goto undo;
		on++;
	}
	sr->num_vfs = n;
	mutex_unlock(&sr->lock);
	dev_info(ad->dev, "%d VFs enabled, %u groups online\n", n, on);
	return n;

undo:
	for (j = 0; j < i; j++) {
		vf = sr->vf[j];
		if (vf && vf->def && vf->state == VPA_VF_ONLINE)
			vpa_vf_offline(sr, vf);
	}
	mutex_unlock(&sr->lock);
	pci_disable_sriov(ad->pdev);
	return ret;
}

/**
 * vpa_sriov_configure - sriov_configure of an SR-IOV adapter
 * @ad:		the adapter
 * @n:		VFs to enable, 0 to disable them
 *
 * Called by the PCI core (sysfs sriov_numvfs) with the device lock held;
 * it asks for an enable only with no VF enabled, and for a disable only
 * with some.
 *
 * Return: @n, 0, or -errno (-EBUSY: a VF is in use).
 */
int vpa_sriov_configure(struct vpa_adapter *ad, int n)
{
	device_lock_assert(&ad->pdev->dev);
	return n ? vpa_sriov_enable(ad, n) : vpa_sriov_disable(ad);
}

/*
 * vpa_sriov_types/<type>/: create (write a VF number), available_instances
 * and description.
 */
static struct vpa_vf_type *vpa_vf_type_of(struct kobject *kobj)
{
	return container_of(kobj, struct vpa_vf_type, kobj);
}

static ssize_t vpa_vf_create_store(struct kobject *kobj,
				   struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	struct vpa_vf_type *t = vpa_vf_type_of(kobj);
	struct vpa_sriov *sr = t->ad->sriov;
	u32 n = U32_MAX;
	int ret;

	ret = kstrtou32(buf, 10, &n) ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		ret = vpa_vf_create(t->ad, t->def, n);
		mutex_unlock(&sr->lock);
	}
	if (ret)
		dev_info_ratelimited(t->ad->dev, "create %s for VF %d refused: %d\n",
				     t->def->name, n == U32_MAX ? -1 : (int)n,
				     ret);
	return ret ? ret : count;
}

/*
 * Exact, as for the mdev types: the core's count for the type, bounded by
 * the enabled VFs without a group (a group needs its VF).
 */
static ssize_t vpa_vf_avail_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct vpa_vf_type *t = vpa_vf_type_of(kobj);
	struct vpa_adapter *ad = t->ad;
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, idle = 0, n;

	mutex_lock(&sr->lock);
	for (i = 0; i < min(sr->num_vfs, sr->slots); i++)
		idle += sr->vf[i] && !sr->vf[i]->def;
	mutex_lock(&ad->lock);
	n = vpa_core_available(ad->core, &t->def->req);
	mutex_unlock(&ad->lock);
	mutex_unlock(&sr->lock);
	return sysfs_emit(buf, "%u\n", min(n, idle));
}

static ssize_t vpa_vf_desc_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", vpa_vf_type_of(kobj)->def->desc);
}

static struct kobj_attribute vpa_vf_type_create =
	__ATTR(create, 0200, NULL, vpa_vf_create_store);
static struct kobj_attribute vpa_vf_type_avail =
	__ATTR(available_instances, 0444, vpa_vf_avail_show, NULL);
static struct kobj_attribute vpa_vf_type_desc =
	__ATTR(description, 0444, vpa_vf_desc_show, NULL);

static struct attribute *vpa_vf_type_attrs[] = {
	&vpa_vf_type_create.attr,
	&vpa_vf_type_avail.attr,
	&vpa_vf_type_desc.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vpa_vf_type);

static void vpa_vf_type_release(struct kobject *kobj)
{
	kfree(vpa_vf_type_of(kobj));
}

static const struct kobj_type vpa_vf_type_ktype = {
	.release = vpa_vf_type_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vpa_vf_type_groups,
};

/*
 * vpa_vfs/<n>/: one VF number that has a secondary. Read under
 * vpa_sriov::lock: type, rid, state, nr_wq, nr_vec, scid, ns; write: ns
 * (a namespace id to attach, 0 to detach), destroy (1).
 */
static struct vpa_vf *vpa_vf_of(struct kobject *kobj)
{
	return container_of(kobj, struct vpa_vf, kobj);
}

enum vpa_vf_field {
	VPA_VFF_TYPE, VPA_VFF_RID, VPA_VFF_STATE, VPA_VFF_NR_WQ,
	VPA_VFF_NR_VEC, VPA_VFF_SCID, VPA_VFF_NS,
};

static ssize_t vpa_vf_field_show(struct vpa_vf *vf, enum vpa_vf_field f,
				 char *buf)
{
	struct vpa_sriov *sr = vf->ad->sriov;
	ssize_t ret;

	mutex_lock(&sr->lock);
	switch (f) {
	case VPA_VFF_TYPE:
		ret = sysfs_emit(buf, "%s\n", vf->def ? vf->def->name : "none");
		break;
	case VPA_VFF_RID:
		ret = vf->def ? sysfs_emit(buf, "%04x\n", vf->rid) :
				sysfs_emit(buf, "none\n");
		break;
	case VPA_VFF_STATE:
		ret = sysfs_emit(buf, "%s\n", vpa_vf_state_names[vf->state]);
		break;
	case VPA_VFF_NR_WQ:
		ret = sysfs_emit(buf, "%u\n", vf->nr[VPA_RES_WQ]);
		break;
	case VPA_VFF_NR_VEC:
		ret = sysfs_emit(buf, "%u\n", vf->nr[VPA_RES_VEC]);
		break;
	case VPA_VFF_SCID:
		ret = sysfs_emit(buf, "%u\n", vf->scid);
		break;
	default:
		ret = sysfs_emit(buf, "%u\n", vf->nsid);
		break;
	}
	mutex_unlock(&sr->lock);
	return ret;
}

#define VPA_VF_SHOW(name, field)					\
static ssize_t vpa_vf_##name##_show(struct kobject *kobj,		\
				    struct kobj_attribute *attr,	\
				    char *buf)				\
{									\
	return vpa_vf_field_show(vpa_vf_of(kobj), field, buf);		\
}

VPA_VF_SHOW(type, VPA_VFF_TYPE)
VPA_VF_SHOW(rid, VPA_VFF_RID)
VPA_VF_SHOW(state, VPA_VFF_STATE)
VPA_VF_SHOW(nr_wq, VPA_VFF_NR_WQ)
VPA_VF_SHOW(nr_vec, VPA_VFF_NR_VEC)
VPA_VF_SHOW(scid, VPA_VFF_SCID)
VPA_VF_SHOW(ns, VPA_VFF_NS)

/*
 * Attach namespace @nsid to @vf's secondary, or detach the one attached
 * (0). Return: 0, -ENOENT (no group), -EINVAL (NVME_NSID_ALL), -EBUSY
 * (the VF has one, or another VF has this one), or the command's error.
 */
static int vpa_vf_set_ns(struct vpa_adapter *ad, struct vpa_vf *vf, u32 nsid)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i;
	int ret;

	lockdep_assert_held(&sr->lock);
	if (!vf->def)
		return -ENOENT;
	if (nsid == NVME_NSID_ALL)
		return -EINVAL;
	if (!nsid) {
		if (!vf->nsid)
			return 0;
		ret = vpa_nvme_ns_attach(&sr->nv, vf->nsid, vf->scid, false);
		if (!ret)
			vf->nsid = 0;
		return ret;
	}
	if (vf->nsid)
		return -EBUSY;
	for (i = 0; i < sr->slots; i++)
		if (sr->vf[i] && sr->vf[i]->nsid == nsid)
			return -EBUSY;
	ret = vpa_nvme_ns_attach(&sr->nv, nsid, vf->scid, true);
	if (!ret)
		vf->nsid = nsid;
	return ret;
}

static ssize_t vpa_vf_ns_store(struct kobject *kobj,
			       struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	struct vpa_sriov *sr = vf->ad->sriov;
	u32 nsid;
	int ret;

	ret = kstrtou32(buf, 0, &nsid) ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		ret = vpa_vf_set_ns(vf->ad, vf, nsid);
		mutex_unlock(&sr->lock);
	}
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: namespace change refused: %d\n",
				     vf->index, ret);
	return ret ? ret : count;
}

static ssize_t vpa_vf_destroy_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	struct vpa_sriov *sr = vf->ad->sriov;
	bool yes;
	int ret;

	ret = kstrtobool(buf, &yes) || !yes ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		ret = vpa_vf_destroy(vf->ad, vf);
		mutex_unlock(&sr->lock);
	}
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: destroy refused: %d\n",
				     vf->index, ret);
	return ret ? ret : count;
}

#define VPA_VF_ATTR_RO(name)						\
static struct kobj_attribute vpa_vf_attr_##name =			\
	__ATTR(name, 0444, vpa_vf_##name##_show, NULL)

VPA_VF_ATTR_RO(type);
VPA_VF_ATTR_RO(rid);
VPA_VF_ATTR_RO(state);
VPA_VF_ATTR_RO(nr_wq);
VPA_VF_ATTR_RO(nr_vec);
VPA_VF_ATTR_RO(scid);
static struct kobj_attribute vpa_vf_attr_ns =
	__ATTR(ns, 0644, vpa_vf_ns_show, vpa_vf_ns_store);
static struct kobj_attribute vpa_vf_attr_destroy =
	__ATTR(destroy, 0200, NULL, vpa_vf_destroy_store);

static struct attribute *vpa_vf_attrs[] = {
	&vpa_vf_attr_type.attr,
	&vpa_vf_attr_rid.attr,
	&vpa_vf_attr_state.attr,
	&vpa_vf_attr_nr_wq.attr,
	&vpa_vf_attr_nr_vec.attr,
	&vpa_vf_attr_scid.attr,
	&vpa_vf_attr_ns.attr,
	&vpa_vf_attr_destroy.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vpa_vf);

static void vpa_vf_release(struct kobject *kobj)
{
	kfree(vpa_vf_of(kobj));
}

static const struct kobj_type vpa_vf_ktype = {
	.release = vpa_vf_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vpa_vf_groups,
};

/*
 * Take the groups' and types' directories out of sysfs: this waits for
 * their files' callbacks, and none starts after. Their memory stays until
 * vpa_sriov_sysfs_put().
 */
static void vpa_sriov_sysfs_del(struct vpa_sriov *sr)
{
	unsigned int i;

	for (i = 0; i < VPA_VF_NR_TYPES; i++)
		if (sr->types[i])
			kobject_del(&sr->types[i]->kobj);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++)
		if (sr->vf[i])
			kobject_del(&sr->vf[i]->kobj);
	if (sr->types_dir)
		kobject_del(sr->types_dir);
	if (sr->vfs_dir)
		kobject_del(sr->vfs_dir);
}

/* Free what vpa_sriov_sysfs_add() made, after vpa_sriov_sysfs_del(). */
static void vpa_sriov_sysfs_put(struct vpa_sriov *sr)
{
	unsigned int i;

	for (i = 0; i < VPA_VF_NR_TYPES; i++) {
		if (sr->types[i])
			kobject_put(&sr->types[i]->kobj);
		sr->types[i] = NULL;
	}
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		if (sr->vf[i])
			kobject_put(&sr->vf[i]->kobj);
		sr->vf[i] = NULL;
	}
	kobject_put(sr->types_dir);
	kobject_put(sr->vfs_dir);
	sr->types_dir = NULL;
	sr->vfs_dir = NULL;
}

/*
 * vpa_sriov_types/ with the types the device can meet (a type asking for
 * more than a secondary may get, say, is left out), and vpa_vfs/ with one
 * directory per VF number that has a secondary.
 */
static int vpa_sriov_sysfs_add(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	struct kobject *parent = &ad->pdev->dev.kobj;
	struct vpa_vf_type *t;
	struct vpa_vf *vf;
	unsigned int i;
	int ret = -ENOMEM;

	sr->types_dir = kobject_create_and_add("vpa_sriov_types", parent);
	sr->vfs_dir = kobject_create_and_add("vpa_vfs", parent);
	if (!sr->types_dir || !sr->vfs_dir)
		goto err;
	for (i = 0; i < VPA_VF_NR_TYPES; i++) {
		if (vpa_core_req_check(ad->core, &vpa_vf_type_defs[i].req)) {
			dev_info(ad->dev, "type %s does not fit the device: not offered\n",
				 vpa_vf_type_defs[i].name);
			continue;
		}
		t = kzalloc(sizeof(*t), GFP_KERNEL);
		if (!t) {
			ret = -ENOMEM;
			goto err;
		}
		t->ad = ad;
		t->def = &vpa_vf_type_defs[i];
		sr->types[i] = t;
		ret = kobject_init_and_add(&t->kobj, &vpa_vf_type_ktype,
					   sr->types_dir, "%s", t->def->name);
		if (ret)
			goto err;
	}
	for (i = 0; i < sr->slots; i++) {
		if (!test_bit(i, sr->has_sc))
			continue;
		vf = kzalloc(sizeof(*vf), GFP_KERNEL);
		if (!vf) {
			ret = -ENOMEM;
			goto err;
		}
		vf->ad = ad;
		vf->index = i;
		vf->scid = sr->scid[i];
		vf->state = VPA_VF_NONE;
		sr->vf[i] = vf;
		ret = kobject_init_and_add(&vf->kobj, &vpa_vf_ktype,
					   sr->vfs_dir, "%u", i);
		if (ret)
			goto err;
	}
	return 0;

err:
	vpa_sriov_sysfs_del(sr);
	vpa_sriov_sysfs_put(sr);
	return ret;
}

/*
 * Unbind: VFs disabled (their drivers unbound first, by the PCI core),
 * then every group's secondary offline with nothing assigned and its
 * namespace detached, and every group freed. Failures are logged: the
 * device is left as it is.
 */
static void vpa_sriov_groups_fini(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i;

	mutex_lock(&sr->lock);
	sr->num_vfs = 0;
	mutex_unlock(&sr->lock);
	/* without vpa_sriov::lock: see vpa_sriov_enable() */
	if (pci_num_vf(ad->pdev))
		pci_disable_sriov(ad->pdev);
	mutex_lock(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		struct vpa_vf *vf = sr->vf[i];

		if (!vf || !vf->def)
			continue;
		if (vf->nsid &&
		    !vpa_nvme_ns_attach(&sr->nv, vf->nsid, vf->scid, false))
			vf->nsid = 0;
		if (vf->state != VPA_VF_OFFLINE)
			vpa_vf_offline(sr, vf);
		if (vf->nsid)
			dev_warn(ad->dev, "VF %u: namespace %u left attached to secondary %u\n",
				 i, vf->nsid, vf->scid);
		vpa_vf_free(ad, vf);
	}
	mutex_unlock(&sr->lock);
}

/* debugfs vpa/<pf>/: what the device says now, through vpa's admin queue */

/* secondaries: this primary's, one "SCID SCS VFN NVQ NVI" line each */
static int vpa_sriov_sec_show(struct seq_file *m, void *unused)
{
	struct vpa_adapter *ad = m->private;
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_nvme_sec *sec;
	unsigned int got, i, page;
	u32 first = 0;
	int ret = 0;

	sec = kcalloc(VPA_NVME_SEC_MAX, sizeof(*sec), GFP_KERNEL);
	if (!sec)
		return -ENOMEM;
	for (page = 0; page <= U16_MAX / VPA_NVME_SEC_MAX; page++) {
		ret = vpa_nvme_secondaries(&sr->nv, first, sec, &got);
		if (ret)
			break;
		for (i = 0; i < got; i++) {
			if (sec[i].scid < first) {
				ret = -EIO;
				goto out;
			}
			first = sec[i].scid + 1;
			if (sec[i].pcid == sr->cntlid)
				seq_printf(m, "%u %u %u %u %u\n", sec[i].scid,
					   sec[i].scs & 1, sec[i].vfn,
					   sec[i].nvq, sec[i].nvi);
		}
		if (got < VPA_NVME_SEC_MAX || first > U16_MAX)
			break;
	}
out:
	kfree(sec);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(vpa_sriov_sec);

/* primary: "VQRFA VIRFA VQRFAP VIRFAP" of Identify 0x14 */
static int vpa_sriov_pri_show(struct seq_file *m, void *unused)
{
	struct vpa_adapter *ad = m->private;
	struct vpa_nvme_caps c;
	int ret;

	ret = vpa_nvme_primary_caps(&ad->sriov->nv, ad->sriov->cntlid, &c);
	if (!ret)
		seq_printf(m, "%u %u %u %u\n", c.vqrfa, c.virfa, c.vqrfap,
			   c.virfap);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(vpa_sriov_pri);

/* The adapter's debugfs files (vpa_main.c made its directory). */
void vpa_sriov_debugfs_init(struct vpa_adapter *ad)
{
	debugfs_create_file("secondaries", 0400, ad->debugfs, ad,
			    &vpa_sriov_sec_fops);
	debugfs_create_file("primary", 0400, ad->debugfs, ad,
			    &vpa_sriov_pri_fops);
}

/**
 * vpa_sriov_probe - make an NVMe function with SR-IOV an adapter
 * @pdev:	the function (vpa_sriov_match()); its device lock is held
 *
 * Return: 0, -EBUSY if it has VFs enabled, -ENODEV for a controller vpa
 * cannot use, -ECANCELED for a failure injected by the test hook, or the
 * error of the step that failed. Nothing is left behind on failure, but
 * the device keeps what steps 7 and 8 changed.
 */
int vpa_sriov_probe(struct pci_dev *pdev)
{
	struct vpa_adapter *ad;
	struct vpa_sriov *sr;
	int ret;
	u16 cmd;

	if (pci_num_vf(pdev)) {
		dev_err(&pdev->dev, "%d VFs enabled: disable them before giving the function to vpa\n",
			pci_num_vf(pdev));
		return -EBUSY;
	}
	ad = vpa_adapter_alloc(VPA_MAX_SW + pci_dev_id(pdev), VPA_KIND_SRIOV);
	if (!ad)
		return -ENOMEM;
	sr = kzalloc(sizeof(*sr), GFP_KERNEL);
	if (!sr) {
		ret = -ENOMEM;
		goto err_adapter;
	}
	ad->sriov = sr;
	ad->dev = &pdev->dev;
	ad->pdev = pdev;
	mutex_init(&sr->lock);
	sr->slots = min(pci_sriov_get_totalvfs(pdev), VPA_SRIOV_MAX_VFS);

	ret = vpa_sriov_step(pdev, 1);
	if (!ret)
		ret = pci_enable_device_mem(pdev);
	if (ret) {
		dev_err_probe(&pdev->dev, ret, "cannot enable the function\n");
		goto err_sriov;
	}
	ret = vpa_sriov_step(pdev, 2);
	if (!ret)
		ret = pci_request_region(pdev, 0, KBUILD_MODNAME);
	if (ret) {
		dev_err_probe(&pdev->dev, ret, "cannot claim BAR0\n");
		goto err_disable;
	}
	ret = vpa_sriov_step(pdev, 3);
	if (!ret)
		ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err_probe(&pdev->dev, ret, "no 64-bit DMA\n");
		goto err_region;
	}
	ret = vpa_sriov_step(pdev, 4);
	if (!ret)
		ret = vpa_nvme_init(&sr->nv, pdev);
	if (ret)
		goto err_region;
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	sr->intx_off = cmd & PCI_COMMAND_INTX_DISABLE;
	pci_intx(pdev, 0);
	/* for reset_done, from step 7's reset on */
	pci_set_drvdata(pdev, ad);

	/*
	 * Bus mastering only once the controller is stopped: one an earlier
	 * owner left running could still post to that owner's freed queues.
	 */
	ret = vpa_sriov_step(pdev, 5);
	if (!ret)
		ret = vpa_nvme_disable(&sr->nv);
	if (!ret) {
		pci_set_master(pdev);
		ret = vpa_nvme_enable(&sr->nv);
	}
	if (!ret)
		ret = vpa_sriov_step(pdev, 6);
	if (!ret)
		ret = vpa_sriov_identify(pdev, sr);
	if (!ret)
		ret = vpa_sriov_step(pdev, 7);
	if (!ret)
		ret = vpa_sriov_release(pdev, sr);
	if (!ret)
		ret = vpa_sriov_step(pdev, 8);
	if (!ret)
		ret = vpa_sriov_offline(pdev, sr);
	if (!ret)
		ret = vpa_sriov_step(pdev, 9);
	if (!ret) {
		ret = vpa_sriov_start(ad);
		if (ret)
			dev_err(&pdev->dev, "adapter not started: %d\n", ret);
	}
	if (ret)
		goto err_ctrl;
	ret = vpa_sriov_step(pdev, 10);
	if (!ret)
		ret = device_add_group(&pdev->dev, &vpa_sriov_group);
	if (ret)
		goto err_stop;
	ret = vpa_sriov_sysfs_add(ad);
	if (ret)
		goto err_group;
	dev_info(&pdev->dev, "NVMe controller %u: %u flexible VQ (%u per VF at most), %u VI (%u per VF at most), %u secondaries\n",
		 sr->cntlid, sr->caps.vqfrt, sr->caps.vqfrsm, sr->caps.vifrt,
		 sr->caps.vifrsm, sr->secondaries);
	return 0;

err_group:
	device_remove_group(&pdev->dev, &vpa_sriov_group);
err_stop:
	vpa_adapter_stop(ad);
err_ctrl:
	/* the controller stops using the queues before they are freed */
	vpa_nvme_disable(&sr->nv);
	pci_set_drvdata(pdev, NULL);
	pci_clear_master(pdev);
	pci_intx(pdev, !sr->intx_off);
	vpa_nvme_destroy(&sr->nv);
err_region:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
err_sriov:
	mutex_destroy(&sr->lock);
	kfree(sr);
err_adapter:
	vpa_adapter_free(ad);
	return ret;
}

/* Undo vpa_sriov_probe(), in reverse. */
void vpa_sriov_remove(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);
	struct vpa_sriov *sr = ad->sriov;

	vpa_sriov_sysfs_del(sr);
	vpa_sriov_groups_fini(ad);
	vpa_sriov_sysfs_put(sr);
	device_remove_group(&pdev->dev, &vpa_sriov_group);
	vpa_adapter_stop(ad);
	vpa_nvme_disable(&sr->nv);
	pci_set_drvdata(pdev, NULL);
	pci_clear_master(pdev);
	pci_intx(pdev, !sr->intx_off);
	vpa_nvme_destroy(&sr->nv);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	mutex_destroy(&sr->lock);
	kfree(sr);
	vpa_adapter_free(ad);
}

/*
 * An uncorrectable error (AER). A non-fatal one leaves the link up: the
 * admin queue is idle between commands, so nothing needs recovering.
 * For a fatal one the SR-IOV back end has no recovery yet (plans/sriov.md,
 * step 7): the PCI core is told the function is lost, and since the bus
 * reset that follows restores nothing of ours, the controller's registers
 * are not touched again (an unbind disables nothing); unbinding and
 * binding again starts over.
 */
pci_ers_result_t vpa_sriov_error_detected(struct vpa_adapter *ad,
					  pci_channel_state_t state)
{
	if (state == pci_channel_io_normal) {
		dev_warn_ratelimited(ad->dev, "non-fatal error detected: the admin queue goes on\n");
		return PCI_ERS_RESULT_CAN_RECOVER;
	}
	vpa_nvme_lost(&ad->sriov->nv, true);
	dev_warn_ratelimited(ad->dev, "error detected (state %d): no recovery for an SR-IOV adapter yet, unbind and bind it again\n",
			     state);
	return PCI_ERS_RESULT_DISCONNECT;
}

/*
 * A function reset: the controller lost the admin queue, and every
 * secondary was taken offline with nothing assigned (a reset of the
 * primary does that; the VFs themselves stay enabled). The groups keep
 * their resources in the core, offline; they come back with the next
 * enable of the VFs once the admin queue is up again (not yet: step 7).
 */
void vpa_sriov_reset_done(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, lost = 0;

	vpa_nvme_lost(&sr->nv, false);
	if (sr->own_reset)
		return;
	mutex_lock(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		if (sr->vf[i] && sr->vf[i]->def &&
		    sr->vf[i]->state != VPA_VF_OFFLINE) {
			sr->vf[i]->state = VPA_VF_OFFLINE;
			lost++;
		}
	}
	mutex_unlock(&sr->lock);
	dev_warn_ratelimited(ad->dev, "function reset: admin queue down until the function is bound again, %u groups offline\n",
			     lost);
}
