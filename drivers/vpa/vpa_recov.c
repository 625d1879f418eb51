// SPDX-License-Identifier: GPL-2.0
/*
 * vpa lifecycle events: resize and reassign of live virtual adapters, and
 * coordinated error recovery (AER) of the adapter they share.
 *
 * Both use one protocol with the guest driver (uapi/linux/vpa.h, "Events"):
 * the host latches VPA_EVT_QUIESCE (with VPA_EVT_ERROR for recovery),
 * names the queues in VPA_REG_QUIESCE_WQS, numbers the request in
 * VPA_REG_EVT_SEQ and raises the event vector; the driver quiesces and
 * writes the number to VPA_REG_ACK. The host waits at most
 * vpa_ack_timeout_ms (VPA_REG_DEADLINE_MS), then goes on:
 *
 *  - resize/reassign: the engine is stopped between descriptors on the
 *    queues concerned (vpa_engine_freeze_wq()), the resource core moves
 *    the resources, the virtual adapters' state follows, and
 *    VPA_EVT_CHANGED is raised. Taken queues keep their final head in the
 *    status page, so the driver knows which descriptors ran (exactly once)
 *    and which never will.
 *  - error recovery: every open virtual adapter is asked at once; the
 *    engine runs nothing meanwhile. After the deadline the ones that did
 *    not acknowledge are failed, the adapter is reset once, the others'
 *    state is restored and they get VPA_EVT_RESUME.
 *
 * Every operation holds vpa_adapter::recov_lock from start to end (the
 * PCI error callbacks each take it on their own; aer_state carries the
 * recovery from one to the next). It waits for guests with no other lock
 * held: the acknowledgment comes through vpa_rw(), which takes
 * vpa_vdev::lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/uuid.h>

#include "vpa.h"
#include "vpa_trace.h"

#define VPA_ACK_MIN_MS		10
#define VPA_ACK_MAX_MS		60000
#define VPA_RECOV_DELAY_MAX_US	100000U
#define VPA_RECOV_MIN_MS	1000
#define VPA_RECOV_MAX_MS	3600000

unsigned int vpa_ack_timeout_ms = 2000;
static unsigned int vpa_recovery_timeout_ms = 120000;

/* A time in ms for *@kp->arg, refused (EINVAL) outside [@min, @max]. */
static int vpa_ms_param_set(const char *val, const struct kernel_param *kp,
			    unsigned int min, unsigned int max)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (ms < min || ms > max)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	return 0;
}

static int vpa_ack_timeout_set(const char *val, const struct kernel_param *kp)
{
	return vpa_ms_param_set(val, kp, VPA_ACK_MIN_MS, VPA_ACK_MAX_MS);
}

static const struct kernel_param_ops vpa_ack_timeout_ops = {
	.set = vpa_ack_timeout_set,
	.get = param_get_uint,
};
module_param_cb(ack_timeout_ms, &vpa_ack_timeout_ops, &vpa_ack_timeout_ms,
		0644);
MODULE_PARM_DESC(ack_timeout_ms,
		 "time a guest has to acknowledge a quiesce request (10-60000 ms, default 2000)");

/*
 * The deadline of a request of kind "error" to a VF group's owner (the
 * review s26's M5): the wait runs in the AER thread with the PF's device
 * lock and pci_bus_sem held, and a QEMU owner never acknowledges (it
 * stops the guest on vfio-pci's err_trigger), so it is shorter than a
 * change's.
 */
unsigned int vpa_error_ack_timeout_ms = 500;

static const struct kernel_param_ops vpa_error_ack_timeout_ops = {
	.set = vpa_ack_timeout_set,
	.get = param_get_uint,
};
module_param_cb(error_ack_timeout_ms, &vpa_error_ack_timeout_ops,
		&vpa_error_ack_timeout_ms, 0644);
MODULE_PARM_DESC(error_ack_timeout_ms,
		 "time the owner of a VF group has to acknowledge an error recovery (10-60000 ms, default 500)");

static int vpa_recovery_timeout_set(const char *val,
				    const struct kernel_param *kp)
{
	return vpa_ms_param_set(val, kp, VPA_RECOV_MIN_MS, VPA_RECOV_MAX_MS);
}

static const struct kernel_param_ops vpa_recovery_timeout_ops = {
	.set = vpa_recovery_timeout_set,
	.get = param_get_uint,
};
module_param_cb(recovery_timeout_ms, &vpa_recovery_timeout_ops,
		&vpa_recovery_timeout_ms, 0644);
MODULE_PARM_DESC(recovery_timeout_ms,
		 "time the PCI core has to finish an error recovery before the virtual adapters are failed (1000-3600000 ms, default 120000)");

/*
 * Test hook (debugfs vpa/recov_delay_us, 0 = off): a delay right after a
 * recovery step made a change visible to the guest, to widen the windows
 * in which a guest that polls could see the host half-way (the tests of
 * the vpa_recovery suite). Bounded to VPA_RECOV_DELAY_MAX_US.
 */
u32 vpa_recov_delay_us;

static void vpa_recov_test_delay(void)
{
	u32 us = READ_ONCE(vpa_recov_delay_us);

	if (us)
		usleep_range(min(us, VPA_RECOV_DELAY_MAX_US),
			     min(us, VPA_RECOV_DELAY_MAX_US) + 100);
}

void vpa_recov_init_vdev(struct vpa_vdev *v)
{
	int t;

	for (t = 0; t < VPA_RES_NR; t++)
		v->keep[t] = U32_MAX;
	init_waitqueue_head(&v->ack_wait);
	v->rec.last_ack_us = -1;
}

/* Latch @events and raise the event vector. */
void vpa_vdev_raise(struct vpa_vdev *v, u32 events)
{
	u32 vec;

	spin_lock(&v->cfg_lock);
	v->event |= events;
	vec = v->evt_vec;
	spin_unlock(&v->cfg_lock);
	vpa_vdev_signal(v, vec);
}

/*
 * The guest wrote @seq to VPA_REG_ACK. Caller holds cfg_lock. An ack with
 * no request pending or for another request fails (the caller counts it
 * as a bad register write).
 */
int vpa_vdev_ack(struct vpa_vdev *v, u32 seq)
{
	lockdep_assert_held(&v->cfg_lock);
	if (!v->quiescing || seq != v->evt_seq)
		return -EINVAL;
	v->quiescing = false;
	v->event &= ~VPA_EVT_QUIESCE;
	v->ack_time = ktime_get();
	wake_up(&v->ack_wait);
	return 0;
}

static bool vpa_acked(struct vpa_vdev *v)
{
	bool ret;

	spin_lock(&v->cfg_lock);
	ret = !v->quiescing || READ_ONCE(v->dead);
	spin_unlock(&v->cfg_lock);
	return ret;
}

/* Enabled queues of @v, as a mask. Caller holds cfg_lock. */
static u32 vpa_enabled_wqs(struct vpa_vdev *v)
{
	u32 i, mask = 0;

	for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
		if (v->wq[i].ctrl & VPA_WQ_CTRL_ENABLE)
			mask |= BIT(i);
	return mask;
}

/*
 * Ask @v to quiesce @mask. Returns false (nothing asked) if the device is
 * not open or is dead. Caller holds recov_lock.
 */
static bool vpa_quiesce_ask(struct vpa_adapter *ad, struct vpa_vdev *v,
			    u32 mask, bool error)
{
	u32 vec;

	lockdep_assert_held(&ad->recov_lock);
	mutex_lock(&v->lock);
	if (!v->open || v->dead) {
		mutex_unlock(&v->lock);
		v->rec.last_outcome = VPA_OUT_IDLE;
		v->rec.last_error = error;
		return false;
	}
	/*
	 * The record is complete before the guest can see the request: a
	 * guest that polls VPA_REG_STATUS may acknowledge at once, and its
	 * ack time must not precede the time it was asked.
	 */
	v->rec.events++;
	if (error)
		v->rec.recoveries++;
	v->rec.last_error = error;
	v->rec.last_outcome = VPA_OUT_PENDING;
	spin_lock(&v->cfg_lock);
	v->asked = ktime_get();
	v->evt_seq++;
	v->quiesce_wqs = mask;
	v->quiescing = true;
	v->event |= VPA_EVT_QUIESCE | (error ? VPA_EVT_ERROR : 0);
	if (error)
		v->recovery = true;
	vec = v->evt_vec;
	spin_unlock(&v->cfg_lock);
	mutex_unlock(&v->lock);
	vpa_recov_test_delay();
	vpa_vdev_signal(v, vec);
	return true;
}

/*
 * Wait until @v acknowledged or @deadline passed; record the outcome.
 * Returns true if it acknowledged in time. The request is withdrawn
 * either way. Caller holds recov_lock and no other lock.
 */
static bool vpa_quiesce_wait(struct vpa_vdev *v, ktime_t deadline)
{
	s64 left = ktime_ms_delta(deadline, ktime_get());
	bool acked;

	if (left > 0)
		wait_event_timeout(v->ack_wait, vpa_acked(v),
				   msecs_to_jiffies(left));
	spin_lock(&v->cfg_lock);
	acked = !v->quiescing && !v->dead;
	v->quiescing = false;
	v->event &= ~VPA_EVT_QUIESCE;
	v->quiesce_wqs = 0;
	spin_unlock(&v->cfg_lock);
	if (acked) {
		v->rec.acked++;
		v->rec.last_ack_us = ktime_us_delta(v->ack_time, v->asked);
		v->rec.last_outcome = VPA_OUT_ACKED;
	} else {
		v->rec.last_ack_us = -1;
	}
	return acked;
}

static ktime_t vpa_deadline(void)
{
	return ktime_add_ms(ktime_get(), READ_ONCE(vpa_ack_timeout_ms));
}

/*
 * Queues of @v a change of @type to @keep resources needs quiet: those
 * that lose their queue, doorbell, vector or (for windows) may use the
 * window; with @enabled only those enabled now. Caller holds cfg_lock.
 */
static u32 vpa_affected_wqs(struct vpa_vdev *v, enum vpa_res type, u32 keep,
			    bool enabled)
{
	u32 i, mask = 0, on = enabled ? vpa_enabled_wqs(v) : ~0U;

	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		struct vpa_wq *wq = &v->wq[i];

		if ((type == VPA_RES_WQ && i >= keep) ||
		    (type == VPA_RES_DB && wq->db >= keep) ||
		    (type == VPA_RES_VEC && wq->vec >= keep) ||
		    type == VPA_RES_WIN)
			mask |= BIT(i);
	}
	return mask & on;
}

/* Clear the queue ownership of @v in the adapter. Caller holds ad->lock. */
static void vpa_owner_clear(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	u32 i;

	lockdep_assert_held(&ad->lock);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
		if (ad->wq_owner[v->wq[i].global] == &v->wq[i])
			ad->wq_owner[v->wq[i].global] = NULL;
}

/* A queue or window that appears or goes: power-on state. */
static void vpa_wq_clear(struct vpa_wq *wq)
{
	wq->ring = 0;
	wq->size = 0;
	wq->ctrl = 0;
	wq->head = 0;
	wq->tail = 0;
	wq->vec = 0;
	wq->db = 0;
	wq->frozen = false;
	wq->gen++;
}

/*
 * Make @v's state follow what the core now gives its group: counts,
 * global queue numbers and ownership; queues taken (or whose doorbell was
 * taken) are disabled with their final head left in the status page,
 * vectors taken fall back to vector 0, windows taken or new are cleared.
 * Caller holds ad->lock and v->lock; the engine is out of every queue
 * that changes (frozen).
 */
static void vpa_vdev_follow(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	u32 old[VPA_RES_NR], i;
	int t;

	lockdep_assert_held(&ad->lock);
	memcpy(old, v->nr, sizeof(old));
	spin_lock(&v->cfg_lock);
	for (t = 0; t < VPA_RES_NR; t++)
		WRITE_ONCE(v->nr[t], vpa_core_count(ad->core, v->gid, t));
	for (i = 0; i < VPA_MAX_WQS; i++) {
		struct vpa_wq *wq = &v->wq[i];

		if (i >= v->nr[VPA_RES_WQ]) {
			if (i < old[VPA_RES_WQ])	/* taken */
				vpa_wq_clear(wq);
			continue;
		}
		wq->local = i;
		wq->global = vpa_core_check(ad->core, v->gid, VPA_RES_WQ, i, 0);
		if (i >= old[VPA_RES_WQ]) {		/* new */
			vpa_wq_clear(wq);
			wq->db = i < v->nr[VPA_RES_DB] ? i : 0;
			WRITE_ONCE(v->stat[VPA_STAT_WQ_HEAD(i) / 4], 0);
		}
		if (wq->db >= v->nr[VPA_RES_DB]) {	/* its doorbell went */
			wq->ctrl = 0;
			wq->db = 0;
			wq->gen++;
		}
		if (wq->vec >= v->nr[VPA_RES_VEC])
			wq->vec = 0;
		ad->wq_owner[wq->global] = wq;
	}
	if (v->evt_vec >= v->nr[VPA_RES_VEC])
		v->evt_vec = 0;
	for (i = min(old[VPA_RES_WIN], v->nr[VPA_RES_WIN]);
	     i < max(old[VPA_RES_WIN], v->nr[VPA_RES_WIN]); i++) {
		v->win[i].base = 0;
		v->win[i].size = 0;
		v->win[i].attr = 0;
		v->win[i].admin = VPA_WIN_ALL;
	}
	v->win_gen++;
	spin_unlock(&v->cfg_lock);
}

/* Let the engine into @mask's queues again and give them their work. */
static void vpa_unfreeze(struct vpa_vdev *v, u32 mask)
{
	u32 i;

	spin_lock(&v->cfg_lock);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
		if (mask & BIT(i))
			v->wq[i].frozen = false;
	vpa_engine_kick(v);
	spin_unlock(&v->cfg_lock);
}

/*
 * vpa_change - resize a virtual adapter, or reassign resources between two
 * @ad:		the adapter
 * @v:		the virtual adapter resized, or the one giving
 * @to:		the one receiving, or NULL to resize @v
 * @type:	resource type
 * @count:	resize: the new count; reassign: how many to move
 *
 * Shrinking and giving run the quiesce protocol on @v first; growing and
 * receiving need none. Returns 0 or an errno; nothing changed on error.
 */
int vpa_change(struct vpa_adapter *ad, struct vpa_vdev *v,
	       struct vpa_vdev *to, enum vpa_res type, u32 count)
{
	u32 have, keep, mask = 0, i;
	bool asked = false;
	int ret;

	mutex_lock(&ad->recov_lock);
	if (ad->aer_state != VPA_AER_NORMAL) {
		ret = -EBUSY;
		goto out;
	}
	/* check first, so that no guest is asked for nothing */
	mutex_lock(&v->lock);
	mutex_lock(&ad->lock);
	have = v->gid >= 0 ? v->nr[type] : 0;
	keep = to ? have - count : count;
	if (v->dead || (to && (to->dead || to->gid < 0))) {
		ret = -ENODEV;
	} else if (to) {
		ret = (!count || count > have ||
		       have - count < ad->core->group_min[type] ||
		       to->nr[type] + count > ad->core->group_max[type]) ?
		      -EINVAL : 0;
	} else if (count < ad->core->group_min[type] || !count) {
		ret = -EINVAL;
	} else if (count > have) {
		ret = count > ad->core->group_max[type] ? -EINVAL :
		      count - have > ad->core->free[type] ? -ENOSPC : 0;
	} else {
		ret = count == have ? -EALREADY : 0;
	}
	if (!ret && keep < have) {
		spin_lock(&v->cfg_lock);
		/* from now on no queue moves onto what goes */
		v->keep[type] = keep;
		mask = vpa_affected_wqs(v, type, keep, true);
		spin_unlock(&v->cfg_lock);
	}
	mutex_unlock(&ad->lock);
	mutex_unlock(&v->lock);
	if (ret == -EALREADY) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;

	if (mask) {
		asked = vpa_quiesce_ask(ad, v, mask, false);
		if (asked && !vpa_quiesce_wait(v, vpa_deadline())) {
			v->rec.forced++;
			v->rec.last_outcome = VPA_OUT_FORCED;
			dev_notice_ratelimited(&v->mdev->dev,
					       "no quiesce ack in %u ms: revoking anyway\n",
					       READ_ONCE(vpa_ack_timeout_ms));
		}
	}
	/*
	 * Freeze every affected queue, not only those asked: one the guest
	 * enabled meanwhile must not run a descriptor while its resources
	 * move (it would run with its head left behind, or not at all).
	 */
	if (keep < have) {
		spin_lock(&v->cfg_lock);
		mask = vpa_affected_wqs(v, type, keep, false);
		spin_unlock(&v->cfg_lock);
		for (i = 0; i < VPA_MAX_WQS; i++)
			if (mask & BIT(i))
				vpa_engine_freeze_wq(v, &v->wq[i]);
	}

	mutex_lock(&v->lock);
	if (to)
		mutex_lock_nested(&to->lock, SINGLE_DEPTH_NESTING);
	mutex_lock(&ad->lock);
	if (v->gid < 0 || (to && to->gid < 0)) {
		ret = -ENODEV;	/* destroyed meanwhile */
	} else {
		vpa_owner_clear(ad, v);
		if (to)
			vpa_owner_clear(ad, to);
		if (to)
			ret = vpa_core_move(ad->core, v->gid, to->gid, type,
					    count);
		else if (count > have)
			ret = vpa_core_grow(ad->core, v->gid, type,
					    count - have);
		else
			ret = vpa_core_shrink(ad->core, v->gid, type,
					      have - count);
		/* on error nothing moved: ownership is restored the same way */
		vpa_vdev_follow(ad, v);
		if (to)
			vpa_vdev_follow(ad, to);
	}
	mutex_unlock(&ad->lock);
	if (to)
		mutex_unlock(&to->lock);
	mutex_unlock(&v->lock);
	if (keep < have) {
		spin_lock(&v->cfg_lock);
		v->keep[type] = U32_MAX;
		spin_unlock(&v->cfg_lock);
	}
	vpa_unfreeze(v, mask);
	if (!ret) {
		v->rec.changes++;
		vpa_vdev_raise(v, VPA_EVT_CHANGED);
		if (to) {
			to->rec.changes++;
			vpa_vdev_raise(to, VPA_EVT_CHANGED);
		}
		dev_info(&v->mdev->dev, "%s %s now %u%s\n",
			 to ? "gave" : "resized", vpa_res_name(type),
			 READ_ONCE(v->nr[type]), asked ?
			 (v->rec.last_outcome == VPA_OUT_ACKED ? " (acked)" :
			  " (forced)") : "");
	}
out:
	trace_vpa_change(v, to, type, count, asked, ret);
	mutex_unlock(&ad->recov_lock);
	return ret;
}

/* Error recovery. */

/* References to every virtual adapter of @ad; returns how many. */
static int vpa_grab_all(struct vpa_adapter *ad,
			struct vpa_vdev *all[VPA_CORE_MAX_GROUPS])
{
	struct vpa_vdev *v;
	int n = 0;

	mutex_lock(&ad->lock);
	list_for_each_entry(v, &ad->vdevs, node) {
		if (n == VPA_CORE_MAX_GROUPS)
			break;
		get_device(&v->vfio.device);
		all[n++] = v;
	}
	mutex_unlock(&ad->lock);
	return n;
}

static void vpa_put_all(struct vpa_vdev **all, int n)
{
	while (n--)
		put_device(&all[n]->vfio.device);
}

/* Fail @v: queues off, pending descriptors dropped, reset needed. */
static void vpa_vdev_fail(struct vpa_vdev *v)
{
	u32 i, vec;

	v->rec.failed++;
	v->rec.last_outcome = VPA_OUT_FAILED;
	/*
	 * The engine is out of @v before the guest can see the failure
	 * (v->recovery keeps it out until then): a driver that resets the
	 * device at once and submits again must not have that new work
	 * cancelled here.
	 */
	vpa_engine_stop(v);
	/*
	 * VPA_STS_FAILED and VPA_EVT_FAILED appear together: a driver that
	 * sees the status, resets the device and clears its events must not
	 * find the event latched afterwards and fail a second time.
	 */
	mutex_lock(&v->lock);
	spin_lock(&v->cfg_lock);
	v->failed = true;
	v->recovery = false;
	v->ctrl = 0;
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++) {
		v->wq[i].ctrl = 0;
		v->wq[i].gen++;
	}
	v->event |= VPA_EVT_FAILED;
	vec = v->evt_vec;
	spin_unlock(&v->cfg_lock);
	mutex_unlock(&v->lock);
	vpa_recov_test_delay();
	vpa_vdev_signal(v, vec);
}

/*
 * First step: every open virtual adapter is told, the engine stops, the
 * acknowledgments are collected until the deadline, and the adapters
 * that gave none are failed. Caller holds recov_lock.
 */
static void vpa_aer_detect(struct vpa_adapter *ad)
{
	struct vpa_vdev *all[VPA_CORE_MAX_GROUPS];
	bool asked[VPA_CORE_MAX_GROUPS];
	ktime_t deadline;
	int n, i;

	lockdep_assert_held(&ad->recov_lock);
	if (ad->aer_state != VPA_AER_NORMAL)
		return;		/* another error of the same recovery */
	ad->errors++;
	ad->aer_state = VPA_AER_DETECTED;
	ad->last_acked = 0;
	ad->last_failed = 0;
	n = vpa_grab_all(ad, all);
	for (i = 0; i < n; i++) {
		asked[i] = vpa_quiesce_ask(ad, all[i],
					   BIT(all[i]->nr[VPA_RES_WQ]) - 1, true);
		trace_vpa_aer_vdev(all[i], asked[i] ? VPA_TRACE_AER_NOTIFY :
				   VPA_TRACE_AER_IDLE);
	}
	/* the engine leaves every queue after the descriptor it is on */
	for (i = 0; i < n; i++)
		if (asked[i])
			vpa_engine_stop(all[i]);
	deadline = vpa_deadline();
	for (i = 0; i < n; i++) {
		if (!asked[i])
			continue;
		if (vpa_quiesce_wait(all[i], deadline)) {
			ad->last_acked++;
			trace_vpa_aer_vdev(all[i], VPA_TRACE_AER_ACK);
		} else if (!READ_ONCE(all[i]->dead)) {
			ad->last_failed++;
			vpa_vdev_fail(all[i]);
			trace_vpa_aer_vdev(all[i], VPA_TRACE_AER_FAIL);
			dev_warn_ratelimited(&all[i]->mdev->dev,
					     "no error ack in %u ms: failed, reset to reuse\n",
					     READ_ONCE(vpa_ack_timeout_ms));
		}
	}
	vpa_put_all(all, n);
	trace_vpa_aer(ad, VPA_TRACE_AER_DETECTED, 0);
	dev_info(ad->dev, "error: %u virtual adapters acknowledged, %u failed\n",
		 ad->last_acked, ad->last_failed);
}

/*
 * Reset the function from the PCI core's error recovery callbacks. They
 * run inside the core's walk of the bus, which holds pci_bus_sem (read)
 * and the device lock. pci_reset_function_locked() first wakes the
 * function to D0, and the power state change takes pci_bus_sem again
 * (ASPM): a recursive read that hangs if a writer (hotplug) queues in
 * between (lockdep: "possible recursive locking", debug lane). So: save
 * the state, stop decoding and bus mastering, reset, restore, as that
 * function does, without the power state change.
 */
static int vpa_reset_in_recovery(struct pci_dev *pdev)
{
	int ret;

	pci_save_state(pdev);
	pci_write_config_word(pdev, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
	ret = __pci_reset_function_locked(pdev);
	pci_restore_state(pdev);
	return ret;
}

/* Second step: reset the adapter once (unless the PCI core reset it). */
static void vpa_aer_reset(struct vpa_adapter *ad, bool locked)
{
	int ret = 0;

	lockdep_assert_held(&ad->recov_lock);
	if (ad->aer_state != VPA_AER_DETECTED)
		return;
	if (ad->pdev && !ad->aer_frozen) {
		ret = locked ? vpa_reset_in_recovery(ad->pdev) :
			       pci_reset_function(ad->pdev);
		if (ret)
			dev_warn(ad->dev, "function reset failed: %d\n", ret);
	}
	/*
	 * Restoring consumes the saved state (state_saved is cleared): save
	 * it again at once, or the next frozen-link recovery, whose bus
	 * reset clears the function's configuration, has nothing to restore.
	 */
	if (ad->pdev) {
		pci_restore_state(ad->pdev);
		pci_save_state(ad->pdev);
	}
	if (!ret)		/* a failed reset is logged, not counted */
		ad->resets++;
	ad->aer_state = VPA_AER_RESET;
	trace_vpa_aer(ad, VPA_TRACE_AER_RESET, ret);
}

/*
 * Last step: restore the state of every adapter in recovery (the
 * software engine keeps it in host memory: republish the status page,
 * reload the window snapshots) and let it resume.
 */
static void vpa_aer_resume(struct vpa_adapter *ad)
{
	struct vpa_vdev *all[VPA_CORE_MAX_GROUPS];
	int n, i;
	u32 q, vec;

	lockdep_assert_held(&ad->recov_lock);
	if (ad->aer_state == VPA_AER_NORMAL)
		return;
	n = vpa_grab_all(ad, all);
	for (i = 0; i < n; i++) {
		struct vpa_vdev *v = all[i];
		bool was;

		mutex_lock(&v->lock);
		spin_lock(&v->cfg_lock);
		was = v->recovery && !v->dead;
		v->recovery = false;
		if (was) {
			for (q = 0; q < v->nr[VPA_RES_WQ]; q++)
				WRITE_ONCE(v->stat[VPA_STAT_WQ_HEAD(q) / 4],
					   v->wq[q].head);
			v->win_gen++;
			/* the status and the event change together */
			v->event &= ~VPA_EVT_ERROR;
			v->event |= VPA_EVT_RESUME;
			v->rec.resumed++;
			vpa_engine_kick(v);
		}
		vec = v->evt_vec;
		spin_unlock(&v->cfg_lock);
		mutex_unlock(&v->lock);
		if (was) {
			vpa_vdev_signal(v, vec);
			trace_vpa_aer_vdev(v, VPA_TRACE_AER_RESUME);
		}
	}
	vpa_put_all(all, n);
	ad->aer_state = VPA_AER_NORMAL;
	/* (a running instance finds the state normal and does nothing) */
	cancel_delayed_work(&ad->recov_work);
	trace_vpa_aer(ad, VPA_TRACE_AER_DONE, 0);
	dev_info(ad->dev, "error recovery done\n");
}

/*
 * The PCI core calls no driver when a recovery fails (the link did not
 * come back after the bus reset, for instance): slot_reset and resume
 * never come, and the virtual adapters that acknowledged would wait for
 * their resume for good, and the adapter would ignore every later error.
 * So a recovery still running recovery_timeout_ms after the PCI core
 * reported its error is abandoned: every virtual adapter still in it is
 * failed (its one outcome of this recovery) and the adapter takes errors
 * again. A slot_reset or resume arriving later finds no recovery and
 * does nothing; the function is then in whatever state the PCI core left.
 */
void vpa_recov_timeout_work(struct work_struct *work)
{
	struct vpa_adapter *ad = container_of(to_delayed_work(work),
					      struct vpa_adapter, recov_work);
	struct vpa_vdev *all[VPA_CORE_MAX_GROUPS];
	int n, i, failed = 0;
	bool waiting;

	if (ad->kind == VPA_KIND_SRIOV) {	/* it takes its own locks */
		vpa_sriov_aer_timeout(ad);
		return;
	}
	mutex_lock(&ad->recov_lock);
	/*
	 * Nothing to do if the recovery ended, or if this run was queued
	 * for an earlier recovery and a later one re-armed the deadline.
	 */
	if (ad->aer_state == VPA_AER_NORMAL ||
	    time_before(jiffies, ad->recov_deadline)) {
		mutex_unlock(&ad->recov_lock);
		return;
	}
	n = vpa_grab_all(ad, all);
	for (i = 0; i < n; i++) {
		mutex_lock(&all[i]->lock);
		spin_lock(&all[i]->cfg_lock);
		waiting = all[i]->recovery && !all[i]->dead;
		spin_unlock(&all[i]->cfg_lock);
		mutex_unlock(&all[i]->lock);
		if (!waiting)
			continue;
		vpa_vdev_fail(all[i]);
		trace_vpa_aer_vdev(all[i], VPA_TRACE_AER_FAIL);
		failed++;
	}
	vpa_put_all(all, n);
	ad->last_failed += failed;
	ad->abandoned++;
	ad->aer_state = VPA_AER_NORMAL;
	trace_vpa_aer(ad, VPA_TRACE_AER_ABANDONED, -ETIMEDOUT);
	dev_err(ad->dev,
		"error recovery not finished by the PCI core in %u ms: abandoned, %d virtual adapters failed, reset them to reuse\n",
		READ_ONCE(vpa_recovery_timeout_ms), failed);
	mutex_unlock(&ad->recov_lock);
}

/* The whole recovery at once, for adapters without AER (debugfs). */
int vpa_adapter_error(struct vpa_adapter *ad)
{
	/* PCI functions recover through AER only (vpa_debugfs_init()). */
	if (ad->pdev)
		return -EOPNOTSUPP;
	mutex_lock(&ad->recov_lock);
	if (ad->aer_state != VPA_AER_NORMAL) {
		mutex_unlock(&ad->recov_lock);
		return -EBUSY;
	}
	ad->aer_frozen = false;
	vpa_aer_detect(ad);
	vpa_aer_reset(ad, false);
	vpa_aer_resume(ad);
	mutex_unlock(&ad->recov_lock);
	return 0;
}

/*
 * A recovery began: abandon it if the PCI core has not finished it in
 * recovery_timeout_ms (vpa_recov_timeout_work()). Caller holds
 * recov_lock.
 */
void vpa_recov_arm(struct vpa_adapter *ad)
{
	unsigned long t;

	lockdep_assert_held(&ad->recov_lock);
	t = msecs_to_jiffies(READ_ONCE(vpa_recovery_timeout_ms));
	ad->recov_deadline = jiffies + t;
	mod_delayed_work(system_wq, &ad->recov_work, t);
}

static pci_ers_result_t vpa_pci_error_detected(struct pci_dev *pdev,
					       pci_channel_state_t state)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (!ad)
		return PCI_ERS_RESULT_NONE;
	if (ad->kind == VPA_KIND_SRIOV)
		return vpa_sriov_error_detected(ad, state);
	dev_warn(&pdev->dev, "error detected (state %d): quiescing virtual adapters\n",
		 state);
	mutex_lock(&ad->recov_lock);
	ad->aer_frozen = state == pci_channel_io_frozen;
	vpa_aer_detect(ad);
	if (ad->aer_state != VPA_AER_NORMAL)
		vpa_recov_arm(ad);
	mutex_unlock(&ad->recov_lock);
	if (state == pci_channel_io_perm_failure)
		return PCI_ERS_RESULT_DISCONNECT;
	return PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t vpa_pci_slot_reset(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (!ad)
		return PCI_ERS_RESULT_NONE;
	if (ad->kind == VPA_KIND_SRIOV)
		return vpa_sriov_slot_reset(ad);
	mutex_lock(&ad->recov_lock);
	/* the PCI core holds the device lock around its callbacks */
	vpa_aer_reset(ad, true);
	mutex_unlock(&ad->recov_lock);
	return PCI_ERS_RESULT_RECOVERED;
}

static void vpa_pci_resume(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (!ad)
		return;
	if (ad->kind == VPA_KIND_SRIOV) {
		vpa_sriov_resume(ad);
		return;
	}
	mutex_lock(&ad->recov_lock);
	vpa_aer_reset(ad, true);	/* slot_reset was skipped */
	vpa_aer_resume(ad);
	mutex_unlock(&ad->recov_lock);
}

/*
 * A function reset outside error recovery (sysfs reset, or the SR-IOV
 * probe's own), under the device lock. The software model keeps its state
 * in host memory; an SR-IOV adapter takes its admin queue down before
 * (no command in flight across the reset) and restarts it after.
 */
static void vpa_pci_reset_prepare(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (ad && ad->kind == VPA_KIND_SRIOV)
		vpa_sriov_reset_prepare(ad);
}

static void vpa_pci_reset_done(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (ad && ad->kind == VPA_KIND_SRIOV)
		vpa_sriov_reset_done(ad);
}

const struct pci_error_handlers vpa_err_handlers = {
	.error_detected = vpa_pci_error_detected,
	.slot_reset = vpa_pci_slot_reset,
	.resume = vpa_pci_resume,
	.reset_prepare = vpa_pci_reset_prepare,
	.reset_done = vpa_pci_reset_done,
};
