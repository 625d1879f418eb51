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

/* vpa_<type>/free and /total: the attribute's number is type * 2 + total. */
static ssize_t vpa_res_count_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct vpa_adapter *ad = vpa_adapter_of(dev);
	unsigned int t = vpa_attr_num(attr) / 2;
	bool total = vpa_attr_num(attr) % 2;
	u32 n;

	if (!ad)
		return -ENODEV;
	mutex_lock(&ad->lock);
	n = total ? ad->core->total[t] : ad->core->free[t];
	mutex_unlock(&ad->lock);
	return sysfs_emit(buf, "%u\n", n);
}

static const struct device_attribute vpa_res_count_tmpl =
	__ATTR(count, 0444, vpa_res_count_show, NULL);
static const char * const vpa_res_count_names[] = { "free", "total" };
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

/* also the VF groups' vpa_recovery/last_outcome (vpa_sriov.c) */
const char * const vpa_outcome_names[VPA_OUT_NR] = {
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

static const struct device_attribute vpa_nr_tmpl =
	__ATTR(nr, 0644, vpa_nr_show, vpa_nr_store);
static const struct device_attribute vpa_give_tmpl =
	__ATTR(give, 0200, NULL, vpa_give_store);

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
	VPA_REC_NR
};

static const char * const vpa_vdev_rec_names[VPA_REC_NR] = {
	[VPA_REC_EVENTS] = "events",
	[VPA_REC_ACKED] = "acked",
	[VPA_REC_FORCED] = "forced",
	[VPA_REC_FAILED] = "failed",
	[VPA_REC_RESUMED] = "resumed",
	[VPA_REC_CHANGES] = "changes",
	[VPA_REC_RECOVERIES] = "recoveries",
	[VPA_REC_LAST_KIND] = "last_kind",
	[VPA_REC_LAST_OUTCOME] = "last_outcome",
	[VPA_REC_LAST_ACK_US] = "last_ack_us",
};

/* The counters, up to VPA_REC_RECOVERIES: where each is in the record. */
static const size_t vpa_vdev_rec_counter[] = {
	[VPA_REC_EVENTS] = offsetof(struct vpa_recov_stats, events),
	[VPA_REC_ACKED] = offsetof(struct vpa_recov_stats, acked),
	[VPA_REC_FORCED] = offsetof(struct vpa_recov_stats, forced),
	[VPA_REC_FAILED] = offsetof(struct vpa_recov_stats, failed),
	[VPA_REC_RESUMED] = offsetof(struct vpa_recov_stats, resumed),
	[VPA_REC_CHANGES] = offsetof(struct vpa_recov_stats, changes),
	[VPA_REC_RECOVERIES] = offsetof(struct vpa_recov_stats, recoveries),
};

static ssize_t vpa_vdev_rec_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	const struct vpa_recov_stats *r = &v->rec;
	unsigned int f = vpa_attr_num(attr);
	int out;

	if (f < ARRAY_SIZE(vpa_vdev_rec_counter))
		return sysfs_emit(buf, "%llu\n",
				  READ_ONCE(*(const u64 *)((const u8 *)r +
						vpa_vdev_rec_counter[f])));
	switch (f) {
	case VPA_REC_LAST_KIND:
		return sysfs_emit(buf, "%s\n", READ_ONCE(r->last_error) ?
				  "error" : "revoke");
	case VPA_REC_LAST_OUTCOME:
		out = READ_ONCE(r->last_outcome);
		if (out < 0 || out >= VPA_OUT_NR)
			out = VPA_OUT_NONE;
		return sysfs_emit(buf, "%s\n", vpa_outcome_names[out]);
	}
	return sysfs_emit(buf, "%lld\n", READ_ONCE(r->last_ack_us));
}

static const struct device_attribute vpa_vdev_rec_tmpl =
	__ATTR(rec, 0444, vpa_vdev_rec_show, NULL);
static struct dev_ext_attribute vpa_vdev_rec_attrs[VPA_REC_NR];
static struct attribute *vpa_vdev_rec_list[VPA_REC_NR + 1];

static const struct attribute_group vpa_vdev_recovery_group = {
	.name = "vpa_recovery",
	.attrs = vpa_vdev_rec_list,
};

/*
 * The adapter's vpa_recovery/: error recovery state, one file each.
 * Written under recov_lock, read without it.
 */
enum vpa_ad_rec_field {
	VPA_AD_STATE, VPA_AD_ERRORS, VPA_AD_RESETS, VPA_AD_LAST_ACKED,
	VPA_AD_LAST_FAILED, VPA_AD_ABANDONED, VPA_AD_NR
};

static const char * const vpa_ad_rec_names[VPA_AD_NR] = {
	[VPA_AD_STATE] = "state",
	[VPA_AD_ERRORS] = "errors",
	[VPA_AD_RESETS] = "resets",
	[VPA_AD_LAST_ACKED] = "last_acked",
	[VPA_AD_LAST_FAILED] = "last_failed",
	[VPA_AD_ABANDONED] = "abandoned",
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
	case VPA_AD_ABANDONED:
		return sysfs_emit(buf, "%llu\n", READ_ONCE(ad->abandoned));
	}
	return sysfs_emit(buf, "%u\n", READ_ONCE(ad->last_failed));
}

static const struct device_attribute vpa_ad_rec_tmpl =
	__ATTR(rec, 0444, vpa_ad_rec_show, NULL);
static struct dev_ext_attribute vpa_ad_rec_attrs[VPA_AD_NR];
static struct attribute *vpa_ad_rec_list[VPA_AD_NR + 1];

static const struct attribute_group vpa_adapter_recovery_group = {
	.name = "vpa_recovery",
	.attrs = vpa_ad_rec_list,
};

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
 * through (write through); the attribute's number is 0 for VPA_WIN_READ,
 * 1 for VPA_WIN_WRITE. The guest cannot widen them.
 */
static ssize_t vpa_win_prot_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vpa_vdev *v = dev_get_drvdata(dev);
	u32 bit = BIT(vpa_attr_num(attr)), mask = 0, i;

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
	u32 bit = BIT(vpa_attr_num(attr)), mask, admin[VPA_MAX_WINS], i, n;
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

static const struct device_attribute vpa_win_prot_tmpl =
	__ATTR(win, 0644, vpa_win_prot_show, vpa_win_prot_store);
static const char * const vpa_win_prot_names[] = {
	"win_readable", "win_writable"
};

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

/* rid, state, wq_submit, give_to; two masks; nr_ and give_ */
static struct attribute *vpa_mdev_attrs[4 + 2 + 2 * VPA_RES_NR + 1];
static struct dev_ext_attribute vpa_win_prot_attrs[2];
static struct dev_ext_attribute vpa_nr_attrs[VPA_RES_NR];
static struct dev_ext_attribute vpa_give_attrs[VPA_RES_NR];

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

static const struct device_attribute vpa_audit_tmpl =
	__ATTR(audit, 0444, vpa_audit_show, NULL);
static const char * const vpa_audit_names[VPA_AUD_NR] = {
	[VPA_AUD_UNMAPPED] = "dma_unmapped",
	[VPA_AUD_READONLY] = "dma_readonly",
	[VPA_AUD_WINDOW] = "dma_window",
	[VPA_AUD_BAD_DESC] = "bad_descriptor",
	[VPA_AUD_BAD_MMIO] = "bad_mmio",
	[VPA_AUD_CFG_RO] = "config_readonly",
	[VPA_AUD_DONE] = "completed",
};

static struct dev_ext_attribute vpa_audit_attrs[VPA_AUD_NR];
static struct attribute *vpa_audit_list[VPA_AUD_NR + 1];

static const struct attribute_group vpa_audit_group = {
	.name = "vpa_audit",
	.attrs = vpa_audit_list,
};

const struct attribute_group *vpa_mdev_groups[] = {
	&vpa_mdev_group,
	&vpa_audit_group,
	&vpa_vdev_recovery_group,
	NULL,
};

/* The parent's groups (the adapter's device, and the PCI driver's). */
const struct attribute_group *vpa_parent_groups[VPA_RES_NR + 3];

/* Names of files made of a prefix and a resource type's name. */
static char vpa_res_file_buf[3][VPA_RES_NR][16];
static const char *vpa_res_file_names[3][VPA_RES_NR];

static const char * const *vpa_res_files(int which, const char *prefix)
{
	int t;

	for (t = 0; t < VPA_RES_NR; t++) {
		snprintf(vpa_res_file_buf[which][t], 16, "%s%s", prefix,
			 vpa_res_name(t));
		vpa_res_file_names[which][t] = vpa_res_file_buf[which][t];
	}
	return vpa_res_file_names[which];
}

/* Build the attribute lists and groups; before any device is registered. */
void vpa_sysfs_init(void)
{
	const char * const *dirs = vpa_res_files(0, "vpa_");
	struct attribute **a;
	int t, g = 0;

	BUILD_BUG_ON(VPA_WIN_READ != BIT(0) || VPA_WIN_WRITE != BIT(1));
	vpa_parent_groups[g++] = &vpa_parent_group;
	for (t = 0; t < VPA_RES_NR; t++) {
		*vpa_attrs_fill(vpa_res_attr_list[t], vpa_res_attrs[t],
				&vpa_res_count_tmpl, vpa_res_count_names, 2,
				t * 2) = NULL;
		vpa_res_groups[t].name = dirs[t];
		vpa_res_groups[t].attrs = vpa_res_attr_list[t];
		vpa_parent_groups[g++] = &vpa_res_groups[t];
	}
	vpa_parent_groups[g++] = &vpa_adapter_recovery_group;
	vpa_parent_groups[g] = NULL;
	*vpa_attrs_fill(vpa_ad_rec_list, vpa_ad_rec_attrs, &vpa_ad_rec_tmpl,
			vpa_ad_rec_names, VPA_AD_NR, 0) = NULL;

	a = vpa_mdev_attrs;
	*a++ = &dev_attr_rid.attr;
	*a++ = &dev_attr_state.attr;
	*a++ = &dev_attr_wq_submit.attr;
	*a++ = &dev_attr_give_to.attr;
	a = vpa_attrs_fill(a, vpa_win_prot_attrs, &vpa_win_prot_tmpl,
			   vpa_win_prot_names, 2, 0);
	a = vpa_attrs_fill(a, vpa_nr_attrs, &vpa_nr_tmpl,
			   vpa_res_files(1, "nr_"), VPA_RES_NR, 0);
	a = vpa_attrs_fill(a, vpa_give_attrs, &vpa_give_tmpl,
			   vpa_res_files(2, "give_"), VPA_RES_NR, 0);
	*a = NULL;
	*vpa_attrs_fill(vpa_audit_list, vpa_audit_attrs, &vpa_audit_tmpl,
			vpa_audit_names, VPA_AUD_NR, 0) = NULL;
	*vpa_attrs_fill(vpa_vdev_rec_list, vpa_vdev_rec_attrs,
			&vpa_vdev_rec_tmpl, vpa_vdev_rec_names, VPA_REC_NR,
			0) = NULL;
}
