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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/slab.h>

#include "vpa.h"
#include "vpa_nvme.h"

/*
 * Test hook (debugfs vpa/sriov_probe_fail): a probe step 1-10 that fails
 * with -ECANCELED, to exercise each error path; 0 (default): none.
 */
u32 vpa_sriov_fail_step;

/* What a VF's secondary controller needs: an admin and an I/O queue, a vector */
#define VPA_SRIOV_VF_MIN_VQ	2
#define VPA_SRIOV_VF_MIN_VI	1

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
	ret = vpa_sriov_sec_pass(pdev, sr, sec, true, &n, &fixed);
	if (!ret && fixed) {
		n = 0;
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
	dev_info(&pdev->dev, "NVMe controller %u: %u flexible VQ (%u per VF at most), %u VI (%u per VF at most), %u secondaries\n",
		 sr->cntlid, sr->caps.vqfrt, sr->caps.vqfrsm, sr->caps.vifrt,
		 sr->caps.vifrsm, sr->secondaries);
	return 0;

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

	device_remove_group(&pdev->dev, &vpa_sriov_group);
	vpa_adapter_stop(ad);
	vpa_nvme_disable(&sr->nv);
	pci_set_drvdata(pdev, NULL);
	pci_clear_master(pdev);
	pci_intx(pdev, !sr->intx_off);
	vpa_nvme_destroy(&sr->nv);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
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

/* A function reset: the controller lost the admin queue. */
void vpa_sriov_reset_done(struct vpa_adapter *ad)
{
	vpa_nvme_lost(&ad->sriov->nv, false);
	if (!ad->sriov->own_reset)
		dev_warn_ratelimited(ad->dev, "function reset: admin queue down until the function is bound again\n");
}
