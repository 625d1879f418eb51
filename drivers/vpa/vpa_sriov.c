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
 * exists and never change while it exists: they are read without a lock;
 * but for its state (up, down, dead), which reset and error recovery
 * change, read as a snapshot.
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
 * Namespaces (the review's H1): attachments live in the device and
 * outlive vpa, a reset and any earlier owner. The sweep
 * (vpa_sriov_ns_sweep()) detaches every namespace the device lists from
 * every secondary that has it without its group having asked for it
 * through vpa_vfs/<n>/ns; it runs at probe, at every enable of the VFs,
 * before every bring-up of a new group's secondary (not when a resize or
 * give brings the same group online again: its tenant is the same), and
 * at unbind. Only a private
 * namespace attached to no other controller is given to a VF; also after
 * a restart when one is due (a destroy while down, an attach whose
 * outcome is unknown). The sweep protects tenants from what vpa and
 * earlier owners did, not from each other: a VF's user sends admin
 * commands to its own secondary, and a device that accepts Namespace
 * Attachment from a secondary (QEMU's does) lets that user attach any
 * namespace (Documentation/design/vpa.rst).
 *
 * Locking (outer first):
 *   device lock of the PF (probe, remove, sriov_configure, reset_done,
 *   error_detected), and in a bus or slot reset the device locks of the
 *   VFs as well (the PCI core takes them all before reset_prepare and
 *   holds them across reset_done)
 *     -> vpa_sriov::lock (every group's state, the enabled VF count)
 *       -> vpa_nvme::lock (one admin command)
 *       -> vpa_adapter::lock (the core)
 * A VF's device lock is taken under vpa_sriov::lock only with
 * device_trylock() (vpa_vf_lock(): -EBUSY when held), never waited for:
 * the order above has it outside vpa_sriov::lock. A resize, give or
 * destroy waits for it (vpa_vf_parts_lock()) before it takes
 * vpa_sriov::lock again, holding no lock of vpa: in that order.
 * reset_prepare takes vpa_nvme::lock alone, after telling a command that
 * waits to stop (vpa_nvme_lost()), so that it never waits for long.
 * VFs are added and removed (pci_enable_sriov(), pci_disable_sriov())
 * under the device lock only, never under vpa_sriov::lock: see
 * vpa_sriov_enable().
 * The sysfs files of the groups and types take vpa_sriov::lock, never the
 * device lock: remove, under the device lock, deletes their directories
 * first, which waits for the files' callbacks to return (a change waiting
 * for an owner stops waiting first: vpa_sriov::gone).
 * vpa_vf::evt_lock (a spinlock) is innermost: the acknowledgment (ack)
 * takes it alone, and a change waits for it with no lock held.
 * event is notified under vpa_sriov::lock with sysfs_notify_dirent() on
 * a node vpa holds (vpa_vf::event_kn): kernfs_notify() takes only its
 * own spinlock and the pollers' wait queue, no kernfs_rwsem (the review
 * s26's L7).
 *
 * The owner protocol (plans/sriov.md, step 6): resize (nr_wq, nr_vec),
 * give (give_to, give_wq, give_vec) and destroy of a group whose VF is
 * online and open through vfio-pci (its user, a VMM, is the owner) ask
 * the owner first, as vpa_change() asks an mdev's guest: the request is
 * numbered, vpa_vfs/<n>/event reads its number and is notified (poll()
 * on it wakes), event_kind and event_nr_* say what comes; the owner
 * quiesces and writes the number to ack. vpa waits at most
 * ack_timeout_ms, without vpa_sriov::lock (other groups change
 * meanwhile), then goes on: acked or forced, every change of an online
 * secondary takes it offline (ACT 7, ACT 8 of 0) and brings it online
 * again with the new counts (ACT 8, ACT 9; a destroy leaves it offline),
 * which resets the VF: an owner that did not let go finds its queues gone
 * (its commands are never completed, CSTS.RDY 0). event reads 0 again
 * when the change is over; state and nr_* then say what the VF has. A VF
 * with no driver, or vfio-pci with no user, is changed at once; one with
 * another driver (a host driver, which knows no owner protocol) is
 * refused EBUSY, as create, ns and sriov_numvfs 0 refuse it. Before the
 * commands, with the VF's device lock held, the VF must still have the
 * driver and user the owner check saw (else EAGAIN, nothing changed): no
 * driver is reset without having been asked (the review s26's M3, M4).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
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
 * online whose command is sent for a controller id no controller has
 * (VPA_SRIOV_BAD_CNTLID), so that the device fails it and the undo runs:
 * 1 the VQ assignment, 2 the VI assignment, 3 the online; 0 (default):
 * none.
 */
u32 vpa_sriov_group_fail;

/*
 * Test hook (debugfs vpa/sriov_undo_fail): the next N commands that take
 * a secondary offline or take its resources back (an undo, a destroy, a
 * disable) are sent the same way and fail, leaving the group in state
 * "error"; counts down under vpa_sriov::lock.
 */
u32 vpa_sriov_undo_fail;

/*
 * Test hook (debugfs vpa/sriov_restart_fail): the next N restarts of the
 * admin queue after a function reset fail (-ECANCELED, the controller
 * left as the reset left it), so that the adapter stays down.
 */
u32 vpa_sriov_restart_fail;

/* A controller id reserved by the specification: no controller has it. */
#define VPA_SRIOV_BAD_CNTLID	0xffff

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
 * @busy:	a resize, give or destroy of the group runs (it may be
 *		waiting for an owner): another change of it is refused
 * @give_to:	the VF give_wq and give_vec move resources to, -1: none
 * @rec:	the owner protocol's counters (vpa_recovery/), written under
 *		vpa_sriov::lock, read without it (one value a file)
 * @evt_lock:	protects the request, @evt_seq to @ack_time
 * @evt_seq:	number of the last request, 0 before the first
 * @evt_open:	a request is out: event reads @evt_seq until the change is
 *		done (vpa_vf_done())
 * @asking:	its acknowledgment is awaited
 * @evt_kind:	enum vpa_vf_evt
 * @evt_nr:	the counts the group has after the change (wq, vec)
 * @asked:	when the request went out
 * @ack_time:	when the acknowledgment came
 * @ack_wait:	woken by an acknowledgment and by unbind
 * @aer:	the group is in an error recovery: it was online when the
 *		error came, and is brought online again after the reset
 *		(plans/sriov.md, step 7); a change or a destroy through its
 *		owner is refused (EBUSY) until the recovery ends
 * @aer_asked:	the recovery's request went to its owner, or the recovery
 *		took over the request of a change that ended while the group
 *		was in it (vpa_vf_parts_end()): the recovery ends it
 *		(vpa_vf_done()), even if the group was destroyed meanwhile
 * @aer_seq:	that request's number: it is ended only if event still has
 *		it (a new group on the VF may have a request of its own)
 * @last_resume_us: time from the error to the end of the last recovery
 *		that brought the group online again, -1 if none
 * @event_kn:	event's kernfs node, referenced from vpa_sriov_sysfs_add()
 *		to vpa_sriov_sysfs_put(): a notify of another VF's event (a
 *		give) may run while unbind removes its directory, and a
 *		removed node stays valid while referenced (the review s26's
 *		M1); kernfs_notify() takes no kernfs_rwsem
 *
 * Fields from @def to @rec, @aer to @last_resume_us are under
 * vpa_sriov::lock.
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
	bool busy;
	int give_to;
	struct vpa_recov_stats rec;
	spinlock_t evt_lock;		/* evt_seq ... ack_time */
	u32 evt_seq;
	bool evt_open;
	bool asking;
	int evt_kind;
	u32 evt_nr[VPA_RES_NR];
	ktime_t asked;
	ktime_t ack_time;
	wait_queue_head_t ack_wait;
	bool aer;
	bool aer_asked;
	u32 aer_seq;
	s64 last_resume_us;
	struct kernfs_node *event_kn;
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
 * @lock:	serialises the groups: @num_vfs, @down, @ns_detached and
 *		every vpa_vf's state; taken by sysfs, sriov_configure,
 *		reset_done and error_detected
 * @num_vfs:	VFs enabled by vpa_sriov_configure()
 * @down:	the admin queue is down: from reset_prepare to a restart that
 *		worked, for good after a fatal error (@dead). Set without
 *		@lock by reset_prepare (so that it waits for nothing), read
 *		with READ_ONCE() by the sysfs files, cleared under @lock
 * @dead:	a fatal error: the function is lost until it is bound again
 * @ns_ok:	the device lists namespaces and the controllers attached to
 *		each (Identify CNS 0x10, 0x11, 0x12): without, no namespace
 *		is given to a VF; set by the probe
 * @ns_detached: namespaces the sweeps found attached to a secondary
 *		without vpa, and detached (debugfs namespaces)
 * @sweep:	a namespace may be attached to a secondary without vpa
 *		having it as a group's (an attach whose outcome is unknown,
 *		a destroy with the admin queue down): the next restart
 *		sweeps every secondary (every bring-up of a new group
 *		sweeps its own anyway); cleared by a sweep of every secondary that worked
 * @types_dir:	vpa_sriov_types/
 * @types:	its subdirectories (NULL for a type the device cannot fit)
 * @vfs_dir:	vpa_vfs/
 * @vf:		its subdirectories, one per VF number with a secondary
 * @gone:	unbind has begun: a change waiting for an owner stops
 *		waiting and is refused (written once, read with READ_ONCE())
 * @aer_start:	when the error recovery under way began (under @lock)
 * @iov_pos:	the SR-IOV capability's offset
 * @iov_saved:	@iov_* below hold what vpa_sriov_enable() set up: the
 *		error recovery restores it if a reset dropped VF Enable
 *		(written under the device lock)
 * @iov_ctrl:	SR-IOV Control after the enable
 * @iov_numvfs:	NumVFs after the enable
 * @iov_pgsz:	System Page Size after the enable
 * @iov_bar:	the VF BARs after the enable
 * @iov_restored: error recoveries that found VF Enable or NumVFs lost and
 *		restored them (debugfs primary)
 * @aer_giveup:	the PCI core will not finish the recovery under way (a VF
 *		without error_detected): recov_work does (under recov_lock)
 * @aer_unrestored: a recovery of a frozen link was abandoned while the
 *		PCI core held the PF: the next slot_reset or resume restores
 *		it (under recov_lock)
 * @aer_burst_start: jiffies: start of the window errors are counted in
 * @aer_burst:	errors in that window (both under recov_lock)
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
	struct mutex lock;		/* groups, num_vfs, down */
	u16 num_vfs;
	bool down;
	bool dead;
	bool ns_ok;
	u32 ns_detached;
	bool sweep;
	struct kobject *types_dir;
	struct vpa_vf_type *types[VPA_VF_NR_TYPES];
	struct kobject *vfs_dir;
	struct vpa_vf *vf[VPA_SRIOV_MAX_VFS];
	bool gone;
	ktime_t aer_start;
	u16 iov_pos;
	bool iov_saved;
	u16 iov_ctrl;
	u16 iov_numvfs;
	u32 iov_pgsz;
	u32 iov_bar[PCI_SRIOV_NUM_BARS];
	u32 iov_restored;
	bool aer_giveup;
	bool aer_unrestored;
	unsigned long aer_burst_start;
	unsigned int aer_burst;
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
			/*
			 * the sweep detaches from a secondary and the test
			 * hooks use 0xffff: neither may name the primary, a
			 * reserved id (FFF0h-FFFFh) or a VF that cannot be
			 */
			if (s->scid == sr->cntlid || s->scid >= 0xfff0 ||
			    s->vfn > pci_sriov_get_totalvfs(pdev)) {
				dev_err(&pdev->dev, "secondary list: controller id %u (VF %u) of primary %u is not a secondary's\n",
					s->scid, s->vfn, sr->cntlid);
				return -EIO;
			}
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
	VPA_SR_VI_REL, VPA_SR_SEC, VPA_SR_STATE, VPA_SR_NR
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
	[VPA_SR_STATE] = "state",
};

static ssize_t vpa_sriov_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	const struct vpa_adapter *ad = dev_get_drvdata(dev);
	const struct vpa_sriov *sr = ad->sriov;
	const struct vpa_nvme_caps *c = &sr->caps;
	u32 v;

	switch (vpa_attr_num(attr)) {
	case VPA_SR_STATE:
		/* (changes: reset, error recovery; a snapshot) */
		return sysfs_emit(buf, "%s\n", READ_ONCE(sr->dead) ? "dead" :
				  READ_ONCE(sr->down) ? "down" : "up");
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

/* The controller id step @step of vpa_vf_online() sends to (test hook). */
static u16 vpa_vf_cntlid(const struct vpa_vf *vf, u32 step)
{
	return READ_ONCE(vpa_sriov_group_fail) == step ? VPA_SRIOV_BAD_CNTLID :
							 vf->scid;
}

/*
 * The controller id a command taking @vf's secondary offline or its
 * resources back is sent to (test hook vpa_sriov_undo_fail). Caller holds
 * vpa_sriov::lock, which serialises the count down.
 */
static u16 vpa_vf_undo_cntlid(const struct vpa_vf *vf)
{
	u32 n = READ_ONCE(vpa_sriov_undo_fail);

	lockdep_assert_held(&vf->ad->sriov->lock);
	if (!n)
		return vf->scid;
	WRITE_ONCE(vpa_sriov_undo_fail, n - 1);
	return VPA_SRIOV_BAD_CNTLID;
}

/*
 * After commands sent for a sysfs write, an enable or a disable (the
 * review's M2): a command that timed out, or a completion that was lost
 * or not the command's, took the admin queue down outside a reset
 * (vpa_nvme.c). The adapter is then down (vpa_nvme/state "down",
 * available_instances 0, create refused, destroy without commands) until
 * a function reset whose restart works: write 1 to the PF's reset. Until
 * then the device keeps whatever it had; the reset takes every secondary
 * back. Caller holds sr->lock.
 */
static void vpa_sriov_check_live(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;

	lockdep_assert_held(&sr->lock);
	if (READ_ONCE(sr->down) || vpa_nvme_live(&sr->nv))
		return;
	WRITE_ONCE(sr->down, true);
	dev_warn_ratelimited(ad->dev, "admin queue down after a command failed: adapter down until a function reset (write 1 to the PF's reset)\n");
}

/* An errno of the admin queue as the sysfs files return it. */
static int vpa_sriov_uerr(int ret)
{
	switch (ret) {
	case -EREMOTEIO:	/* the device refused */
	case -ENOLINK:		/* the admin queue is down */
		return -EIO;
	case -ENXIO:		/* no such controller now */
		return -ENODEV;
	}
	return ret;
}

/* The VF whose secondary controller is @cntlid, or -1. */
static int vpa_sriov_vf_of_scid(const struct vpa_sriov *sr, u16 cntlid)
{
	unsigned int i;

	for (i = 0; i < sr->slots; i++)
		if (test_bit(i, sr->has_sc) && sr->scid[i] == cntlid)
			return i;
	return -1;
}

/*
 * The namespace sweep (the review's H1: namespace attachments outlive
 * vpa, a PF reset and any earlier owner). Namespace @nsid, as the device
 * lists it, is detached from every secondary controller of this primary
 * (from VF @only's alone if @only >= 0) that has it without its group
 * having it through vpa_vfs/<n>/ns. Controllers that are not this
 * primary's secondaries (the primary, another primary's) are not touched.
 * A detach answered "Controller List Invalid" (no such controller now) is
 * left to the next sweep, which every bring-up of a secondary runs first.
 */
static int vpa_sriov_ns_sweep_one(struct vpa_adapter *ad, u32 nsid, int only,
				  u16 *ctrls)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, n;
	u16 first = 0;
	struct vpa_vf *vf;
	int ret, v;

	for (;;) {
		ret = vpa_nvme_ns_ctrls(&sr->nv, nsid, first, ctrls, &n);
		if (ret)
			return ret;
		for (i = 0; i < n; i++) {
			v = vpa_sriov_vf_of_scid(sr, ctrls[i]);
			if (v < 0 || (only >= 0 && v != only))
				continue;
			vf = sr->vf[v];
			if (vf && vf->def && vf->nsid == nsid)
				continue;
			ret = vpa_nvme_ns_attach(&sr->nv, nsid, ctrls[i], false);
			if (ret == -ENXIO) {
				dev_info_ratelimited(ad->dev, "namespace %u on VF %u's secondary %u: controller absent, left to the next sweep\n",
						     nsid, v, ctrls[i]);
				continue;
			}
			if (ret)
				return ret;
			sr->ns_detached++;
			dev_warn_ratelimited(ad->dev, "namespace %u was attached to VF %u's secondary %u without vpa: detached\n",
					     nsid, v, ctrls[i]);
		}
		if (n < VPA_NVME_CTRL_LIST_MAX || ctrls[n - 1] == U16_MAX)
			return 0;
		first = ctrls[n - 1] + 1;
	}
}

/*
 * Sweep every namespace the device lists (Identify CNS 0x10, a page at a
 * time), for every secondary or for VF @only's. Caller holds
 * vpa_sriov::lock, or is the probe. Return: 0, -EOPNOTSUPP (the device
 * does not list them), or a command's error.
 */
static int vpa_sriov_ns_sweep(struct vpa_adapter *ad, int only)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, n;
	u32 after = 0, *ids;
	u16 *ctrls;
	int ret = -ENOMEM;

	ids = kmalloc_array(VPA_NVME_NS_LIST_MAX, sizeof(*ids), GFP_KERNEL);
	ctrls = kmalloc_array(VPA_NVME_CTRL_LIST_MAX, sizeof(*ctrls),
			      GFP_KERNEL);
	if (!ids || !ctrls)
		goto out;
	for (;;) {
		ret = vpa_nvme_ns_list(&sr->nv, after, ids, &n);
		for (i = 0; !ret && i < n; i++)
			ret = vpa_sriov_ns_sweep_one(ad, ids[i], only, ctrls);
		if (ret || n < VPA_NVME_NS_LIST_MAX)
			break;
		after = ids[n - 1];
	}
out:
	kfree(ctrls);
	kfree(ids);
	if (ret)
		dev_warn_ratelimited(ad->dev, "namespace sweep failed: %d\n",
				     ret);
	else if (only < 0)
		sr->sweep = false;
	return ret;
}

/**
 * struct vpa_ns_users - the controllers a namespace is attached to
 * @primary:	this primary
 * @vf:		VF @vf's secondary (the one asked about)
 * @others:	any other controller
 */
struct vpa_ns_users {
	bool primary;
	bool vf;
	bool others;
};

/* Who has namespace @nsid, as the device lists it (CNS 0x12). */
static int vpa_sriov_ns_users(struct vpa_sriov *sr, u32 nsid,
			      const struct vpa_vf *vf, struct vpa_ns_users *u)
{
	unsigned int i, n;
	u16 first = 0, *ctrls;
	int ret;

	memset(u, 0, sizeof(*u));
	ctrls = kmalloc_array(VPA_NVME_CTRL_LIST_MAX, sizeof(*ctrls),
			      GFP_KERNEL);
	if (!ctrls)
		return -ENOMEM;
	for (;;) {
		ret = vpa_nvme_ns_ctrls(&sr->nv, nsid, first, ctrls, &n);
		if (ret)
			break;
		for (i = 0; i < n; i++) {
			if (ctrls[i] == sr->cntlid)
				u->primary = true;
			else if (ctrls[i] == vf->scid)
				u->vf = true;
			else
				u->others = true;
		}
		if (n < VPA_NVME_CTRL_LIST_MAX || ctrls[n - 1] == U16_MAX)
			break;
		first = ctrls[n - 1] + 1;
	}
	kfree(ctrls);
	return ret;
}

/*
 * A command vpa_vf_online() sent that failed: was it refused (nothing
 * changed), or is its outcome unknown (a timeout, a lost completion)?
 */
static bool vpa_vf_unknown(int ret)
{
	return ret && ret != -EREMOTEIO && ret != -ENOLINK;
}

/*
 * Give group @vf's resources to its secondary controller and bring it
 * online: with @sweep, first the namespace sweep of its secondary (none
 * but the group's own may be attached when it comes online); then ACT 8
 * for VQ and VI, ACT 9. On failure what was assigned is taken back (ACT 8
 * with 0, in reverse); if that fails too, or a command's outcome is
 * unknown (a timed-out ACT 8 may have been applied), the state is
 * VPA_VF_ERROR (the device may hold resources the core still counts as
 * the group's), else VPA_VF_OFFLINE. Caller holds sr->lock.
 */
static int vpa_vf_online(struct vpa_sriov *sr, struct vpa_vf *vf, bool sweep)
{
	u16 vq = vf->nr[VPA_RES_WQ], vi = vf->nr[VPA_RES_VEC];
	bool stuck = false;
	int ret = 0;

	lockdep_assert_held(&sr->lock);
	if (sweep && sr->ns_ok)
		ret = vpa_sriov_ns_sweep(vf->ad, vf->index);
	if (ret)
		goto out;
	ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_cntlid(vf, 1),
				 VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VQ, vq);
	if (ret)
		goto undo_vq;
	ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_cntlid(vf, 2),
				 VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VI, vi);
	if (ret)
		goto undo_vi;
	ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_cntlid(vf, 3),
				 VPA_NVME_ACT_SEC_ONLINE, 0, 0);
	if (ret)
		goto undo_online;
	vf->state = VPA_VF_ONLINE;
	return 0;

undo_online:
	/* an online that may have happened is undone by the offline */
	if (vpa_vf_unknown(ret))
		stuck |= vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
					    VPA_NVME_ACT_SEC_OFFLINE, 0, 0) != 0;
	stuck |= vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
				    VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VI,
				    0) != 0;
	goto undo_vq_taken;
undo_vi:
	/* a timed-out assignment may have been applied: take it back too */
	if (vpa_vf_unknown(ret))
		stuck |= vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
					    VPA_NVME_ACT_SEC_ASSIGN,
					    VPA_NVME_RT_VI, 0) != 0;
undo_vq_taken:
	stuck |= vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
				    VPA_NVME_ACT_SEC_ASSIGN, VPA_NVME_RT_VQ,
				    0) != 0;
	goto out;
undo_vq:
	if (vpa_vf_unknown(ret))
		stuck |= vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
					    VPA_NVME_ACT_SEC_ASSIGN,
					    VPA_NVME_RT_VQ, 0) != 0;
out:
	/*
	 * Unknown stays unknown even when the undo worked: the device
	 * answered nothing about the command that failed. A reset that
	 * came meanwhile (@down) took every secondary back itself.
	 */
	stuck |= vpa_vf_unknown(ret);
	if (READ_ONCE(sr->down))
		stuck = false;
	vf->state = stuck ? VPA_VF_ERROR : VPA_VF_OFFLINE;
	dev_info_ratelimited(vf->ad->dev, "VF %u (secondary %u) not online with %u VQ, %u VI: %d%s\n",
			     vf->index, vf->scid, vq, vi, ret,
			     stuck ? ", its resources not taken back: state error" : "");
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
	ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
				 VPA_NVME_ACT_SEC_OFFLINE, 0, 0);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VQ, 0);
	if (!ret)
		ret = vpa_nvme_virt_mgmt(&sr->nv, vpa_vf_undo_cntlid(vf),
					 VPA_NVME_ACT_SEC_ASSIGN,
					 VPA_NVME_RT_VI, 0);
	vf->state = ret ? VPA_VF_ERROR : VPA_VF_OFFLINE;
	if (ret)
		dev_warn_ratelimited(vf->ad->dev, "VF %u (secondary %u) not taken offline: %d\n",
				     vf->index, vf->scid, ret);
	return ret;
}

/*
 * Give @vf's group back to the core; no VF gives to it any more (the
 * review s26's L2: a later group of its VF may be another tenant's).
 * Caller holds sr->lock.
 */
static void vpa_vf_free(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i;

	lockdep_assert_held(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++)
		if (sr->vf[i] && sr->vf[i]->give_to == vf->index)
			sr->vf[i]->give_to = -1;
	mutex_lock(&ad->lock);
	vpa_core_free(ad->core, vf->index);
	mutex_unlock(&ad->lock);
	vf->def = NULL;
	vf->rid = 0;
	memset(vf->nr, 0, sizeof(vf->nr));
	vf->state = VPA_VF_NONE;
	vf->nsid = 0;
	vf->give_to = -1;
	vf->aer = false;	/* (not aer_asked: the recovery ends the request) */
}

/*
 * Lock VF @vfdev (number @index) against drivers: its device lock held,
 * no driver bound. The device lock is only tried, never waited for (the
 * second review's H1): a bus or slot reset (reset_subordinate, a vfio hot
 * reset) holds every VF's device lock while reset_done takes
 * vpa_sriov::lock, and an unbind from vfio-pci holds it for as long as a
 * guest keeps the device. Returns NULL with the lock held, or why not
 * (nothing held). Caller holds vpa_sriov::lock.
 */
static const char *vpa_vf_lock(struct vpa_adapter *ad, struct pci_dev *vfdev)
{
	const char *drv;

	lockdep_assert_held(&ad->sriov->lock);
	if (!device_trylock(&vfdev->dev))
		return "busy (a bind, unbind or reset of it is under way)";
	if (!vfdev->dev.driver)
		return NULL;
	drv = vfdev->dev.driver->name;
	device_unlock(&vfdev->dev);
	return drv;
}

/*
 * The review's M1: a VF bound to a driver (vfio-pci with a guest, nvme)
 * is in use, and taking its secondary offline, resetting it (ACT 9 resets
 * the VF) or changing its namespace would pull the device from under that
 * driver, as sriov_numvfs 0 refuses to. Returns VF @index with its device
 * lock held (no driver binds until vpa_vf_unclaim()) and a reference,
 * NULL if the VF is not enabled, or ERR_PTR(-EBUSY): a driver is bound,
 * or its device lock is held (vpa_vf_lock()). Caller holds
 * vpa_sriov::lock.
 */
static struct pci_dev *vpa_vf_claim(struct vpa_adapter *ad, u16 index)
{
	struct pci_dev *vfdev;
	const char *why;

	lockdep_assert_held(&ad->sriov->lock);
	if (index >= ad->sriov->num_vfs)
		return NULL;
	vfdev = vpa_sriov_vf_get(ad->pdev, index);
	if (!vfdev)
		return NULL;
	why = vpa_vf_lock(ad, vfdev);
	if (why) {
		dev_info_ratelimited(ad->dev, "VF %u (%s) is in use: %s\n",
				     index, pci_name(vfdev), why);
		pci_dev_put(vfdev);
		return ERR_PTR(-EBUSY);
	}
	return vfdev;
}

static void vpa_vf_unclaim(struct pci_dev *vfdev)
{
	if (IS_ERR_OR_NULL(vfdev))
		return;
	device_unlock(&vfdev->dev);
	pci_dev_put(vfdev);
}

/*
 * Create a group of type @def for VF @n: the core's resources, the VF's
 * routing id, the sweep of its secondary, ACT 8 and ACT 9. Return: 0,
 * -EINVAL (no such VF number), -EEXIST (it has a group), -ENODEV (the VF
 * is not enabled), -EBUSY (a driver is bound to the VF, or its device
 * lock is held, or an error recovery runs), -ENOSPC (the adapter cannot meet the type now), -EIO
 * (the admin queue is down, or the device refused: nothing is left
 * unless taking it back failed too: state "error"), -ETIMEDOUT (no
 * answer: state "error").
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
	if (READ_ONCE(sr->down))
		return -EIO;
	/* its VF's request state may still be a recovery's (review s26 L1) */
	if (READ_ONCE(ad->aer_state) != VPA_AER_NORMAL)
		return -EBUSY;
	vfdev = vpa_vf_claim(ad, vf->index);
	if (IS_ERR(vfdev))
		return PTR_ERR(vfdev);
	if (!vfdev)
		return -ENODEV;
	rid = pci_dev_id(vfdev);

	mutex_lock(&ad->lock);
	ret = vpa_core_alloc_at(ad->core, &def->req, n, rid);
	if (ret >= 0) {
		vf->nr[VPA_RES_WQ] = vpa_core_count(ad->core, n, VPA_RES_WQ);
		vf->nr[VPA_RES_VEC] = vpa_core_count(ad->core, n,
						     VPA_RES_VEC);
	}
	mutex_unlock(&ad->lock);
	if (ret < 0)
		goto out;
	vf->def = def;
	vf->rid = rid;
	/* the counters describe this group (its VF's directory stays) */
	memset(&vf->rec, 0, sizeof(vf->rec));
	vf->rec.last_ack_us = -1;
	vf->last_resume_us = -1;
	ret = vpa_vf_online(sr, vf, true);
	if (ret && vf->state != VPA_VF_ERROR)
		vpa_vf_free(ad, vf);
	if (!ret)
		dev_info_ratelimited(ad->dev, "VF %u: group %s, rid %04x, secondary %u online with %u VQ, %u VI\n",
				     n, def->name, rid, vf->scid,
				     vf->nr[VPA_RES_WQ], vf->nr[VPA_RES_VEC]);
out:
	vpa_vf_unclaim(vfdev);
	return ret;
}

/*
 * Detach @vf's namespace, if it has one: done, or left to the next sweep
 * when its controller is absent now. Caller holds sr->lock.
 */
static int vpa_vf_ns_detach(struct vpa_sriov *sr, struct vpa_vf *vf)
{
	int ret;

	if (!vf->nsid)
		return 0;
	ret = vpa_nvme_ns_attach(&sr->nv, vf->nsid, vf->scid, false);
	if (ret == -ENXIO) {
		dev_info_ratelimited(vf->ad->dev, "VF %u: secondary %u absent, namespace %u left to the next sweep\n",
				     vf->index, vf->scid, vf->nsid);
		ret = 0;
	}
	if (!ret)
		vf->nsid = 0;
	return ret;
}

/*
 * Destroy @vf's group: its secondary offline with nothing assigned
 * (unless it is so already), then its namespace detached, then its
 * resources back to the core. A failed command leaves the group (its
 * state "error" if the secondary's is unknown): destroy again. With the
 * admin queue down (a reset or a fatal error took every secondary offline
 * with nothing assigned; after a timeout the next reset will) no command
 * is sent: the namespace is left to the sweep of the next restart or
 * bring-up. Its VF, if enabled, is held by the caller (vpa_vf_parts_lock()):
 * no driver or driver other than vfio-pci, whose owner was asked first
 * (step 6); the secondary goes offline under it. Return: 0, -ENOENT (no
 * group) or the command's error. Caller holds vpa_sriov::lock.
 */
static int vpa_vf_destroy(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_sriov *sr = ad->sriov;
	int ret = 0;

	lockdep_assert_held(&sr->lock);
	if (!vf->def)
		return -ENOENT;
	/* down: no command is sent */
	if (READ_ONCE(sr->down)) {
		dev_info_ratelimited(ad->dev, "VF %u: group destroyed with the admin queue down (namespace %u left to the next sweep)\n",
				     vf->index, vf->nsid);
		if (vf->nsid)
			sr->sweep = true;
		vpa_vf_free(ad, vf);
		return 0;
	}
	if (vf->state != VPA_VF_OFFLINE)
		ret = vpa_vf_offline(sr, vf);
	if (!ret)
		ret = vpa_vf_ns_detach(sr, vf);
	if (ret)
		return ret;
	vpa_vf_free(ad, vf);
	dev_info_ratelimited(ad->dev, "VF %u: group destroyed\n", vf->index);
	return 0;
}

/* The owner protocol (step 6): see the top of this file. */

/* What a request tells the owner of a VF (event_kind) */
enum vpa_vf_evt {
	VPA_VF_EVT_NONE,
	VPA_VF_EVT_RESIZE,	/* its counts change (nr_wq, nr_vec) */
	VPA_VF_EVT_GIVE,	/* it gives resources to another VF */
	VPA_VF_EVT_RECEIVE,	/* it receives resources from another VF */
	VPA_VF_EVT_DESTROY,	/* its group goes: offline for good */
	VPA_VF_EVT_ERROR,	/* an error recovery of the PF: reset, resume */
	VPA_VF_EVT_NR
};

static const char * const vpa_vf_evt_names[VPA_VF_EVT_NR] = {
	[VPA_VF_EVT_NONE] = "none",
	[VPA_VF_EVT_RESIZE] = "resize",
	[VPA_VF_EVT_GIVE] = "give",
	[VPA_VF_EVT_RECEIVE] = "receive",
	[VPA_VF_EVT_DESTROY] = "destroy",
	[VPA_VF_EVT_ERROR] = "error",
};

/**
 * struct vpa_vf_part - a group taking part in a change, and its VF
 * @vf:		the group (resized, giving, receiving or destroyed)
 * @dev:	its VF, referenced; NULL if it was not enabled
 * @drv:	the driver bound to @dev at the owner check: none or
 *		vfio-pci (another driver is refused, the review s26's M3)
 * @used:	vfio-pci had @dev open at the owner check: pci_is_enabled().
 *		vfio-pci enables the device at its first open
 *		(vfio_pci_core_enable()) and disables it at the last close
 *		(vfio_pci_core_disable()); its resets, config writes and
 *		bus mastering leave the enable count alone, and sysfs
 *		"enable" is refused while a driver is bound
 * @asked:	its owner was asked (vpa_vf_ask())
 * @acked:	... and acknowledged in time
 * @locked:	@dev's device lock is held
 *
 * The change goes on only if, with @dev's device lock held, its VF is
 * still @dev with @drv bound and no user that was not asked (the review
 * s26's M4: vpa_vf_parts_check()).
 */
struct vpa_vf_part {
	struct vpa_vf *vf;
	struct pci_dev *dev;
	struct device_driver *drv;
	bool used;
	bool asked;
	bool acked;
	bool locked;
};

/* vfio-pci: the one driver whose user (a VMM) can be the owner */
static bool vpa_vf_is_vfio(const struct device_driver *drv)
{
	return drv && !strcmp(drv->name, "vfio-pci");
}

/*
 * The owner check of @p's group: its VF, if enabled, and what drives it.
 * A driver other than vfio-pci (a host driver: nvme under a mounted
 * filesystem, say) knows no owner protocol: the change is refused, as
 * create, ns and sriov_numvfs 0 refuse it (the review s26's M3). Read
 * without the VF's device lock: vpa_vf_parts_check() reads it again under
 * it. Return: 0 or -EBUSY. Caller holds vpa_sriov::lock.
 */
static int vpa_vf_part_get(struct vpa_adapter *ad, struct vpa_vf_part *p)
{
	u16 index = p->vf->index;

	lockdep_assert_held(&ad->sriov->lock);
	if (index >= ad->sriov->num_vfs)
		return 0;
	p->dev = vpa_sriov_vf_get(ad->pdev, index);
	if (!p->dev)
		return 0;
	p->drv = READ_ONCE(p->dev->dev.driver);
	p->used = pci_is_enabled(p->dev);
	if (p->drv && !vpa_vf_is_vfio(p->drv)) {
		dev_info_ratelimited(ad->dev, "VF %u (%s) is bound to %s, which cannot be asked: unbind it first\n",
				     index, pci_name(p->dev), p->drv->name);
		return -EBUSY;
	}
	return 0;
}

/* Drop what the parts hold: their device locks, their references. */
static void vpa_vf_parts_put(struct vpa_vf_part *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (p[i].locked)
			device_unlock(&p[i].dev->dev);
		pci_dev_put(p[i].dev);
		p[i].locked = false;
		p[i].dev = NULL;
	}
}

/*
 * Take the device lock of each part's VF, in the order of the VFs (the
 * order of the PCI core's bus and slot locks), with no lock of vpa held:
 * the order at the top of this file has the VF's device lock outside
 * vpa_sriov::lock (the review s26's M2). Waited for, not tried: a guest
 * that resets its VF in a loop (each FLR holds the lock for 100 ms or
 * more) cannot keep a change out, since a mutex is handed to its waiter
 * when its holder lets go. The wait lasts as long as the holder's
 * critical section: a reset of the VF, a bind or an unbind of its driver;
 * vfio-pci's unbind waits for the VMM to close the device, and the change
 * with it. Interruptible: -EINTR, nothing changed.
 */
static int vpa_vf_parts_lock(struct vpa_vf_part *p, int n)
{
	int i, k;

	for (k = 0; k < n; k++) {
		i = n == 2 && p[1].vf->index < p[0].vf->index ? 1 - k : k;
		if (!p[i].dev)
			continue;
		if (device_lock_interruptible(&p[i].dev->dev))
			return -EINTR;
		p[i].locked = true;
	}
	return 0;
}

/*
 * With the parts' device locks and vpa_sriov::lock held: does each VF
 * still have what the owner check saw? The same device (not disabled, or
 * disabled and enabled again), the same driver, and no user that was not
 * asked (vfio-pci opened since). If not, -EAGAIN: nothing is changed
 * (the review s26's M4); a new write asks the owner it has now, or is
 * refused (a host driver).
 */
static int vpa_vf_parts_check(struct vpa_adapter *ad, struct vpa_vf_part *p,
			      int n)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *cur;
	bool same;
	int i;

	lockdep_assert_held(&sr->lock);
	for (i = 0; i < n; i++) {
		cur = p[i].vf->index < sr->num_vfs ?
		      vpa_sriov_vf_get(ad->pdev, p[i].vf->index) : NULL;
		same = cur == p[i].dev;
		pci_dev_put(cur);
		if (same && (!p[i].dev ||
			     (p[i].dev->dev.driver == p[i].drv &&
			      (p[i].used || !pci_is_enabled(p[i].dev)))))
			continue;
		dev_info_ratelimited(ad->dev, "VF %u: enabled, disabled, bound, unbound or opened while the change waited: nothing changed, write again\n",
				     p[i].vf->index);
		return -EAGAIN;
	}
	return 0;
}

/*
 * Ask @p's owner, if its group has one, to let go of its controller for
 * a change of @kind after which the group has @wq VQ and @vec VI: the
 * request is numbered and event's pollers are woken. An owner is a user
 * of vfio-pci with the VF open, its secondary online; without one the
 * outcome is "idle" and nothing is waited for (the review s26's L4). The
 * record is complete before the owner can see the request (an owner may
 * ack at once). Caller holds vpa_sriov::lock.
 */
static void vpa_vf_ask(struct vpa_adapter *ad, struct vpa_vf_part *p,
		       int kind, u32 wq, u32 vec)
{
	struct vpa_vf *vf = p->vf;

	lockdep_assert_held(&ad->sriov->lock);
	vf->rec.last_error = kind == VPA_VF_EVT_ERROR;
	if (vf->state != VPA_VF_ONLINE || !p->drv || !p->used) {
		vf->rec.last_outcome = VPA_OUT_IDLE;
		return;
	}
	vf->rec.events++;
	vf->rec.last_outcome = VPA_OUT_PENDING;
	spin_lock(&vf->evt_lock);
	if (!++vf->evt_seq)		/* 0 reads as "no request" */
		vf->evt_seq = 1;
	vf->evt_kind = kind;
	vf->evt_nr[VPA_RES_WQ] = wq;
	vf->evt_nr[VPA_RES_VEC] = vec;
	vf->asked = ktime_get();
	vf->asking = true;
	vf->evt_open = true;
	spin_unlock(&vf->evt_lock);
	sysfs_notify_dirent(vf->event_kn);
	p->asked = true;
}

static bool vpa_vf_answered(struct vpa_vf *vf)
{
	bool ret;

	spin_lock(&vf->evt_lock);
	ret = !vf->asking || READ_ONCE(vf->ad->sriov->gone);
	spin_unlock(&vf->evt_lock);
	return ret;
}

/* Stop waiting for @vf's ack: a late one is refused (ESTALE). Acked? */
static bool vpa_vf_stop_asking(struct vpa_vf *vf)
{
	bool acked;

	spin_lock(&vf->evt_lock);
	acked = !vf->asking;
	vf->asking = false;
	spin_unlock(&vf->evt_lock);
	return acked;
}

/*
 * Wait until the owners asked answered or the deadline passed (one
 * deadline for all), with no lock held, then stop asking. Killable (the
 * review s26's L3): a fatal signal ends the wait, and the change is
 * given up before anything changed (-EINTR).
 */
static int vpa_vf_wait(struct vpa_vf_part *p, int n)
{
	ktime_t deadline = ktime_add_ms(ktime_get(),
					READ_ONCE(vpa_ack_timeout_ms));
	s64 left;
	int i, ret = 0;

	for (i = 0; i < n; i++) {
		if (!p[i].asked)
			continue;
		left = ktime_ms_delta(deadline, ktime_get());
		if (!ret && left > 0 &&
		    wait_event_killable_timeout(p[i].vf->ack_wait,
						vpa_vf_answered(p[i].vf),
						msecs_to_jiffies(left)) < 0)
			ret = -EINTR;
		p[i].acked = vpa_vf_stop_asking(p[i].vf);
	}
	return ret;
}

/*
 * The wait for @vf's owner is over: record whether it acknowledged in
 * time (@acked). A change that does not go on (@ret: -ENODEV after an unbind,
 * -EINTR after a signal, -EAGAIN) is not counted as forced and logs no
 * notice (the review s26's L5): last_outcome "none" unless it was acked.
 * Event keeps the request's number until vpa_vf_done(). Caller holds
 * vpa_sriov::lock.
 */
static void vpa_vf_conclude(struct vpa_vf *vf, bool acked, int ret)
{
	ktime_t at;

	lockdep_assert_held(&vf->ad->sriov->lock);
	if (acked) {
		spin_lock(&vf->evt_lock);
		at = vf->ack_time;
		spin_unlock(&vf->evt_lock);
		vf->rec.acked++;
		vf->rec.last_ack_us = ktime_us_delta(at, vf->asked);
		vf->rec.last_outcome = VPA_OUT_ACKED;
		return;
	}
	vf->rec.last_ack_us = -1;
	if (ret) {
		vf->rec.last_outcome = VPA_OUT_NONE;
		return;
	}
	vf->rec.forced++;
	vf->rec.last_outcome = VPA_OUT_FORCED;
	dev_notice_ratelimited(vf->ad->dev, "VF %u: request %u (%s) not acknowledged in %u ms: going on without its owner\n",
			       vf->index, vf->evt_seq,
			       vpa_vf_evt_names[vf->evt_kind],
			       READ_ONCE(vpa_ack_timeout_ms));
}

/* The change @vf's owner was asked about is over: event reads 0. */
static void vpa_vf_done(struct vpa_vf *vf)
{
	spin_lock(&vf->evt_lock);
	vf->evt_open = false;
	vf->asking = false;
	spin_unlock(&vf->evt_lock);
	sysfs_notify_dirent(vf->event_kn);
}

/*
 * The end of a change: busy cleared, the owners asked told it is over; a
 * resize or give made (@counted, @ret 0) counted in changes. The request
 * of a group that an error recovery took in meanwhile is the recovery's
 * to end, at its resume: its owner is not told "over" before the reset
 * (the review s26's M2). Caller holds vpa_sriov::lock.
 */
static void vpa_vf_parts_end(struct vpa_vf_part *p, int n, int ret,
			     bool counted)
{
	struct vpa_vf *vf;
	int i;

	for (i = 0; i < n; i++) {
		vf = p[i].vf;
		vf->busy = false;
		if (!ret && counted)
			vf->rec.changes++;
		if (!p[i].asked)
			continue;
		if (vf->aer) {
			vf->aer_asked = true;
			vf->aer_seq = vf->evt_seq;
		} else {
			vpa_vf_done(vf);
		}
	}
}

/*
 * The common part of a change of @n parts once its owners were asked:
 * let go of vpa_sriov::lock, wait for the owners, take the VFs' device
 * locks, take vpa_sriov::lock again, conclude the requests and check that
 * the VFs are as the owner check saw them. Returns with vpa_sriov::lock
 * held: 0 (the change may go on), -EINTR (a signal), -ENODEV (unbind) or
 * -EAGAIN (vpa_vf_parts_check()).
 */
static int vpa_vf_parts_wait(struct vpa_adapter *ad, struct vpa_vf_part *p,
			     int n)
{
	struct vpa_sriov *sr = ad->sriov;
	int i, ret;

	lockdep_assert_held(&sr->lock);
	/* other groups may change meanwhile: the lock is let go */
	mutex_unlock(&sr->lock);
	ret = vpa_vf_wait(p, n);
	if (!ret && !READ_ONCE(sr->gone))
		ret = vpa_vf_parts_lock(p, n);
	mutex_lock(&sr->lock);
	if (!ret && READ_ONCE(sr->gone))
		ret = -ENODEV;
	if (!ret)
		ret = vpa_vf_parts_check(ad, p, n);
	for (i = 0; i < n; i++)
		if (p[i].asked)
			vpa_vf_conclude(p[i].vf, p[i].acked, ret);
	return ret;
}

/*
 * Check a resize of @vf's @type to @count (@to NULL), or a give of @count
 * of them to @to. Return: 0, -EALREADY (a resize to what it has: nothing
 * to do), -ENOENT (a VF without a group), -EBUSY (a change of one of them
 * runs, or an error recovery has one of them), -EIO (the admin queue is
 * down, or a group in state error: destroy it), -EINVAL (outside the
 * group limits, or more than it has), -ENOSPC (a growth beyond what is
 * free). Caller holds vpa_sriov::lock.
 */
static int vpa_vf_change_check(struct vpa_adapter *ad, struct vpa_vf *vf,
			       struct vpa_vf *to, enum vpa_res type, u32 count)
{
	const struct vpa_core *c = ad->core;
	u32 have = vf->nr[type];
	int ret;

	lockdep_assert_held(&ad->sriov->lock);
	if (!vf->def || (to && !to->def))
		return -ENOENT;
	/* (a group in an error recovery has a request out already) */
	if (vf->busy || (to && to->busy) || vf->aer || (to && to->aer))
		return -EBUSY;
	if (READ_ONCE(ad->sriov->down) || vf->state == VPA_VF_ERROR ||
	    (to && to->state == VPA_VF_ERROR))
		return -EIO;
	mutex_lock(&ad->lock);
	if (to)
		ret = (!count || count > have ||
		       have - count < c->group_min[type] ||
		       to->nr[type] + count > c->group_max[type]) ? -EINVAL : 0;
	else if (count < c->group_min[type] || count > c->group_max[type])
		ret = -EINVAL;
	else if (count > have)
		ret = count - have > c->free[type] ? -ENOSPC : 0;
	else
		ret = count == have ? -EALREADY : 0;
	mutex_unlock(&ad->lock);
	return ret;
}

/*
 * The core's part of a change: @from's @type set to @count (@to NULL), or
 * @count of them moved from @from to @to; vpa_vf::nr follows. Caller
 * holds vpa_sriov::lock: only its holders change this adapter's core, so
 * an undo (the other way round) cannot fail.
 */
static int vpa_vf_core_change(struct vpa_adapter *ad, struct vpa_vf *from,
			      struct vpa_vf *to, enum vpa_res type, u32 count)
{
	u32 have = from->nr[type];
	int ret;

	lockdep_assert_held(&ad->sriov->lock);
	mutex_lock(&ad->lock);
	if (to)
		ret = vpa_core_move(ad->core, from->index, to->index, type,
				    count);
	else if (count > have)
		ret = vpa_core_grow(ad->core, from->index, type, count - have);
	else
		ret = vpa_core_shrink(ad->core, from->index, type,
				      have - count);
	if (!ret) {
		from->nr[type] = vpa_core_count(ad->core, from->index, type);
		if (to)
			to->nr[type] = vpa_core_count(ad->core, to->index,
						      type);
	}
	mutex_unlock(&ad->lock);
	return ret;
}

/*
 * Make a change vpa_vf_change_check() accepted, its owners asked and its
 * VFs held (@p[0] is @vf's part, @p[1] @to's). The core first: a growth
 * may find what it needs taken meanwhile (-ENOSPC, nothing done). Then
 * every online secondary of the two offline, and only once both are (the
 * review s26's L1): the receiver of a give gets its resources only after
 * the giver let go of them. If an offline fails, the change stops: the
 * core goes back to the old counts, the group whose offline failed is in
 * state error (destroy it), the other one comes online again with its
 * old counts unless the admin queue is down. Then each comes online with
 * its new counts; an online that fails leaves its group offline with its
 * new counts (or in state error, vpa_vf_online()), for good until its
 * VFs are disabled and enabled again (the review s26's L6: the owner may
 * be told so by state). A group that is not online (its VFs disabled, a
 * reset) changes in the core alone and comes online with its new counts
 * at the next enable. Return: 0, -EIO (down, or a group in state error),
 * or the core's or a command's error. Caller holds vpa_sriov::lock.
 */
static int vpa_vf_apply(struct vpa_adapter *ad, struct vpa_vf_part *p,
			struct vpa_vf *to, enum vpa_res type, u32 count)
{
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_vf *vf = p[0].vf, *both[2] = { vf, to };
	u32 old = vf->nr[type];
	bool on[2] = { }, off[2] = { };
	int i, err, ret;

	lockdep_assert_held(&sr->lock);
	/* a reset or a disable may have come while the owners were asked */
	if (READ_ONCE(sr->down) || vf->state == VPA_VF_ERROR ||
	    (to && to->state == VPA_VF_ERROR))
		return -EIO;
	ret = vpa_vf_core_change(ad, vf, to, type, count);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++)
		on[i] = both[i] && both[i]->state == VPA_VF_ONLINE;
	for (i = 0; i < 2 && !ret; i++) {
		if (!on[i])
			continue;
		ret = vpa_vf_offline(sr, both[i]);
		off[i] = !ret;
	}
	if (ret) {
		/* back to what the device still has (L1) */
		if (to)
			WARN_ON_ONCE(vpa_vf_core_change(ad, to, vf, type,
							count));
		else
			WARN_ON_ONCE(vpa_vf_core_change(ad, vf, NULL, type,
							old));
	}
	for (i = 0; i < 2; i++) {
		if (!off[i])
			continue;
		if (READ_ONCE(sr->down) || !vpa_nvme_live(&sr->nv)) {
			ret = ret ?: -EIO;
			break;
		}
		err = vpa_vf_online(sr, both[i], false);
		ret = ret ?: err;
	}
	return ret;
}

/*
 * vpa_vf_change - resize a VF's group, or give resources to another's
 * @ad:		the adapter
 * @vf:		the group resized, or the one giving
 * @to:		the one receiving, or NULL to resize @vf
 * @type:	VPA_RES_WQ (VQ) or VPA_RES_VEC (VI)
 * @count:	resize: the new count; give: how many to move
 *
 * Both groups' owners are asked first (one deadline for both), then the
 * change is made (vpa_vf_apply()) with their VFs held. Return: 0, or an
 * errno of vpa_vf_change_check(), vpa_vf_part_get(), vpa_vf_parts_wait()
 * or vpa_vf_apply(); a refusal by the checks changes nothing and asks no
 * one.
 */
static int vpa_vf_change(struct vpa_adapter *ad, struct vpa_vf *vf,
			 struct vpa_vf *to, enum vpa_res type, u32 count)
{
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_vf_part p[2] = { { .vf = vf }, { .vf = to } };
	u32 nr[2][VPA_RES_NR] = { };
	int i, n = to ? 2 : 1, ret;

	mutex_lock(&sr->lock);
	ret = vpa_vf_change_check(ad, vf, to, type, count);
	for (i = 0; !ret && i < n; i++)
		ret = vpa_vf_part_get(ad, &p[i]);
	if (ret)
		goto unlock;
	memcpy(nr[0], vf->nr, sizeof(nr[0]));
	if (to) {
		memcpy(nr[1], to->nr, sizeof(nr[1]));
		nr[0][type] -= count;
		nr[1][type] += count;
	} else {
		nr[0][type] = count;
	}
	for (i = 0; i < n; i++) {
		p[i].vf->busy = true;
		vpa_vf_ask(ad, &p[i], !to ? VPA_VF_EVT_RESIZE :
			   i ? VPA_VF_EVT_RECEIVE : VPA_VF_EVT_GIVE,
			   nr[i][VPA_RES_WQ], nr[i][VPA_RES_VEC]);
	}
	ret = vpa_vf_parts_wait(ad, p, n);
	if (!ret)
		ret = vpa_vf_apply(ad, p, to, type, count);
	vpa_vf_parts_end(p, n, ret, true);
	if (!ret && to)
		dev_info_ratelimited(ad->dev, "VF %u gave %u %s to VF %u (%s, %s)\n",
				     vf->index, count, vpa_res_name(type),
				     to->index,
				     vpa_outcome_names[vf->rec.last_outcome],
				     vpa_outcome_names[to->rec.last_outcome]);
	else if (!ret)
		dev_info_ratelimited(ad->dev, "VF %u: %s resized to %u (%s)\n",
				     vf->index, vpa_res_name(type), count,
				     vpa_outcome_names[vf->rec.last_outcome]);
unlock:
	vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	vpa_vf_parts_put(p, n);
	return ret == -EALREADY ? 0 : ret;
}

/*
 * Destroy @vf's group (vpa_vf_destroy()), its owner asked first if it has
 * one, its VF held. Return: as vpa_vf_destroy(), or -EBUSY (a change of
 * it runs, or a driver other than vfio-pci is bound), -EAGAIN, -EINTR,
 * -ENODEV (vpa_vf_parts_wait()).
 */
static int vpa_vf_destroy_asked(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_vf_part p = { .vf = vf };
	int ret = 0;

	mutex_lock(&sr->lock);
	if (!vf->def)
		ret = -ENOENT;
	else if (vf->busy)
		ret = -EBUSY;
	else if (READ_ONCE(sr->down))	/* no command: no VF to hold */
		ret = vpa_vf_destroy(ad, vf);
	else if (vf->aer)		/* its recovery's request is out */
		ret = -EBUSY;
	else
		ret = vpa_vf_part_get(ad, &p) ?: 1;
	if (ret <= 0)
		goto unlock;
	vf->busy = true;
	vpa_vf_ask(ad, &p, VPA_VF_EVT_DESTROY, 0, 0);
	ret = vpa_vf_parts_wait(ad, &p, 1);
	if (!ret)
		ret = vpa_vf_destroy(ad, vf);
	vpa_vf_parts_end(&p, 1, ret, false);
unlock:
	vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	vpa_vf_parts_put(&p, 1);
	return ret;
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

/*
 * What the enable set up in the SR-IOV capability, for the error recovery
 * (vpa_sriov_iov_check()): a reset of the PF drops VF Enable and NumVFs
 * (plans/sriov.md, section 5, top risk 1). The bus reset of a frozen
 * link restores nothing itself: vpa_sriov_pf_restore() does, from the
 * PCI core's record (pci_restore_iov_state()); this copy checks it after
 * every recovery and is the fallback. Called with the device lock held.
 */
static void vpa_sriov_iov_save(struct vpa_adapter *ad)
{
	struct pci_dev *pdev = ad->pdev;
	struct vpa_sriov *sr = ad->sriov;
	u16 pos = pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_SRIOV);
	unsigned int i;

	device_lock_assert(&pdev->dev);
	sr->iov_saved = false;
	if (!pos)
		return;
	sr->iov_pos = pos;
	pci_read_config_word(pdev, pos + PCI_SRIOV_CTRL, &sr->iov_ctrl);
	pci_read_config_word(pdev, pos + PCI_SRIOV_NUM_VF, &sr->iov_numvfs);
	pci_read_config_dword(pdev, pos + PCI_SRIOV_SYS_PGSIZE, &sr->iov_pgsz);
	for (i = 0; i < PCI_SRIOV_NUM_BARS; i++)
		pci_read_config_dword(pdev, pos + PCI_SRIOV_BAR + 4 * i,
				      &sr->iov_bar[i]);
	sr->iov_saved = sr->iov_ctrl & PCI_SRIOV_CTRL_VFE;
}

/*
 * After the reset of an error recovery: are VF Enable and NumVFs as the
 * enable left them? If not, they are written back as the PCI core's own
 * restore does (the VF BARs, the page size, NumVFs, then Control), and
 * the VFs are given the 100 ms the SR-IOV specification asks after VF
 * Enable is set. Returns "kept", "restored" or "not restored" (the
 * capability reads other values after the writes, or no VFs were
 * enabled by vpa: "none"). Called with the device lock held (slot_reset
 * or resume).
 */
static const char *vpa_sriov_iov_check(struct vpa_adapter *ad)
{
	struct pci_dev *pdev = ad->pdev;
	struct vpa_sriov *sr = ad->sriov;
	u16 pos = sr->iov_pos, ctrl, numvfs;
	unsigned int i;

	if (!sr->iov_saved)
		return "none";
	pci_read_config_word(pdev, pos + PCI_SRIOV_CTRL, &ctrl);
	pci_read_config_word(pdev, pos + PCI_SRIOV_NUM_VF, &numvfs);
	if ((ctrl & PCI_SRIOV_CTRL_VFE) && numvfs == sr->iov_numvfs)
		return "kept";
	if (ctrl & PCI_SRIOV_CTRL_VFE)	/* NumVFs may change only without */
		pci_write_config_word(pdev, pos + PCI_SRIOV_CTRL,
				      ctrl & ~PCI_SRIOV_CTRL_VFE);
	for (i = 0; i < PCI_SRIOV_NUM_BARS; i++)
		pci_write_config_dword(pdev, pos + PCI_SRIOV_BAR + 4 * i,
				       sr->iov_bar[i]);
	pci_write_config_dword(pdev, pos + PCI_SRIOV_SYS_PGSIZE, sr->iov_pgsz);
	pci_write_config_word(pdev, pos + PCI_SRIOV_NUM_VF, sr->iov_numvfs);
	pci_write_config_word(pdev, pos + PCI_SRIOV_CTRL, sr->iov_ctrl);
	msleep(100);
	sr->iov_restored++;
	pci_read_config_word(pdev, pos + PCI_SRIOV_CTRL, &ctrl);
	pci_read_config_word(pdev, pos + PCI_SRIOV_NUM_VF, &numvfs);
	return (ctrl & PCI_SRIOV_CTRL_VFE) && numvfs == sr->iov_numvfs ?
	       "restored" : "not restored";
}

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
	/* (down: the reset took every secondary offline already) */
	for (i = 0; i < sr->slots && !READ_ONCE(sr->down); i++) {
		struct vpa_vf *vf = sr->vf[i];

		if (vf && vf->def && vf->state != VPA_VF_OFFLINE &&
		    vpa_vf_offline(sr, vf))
			failed++;
	}
	vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	sr->iov_saved = false;
	pci_disable_sriov(ad->pdev);
	if (failed)
		dev_warn_ratelimited(ad->dev, "VFs disabled; %u groups in state error (destroy them)\n",
				     failed);
	return 0;
}

/*
 * Enable @n VFs, sweep the namespaces of every secondary, and bring every
 * group of a VF below @n online (one in state error is taken offline
 * first). The group's requester id must still be its VF's routing id
 * (First VF Offset and VF Stride may change with NumVFs). All or nothing:
 * on failure the groups brought online are taken offline again and the
 * VFs disabled. Return: @n or -errno (-ERANGE: more VFs than vpa can
 * give groups to; -EIO: the admin queue is down).
 *
 * A VF a driver bound as it was enabled (sriov_drivers_autoprobe, which
 * vpa can neither read nor clear: struct pci_sriov is the PCI core's
 * own) keeps its group offline, as does one whose device lock is held
 * (the review's M1): bringing it online resets the VF under that driver
 * and hands the host's driver the tenant's namespace. The VFs are
 * enabled nevertheless; each such group is named in the log and the
 * count in the summary line. To bring it online: unbind the VF, write 0
 * to sriov_numvfs, then enable again (with sriov_drivers_autoprobe 0).
 */
static int vpa_sriov_enable(struct vpa_adapter *ad, int n)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *vfdev;
	struct vpa_vf *vf;
	unsigned int i, j, on = 0, skipped = 0;
	const char *why;
	int ret;

	if (n > sr->slots) {
		dev_info_ratelimited(ad->dev, "%d VFs: groups only for VFs 0 to %u, not enabled\n",
				     n, sr->slots - 1);
		return -ERANGE;
	}
	if (READ_ONCE(sr->down)) {
		dev_info_ratelimited(ad->dev, "admin queue down: VFs not enabled\n");
		return -EIO;
	}
	ret = pci_enable_sriov(ad->pdev, n);
	if (ret) {
		dev_info_ratelimited(ad->dev, "%d VFs not enabled: %d\n", n,
				     ret);
		return ret;
	}
	vpa_sriov_iov_save(ad);
	/*
	 * err.c walks the PF's bus: VFs on a bus of their own (First VF
	 * Offset and VF Stride beyond it) get no error callbacks at all
	 * (the review s26's L5).
	 */
	vfdev = vpa_sriov_vf_get(ad->pdev, n - 1);
	if (vfdev && vfdev->bus != ad->pdev->bus)
		dev_warn_ratelimited(ad->dev, "VF %d is on bus %02x, not the PF's: the PCI core's error recovery does not reach it\n",
				     n - 1, vfdev->bus->number);
	pci_dev_put(vfdev);
	mutex_lock(&sr->lock);
	i = 0;
	ret = READ_ONCE(sr->down) ? -EIO : 0;
	if (!ret && sr->ns_ok)
		ret = vpa_sriov_ns_sweep(ad, -1);
	if (ret)
		goto undo;
	for (; i < n; i++) {
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
		why = vpa_vf_lock(ad, vfdev);
		if (why) {
			dev_warn_ratelimited(ad->dev, "VF %u (%s) is in use as it is enabled: %s; its group stays %s (unbind it, then disable and enable the VFs)\n",
					     i, pci_name(vfdev), why,
					     vpa_vf_state_names[vf->state]);
			pci_dev_put(vfdev);
			skipped++;
			continue;
		}
		ret = 0;
		if (vf->state == VPA_VF_ERROR)
			ret = vpa_vf_offline(sr, vf);
		if (!ret)
			ret = vpa_vf_online(sr, vf, false);
		vpa_vf_unclaim(vfdev);
		if (ret)
			goto undo;
		on++;
	}
	sr->num_vfs = n;
	mutex_unlock(&sr->lock);
	dev_info_ratelimited(ad->dev, "%d VFs enabled, %u groups online, %u left offline (their VF in use)\n",
			     n, on, skipped);
	return n;

undo:
	for (j = 0; j < i; j++) {
		vf = sr->vf[j];
		if (vf && vf->def && vf->state == VPA_VF_ONLINE)
			vpa_vf_offline(sr, vf);
	}
	vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	sr->iov_saved = false;
	pci_disable_sriov(ad->pdev);
	return vpa_sriov_uerr(ret);
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
 * Return: @n, 0, or -errno (-EBUSY: a VF is in use, or an error
 * recovery runs; -EIO: the admin queue is down, or the device refused).
 */
int vpa_sriov_configure(struct vpa_adapter *ad, int n)
{
	bool busy;

	device_lock_assert(&ad->pdev->dev);
	/*
	 * Not during an error recovery (the review s26's M4): a disable
	 * would destroy the VFs (pci_bus_sem for write) while the PCI core's
	 * walk holds it for read and waits for this device lock. Order:
	 * the device lock, then recov_lock, as the error handlers.
	 */
	mutex_lock(&ad->recov_lock);
	busy = ad->aer_state != VPA_AER_NORMAL;
	mutex_unlock(&ad->recov_lock);
	if (busy) {
		dev_info_ratelimited(ad->dev, "error recovery under way: VFs not %s\n",
				     n ? "enabled" : "disabled");
		return -EBUSY;
	}
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

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtou32(buf, 10, &n) ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		ret = vpa_sriov_uerr(vpa_vf_create(t->ad, t->def, n));
		vpa_sriov_check_live(t->ad);
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
 * the enabled VFs without a group (a group needs its VF); 0 while the
 * admin queue is down (create fails then).
 */
static ssize_t vpa_vf_avail_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct vpa_vf_type *t = vpa_vf_type_of(kobj);
	struct vpa_adapter *ad = t->ad;
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, idle = 0, n;

	mutex_lock(&sr->lock);
	for (i = 0; i < min(sr->num_vfs, sr->slots) && !READ_ONCE(sr->down);
	     i++)
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

static ssize_t vpa_vf_name_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", vpa_vf_type_of(kobj)->def->name);
}

/* what a group's VF is to its user: a PCI function, through vfio-pci */
static ssize_t vpa_vf_device_api_show(struct kobject *kobj,
				      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "vfio-pci\n");
}

static struct kobj_attribute vpa_vf_type_create =
	__ATTR(create, 0200, NULL, vpa_vf_create_store);
static struct kobj_attribute vpa_vf_type_avail =
	__ATTR(available_instances, 0444, vpa_vf_avail_show, NULL);
static struct kobj_attribute vpa_vf_type_desc =
	__ATTR(description, 0444, vpa_vf_desc_show, NULL);
static struct kobj_attribute vpa_vf_type_name =
	__ATTR(name, 0444, vpa_vf_name_show, NULL);
static struct kobj_attribute vpa_vf_type_device_api =
	__ATTR(device_api, 0444, vpa_vf_device_api_show, NULL);

static struct attribute *vpa_vf_type_attrs[] = {
	&vpa_vf_type_create.attr,
	&vpa_vf_type_avail.attr,
	&vpa_vf_type_desc.attr,
	&vpa_vf_type_name.attr,
	&vpa_vf_type_device_api.attr,
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
 * An attach of namespace @nsid to @vf's secondary whose outcome is unknown
 * (the review's M3): the namespace may be attached without the group
 * having it (ns reads 0). The group goes to state "error" (taken offline
 * before it comes online again, or by destroy) and a sweep is due: the
 * one before the secondary's next bring-up, or the next restart's. The
 * admin queue is down after such a failure (vpa_sriov_check_live()), so
 * nothing is sent now. Caller holds sr->lock.
 */
static void vpa_vf_ns_unknown(struct vpa_sriov *sr, struct vpa_vf *vf,
			      u32 nsid, int ret)
{
	lockdep_assert_held(&sr->lock);
	vf->state = VPA_VF_ERROR;
	sr->sweep = true;
	dev_warn_ratelimited(vf->ad->dev, "VF %u: attach of namespace %u to secondary %u: outcome unknown (%d), state error; left to the next sweep\n",
			     vf->index, nsid, vf->scid, ret);
}

/*
 * Attach namespace @nsid to @vf's secondary, or detach the one attached
 * (0). Only a private namespace that no other controller has is given: a
 * shared one (NMIC bit 0: it may be attached to several controllers, as
 * QEMU's shared=on) or one attached to the primary would be seen by more
 * than this VF's tenant. It is attached only if the device does not list
 * it attached to the secondary already. Return: 0, -ENOENT (no group),
 * -EINVAL (NVME_NSID_ALL, or no such namespace), -EPERM (a shared
 * namespace, or the primary's), -EBUSY (the VF has another one, another
 * controller has this one, a driver is bound to the VF or its device
 * lock is held), -EOPNOTSUPP
 * (the device does not list attachments: vpa gives no namespace), -EIO
 * (the admin queue is down, or the device refused), -ENODEV (the VF's
 * controller is absent: enable the VFs), or an unknown outcome.
 */
static int vpa_vf_set_ns(struct vpa_adapter *ad, struct vpa_vf *vf, u32 nsid)
{
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_ns_users u;
	struct pci_dev *vfdev;
	unsigned int i;
	bool shared;
	int ret;

	lockdep_assert_held(&sr->lock);
	if (!vf->def)
		return -ENOENT;
	if (vf->busy)
		return -EBUSY;
	if (nsid == NVME_NSID_ALL)
		return -EINVAL;
	if (!sr->ns_ok)
		return -EOPNOTSUPP;
	if (READ_ONCE(sr->down))
		return -EIO;
	if (nsid == vf->nsid)
		return 0;
	if (nsid && vf->nsid)
		return -EBUSY;
	for (i = 0; nsid && i < sr->slots; i++)
		if (sr->vf[i] && sr->vf[i]->nsid == nsid)
			return -EBUSY;
	vfdev = vpa_vf_claim(ad, vf->index);
	if (IS_ERR(vfdev))
		return PTR_ERR(vfdev);
	if (!nsid) {
		ret = vpa_vf_ns_detach(sr, vf);
		goto out;
	}
	ret = vpa_nvme_ns_info(&sr->nv, nsid, &shared);
	if (ret == -ENOENT)
		ret = -EINVAL;
	if (!ret && shared)
		ret = -EPERM;
	if (!ret)
		ret = vpa_sriov_ns_users(sr, nsid, vf, &u);
	if (!ret && u.primary)
		ret = -EPERM;
	if (!ret && u.others)
		ret = -EBUSY;
	if (!ret && !u.vf) {
		ret = vpa_nvme_ns_attach(&sr->nv, nsid, vf->scid, true);
		if (vpa_vf_unknown(ret))
			vpa_vf_ns_unknown(sr, vf, nsid, ret);
	}
	if (!ret)
		vf->nsid = nsid;
out:
	vpa_vf_unclaim(vfdev);
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

	/* it moves data between tenants: root of the initial namespace */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtou32(buf, 10, &nsid) ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		ret = vpa_sriov_uerr(vpa_vf_set_ns(vf->ad, vf, nsid));
		vpa_sriov_check_live(vf->ad);
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
	bool yes;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtobool(buf, &yes) || !yes ? -EINVAL : 0;
	if (!ret)
		ret = vpa_sriov_uerr(vpa_vf_destroy_asked(vf->ad, vf));
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: destroy refused: %d\n",
				     vf->index, ret);
	return ret ? ret : count;
}

/* A resource type's files: nr_wq/give_wq are VQ, nr_vec/give_vec VI */
static enum vpa_res vpa_vf_res_of(struct kobj_attribute *attr)
{
	return strstr(attr->attr.name, "vec") ? VPA_RES_VEC : VPA_RES_WQ;
}

/* nr_wq, nr_vec: write a count (decimal): resize the group to it */
static ssize_t vpa_vf_nr_store(struct kobject *kobj,
			       struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	enum vpa_res t = vpa_vf_res_of(attr);
	u32 n;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtou32(buf, 10, &n) ? -EINVAL : 0;
	if (!ret)
		ret = vpa_sriov_uerr(vpa_vf_change(vf->ad, vf, NULL, t, n));
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: resize of %s refused: %d\n",
				     vf->index, vpa_res_name(t), ret);
	return ret ? ret : count;
}

static ssize_t vpa_vf_give_to_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	struct vpa_sriov *sr = vf->ad->sriov;
	int to;

	mutex_lock(&sr->lock);
	to = vf->give_to;
	mutex_unlock(&sr->lock);
	return to < 0 ? sysfs_emit(buf, "none\n") : sysfs_emit(buf, "%d\n", to);
}

/*
 * give_to: the number of another VF that has a directory in vpa_vfs/
 * (decimal), or "none"; EINVAL for this VF, a malformed number or one
 * without a directory. Whether it has a group is checked by the give.
 */
static ssize_t vpa_vf_give_to_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	struct vpa_sriov *sr = vf->ad->sriov;
	int to = -1;
	u32 n;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!sysfs_streq(buf, "none")) {
		if (kstrtou32(buf, 10, &n) || n >= sr->slots || !sr->vf[n] ||
		    n == vf->index) {
			dev_info_ratelimited(vf->ad->dev, "VF %u: give_to refused\n",
					     vf->index);
			return -EINVAL;
		}
		to = n;
	}
	mutex_lock(&sr->lock);
	vf->give_to = to;
	mutex_unlock(&sr->lock);
	return count;
}

/*
 * give_wq, give_vec: write a count (decimal): move that many from this
 * group to give_to's (ENOENT without give_to, or if either has no group)
 */
static ssize_t vpa_vf_give_store(struct kobject *kobj,
				 struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	struct vpa_sriov *sr = vf->ad->sriov;
	enum vpa_res t = vpa_vf_res_of(attr);
	int to;
	u32 n;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtou32(buf, 10, &n) ? -EINVAL : 0;
	if (!ret) {
		mutex_lock(&sr->lock);
		to = vf->give_to;
		mutex_unlock(&sr->lock);
		/* sr->vf[] is fixed while the files exist */
		ret = to < 0 ? -ENOENT :
		      vpa_sriov_uerr(vpa_vf_change(vf->ad, vf, sr->vf[to], t,
						   n));
	}
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: give of %s refused: %d\n",
				     vf->index, vpa_res_name(t), ret);
	return ret ? ret : count;
}

/*
 * event: the number of the request out to the VF's owner, 0 for none
 * (poll() wakes when it changes); event_kind, event_nr_wq, event_nr_vec:
 * what it announces. A snapshot each: an owner reads event again after
 * the others to know they belong to that request.
 */
enum vpa_vf_evt_field {
	VPA_VF_EVTF_SEQ, VPA_VF_EVTF_KIND, VPA_VF_EVTF_WQ, VPA_VF_EVTF_VEC,
};

static ssize_t vpa_vf_evt_show(struct vpa_vf *vf, enum vpa_vf_evt_field f,
			       char *buf)
{
	u32 v = 0;
	int kind;
	bool open;

	spin_lock(&vf->evt_lock);
	open = vf->evt_open;
	kind = open ? vf->evt_kind : VPA_VF_EVT_NONE;
	if (open && f == VPA_VF_EVTF_SEQ)
		v = vf->evt_seq;
	else if (open && f == VPA_VF_EVTF_WQ)
		v = vf->evt_nr[VPA_RES_WQ];
	else if (open && f == VPA_VF_EVTF_VEC)
		v = vf->evt_nr[VPA_RES_VEC];
	spin_unlock(&vf->evt_lock);
	if (f == VPA_VF_EVTF_KIND)
		return sysfs_emit(buf, "%s\n", vpa_vf_evt_names[kind]);
	return sysfs_emit(buf, "%u\n", v);
}

#define VPA_VF_EVT_SHOW(name, field)					\
static ssize_t vpa_vf_##name##_show(struct kobject *kobj,		\
				    struct kobj_attribute *attr,	\
				    char *buf)				\
{									\
	return vpa_vf_evt_show(vpa_vf_of(kobj), field, buf);		\
}

VPA_VF_EVT_SHOW(event, VPA_VF_EVTF_SEQ)
VPA_VF_EVT_SHOW(event_kind, VPA_VF_EVTF_KIND)
VPA_VF_EVT_SHOW(event_nr_wq, VPA_VF_EVTF_WQ)
VPA_VF_EVT_SHOW(event_nr_vec, VPA_VF_EVTF_VEC)

/*
 * ack: the owner writes the number event reads once it let go of the
 * controller. EINVAL for a malformed number or 0, ESTALE for one that is
 * not the request awaiting its acknowledgment (none is, it was
 * acknowledged already, or its deadline passed). CAP_SYS_ADMIN, as every
 * write of vpa_vfs/ (the review s26's L4): an ack lets vpa reset the VF
 * at once, before the deadline, so a VMM that runs without it (libvirt's
 * qemu user) is answered for by a privileged helper.
 */
static ssize_t vpa_vf_ack_store(struct kobject *kobj,
				struct kobj_attribute *attr,
				const char *buf, size_t count)
{
	struct vpa_vf *vf = vpa_vf_of(kobj);
	u32 seq;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (kstrtou32(buf, 10, &seq) || !seq) {
		ret = -EINVAL;
	} else {
		spin_lock(&vf->evt_lock);
		ret = vf->asking && seq == vf->evt_seq ? 0 : -ESTALE;
		if (!ret) {
			vf->asking = false;
			vf->ack_time = ktime_get();
		}
		spin_unlock(&vf->evt_lock);
		if (!ret)
			wake_up(&vf->ack_wait);
	}
	if (ret)
		dev_info_ratelimited(vf->ad->dev, "VF %u: ack refused: %d\n",
				     vf->index, ret);
	return ret ? ret : count;
}

/*
 * vpa_vfs/<n>/vpa_recovery/: the owner protocol's counters of the group,
 * the files and meanings of an mdev's vpa_recovery/, and last_resume_us
 * (the error recovery, plans/sriov.md step 7: recoveries the group was
 * in, resumed online again, failed not); reset when a group is created.
 * One value a file, read without a lock.
 */
enum vpa_vf_rec_field {
	VPA_VFR_EVENTS, VPA_VFR_ACKED, VPA_VFR_FORCED, VPA_VFR_FAILED,
	VPA_VFR_RESUMED, VPA_VFR_CHANGES, VPA_VFR_RECOVERIES,
	VPA_VFR_LAST_KIND, VPA_VFR_LAST_OUTCOME, VPA_VFR_LAST_ACK_US,
	VPA_VFR_LAST_RESUME_US, VPA_VFR_NR
};

static struct kobj_attribute vpa_vf_rec_attrs[VPA_VFR_NR];

static ssize_t vpa_vf_rec_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	const struct vpa_vf *vf = vpa_vf_of(kobj);
	const struct vpa_recov_stats *r = &vf->rec;
	int out;

	switch (attr - vpa_vf_rec_attrs) {
	case VPA_VFR_EVENTS:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->events));
	case VPA_VFR_ACKED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->acked));
	case VPA_VFR_FORCED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->forced));
	case VPA_VFR_FAILED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->failed));
	case VPA_VFR_RESUMED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->resumed));
	case VPA_VFR_CHANGES:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->changes));
	case VPA_VFR_RECOVERIES:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->recoveries));
	case VPA_VFR_LAST_KIND:
		return sysfs_emit(buf, "%s\n", READ_ONCE(r->last_error) ?
				  "error" : "revoke");
	case VPA_VFR_LAST_OUTCOME:
		out = READ_ONCE(r->last_outcome);
		if (out < 0 || out >= VPA_OUT_NR)
			out = VPA_OUT_NONE;
		return sysfs_emit(buf, "%s\n", vpa_outcome_names[out]);
	case VPA_VFR_LAST_RESUME_US:
		return sysfs_emit(buf, "%lld\n", READ_ONCE(vf->last_resume_us));
	}
	return sysfs_emit(buf, "%lld\n", READ_ONCE(r->last_ack_us));
}

#define VPA_VF_REC(f, n)	\
	[f] = __ATTR(n, 0444, vpa_vf_rec_show, NULL)

static struct kobj_attribute vpa_vf_rec_attrs[VPA_VFR_NR] = {
	VPA_VF_REC(VPA_VFR_EVENTS, events),
	VPA_VF_REC(VPA_VFR_ACKED, acked),
	VPA_VF_REC(VPA_VFR_FORCED, forced),
	VPA_VF_REC(VPA_VFR_FAILED, failed),
	VPA_VF_REC(VPA_VFR_RESUMED, resumed),
	VPA_VF_REC(VPA_VFR_CHANGES, changes),
	VPA_VF_REC(VPA_VFR_RECOVERIES, recoveries),
	VPA_VF_REC(VPA_VFR_LAST_KIND, last_kind),
	VPA_VF_REC(VPA_VFR_LAST_OUTCOME, last_outcome),
	VPA_VF_REC(VPA_VFR_LAST_ACK_US, last_ack_us),
	VPA_VF_REC(VPA_VFR_LAST_RESUME_US, last_resume_us),
};

static struct attribute *vpa_vf_rec_list[] = {
	&vpa_vf_rec_attrs[VPA_VFR_EVENTS].attr,
	&vpa_vf_rec_attrs[VPA_VFR_ACKED].attr,
	&vpa_vf_rec_attrs[VPA_VFR_FORCED].attr,
	&vpa_vf_rec_attrs[VPA_VFR_FAILED].attr,
	&vpa_vf_rec_attrs[VPA_VFR_RESUMED].attr,
	&vpa_vf_rec_attrs[VPA_VFR_CHANGES].attr,
	&vpa_vf_rec_attrs[VPA_VFR_RECOVERIES].attr,
	&vpa_vf_rec_attrs[VPA_VFR_LAST_KIND].attr,
	&vpa_vf_rec_attrs[VPA_VFR_LAST_OUTCOME].attr,
	&vpa_vf_rec_attrs[VPA_VFR_LAST_ACK_US].attr,
	&vpa_vf_rec_attrs[VPA_VFR_LAST_RESUME_US].attr,
	NULL,
};

static const struct attribute_group vpa_vf_rec_group = {
	.name = "vpa_recovery",
	.attrs = vpa_vf_rec_list,
};

#define VPA_VF_ATTR_RO(name)						\
static struct kobj_attribute vpa_vf_attr_##name =			\
	__ATTR(name, 0444, vpa_vf_##name##_show, NULL)

VPA_VF_ATTR_RO(type);
VPA_VF_ATTR_RO(rid);
VPA_VF_ATTR_RO(state);
VPA_VF_ATTR_RO(scid);
VPA_VF_ATTR_RO(event);
VPA_VF_ATTR_RO(event_kind);
VPA_VF_ATTR_RO(event_nr_wq);
VPA_VF_ATTR_RO(event_nr_vec);
static struct kobj_attribute vpa_vf_attr_nr_wq =
	__ATTR(nr_wq, 0644, vpa_vf_nr_wq_show, vpa_vf_nr_store);
static struct kobj_attribute vpa_vf_attr_nr_vec =
	__ATTR(nr_vec, 0644, vpa_vf_nr_vec_show, vpa_vf_nr_store);
static struct kobj_attribute vpa_vf_attr_give_to =
	__ATTR(give_to, 0644, vpa_vf_give_to_show, vpa_vf_give_to_store);
static struct kobj_attribute vpa_vf_attr_give_wq =
	__ATTR(give_wq, 0200, NULL, vpa_vf_give_store);
static struct kobj_attribute vpa_vf_attr_give_vec =
	__ATTR(give_vec, 0200, NULL, vpa_vf_give_store);
static struct kobj_attribute vpa_vf_attr_ack =
	__ATTR(ack, 0200, NULL, vpa_vf_ack_store);
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
	&vpa_vf_attr_give_to.attr,
	&vpa_vf_attr_give_wq.attr,
	&vpa_vf_attr_give_vec.attr,
	&vpa_vf_attr_event.attr,
	&vpa_vf_attr_event_kind.attr,
	&vpa_vf_attr_event_nr_wq.attr,
	&vpa_vf_attr_event_nr_vec.attr,
	&vpa_vf_attr_ack.attr,
	NULL,
};

static const struct attribute_group vpa_vf_group = {
	.attrs = vpa_vf_attrs,
};

static const struct attribute_group *vpa_vf_groups[] = {
	&vpa_vf_group,
	&vpa_vf_rec_group,
	NULL,
};

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
		if (!sr->vf[i])
			continue;
		sysfs_put(sr->vf[i]->event_kn);
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
 *
 * These are kobjects of their own under the PF's device, not attribute
 * groups: a group is one directory level, and these are two (a directory
 * per type and per VF, as mdev_supported_types/ is), whose number only
 * the probe knows (the types the device can meet, the VFs the Secondary
 * Controller List names). No uevent is sent for them: they come and go
 * with the driver's binding, which sends its own.
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
		ret = kobject_init_and_add(&t->kobj, &vpa_vf_type_ktype,
					   sr->types_dir, "%s", t->def->name);
		if (ret) {
			/* not in sysfs: the reference alone is dropped */
			kobject_put(&t->kobj);
			goto err;
		}
		sr->types[i] = t;
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
		vf->give_to = -1;
		vf->rec.last_ack_us = -1;
		vf->last_resume_us = -1;
		spin_lock_init(&vf->evt_lock);
		init_waitqueue_head(&vf->ack_wait);
		ret = kobject_init_and_add(&vf->kobj, &vpa_vf_ktype,
					   sr->vfs_dir, "%u", i);
		if (ret) {
			kobject_put(&vf->kobj);
			goto err;
		}
		sr->vf[i] = vf;
		/* (the review s26's M1: see struct vpa_vf) */
		vf->event_kn = sysfs_get_dirent(vf->kobj.sd, "event");
		if (!vf->event_kn) {
			ret = -ENOENT;
			goto err;
		}
	}
	return 0;

err:
	vpa_sriov_sysfs_del(sr);
	vpa_sriov_sysfs_put(sr);
	return ret;
}

/*
 * Unbind: every group's secondary offline with nothing assigned, its
 * namespace detached and the namespaces of every secondary swept, while
 * the VFs still exist (their secondaries are present: a detach from an
 * absent controller fails); then the VFs disabled (their drivers unbound
 * first, by the PCI core) and every group freed. With the admin queue
 * down no command is sent. Failures are logged: the device is left as it
 * is, and the next probe sweeps it.
 */
static void vpa_sriov_groups_fini(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i;

	mutex_lock(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS && !READ_ONCE(sr->down); i++) {
		struct vpa_vf *vf = sr->vf[i];

		if (!vf || !vf->def)
			continue;
		if (vf->state != VPA_VF_OFFLINE)
			vpa_vf_offline(sr, vf);
		if (vpa_vf_ns_detach(sr, vf))
			dev_warn(ad->dev, "VF %u: namespace %u left attached to secondary %u\n",
				 i, vf->nsid, vf->scid);
	}
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++)
		if (sr->vf[i] && sr->vf[i]->def)
			vpa_vf_free(ad, sr->vf[i]);
	/* with no group left, every attachment to a secondary goes */
	if (sr->ns_ok && !READ_ONCE(sr->down))
		vpa_sriov_ns_sweep(ad, -1);
	sr->num_vfs = 0;
	mutex_unlock(&sr->lock);
	/* without vpa_sriov::lock: see vpa_sriov_enable() */
	sr->iov_saved = false;
	if (pci_num_vf(ad->pdev))
		pci_disable_sriov(ad->pdev);
}

/* debugfs vpa/<pf>/: what the device says now, through vpa's admin queue */

/* secondaries: this primary's, one "SCID SCS VFN NVQ NVI" line each */
/*
 * A debugfs read whose command failed may have taken the admin queue
 * down (a timeout): the adapter follows, as after a sysfs write.
 */
static int vpa_sriov_dbg_done(struct vpa_adapter *ad, int ret)
{
	if (ret) {
		mutex_lock(&ad->sriov->lock);
		vpa_sriov_check_live(ad);
		mutex_unlock(&ad->sriov->lock);
	}
	return ret;
}

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
	return vpa_sriov_dbg_done(ad, ret);
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
	return vpa_sriov_dbg_done(ad, ret);
}
DEFINE_SHOW_ATTRIBUTE(vpa_sriov_pri);

/*
 * namespaces: every namespace the device lists (CNS 0x10), one
 * "NSID SHARED CNTLIDS" line each: SHARED is NMIC bit 0 (CNS 0x11),
 * CNTLIDS the controllers it is attached to (CNS 0x12), comma-separated,
 * or "-".
 */
static int vpa_sriov_ns_show(struct seq_file *m, void *unused)
{
	struct vpa_adapter *ad = m->private;
	struct vpa_nvme *nv = &ad->sriov->nv;
	unsigned int i, j, n, nc, got;
	u32 after = 0, *ids;
	u16 first, *ctrls;
	bool shared;
	int ret = -ENOMEM;

	ids = kmalloc_array(VPA_NVME_NS_LIST_MAX, sizeof(*ids), GFP_KERNEL);
	ctrls = kmalloc_array(VPA_NVME_CTRL_LIST_MAX, sizeof(*ctrls),
			      GFP_KERNEL);
	if (!ids || !ctrls)
		goto out;
	for (;;) {
		ret = vpa_nvme_ns_list(nv, after, ids, &n);
		for (i = 0; !ret && i < n; i++) {
			ret = vpa_nvme_ns_info(nv, ids[i], &shared);
			if (ret)
				break;
			seq_printf(m, "%u %u ", ids[i], shared);
			first = 0;
			got = 0;
			for (;;) {
				ret = vpa_nvme_ns_ctrls(nv, ids[i], first,
							ctrls, &nc);
				for (j = 0; !ret && j < nc; j++)
					seq_printf(m, "%s%u", got++ ? "," : "",
						   ctrls[j]);
				if (ret || nc < VPA_NVME_CTRL_LIST_MAX ||
				    ctrls[nc - 1] == U16_MAX)
					break;
				first = ctrls[nc - 1] + 1;
			}
			seq_puts(m, got ? "\n" : "-\n");
		}
		if (ret || n < VPA_NVME_NS_LIST_MAX)
			break;
		after = ids[n - 1];
	}
out:
	kfree(ctrls);
	kfree(ids);
	return vpa_sriov_dbg_done(ad, ret);
}
DEFINE_SHOW_ATTRIBUTE(vpa_sriov_ns);

/* The adapter's debugfs files (vpa_main.c made its directory). */
void vpa_sriov_debugfs_init(struct vpa_adapter *ad)
{
	debugfs_create_file("secondaries", 0400, ad->debugfs, ad,
			    &vpa_sriov_sec_fops);
	debugfs_create_file("primary", 0400, ad->debugfs, ad,
			    &vpa_sriov_pri_fops);
	debugfs_create_file("namespaces", 0400, ad->debugfs, ad,
			    &vpa_sriov_ns_fops);
	/* namespaces the sweeps detached (read without vpa_sriov::lock) */
	debugfs_create_u32("ns_detached", 0400, ad->debugfs,
			   &ad->sriov->ns_detached);
	/* error recoveries that wrote VF Enable back (read without a lock) */
	debugfs_create_u32("iov_restored", 0400, ad->debugfs,
			   &ad->sriov->iov_restored);
}

/*
 * Step 8, continued: no namespace an earlier owner attached stays attached
 * to a secondary (the review's H1). A device that does not list
 * attachments is used without namespaces for VFs, with a warning.
 */
static int vpa_sriov_probe_sweep(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	int ret;

	ret = vpa_sriov_ns_sweep(ad, -1);
	if (ret == -EOPNOTSUPP) {
		dev_warn(ad->dev, "the device does not list namespace attachments: no namespace is given to a VF, and none an earlier owner attached to a secondary can be found\n");
		return 0;
	}
	if (ret)
		return ret;
	sr->ns_ok = true;
	/*
	 * The first review of the second round's C1: a VF's own controller
	 * may be able to attach any namespace (QEMU's does); vpa cannot see
	 * a secondary's Identify Controller or Commands Supported log from
	 * the primary, nor filter what a VF's user sends.
	 */
	dev_notice(ad->dev, "namespaces given to VFs are kept apart only if the device refuses Namespace Attachment and Management from secondary controllers; vpa cannot check that from the PF (Documentation/admin-guide/vpa.rst)\n");
	if (sr->ns_detached)
		dev_info(ad->dev, "detached %u namespaces an earlier owner left attached to secondaries\n",
			 sr->ns_detached);
	return 0;
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
		ret = vpa_sriov_probe_sweep(ad);
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
	/*
	 * What an error recovery restores after the PCI core's bus reset
	 * (vpa_sriov_pf_restore(); the review s26's H1): the probe's own
	 * function reset consumed the state saved before it.
	 */
	pci_save_state(pdev);
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
	return vpa_sriov_uerr(ret);
}

/* Undo vpa_sriov_probe(), in reverse. */
void vpa_sriov_remove(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i;

	/* (its abandon needs @sr: error recoveries hold the device lock) */
	cancel_delayed_work_sync(&ad->recov_work);
	/* a change waiting for an owner stops waiting, and is refused */
	WRITE_ONCE(sr->gone, true);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++)
		if (sr->vf[i])
			wake_up(&sr->vf[i]->ack_wait);
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
 * Every group's secondary is offline with nothing assigned: a reset of the
 * primary (or a fatal error, after which the bus is reset) did it. The
 * groups keep their resources in the core, offline. Caller holds
 * sr->lock. Returns how many groups were not offline.
 */
static unsigned int vpa_sriov_groups_lost(struct vpa_sriov *sr)
{
	unsigned int i, lost = 0;

	lockdep_assert_held(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		if (sr->vf[i] && sr->vf[i]->def &&
		    sr->vf[i]->state != VPA_VF_OFFLINE) {
			sr->vf[i]->state = VPA_VF_OFFLINE;
			lost++;
		}
	}
	return lost;
}

/*
 * A function reset is coming (sysfs reset, or the probe's own): the admin
 * queue goes down first, so that no command is in flight across it (one
 * waiting for its completion stops waiting), and none is sent until
 * reset_done restarts the queue. Called with the device lock held; takes
 * no lock a sysfs file holds for long (vpa_nvme::lock only between
 * commands).
 */
void vpa_sriov_reset_prepare(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;

	if (!sr->own_reset)
		WRITE_ONCE(sr->down, true);
	vpa_nvme_lost(&sr->nv, false);
}

/*
 * After a function reset: restart the admin queue and check that every
 * secondary is offline with nothing assigned (a reset of the primary does
 * that; one that is not is emptied, as the probe does); then, if one is
 * due (@sweep), the namespace sweep of every secondary. Test hook:
 * vpa_sriov_restart_fail. Caller holds sr->lock.
 */
static int vpa_sriov_restart(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	struct vpa_nvme_sec *sec;
	unsigned int got, i, page;
	u32 n = READ_ONCE(vpa_sriov_restart_fail), first = 0;
	int ret = 0;

	lockdep_assert_held(&sr->lock);
	if (n) {
		WRITE_ONCE(vpa_sriov_restart_fail, n - 1);
		dev_info_ratelimited(ad->dev, "restart: failure injected\n");
		return -ECANCELED;
	}
	ret = vpa_nvme_enable(&sr->nv);
	if (ret)
		return ret;
	sec = kcalloc(VPA_NVME_SEC_MAX, sizeof(*sec), GFP_KERNEL);
	if (!sec)
		return -ENOMEM;
	/* a page at a time, as vpa_sriov_sec_pass(): other primaries' too */
	for (page = 0; page <= U16_MAX / VPA_NVME_SEC_MAX; page++) {
		ret = vpa_nvme_secondaries(&sr->nv, first, sec, &got);
		for (i = 0; !ret && i < got; i++) {
			if (sec[i].scid < first) {
				ret = -EIO;
				break;
			}
			first = sec[i].scid + 1;
			if (sec[i].pcid != sr->cntlid ||
			    (!(sec[i].scs & 1) && !sec[i].nvq && !sec[i].nvi))
				continue;
			dev_warn_ratelimited(ad->dev, "secondary %u kept %s, %u VQ, %u VI across a reset: emptied\n",
					     sec[i].scid,
					     sec[i].scs & 1 ? "online" : "offline",
					     sec[i].nvq, sec[i].nvi);
			ret = vpa_sriov_empty(sr, &sec[i]);
		}
		if (ret || got < VPA_NVME_SEC_MAX || first > U16_MAX)
			break;
	}
	kfree(sec);
	/* what a destroy while down or an unknown attach left (L3, M3) */
	if (!ret && sr->sweep && sr->ns_ok && vpa_sriov_ns_sweep(ad, -1))
		dev_warn_ratelimited(ad->dev, "restart: the namespace sweep that was due failed: due still\n");
	return ret;
}

/*
 * A function reset (the review's M2/M3): the controller lost the admin
 * queue, and every secondary was taken offline with nothing assigned (a
 * reset of the primary does that; the VFs themselves stay enabled). The
 * admin queue is restarted; the groups keep their resources in the core,
 * offline, and come back with the next enable of the VFs (an error
 * recovery brings them back itself, vpa_sriov_aer_reset(); a function
 * reset asked through sysfs is the administrator's, who enables again).
 * A restart that fails leaves the adapter down (vpa_nvme/state): groups
 * can be destroyed, none created, until a reset whose restart works.
 * Called with the device lock held.
 */
void vpa_sriov_reset_done(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int lost;
	int ret = -ENODEV;

	if (sr->own_reset) {
		vpa_nvme_lost(&sr->nv, false);
		return;
	}
	/* the PCI core restored (and so consumed) the saved state: again */
	pci_save_state(ad->pdev);
	mutex_lock(&sr->lock);
	if (!READ_ONCE(sr->dead))
		ret = vpa_sriov_restart(ad);
	lost = vpa_sriov_groups_lost(sr);
	WRITE_ONCE(sr->down, ret != 0);
	if (!ret)
		vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	if (ret)
		dev_warn_ratelimited(ad->dev, "function reset: admin queue not restarted (%d), adapter down, %u groups offline\n",
				     ret, lost);
	else
		dev_info_ratelimited(ad->dev, "function reset: admin queue restarted, %u groups offline\n",
				     lost);
}

/*
 * Error recovery (AER, plans/sriov.md step 7): the mdev adapters'
 * protocol (vpa_recov.c) on VF groups, with step 6's owner protocol as
 * the groups' side of it.
 *
 *   error_detected: the admin queue goes down (a command waiting stops);
 *     every group online at that moment is in the recovery (vpa_vf::aer);
 *     the owner of each (vfio-pci's user, as step 6 finds it) gets a
 *     request of kind "error" (event, event_kind); all are waited for
 *     with one deadline (error_ack_timeout_ms; an owner that never
 *     acknowledged a request of this group is asked, not waited for), so
 *     a silent owner holds the others no longer than that; acked or not
 *     is recorded per group and for the adapter (last_acked,
 *     last_failed);
 *   slot_reset (or resume, if the PCI core skipped it): one reset of the
 *     controller: for a frozen link the PCI core's bus reset was it, the
 *     PF's config is restored from the saved state
 *     (vpa_sriov_pf_restore()) and the admin queue is started again;
 *     otherwise the restart's own disable and enable (CC.EN 1 -> 0 -> 1)
 *     is it. Every secondary is then offline with nothing assigned; VF
 *     Enable and NumVFs are checked (vpa_sriov_iov_check()); every group
 *     in the recovery is given its counts again and brought online (ACT
 *     8, 8, 9: vpa_vf_online()), or left as that found it;
 *   resume: each owner asked is told it is over (event reads 0 and is
 *     notified; state says whether its group is online again).
 *
 * When the PCI core will not finish it (an enabled VF without an
 * error_detected votes NO_AER_DRIVER: err.c then calls no slot_reset and
 * no resume, after its bus reset for a frozen link): a non-fatal error is
 * left alone (CAN_RECOVER: nothing is reset, so nothing needs restoring);
 * for a frozen one recov_work looks every VPA_SRIOV_AER_POLL_MS for the
 * bus reset (the PF's memory decode off) and then does the second and
 * last steps itself (vpa_sriov_aer_timeout()). A recovery still open at
 * recovery_timeout_ms is finished the same way; only if the PCI core
 * holds the PF then (stuck in its bus reset) is it abandoned without a
 * restore, and the slot_reset or resume that comes later restores the
 * PF and restarts the queue (vpa_sriov::aer_unrestored).
 *
 * An error while in the second step's state (RESET: no resume came)
 * starts the recovery over (the review's M1); one while DETECTED is part
 * of the same recovery (the deadline is not moved). More than
 * VPA_SRIOV_AER_BURST errors in VPA_SRIOV_AER_BURST_MS give the adapter
 * up (as a permanent failure): a tenant that makes its VF fail again and
 * again cannot keep every group in a recovery.
 *
 * A group whose step 6 change waits for its owner at the error is not
 * asked again (its request is out); if the change ends while the group is
 * in the recovery, the recovery takes its request over and ends it at
 * resume (the review's M2). Changes and destroys through the owner
 * protocol of a group in the recovery are EBUSY, as is sriov_numvfs
 * (the review's M4). Groups that were not online stay offline.
 *
 * A VF's own config (Command, MSI-X) is reset with it and nothing
 * restores it (vfio-pci 6.1 has no slot_reset or resume): the owner
 * re-programs it after the "over" (Documentation/userspace-api/vpa.rst).
 *
 * Locks: the PCI core holds the PF's device lock around each callback;
 * then vpa_adapter::recov_lock (the recovery's steps, @aer_state), then
 * vpa_sriov::lock. The wait for the owners holds no vpa_sriov::lock (ack
 * takes vpa_vf::evt_lock only). recov_work only trylocks the PF's device
 * lock (remove cancels it under that lock, and pci_bus_lock() holds it
 * across the bus reset). VFs' device locks are only trylocked, to read
 * their driver.
 */

#define VPA_SRIOV_AER_POLL_MS	100
#define VPA_SRIOV_AER_BURST	5
#define VPA_SRIOV_AER_BURST_MS	600000

/*
 * After the bus reset of a frozen link (aer_root_reset() ->
 * pci_bus_error_reset()), which saves and restores nothing: the PF's
 * header (BAR0, Command: memory decode, bus mastering, INTx disable),
 * Device Control, its AER masks, ACS and, through
 * pci_restore_iov_state(), the VF BARs, NumVFs and VF Enable come back
 * from the state the probe (or the last restore) saved. Restoring
 * consumes it: it is saved again at once, for the next recovery (as the
 * mdev adapters' vpa_aer_reset() does). vpa_sriov_iov_check() is then the
 * fallback only. Called with the device lock held (the review s26's H1).
 */
static void vpa_sriov_pf_restore(struct vpa_adapter *ad)
{
	struct pci_dev *pdev = ad->pdev;

	device_lock_assert(&pdev->dev);
	pci_restore_state(pdev);
	pci_save_state(pdev);
	pci_intx(pdev, 0);
	ad->sriov->aer_unrestored = false;
}

/* Did a reset clear the PF's config (memory decode off), or is it gone? */
static bool vpa_sriov_pf_was_reset(struct vpa_adapter *ad)
{
	u16 cmd = 0;

	pci_read_config_word(ad->pdev, PCI_COMMAND, &cmd);
	return cmd == 0xffff || !(cmd & PCI_COMMAND_MEMORY);
}

/*
 * How many enabled VFs have a driver without error_detected, or none
 * (@first: the first of them)? Each votes NO_AER_DRIVER in err.c, and
 * the PCI core then finishes no recovery (the review's H2, M6). The
 * driver is read under the VF's device lock, trylocked (order PF -> VF,
 * as pci_bus_lock()); a VF whose lock is held counts as handled: the
 * PCI core's walk reads it again. Called with the PF's device lock held.
 */
static unsigned int vpa_sriov_vfs_unhandled(struct vpa_adapter *ad,
					    int *first)
{
	const struct pci_error_handlers *eh;
	struct pci_dev *vfdev;
	int i, n = pci_num_vf(ad->pdev);
	unsigned int ret = 0;

	device_lock_assert(&ad->pdev->dev);
	for (i = 0; i < n; i++) {
		vfdev = vpa_sriov_vf_get(ad->pdev, i);
		if (!vfdev)
			continue;
		if (device_trylock(&vfdev->dev)) {
			eh = vfdev->dev.driver ?
			     to_pci_driver(vfdev->dev.driver)->err_handler :
			     NULL;
			if (!eh || !eh->error_detected) {
				if (!ret)
					*first = i;
				ret++;
			}
			device_unlock(&vfdev->dev);
		}
		pci_dev_put(vfdev);
	}
	return ret;
}

/* Ask the owner of group @vf, in the recovery, about the error. */
static void vpa_sriov_aer_ask(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_vf_part p = { .vf = vf };

	lockdep_assert_held(&ad->sriov->lock);
	vf->rec.recoveries++;
	if (vf->busy) {		/* its change's request is out already */
		vf->rec.last_error = true;
		return;
	}
	if (vf->index < ad->sriov->num_vfs)
		p.dev = vpa_sriov_vf_get(ad->pdev, vf->index);
	if (p.dev) {
		p.drv = READ_ONCE(p.dev->dev.driver);
		if (!vpa_vf_is_vfio(p.drv))	/* no owner to ask */
			p.drv = NULL;
		p.used = pci_is_enabled(p.dev);
	}
	vpa_vf_ask(ad, &p, VPA_VF_EVT_ERROR, vf->nr[VPA_RES_WQ],
		   vf->nr[VPA_RES_VEC]);
	vf->aer_asked = p.asked;
	vf->aer_seq = vf->evt_seq;
	pci_dev_put(p.dev);
}

/* What the recovery's first step did with a group's owner. */
enum vpa_aer_ask {
	VPA_AER_NOT_ASKED,
	VPA_AER_WAIT,		/* asked: wait for its ack */
	VPA_AER_NO_WAIT,	/* asked; it never acked a request: no wait */
};

/*
 * Wait until every owner asked (@asked) answered or the one deadline
 * passed, then stop asking; record each outcome. Caller holds recov_lock,
 * not vpa_sriov::lock (an owner's ack must not wait for it).
 */
static void vpa_sriov_aer_wait(struct vpa_adapter *ad, const u8 *asked)
{
	struct vpa_sriov *sr = ad->sriov;
	ktime_t deadline = ktime_add_ms(ktime_get(),
					READ_ONCE(vpa_error_ack_timeout_ms));
	bool acked[VPA_SRIOV_MAX_VFS] = { };
	struct vpa_vf *vf;
	unsigned int i;
	s64 left;

	lockdep_assert_held(&ad->recov_lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		vf = sr->vf[i];
		if (!vf || asked[i] == VPA_AER_NOT_ASKED)
			continue;
		left = ktime_ms_delta(deadline, ktime_get());
		if (asked[i] == VPA_AER_WAIT && left > 0)
			wait_event_timeout(vf->ack_wait, vpa_vf_answered(vf),
					   msecs_to_jiffies(left));
		acked[i] = vpa_vf_stop_asking(vf);
	}
	mutex_lock(&sr->lock);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		vf = sr->vf[i];
		if (!vf || asked[i] == VPA_AER_NOT_ASKED)
			continue;
		vpa_vf_conclude(vf, acked[i], 0);
		if (acked[i])
			ad->last_acked++;
		else
			ad->last_failed++;
	}
	mutex_unlock(&sr->lock);
}

/*
 * The first step of a recovery: see above. Returns whether it started
 * one (or started one over, from state RESET: the review's M1); an error
 * while DETECTED is part of the recovery under way. Caller holds
 * recov_lock.
 */
static bool vpa_sriov_aer_detect(struct vpa_adapter *ad, bool frozen)
{
	struct vpa_sriov *sr = ad->sriov;
	u8 asked[VPA_SRIOV_MAX_VFS] = { };
	unsigned int i, in = 0, nr = 0;
	bool again;
	struct vpa_vf *vf;

	lockdep_assert_held(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_DETECTED) {
		ad->aer_frozen |= frozen;
		return false;
	}
	again = ad->aer_state == VPA_AER_RESET;
	ad->errors++;
	ad->aer_state = VPA_AER_DETECTED;
	ad->aer_frozen = frozen;
	WRITE_ONCE(sr->down, true);
	vpa_nvme_recovered(&sr->nv, false);
	vpa_nvme_lost(&sr->nv, false);
	mutex_lock(&sr->lock);
	if (!again) {
		ad->last_acked = 0;
		ad->last_failed = 0;
		sr->aer_start = ktime_get();
	}
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		vf = sr->vf[i];
		if (!vf || !vf->def)
			continue;
		if (vf->aer_asked) {	/* (again) its owner has the request */
			in++;
			continue;
		}
		/* (again) one in the recovery that is not online is retried */
		if (vf->state != VPA_VF_ONLINE && !vf->aer)
			continue;
		vf->aer = true;
		in++;
		if (vf->state != VPA_VF_ONLINE)
			continue;
		vpa_sriov_aer_ask(ad, vf);
		if (!vf->aer_asked)
			continue;
		nr++;
		asked[i] = vf->rec.forced && !vf->rec.acked ?
			   VPA_AER_NO_WAIT : VPA_AER_WAIT;
	}
	mutex_unlock(&sr->lock);
	vpa_sriov_aer_wait(ad, asked);
	dev_info(ad->dev, "error (%s)%s: %u groups in the recovery, %u owners asked, %u acknowledged, %u not in %u ms\n",
		 frozen ? "frozen" : "non-fatal",
		 again ? " before the last recovery's resume: it starts over" : "",
		 in, nr, ad->last_acked, ad->last_failed,
		 READ_ONCE(vpa_error_ack_timeout_ms));
	return true;
}

/*
 * Bring group @vf, in the recovery, online again with its counts. One
 * that cannot be is left as vpa_vf_online() found it (offline with
 * everything taken back, or state error: the review's L3); offline if
 * the VFs were disabled meanwhile. Caller holds vpa_sriov::lock.
 */
static void vpa_sriov_aer_restore(struct vpa_adapter *ad, struct vpa_vf *vf)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *vfdev;
	bool same;

	lockdep_assert_held(&sr->lock);
	if (vf->index >= sr->num_vfs) {
		vf->state = VPA_VF_OFFLINE;	/* its VFs are disabled */
		return;
	}
	vfdev = vpa_sriov_vf_get(ad->pdev, vf->index);
	same = vfdev && pci_dev_id(vfdev) == vf->rid;
	pci_dev_put(vfdev);
	if (!same) {
		dev_warn_ratelimited(ad->dev, "VF %u: not found with routing id %04x after the reset: state error\n",
				     vf->index, vf->rid);
		vf->state = VPA_VF_ERROR;
		return;
	}
	vpa_vf_online(sr, vf, false);
}

/*
 * The second step: the reset, the PF's config, the SR-IOV capability,
 * the groups. Caller holds recov_lock and the device lock. Returns 0, or
 * the restart's error (the adapter stays down, the groups in the
 * recovery in state "error").
 */
static int vpa_sriov_aer_reset(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int i, on = 0, in = 0;
	const char *iov;
	struct vpa_vf *vf;
	int ret = -ENODEV;

	lockdep_assert_held(&ad->recov_lock);
	device_lock_assert(&ad->pdev->dev);
	if (ad->aer_state != VPA_AER_DETECTED)
		return 0;
	ad->aer_state = VPA_AER_RESET;
	if (!READ_ONCE(sr->dead) && !pci_device_is_present(ad->pdev))
		WRITE_ONCE(sr->dead, true);
	if (ad->aer_frozen && !READ_ONCE(sr->dead))
		vpa_sriov_pf_restore(ad);
	iov = READ_ONCE(sr->dead) ? "none" : vpa_sriov_iov_check(ad);
	/*
	 * pci_channel_offline() reads "frozen" until the PCI core's resume
	 * (for good if it gave up): the function decodes again now.
	 */
	vpa_nvme_recovered(&sr->nv, !READ_ONCE(sr->dead));
	mutex_lock(&sr->lock);
	if (!READ_ONCE(sr->dead))
		ret = vpa_sriov_restart(ad);
	if (!ret)
		ad->resets++;
	else
		vpa_nvme_recovered(&sr->nv, false);
	vpa_sriov_groups_lost(sr);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		vf = sr->vf[i];
		if (!vf || !vf->def || !vf->aer)
			continue;
		in++;
		if (ret)
			vf->state = VPA_VF_ERROR;
		else
			vpa_sriov_aer_restore(ad, vf);
		on += vf->state == VPA_VF_ONLINE;
	}
	WRITE_ONCE(sr->down, ret != 0);
	if (!ret)
		vpa_sriov_check_live(ad);
	mutex_unlock(&sr->lock);
	if (ret)
		dev_err(ad->dev, "error recovery: admin queue not restarted (%d): adapter down, %u groups in state error\n",
			ret, in);
	else
		dev_info(ad->dev, "error recovery: controller reset, VF Enable %s, %u of %u groups online again\n",
			 iov, on, in);
	return ret;
}

/*
 * The last step: the owners asked are told it is over, each group's
 * outcome recorded. @abandoned: the PCI core did not finish the
 * recovery (groups not online again are in state "error"). Without the
 * reset step no group counts as online again: vpa's record of it
 * predates the error. An owner's request is ended only if it is still
 * the recovery's (@aer_seq): a group destroyed and created again since
 * has a request of its own (the review's L1). Caller holds recov_lock.
 */
static void vpa_sriov_aer_end(struct vpa_adapter *ad, bool abandoned)
{
	struct vpa_sriov *sr = ad->sriov;
	bool reset = ad->aer_state == VPA_AER_RESET;
	unsigned int i, on = 0, failed = 0;
	struct vpa_vf *vf;
	s64 us;

	lockdep_assert_held(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_NORMAL)
		return;
	mutex_lock(&sr->lock);
	us = ktime_us_delta(ktime_get(), sr->aer_start);
	for (i = 0; i < VPA_SRIOV_MAX_VFS; i++) {
		vf = sr->vf[i];
		if (!vf)
			continue;
		if (vf->aer && vf->def) {
			if (reset && vf->state == VPA_VF_ONLINE) {
				vf->rec.resumed++;
				vf->last_resume_us = us;
				on++;
			} else {
				if (abandoned && vf->state == VPA_VF_ONLINE)
					vf->state = VPA_VF_ERROR;
				vf->rec.failed++;
				vf->rec.last_outcome = VPA_OUT_FAILED;
				failed++;
			}
		}
		if (vf->aer_asked && vf->aer_seq == vf->evt_seq)
			vpa_vf_done(vf);
		vf->aer = false;
		vf->aer_asked = false;
	}
	mutex_unlock(&sr->lock);
	if (abandoned)
		ad->abandoned++;
	ad->aer_state = VPA_AER_NORMAL;
	sr->aer_giveup = false;
	/* (a running instance finds the state normal and does nothing) */
	cancel_delayed_work(&ad->recov_work);
	dev_info(ad->dev, "error recovery %s in %lld ms: %u groups online again, %u not\n",
		 abandoned ? "finished without the PCI core" : "done",
		 us / 1000, on, failed);
}

/*
 * The adapter is given up (a permanent failure, or too many errors): the
 * admin queue is down for good, the controller's registers are not
 * touched again, every group reads offline and can be destroyed (without
 * commands), available_instances reads 0 and vpa_nvme/state "dead"; a
 * recovery under way ends (its owners told). Unbinding and binding again
 * starts over (the probe sweeps what is left). Called with the device
 * lock held, not recov_lock.
 */
static void vpa_sriov_aer_dead(struct vpa_adapter *ad, const char *why)
{
	struct vpa_sriov *sr = ad->sriov;
	unsigned int lost;

	WRITE_ONCE(sr->down, true);
	WRITE_ONCE(sr->dead, true);
	vpa_nvme_recovered(&sr->nv, false);
	vpa_nvme_lost(&sr->nv, true);
	mutex_lock(&ad->recov_lock);
	mutex_lock(&sr->lock);
	lost = vpa_sriov_groups_lost(sr);
	mutex_unlock(&sr->lock);
	vpa_sriov_aer_end(ad, false);
	mutex_unlock(&ad->recov_lock);
	dev_err(ad->dev, "%s: adapter given up, %u groups offline; unbind and bind it again\n",
		why, lost);
}

/*
 * Count an error that would start a recovery: more than
 * VPA_SRIOV_AER_BURST in VPA_SRIOV_AER_BURST_MS is a storm (the review's
 * H2, M5). Caller holds recov_lock.
 */
static bool vpa_sriov_aer_storm(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;

	lockdep_assert_held(&ad->recov_lock);
	if (!sr->aer_burst ||
	    time_after(jiffies, sr->aer_burst_start +
				msecs_to_jiffies(VPA_SRIOV_AER_BURST_MS))) {
		sr->aer_burst_start = jiffies;
		sr->aer_burst = 0;
	}
	return ++sr->aer_burst > VPA_SRIOV_AER_BURST;
}

/*
 * An uncorrectable error (AER). A non-fatal one leaves nothing to
 * recover if the admin queue is idle (no command out, the queue up: no
 * completion the error may have poisoned), or if the PCI core will not
 * finish a recovery (a VF without error_detected: it resets nothing
 * either): CAN_RECOVER, nothing counted. A permanent failure gives the
 * adapter up (vpa_sriov_aer_dead()), as does a storm of errors. Otherwise
 * a recovery starts (above): NEED_RESET. Called with the device lock
 * held.
 */
pci_ers_result_t vpa_sriov_error_detected(struct vpa_adapter *ad,
					  pci_channel_state_t state)
{
	struct vpa_sriov *sr = ad->sriov;
	bool frozen = state == pci_channel_io_frozen;
	unsigned int unhandled;
	int first = -1;
	bool storm;

	if (state == pci_channel_io_perm_failure) {
		vpa_sriov_aer_dead(ad, "permanent failure");
		return PCI_ERS_RESULT_DISCONNECT;
	}
	unhandled = vpa_sriov_vfs_unhandled(ad, &first);
	if (!frozen && unhandled) {
		dev_warn_ratelimited(ad->dev, "non-fatal error detected: VF %d has no error handler, the PCI core recovers nothing: nothing reset, the groups go on\n",
				     first);
		return PCI_ERS_RESULT_CAN_RECOVER;
	}
	if (!frozen && !READ_ONCE(sr->down) && vpa_nvme_idle(&sr->nv)) {
		dev_warn_ratelimited(ad->dev, "non-fatal error detected: the admin queue is idle, the groups go on\n");
		return PCI_ERS_RESULT_CAN_RECOVER;
	}
	mutex_lock(&ad->recov_lock);
	storm = ad->aer_state != VPA_AER_DETECTED && vpa_sriov_aer_storm(ad);
	mutex_unlock(&ad->recov_lock);
	if (storm) {
		dev_err(ad->dev, "more than %u errors in %u ms\n",
			VPA_SRIOV_AER_BURST, VPA_SRIOV_AER_BURST_MS);
		vpa_sriov_aer_dead(ad, "too many errors");
		return PCI_ERS_RESULT_DISCONNECT;
	}
	mutex_lock(&ad->recov_lock);
	if (vpa_sriov_aer_detect(ad, frozen)) {
		/* only a recovery that starts moves the deadline (H2) */
		vpa_recov_arm(ad);
		sr->aer_giveup = unhandled;
		if (unhandled) {
			dev_warn(ad->dev, "VF %d has no error handler: the PCI core will give up after its bus reset, vpa then restores the PF itself\n",
				 first);
			mod_delayed_work(system_wq, &ad->recov_work,
					 msecs_to_jiffies(VPA_SRIOV_AER_POLL_MS));
		}
	}
	mutex_unlock(&ad->recov_lock);
	return PCI_ERS_RESULT_NEED_RESET;
}

/*
 * A slot_reset or resume with no recovery open, after a recovery that
 * was abandoned while the PCI core held the PF (vpa_sriov_aer_timeout()):
 * the PF is restored and the admin queue restarted now (the review's
 * H3); the groups of that recovery stay as it left them (its owners were
 * told). Returns the restart's error. Caller holds recov_lock and the
 * device lock.
 */
static int vpa_sriov_aer_late(struct vpa_adapter *ad)
{
	int ret;

	dev_warn(ad->dev, "error recovery: the PCI core's reset came after the recovery was abandoned: the PF is restored now\n");
	ad->aer_state = VPA_AER_DETECTED;
	ad->aer_frozen = true;
	ret = vpa_sriov_aer_reset(ad);
	ad->aer_state = VPA_AER_NORMAL;
	return ret;
}

/*
 * slot_reset: the reset and the groups (vpa_sriov_aer_reset()). If the
 * admin queue cannot be restarted the recovery ends here (the PCI core
 * calls no resume after a DISCONNECT): the owners are told, the groups
 * are in state "error", the adapter down. RECOVERED only with the PF
 * restored and its queue restarted. Called with the device lock held.
 */
pci_ers_result_t vpa_sriov_slot_reset(struct vpa_adapter *ad)
{
	pci_ers_result_t res = PCI_ERS_RESULT_RECOVERED;
	int ret;

	mutex_lock(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_NORMAL && ad->sriov->aer_unrestored) {
		ret = vpa_sriov_aer_late(ad);
	} else {
		ret = vpa_sriov_aer_reset(ad);
		if (ret)
			vpa_sriov_aer_end(ad, false);
	}
	if (ret || READ_ONCE(ad->sriov->down))
		res = PCI_ERS_RESULT_DISCONNECT;
	mutex_unlock(&ad->recov_lock);
	return res;
}

/* resume: the end (the reset first, if slot_reset was skipped). */
void vpa_sriov_resume(struct vpa_adapter *ad)
{
	mutex_lock(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_NORMAL && ad->sriov->aer_unrestored)
		vpa_sriov_aer_late(ad);
	vpa_sriov_aer_reset(ad);
	vpa_sriov_aer_end(ad, false);
	mutex_unlock(&ad->recov_lock);
}

/*
 * recov_work of an SR-IOV adapter (vpa_recov_timeout_work()): the PCI
 * core did not finish the recovery, or will not (vpa_sriov::aer_giveup).
 * While it may still (before recovery_timeout_ms; for a predicted give-up,
 * until its bus reset is seen) this looks again later. Then, with the
 * PF's device lock, vpa does the second and last steps itself: the PF
 * restored, VF Enable back, the queue restarted, the groups online again
 * or in state "error"; "abandoned" is counted. A recovery in state RESET
 * (slot_reset worked, no resume came) is just ended (the review's L2).
 * Without the device lock at the deadline (the PCI core holds it, stuck
 * in its bus reset) the recovery is abandoned without a restore: groups
 * in state "error", the owners told, the adapter down until the late
 * slot_reset or resume (vpa_sriov_aer_late()) or a rebind.
 */
void vpa_sriov_aer_timeout(struct vpa_adapter *ad)
{
	struct vpa_sriov *sr = ad->sriov;
	struct pci_dev *pdev = ad->pdev;
	unsigned long left;
	bool locked, late, wait;

	/* never device_lock(): remove cancels this work under that lock */
	locked = device_trylock(&pdev->dev);
	mutex_lock(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_NORMAL)
		goto out;
	late = !time_before(jiffies, ad->recov_deadline);
	if (ad->aer_state == VPA_AER_RESET)	/* slow slot_reset (L2) */
		wait = !locked || !late;
	else
		wait = !late && (!locked || !sr->aer_giveup ||
				 (ad->aer_frozen &&
				  !vpa_sriov_pf_was_reset(ad)));
	if (wait) {
		left = msecs_to_jiffies(VPA_SRIOV_AER_POLL_MS);
		if (!late && locked && !sr->aer_giveup)
			left = ad->recov_deadline - jiffies;
		mod_delayed_work(system_wq, &ad->recov_work, left);
		goto out;
	}
	if (ad->aer_state == VPA_AER_RESET) {
		dev_warn(ad->dev, "error recovery: no resume from the PCI core: ended\n");
		vpa_sriov_aer_end(ad, false);
		goto out;
	}
	if (!locked) {
		dev_err(ad->dev, "error recovery not finished by the PCI core, which holds the PF: abandoned, adapter down until the PF's slot_reset\n");
		sr->aer_unrestored = ad->aer_frozen;
		vpa_sriov_aer_end(ad, true);
		goto out;
	}
	dev_err(ad->dev, "error recovery %s: vpa restores the PF itself\n",
		sr->aer_giveup ? "given up by the PCI core after its reset" :
				 "not finished by the PCI core in time");
	vpa_sriov_aer_reset(ad);
	vpa_sriov_aer_end(ad, true);
out:
	mutex_unlock(&ad->recov_lock);
	if (locked)
		device_unlock(&pdev->dev);
}
