// SPDX-License-Identifier: GPL-2.0
/*
 * vpa sysfs: the files of adapters and virtual adapters, one value each
 * (Documentation/ABI/testing/sysfs-class-vpa, sysfs-bus-mdev-vpa). Every
 * write is one number, one word or one UUID, and does one thing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uuid.h>

#include "vpa.h"

/*
 * Parent sysfs. Each file holds one value; the adapter's device gets:
 *   vpa_rid, vpa_rid_rejects       requester id base, refused requests
 *   vpa_destroy                    write one UUID: destroy that virtual
 *                                  adapter at once (vpa_vdev_kill())
 *   vpa_<type>/free, /total        one directory per resource type
 *   vpa_recovery/                  error recovery state (below)
 * Values read under vpa_adapter::lock are consistent with each other only
 * within one file.
 */

static ssize_t vpa_rid_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);

	if (!ad)
		return -ENODEV;
	return sysfs_emit(buf, "%04x\n", ad->core->rid_base);
}
static DEVICE_ATTR_RO(vpa_rid);

static ssize_t vpa_rid_rejects_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);

	if (!ad)
		return -ENODEV;
	return sysfs_emit(buf, "%lld\n", (s64)atomic64_read(&ad->rid_rejects));
}
static DEVICE_ATTR_RO(vpa_rid_rejects);

/* vpa_<type>/free and vpa_<type>/total; the attribute's var is the type. */
static ssize_t vpa_res_count_show(struct device *dev, char *buf,
				  struct device_attribute *attr, bool total)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);
	unsigned int t = vpa_attr_num(attr);
	u32 n;

	if (!ad)
		return -ENODEV;
	mutex_lock(&ad->lock);
	n = total ? ad->core->total[t] : ad->core->free[t];
	mutex_unlock(&ad->lock);
	return sysfs_emit(buf, "%u\n", n);
}

static ssize_t vpa_res_free_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return vpa_res_count_show(dev, buf, attr, false);
}

static ssize_t vpa_res_total_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return vpa_res_count_show(dev, buf, attr, true);
}

static const struct device_attribute vpa_res_free_tmpl =
	__ATTR(free, 0444, vpa_res_free_show, NULL);
static const struct device_attribute vpa_res_total_tmpl =
	__ATTR(total, 0444, vpa_res_total_show, NULL);
static const char * const vpa_res_dirs[VPA_RES_NR] = {
	[VPA_RES_WQ] = "vpa_wq",
	[VPA_RES_VEC] = "vpa_vec",
	[VPA_RES_WIN] = "vpa_win",
	[VPA_RES_DB] = "vpa_db",
	[VPA_RES_ENG] = "vpa_eng",
};

/* Filled by vpa_sysfs_init(): free and total of each type. */
static struct dev_ext_attribute vpa_res_attrs[VPA_RES_NR][2];
static struct attribute *vpa_res_attr_list[VPA_RES_NR][3];
static struct attribute_group vpa_res_groups[VPA_RES_NR];

/*
 * Parse a sysfs write that must be exactly one UUID (a newline may follow)
 * into @uuid: 0 or -EINVAL.
 */
int vpa_parse_uuid(const char *buf, guid_t *uuid)
{
	size_t len = strlen(buf);

	if (len && buf[len - 1] == '\n')
		len--;
	if (len != UUID_STRING_LEN || guid_parse(buf, uuid))
		return -EINVAL;
	return 0;
}

/*
 * vpa_destroy: one UUID. EINVAL if it is malformed, ENOENT if it is not a
 * virtual adapter of this adapter; destroying one already destroyed (and
 * not yet removed) succeeds and does nothing.
 */
static ssize_t vpa_destroy_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);
	struct vpa_vdev *v;
	guid_t uuid;
	int ret;

	if (!ad)
		return -ENODEV;
	ret = vpa_parse_uuid(buf, &uuid);
	if (!ret) {
		v = vpa_find_guid(ad, &uuid);
		ret = PTR_ERR_OR_ZERO(v);
	}
	if (ret) {
		dev_dbg_ratelimited(dev, "destroy refused: %d\n", ret);
		return ret;
	}
	vpa_vdev_kill(v);
	put_device(&v->vfio.device);
	return count;
}
static DEVICE_ATTR_WO(vpa_destroy);

static struct attribute *vpa_parent_attrs[] = {
	&dev_attr_vpa_rid.attr,
	&dev_attr_vpa_rid_rejects.attr,
	&dev_attr_vpa_destroy.attr,
	NULL,
};

static const struct attribute_group vpa_parent_group = {
	.attrs = vpa_parent_attrs,
};

static const char * const vpa_outcome_names[VPA_OUT_NR] = {
	[VPA_OUT_NONE] = "none",
	[VPA_OUT_PENDING] = "pending",
	[VPA_OUT_ACKED] = "acked",
	[VPA_OUT_FORCED] = "forced",
	[VPA_OUT_FAILED] = "failed",
	[VPA_OUT_IDLE] = "idle",
};

static const char * const vpa_aer_names[] = {
	[VPA_AER_NORMAL] = "normal",
	[VPA_AER_DETECTED] = "detected",
	[VPA_AER_RESET] = "reset",
};

/*
 * sysfs of resize and reassign, in each virtual adapter's vpa/ directory
 * (the attribute's number is the resource type):
 *   nr_<type>    read: how many it owns (0 once destroyed); write a count:
 *                resize to it
 *   give_to      the UUID give_<type> gives to, or "none"
 *   give_<type>  write a count: move that many to give_to's adapter
 * Every write is one number or one UUID; vpa_change() reports the errors.
 */
static ssize_t vpa_nr_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(v->dead) ? 0 :
			  READ_ONCE(v->nr[vpa_attr_num(attr)]));
}

/* A count written to nr_<type> or give_<type>: decimal u32, or -EINVAL. */
static int vpa_parse_count(const char *buf, u32 *n)
{
	return kstrtou32(buf, 10, n) ? -EINVAL : 0;
}

static ssize_t vpa_nr_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	unsigned int t = vpa_attr_num(attr);
	u32 n;
	int ret;

	ret = vpa_parse_count(buf, &n);
	if (!ret)
		ret = vpa_change(v->ad, v, NULL, t, n);
	if (ret)
		dev_dbg_ratelimited(dev, "resize %s refused: %d\n",
				    vpa_res_name(t), ret);
	return ret ? ret : count;
}

static ssize_t give_to_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	ssize_t ret;

	mutex_lock(&v->lock);
	if (v->give_to_set)
		ret = sysfs_emit(buf, "%pUl\n", &v->give_to);
	else
		ret = sysfs_emit(buf, "none\n");
	mutex_unlock(&v->lock);
	return ret;
}

/*
 * give_to: a UUID of another virtual adapter of the same adapter (ENOENT
 * if there is none, EINVAL for this one or a malformed name), or "none".
 */
static ssize_t give_to_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct vpa_vdev *v = dev_get_drvdata(dev), *to = NULL;
	bool set = !sysfs_streq(buf, "none");
	guid_t uuid;
	int ret = 0;

	if (set) {
		ret = vpa_parse_uuid(buf, &uuid);
		if (!ret) {
			to = vpa_find_guid(v->ad, &uuid);
			ret = PTR_ERR_OR_ZERO(to);
		}
		if (!ret) {
			ret = to == v ? -EINVAL : 0;
			put_device(&to->vfio.device);
		}
	}
	if (ret) {
		dev_dbg_ratelimited(dev, "give_to refused: %d\n", ret);
		return ret;
	}
	mutex_lock(&v->lock);
	v->give_to_set = set;
	if (set)
		v->give_to = uuid;
	mutex_unlock(&v->lock);
	return count;
}
static DEVICE_ATTR_RW(give_to);

static ssize_t vpa_give_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct vpa_vdev *v = dev_get_drvdata(dev), *to = ERR_PTR(-ENOENT);
	unsigned int t = vpa_attr_num(attr);
	guid_t uuid;
	u32 n;
	int ret;

	ret = vpa_parse_count(buf, &n);
	if (ret)
		goto out;
	mutex_lock(&v->lock);
	uuid = v->give_to;
	if (v->give_to_set)
		to = NULL;
	mutex_unlock(&v->lock);
	if (!to)
		to = vpa_find_guid(v->ad, &uuid);
	ret = PTR_ERR_OR_ZERO(to);
	if (ret)
		goto out;
	ret = to == v ? -EINVAL : vpa_change(v->ad, v, to, t, n);
	put_device(&to->vfio.device);
out:
	if (ret)
		dev_dbg_ratelimited(dev, "give %s refused: %d\n",
				    vpa_res_name(t), ret);
	return ret ? ret : count;
}

static VPA_ATTR_NUM(vpa_attr_nr_wq, nr_wq, 0644,
		    vpa_nr_show, vpa_nr_store, VPA_RES_WQ);
static VPA_ATTR_NUM(vpa_attr_give_wq, give_wq, 0200,
		    NULL, vpa_give_store, VPA_RES_WQ);
static VPA_ATTR_NUM(vpa_attr_nr_vec, nr_vec, 0644,
		    vpa_nr_show, vpa_nr_store, VPA_RES_VEC);
static VPA_ATTR_NUM(vpa_attr_give_vec, give_vec, 0200,
		    NULL, vpa_give_store, VPA_RES_VEC);
static VPA_ATTR_NUM(vpa_attr_nr_win, nr_win, 0644,
		    vpa_nr_show, vpa_nr_store, VPA_RES_WIN);
static VPA_ATTR_NUM(vpa_attr_give_win, give_win, 0200,
		    NULL, vpa_give_store, VPA_RES_WIN);
static VPA_ATTR_NUM(vpa_attr_nr_db, nr_db, 0644,
		    vpa_nr_show, vpa_nr_store, VPA_RES_DB);
static VPA_ATTR_NUM(vpa_attr_give_db, give_db, 0200,
		    NULL, vpa_give_store, VPA_RES_DB);
static VPA_ATTR_NUM(vpa_attr_nr_eng, nr_eng, 0644,
		    vpa_nr_show, vpa_nr_store, VPA_RES_ENG);
static VPA_ATTR_NUM(vpa_attr_give_eng, give_eng, 0200,
		    NULL, vpa_give_store, VPA_RES_ENG);

/*
 * <mdev>/vpa_recovery/: the lifecycle events of this virtual adapter, one
 * file each (the attribute's number says which). Written under
 * recov_lock, read without it: each file is one value, not a snapshot of
 * all.
 */
enum vpa_vdev_rec_field {
	VPA_REC_EVENTS, VPA_REC_ACKED, VPA_REC_FORCED, VPA_REC_FAILED,
	VPA_REC_RESUMED, VPA_REC_CHANGES, VPA_REC_RECOVERIES,
	VPA_REC_LAST_KIND, VPA_REC_LAST_OUTCOME, VPA_REC_LAST_ACK_US,
};

static ssize_t vpa_vdev_rec_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	const struct vpa_recov_stats *r = &v->rec;
	int out;

	switch (vpa_attr_num(attr)) {
	case VPA_REC_EVENTS:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->events));
	case VPA_REC_ACKED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->acked));
	case VPA_REC_FORCED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->forced));
	case VPA_REC_FAILED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->failed));
	case VPA_REC_RESUMED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->resumed));
	case VPA_REC_CHANGES:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->changes));
	case VPA_REC_RECOVERIES:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(r->recoveries));
	case VPA_REC_LAST_KIND:
		return sysfs_emit(buf, "%s\n", READ_ONCE(r->last_error) ?
				  "error" : "revoke");
	case VPA_REC_LAST_OUTCOME:
		out = READ_ONCE(r->last_outcome);
		if (out < 0 || out >= VPA_OUT_NR)
			out = VPA_OUT_NONE;
		return sysfs_emit(buf, "%s\n", vpa_outcome_names[out]);
	case VPA_REC_LAST_ACK_US:
		return sysfs_emit(buf, "%lld\n", READ_ONCE(r->last_ack_us));
	}
	return -EINVAL;
}

static VPA_ATTR_NUM(vpa_vdev_rec_events, events, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_EVENTS);
static VPA_ATTR_NUM(vpa_vdev_rec_acked, acked, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_ACKED);
static VPA_ATTR_NUM(vpa_vdev_rec_forced, forced, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_FORCED);
static VPA_ATTR_NUM(vpa_vdev_rec_failed, failed, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_FAILED);
static VPA_ATTR_NUM(vpa_vdev_rec_resumed, resumed, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_RESUMED);
static VPA_ATTR_NUM(vpa_vdev_rec_changes, changes, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_CHANGES);
static VPA_ATTR_NUM(vpa_vdev_rec_recoveries, recoveries, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_RECOVERIES);
static VPA_ATTR_NUM(vpa_vdev_rec_last_kind, last_kind, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_LAST_KIND);
static VPA_ATTR_NUM(vpa_vdev_rec_last_outcome, last_outcome, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_LAST_OUTCOME);
static VPA_ATTR_NUM(vpa_vdev_rec_last_ack_us, last_ack_us, 0444,
		    vpa_vdev_rec_show, NULL, VPA_REC_LAST_ACK_US);

static struct attribute *vpa_vdev_rec_attrs[] = {
	&vpa_vdev_rec_events.attr.attr,
	&vpa_vdev_rec_acked.attr.attr,
	&vpa_vdev_rec_forced.attr.attr,
	&vpa_vdev_rec_failed.attr.attr,
	&vpa_vdev_rec_resumed.attr.attr,
	&vpa_vdev_rec_changes.attr.attr,
	&vpa_vdev_rec_recoveries.attr.attr,
	&vpa_vdev_rec_last_kind.attr.attr,
	&vpa_vdev_rec_last_outcome.attr.attr,
	&vpa_vdev_rec_last_ack_us.attr.attr,
	NULL,
};

static const struct attribute_group vpa_vdev_recovery_group = {
	.name = "vpa_recovery",
	.attrs = vpa_vdev_rec_attrs,
};

/*
 * The adapter's vpa_recovery/: error recovery state, one file each.
 * Written under recov_lock, read without it.
 */
enum vpa_ad_rec_field {
	VPA_AD_STATE, VPA_AD_ERRORS, VPA_AD_RESETS, VPA_AD_LAST_ACKED,
	VPA_AD_LAST_FAILED,
};

static ssize_t vpa_ad_rec_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);

	if (!ad)
		return -ENODEV;
	switch (vpa_attr_num(attr)) {
	case VPA_AD_STATE:
		return sysfs_emit(buf, "%s\n",
				  vpa_aer_names[READ_ONCE(ad->aer_state)]);
	case VPA_AD_ERRORS:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(ad->errors));
	case VPA_AD_RESETS:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(ad->resets));
	case VPA_AD_LAST_ACKED:
		return sysfs_emit(buf, "%u\n", READ_ONCE(ad->last_acked));
	case VPA_AD_LAST_FAILED:
		return sysfs_emit(buf, "%u\n", READ_ONCE(ad->last_failed));
	}
	return -EINVAL;
}

static VPA_ATTR_NUM(vpa_ad_rec_state, state, 0444,
		    vpa_ad_rec_show, NULL, VPA_AD_STATE);
static VPA_ATTR_NUM(vpa_ad_rec_errors, errors, 0444,
		    vpa_ad_rec_show, NULL, VPA_AD_ERRORS);
static VPA_ATTR_NUM(vpa_ad_rec_resets, resets, 0444,
		    vpa_ad_rec_show, NULL, VPA_AD_RESETS);
static VPA_ATTR_NUM(vpa_ad_rec_last_acked, last_acked, 0444,
		    vpa_ad_rec_show, NULL, VPA_AD_LAST_ACKED);
static VPA_ATTR_NUM(vpa_ad_rec_last_failed, last_failed, 0444,
		    vpa_ad_rec_show, NULL, VPA_AD_LAST_FAILED);

static struct attribute *vpa_ad_rec_attrs[] = {
	&vpa_ad_rec_state.attr.attr,
	&vpa_ad_rec_errors.attr.attr,
	&vpa_ad_rec_resets.attr.attr,
	&vpa_ad_rec_last_acked.attr.attr,
	&vpa_ad_rec_last_failed.attr.attr,
	NULL,
};

static const struct attribute_group vpa_adapter_recovery_group = {
	.name = "vpa_recovery",
	.attrs = vpa_ad_rec_attrs,
};

/* The parent's groups (the adapter's device, and the PCI driver's). */
const struct attribute_group *vpa_parent_groups[VPA_RES_NR + 3];

/* Build the per-type directories; before any adapter is registered. */
void vpa_sysfs_init(void)
{
	int t, g = 0;

	vpa_parent_groups[g++] = &vpa_parent_group;
	for (t = 0; t < VPA_RES_NR; t++) {
		vpa_res_attrs[t][0].attr = vpa_res_free_tmpl;
		vpa_res_attrs[t][1].attr = vpa_res_total_tmpl;
		vpa_res_attrs[t][0].var = (void *)(uintptr_t)t;
		vpa_res_attrs[t][1].var = (void *)(uintptr_t)t;
		vpa_res_attr_list[t][0] = &vpa_res_attrs[t][0].attr.attr;
		vpa_res_attr_list[t][1] = &vpa_res_attrs[t][1].attr.attr;
		vpa_res_groups[t].name = vpa_res_dirs[t];
		vpa_res_groups[t].attrs = vpa_res_attr_list[t];
		vpa_parent_groups[g++] = &vpa_res_groups[t];
	}
	vpa_parent_groups[g++] = &vpa_adapter_recovery_group;
	vpa_parent_groups[g] = NULL;
}

/*
 * sysfs of each virtual adapter: <mdev>/vpa/ (identity, state, resources
 * and their protection), <mdev>/vpa_audit/ (counters) and
 * <mdev>/vpa_recovery/ (above).
 */

static ssize_t rid_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%04x\n", v->rid);
}
static DEVICE_ATTR_RO(rid);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", READ_ONCE(v->dead) ? "destroyed" :
			  READ_ONCE(v->open) ? "open" : "idle");
}
static DEVICE_ATTR_RO(state);

/* A gauge, not a counter: pages in the pin cache now. */
static ssize_t pinned_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(v->nr_pins));
}
static DEVICE_ATTR_RO(pinned);

/* Bits 0 to @n - 1. */
static u32 vpa_first_bits(u32 n)
{
	return n >= 32 ? ~0U : BIT(n) - 1;
}

/*
 * A protection mask written by the host: hex, bit N for the virtual
 * adapter's resource N of @type. Returns 0 with ad->lock held, or
 * -EINVAL (malformed), -ENOENT (destroyed), -ERANGE (a bit for a
 * resource it does not own) without it.
 */
static int vpa_protect_begin(struct vpa_vdev *v, enum vpa_res type,
			     const char *buf, u32 *mask)
{
	struct vpa_adapter *ad = v->ad;
	int ret = 0;

	if (kstrtou32(buf, 16, mask))
		return -EINVAL;
	mutex_lock(&ad->lock);
	if (v->gid < 0)
		ret = -ENOENT;
	else if (*mask & ~vpa_first_bits(v->nr[type]))
		ret = -ERANGE;
	if (ret)
		mutex_unlock(&ad->lock);
	return ret;
}

/*
 * win_readable, win_writable: the windows the host lets the engine read
 * through (write through); the attribute's number is VPA_WIN_READ or
 * VPA_WIN_WRITE. The guest cannot widen them.
 */
static ssize_t vpa_win_prot_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	u32 bit = vpa_attr_num(attr), mask = 0, i;

	spin_lock(&v->cfg_lock);
	for (i = 0; i < v->nr[VPA_RES_WIN]; i++)
		if (v->win[i].admin & bit)
			mask |= BIT(i);
	spin_unlock(&v->cfg_lock);
	return sysfs_emit(buf, "%x\n", READ_ONCE(v->dead) ? 0 : mask);
}

static ssize_t vpa_win_prot_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	struct vpa_adapter *ad = v->ad;
	u32 bit = vpa_attr_num(attr), mask, admin[VPA_MAX_WINS], i, n;
	int ret;

	ret = vpa_protect_begin(v, VPA_RES_WIN, buf, &mask);
	if (ret) {
		dev_dbg_ratelimited(dev, "window protection refused: %d\n",
				    ret);
		return ret;
	}
	n = v->nr[VPA_RES_WIN];
	spin_lock(&v->cfg_lock);
	for (i = 0; i < n; i++)
		admin[i] = (v->win[i].admin & ~bit) |
			   (mask & BIT(i) ? bit : 0);
	spin_unlock(&v->cfg_lock);
	/* owned windows of a live group: the core cannot refuse them */
	for (i = 0; i < n; i++)
		vpa_core_set_attr(ad->core, v->gid, VPA_RES_WIN, i,
				  (admin[i] & VPA_WIN_READ ? VPA_ATTR_READ : 0) |
				  (admin[i] & VPA_WIN_WRITE ? VPA_ATTR_WRITE : 0));
	spin_lock(&v->cfg_lock);
	for (i = 0; i < n; i++)
		v->win[i].admin = admin[i];
	v->win_gen++;
	spin_unlock(&v->cfg_lock);
	mutex_unlock(&ad->lock);
	return count;
}

static VPA_ATTR_NUM(vpa_attr_win_readable, win_readable, 0644,
		    vpa_win_prot_show, vpa_win_prot_store, VPA_WIN_READ);
static VPA_ATTR_NUM(vpa_attr_win_writable, win_writable, 0644,
		    vpa_win_prot_show, vpa_win_prot_store, VPA_WIN_WRITE);

/*
 * wq_submit: the work queues the host lets the guest submit to; a doorbell
 * of another one fails with EPERM.
 */
static ssize_t wq_submit_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	struct vpa_adapter *ad = v->ad;
	u32 mask = 0, i;

	mutex_lock(&ad->lock);
	for (i = 0; v->gid >= 0 && i < v->nr[VPA_RES_WQ]; i++)
		if (vpa_core_check(ad->core, v->gid, VPA_RES_WQ, i,
				   VPA_ATTR_SUBMIT) >= 0)
			mask |= BIT(i);
	mutex_unlock(&ad->lock);
	return sysfs_emit(buf, "%x\n", mask);
}

static ssize_t wq_submit_store(struct device *dev,
			       struct device_attribute *attr,
			       const char *buf, size_t count)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	struct vpa_adapter *ad = v->ad;
	u32 mask, i;
	int ret;

	ret = vpa_protect_begin(v, VPA_RES_WQ, buf, &mask);
	if (ret) {
		dev_dbg_ratelimited(dev, "queue protection refused: %d\n",
				    ret);
		return ret;
	}
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
		vpa_core_set_attr(ad->core, v->gid, VPA_RES_WQ, i,
				  mask & BIT(i) ? VPA_ATTR_ALL : 0);
	mutex_unlock(&ad->lock);
	return count;
}
static DEVICE_ATTR_RW(wq_submit);

static struct attribute *vpa_mdev_attrs[] = {
	&dev_attr_rid.attr,
	&dev_attr_state.attr,
	&dev_attr_pinned.attr,
	&vpa_attr_win_readable.attr.attr,
	&vpa_attr_win_writable.attr.attr,
	&dev_attr_wq_submit.attr,
	&vpa_attr_nr_wq.attr.attr,
	&vpa_attr_nr_vec.attr.attr,
	&vpa_attr_nr_win.attr.attr,
	&vpa_attr_nr_db.attr.attr,
	&vpa_attr_nr_eng.attr.attr,
	&dev_attr_give_to.attr,
	&vpa_attr_give_wq.attr.attr,
	&vpa_attr_give_vec.attr.attr,
	&vpa_attr_give_win.attr.attr,
	&vpa_attr_give_db.attr.attr,
	&vpa_attr_give_eng.attr.attr,
	NULL,
};

static const struct attribute_group vpa_mdev_group = {
	.name = "vpa",
	.attrs = vpa_mdev_attrs,
};

/* <mdev>/vpa_audit/: one counter each; the attribute's number says which. */
static ssize_t vpa_audit_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n",
			  (s64)atomic64_read(&v->audit[vpa_attr_num(attr)]));
}

static VPA_ATTR_NUM(vpa_audit_dma_unmapped, dma_unmapped, 0444,
		    vpa_audit_show, NULL, VPA_AUD_UNMAPPED);
static VPA_ATTR_NUM(vpa_audit_dma_readonly, dma_readonly, 0444,
		    vpa_audit_show, NULL, VPA_AUD_READONLY);
static VPA_ATTR_NUM(vpa_audit_dma_window, dma_window, 0444,
		    vpa_audit_show, NULL, VPA_AUD_WINDOW);
static VPA_ATTR_NUM(vpa_audit_bad_descriptor, bad_descriptor, 0444,
		    vpa_audit_show, NULL, VPA_AUD_BAD_DESC);
static VPA_ATTR_NUM(vpa_audit_bad_mmio, bad_mmio, 0444,
		    vpa_audit_show, NULL, VPA_AUD_BAD_MMIO);
static VPA_ATTR_NUM(vpa_audit_config_readonly, config_readonly, 0444,
		    vpa_audit_show, NULL, VPA_AUD_CFG_RO);
static VPA_ATTR_NUM(vpa_audit_completed, completed, 0444,
		    vpa_audit_show, NULL, VPA_AUD_DONE);

static struct attribute *vpa_audit_attrs[] = {
	&vpa_audit_dma_unmapped.attr.attr,
	&vpa_audit_dma_readonly.attr.attr,
	&vpa_audit_dma_window.attr.attr,
	&vpa_audit_bad_descriptor.attr.attr,
	&vpa_audit_bad_mmio.attr.attr,
	&vpa_audit_config_readonly.attr.attr,
	&vpa_audit_completed.attr.attr,
	NULL,
};

static const struct attribute_group vpa_audit_group = {
	.name = "vpa_audit",
	.attrs = vpa_audit_attrs,
};

const struct attribute_group *vpa_mdev_groups[] = {
	&vpa_mdev_group,
	&vpa_audit_group,
	&vpa_vdev_recovery_group,
	NULL,
};
