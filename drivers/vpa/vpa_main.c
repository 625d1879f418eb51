// SPDX-License-Identifier: GPL-2.0
/*
 * vpa: partitioned adapter. One adapter (a software adapter, or one bound
 * to a PCI function an administrator hands it) is carved into virtual
 * adapters, each an mdev owning an exclusive resource group.
 *
 * Adapters:
 *   - sw_adapters= software adapters are created at load (class device
 *     /sys/class/vpa/vpaN, requester ids 0xf000 + 0x40 * N + 1 + group);
 *   - the PCI driver "vpa" has no ID table: it binds only to a function
 *     whose driver_override names it, and then uses that function's
 *     requester id (its routing ID + 1 + group). An NVMe function with
 *     SR-IOV goes to the SR-IOV back end (vpa_sriov.c); any other runs
 *     the software model (an engine adapter).
 *
 * Parent sysfs (on the adapter's device): see "Parent sysfs" below and
 * Documentation/ABI/testing/sysfs-class-vpa.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/aer.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uuid.h>

#include "vpa.h"
#include "vpa_nvme.h"

/* vpa_bench.c builds every file as one unit: the points are made once. */
#define CREATE_TRACE_POINTS
#include "vpa_trace.h"
#undef CREATE_TRACE_POINTS

static unsigned int sw_adapters = 1;
module_param(sw_adapters, uint, 0444);
MODULE_PARM_DESC(sw_adapters, "software adapters to create (0-4, default 1)");

#define VPA_ENGINES		2
#define VPA_SW_RID_BASE		0xf000

/* The software adapter's, and the PCI back end's (it models the same). */
static const struct vpa_shape vpa_sw_shape = {
	.total = { 32, 64, 64, 32, VPA_ENG_SLICES },
	.group_max = { VPA_MAX_WQS, VPA_MAX_VECS, VPA_MAX_WINS, VPA_MAX_DBS,
		       VPA_ENG_SLICES },
};

/* mdev types of every adapter. */
static const struct {
	const char *name;
	const char *desc;
	struct vpa_req req;
} vpa_type_defs[VPA_NR_TYPES] = {
	{ "small", "absolute: 1 wq, 2 vectors, 2 windows, 1 doorbell, 5% engine",
	  { .policy = VPA_POLICY_ABSOLUTE, .count = { 1, 2, 2, 1, 5 } } },
	{ "large", "absolute: 4 wq, 8 vectors, 8 windows, 4 doorbells, 20% engine",
	  { .policy = VPA_POLICY_ABSOLUTE, .count = { 4, 8, 8, 4, 20 } } },
	{ "half", "relative: half of every resource of the adapter",
	  { .policy = VPA_POLICY_RELATIVE, .den = 2 } },
	{ "quarter", "relative: a quarter of every resource of the adapter",
	  { .policy = VPA_POLICY_RELATIVE, .den = 4 } },
	{ "fcfs",
	  "first come first served: what is free, up to 4 wq, 8 vectors, 8 windows, 4 doorbells, 25% engine",
	  { .policy = VPA_POLICY_FCFS, .count = { 4, 8, 8, 4, 25 },
	    .min = { 1, 1, 1, 1, 1 } } },
};

#ifdef VPA_BENCH_BYPASS
/* Benchmark builds only: skip window and requester-id checks. */
bool vpa_bypass;
#endif

/* All adapters, under vpa_adapters_lock. */
static LIST_HEAD(vpa_adapters);
static DEFINE_MUTEX(vpa_adapters_lock);
static struct class *vpa_class;
static struct dentry *vpa_debugfs;
static struct vpa_adapter *vpa_sw[VPA_MAX_SW];

struct vpa_type *vpa_type_of(struct mdev_device *mdev)
{
	return container_of(mdev->type, struct vpa_type, type);
}

/* @v's queues are its own on the adapter; caller holds ad->lock. */
void vpa_adapter_own_wqs(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	u32 i;

	lockdep_assert_held(&ad->lock);
	for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
		ad->wq_owner[v->wq[i].global] = &v->wq[i];
}

/*
 * Put @v on its adapter's list, where destroy, reassign and error recovery
 * find it and take references: only once it is registered, since before
 * vfio_register_emulated_iommu_dev() its struct device is not initialised.
 */
void vpa_adapter_attach(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	mutex_lock(&ad->lock);
	list_add_tail(&v->node, &ad->vdevs);
	mutex_unlock(&ad->lock);
}

/* Take @v off its adapter's list: no destroy finds it after this. */
void vpa_adapter_detach(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	mutex_lock(&ad->lock);
	list_del_init(&v->node);
	mutex_unlock(&ad->lock);
}

/* Give @v's resource group back to the adapter (once). */
void vpa_adapter_release_group(struct vpa_adapter *ad, struct vpa_vdev *v)
{
	u32 i;

	mutex_lock(&ad->lock);
	if (v->gid >= 0) {
		for (i = 0; i < v->nr[VPA_RES_WQ]; i++)
			ad->wq_owner[v->wq[i].global] = NULL;
		vpa_core_free(ad->core, v->gid);
		v->gid = -1;
	}
	mutex_unlock(&ad->lock);
}

/* mdev driver */

static int vpa_mdev_probe(struct mdev_device *mdev)
{
	struct vpa_vdev *v;
	int ret;

	v = vfio_alloc_device(vpa_vdev, vfio, &mdev->dev, &vpa_vfio_ops);
	if (IS_ERR(v))
		return PTR_ERR(v);
	dev_set_drvdata(&mdev->dev, v);
	ret = vfio_register_emulated_iommu_dev(&v->vfio);
	if (ret)
		goto err_put;
	vpa_adapter_attach(v->ad, v);
	dev_info(&mdev->dev, "%s: rid %04x, %u wq, %u vec, %u win, %u db, %u%% engine\n",
		 mdev->type->sysfs_name, v->rid, v->nr[VPA_RES_WQ],
		 v->nr[VPA_RES_VEC], v->nr[VPA_RES_WIN], v->nr[VPA_RES_DB],
		 v->nr[VPA_RES_ENG]);
	return 0;

err_put:
	vfio_put_device(&v->vfio);
	return ret;
}

static void vpa_mdev_remove(struct mdev_device *mdev)
{
	struct vpa_vdev *v = dev_get_drvdata(&mdev->dev);

	vpa_adapter_detach(v->ad, v);
	/* resources go back now; unregistering waits for the user's close */
	vpa_vdev_kill(v);
	vfio_unregister_group_dev(&v->vfio);
	vfio_put_device(&v->vfio);
}

static unsigned int vpa_mdev_get_available(struct mdev_type *mtype)
{
	struct vpa_type *type = container_of(mtype, struct vpa_type, type);
	struct vpa_adapter *ad = container_of(mtype->parent, struct vpa_adapter,
					      parent);
	unsigned int n;

	mutex_lock(&ad->lock);
	n = vpa_core_available(ad->core, &type->req);
	mutex_unlock(&ad->lock);
	return n;
}

static ssize_t vpa_mdev_show_description(struct mdev_type *mtype, char *buf)
{
	struct vpa_type *type = container_of(mtype, struct vpa_type, type);

	return sysfs_emit(buf, "%s\n", type->desc);
}

struct mdev_driver vpa_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = KBUILD_MODNAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = vpa_mdev_groups,
	},
	.probe = vpa_mdev_probe,
	.remove = vpa_mdev_remove,
	.get_available = vpa_mdev_get_available,
	.show_description = vpa_mdev_show_description,
};

/* The adapter of a parent device (sysfs). */
struct vpa_adapter *vpa_adapter_of(struct device *dev)
{
	struct vpa_adapter *ad;

	mutex_lock(&vpa_adapters_lock);
	list_for_each_entry(ad, &vpa_adapters, node) {
		if (ad->dev == dev) {
			mutex_unlock(&vpa_adapters_lock);
			return ad;
		}
	}
	mutex_unlock(&vpa_adapters_lock);
	return NULL;
}

/*
 * The virtual adapter of @ad named @uuid, with a reference on its device
 * (put_device(&v->vfio.device)), or ERR_PTR(-ENOENT).
 */
struct vpa_vdev *vpa_find_guid(struct vpa_adapter *ad, const guid_t *uuid)
{
	struct vpa_vdev *v, *found = ERR_PTR(-ENOENT);

	mutex_lock(&ad->lock);
	list_for_each_entry(v, &ad->vdevs, node) {
		if (guid_equal(&v->mdev->uuid, uuid)) {
			get_device(&v->vfio.device);
			found = v;
			break;
		}
	}
	mutex_unlock(&ad->lock);
	return found;
}

/* debugfs */

/*
 * "inject": write "RID WQ TAIL" to send the back end a doorbell request
 * as if from requester id RID for global work queue WQ. The write fails
 * with the back end's answer; used by tests of the requester-id check.
 */
static ssize_t vpa_inject_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct vpa_adapter *ad = file->private_data;
	char buf[48];
	u32 rid, wq, tail;
	int ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	if (sscanf(buf, "%x %u %u", &rid, &wq, &tail) != 3 || rid > 0xffff)
		return -EINVAL;
	ret = vpa_engine_ring(ad, rid, wq, tail);
	return ret ? ret : count;
}

static const struct file_operations vpa_inject_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vpa_inject_write,
	.llseek = no_llseek,
};

/*
 * "error": write 1 to run the adapter's error recovery as if the PCI core
 * had reported an uncorrectable error (the software adapter has no AER).
 */
static ssize_t vpa_error_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct vpa_adapter *ad = file->private_data;
	unsigned int val;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 0, &val);
	if (ret)
		return ret;
	if (val != 1)
		return -EINVAL;
	ret = vpa_adapter_error(ad);
	return ret ? ret : count;
}

static const struct file_operations vpa_error_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vpa_error_write,
	.llseek = no_llseek,
};

/* An adapter's files: the engine's, or the SR-IOV back end's. */
static void vpa_debugfs_init(struct vpa_adapter *ad)
{
	ad->debugfs = debugfs_create_dir(dev_name(ad->dev), vpa_debugfs);
	if (ad->kind == VPA_KIND_SRIOV) {
		vpa_sriov_debugfs_init(ad);
		return;
	}
	debugfs_create_file("inject", 0200, ad->debugfs, ad, &vpa_inject_fops);
	/*
	 * The software adapter's error only: a PCI function has AER (and
	 * aer_inject). Its reset would take the device lock under recov_lock,
	 * while AER and unbind take recov_lock (and drain this file) under
	 * the device lock: a deadlock.
	 */
	if (!ad->pdev)
		debugfs_create_file("error", 0200, ad->debugfs, ad,
				    &vpa_error_fops);
}

/* Adapters */

/* Undo vpa_adapter_alloc(). */
void vpa_adapter_free(struct vpa_adapter *ad)
{
	cancel_delayed_work_sync(&ad->recov_work);
	if (ad->engines)
		destroy_workqueue(ad->engines);
	vpa_engine_free_bounce(ad);
	kvfree(ad->core);
	kfree(ad);
}

/*
 * Start an adapter of @shape: its core, its place in vpa_adapters and,
 * for an engine adapter, its mdev types off @ad->dev. The caller has set
 * up @ad->dev and whatever device it needs. An SR-IOV adapter gets no mdev
 * parent: its groups are VFs (vpa_sriov.c).
 */
int vpa_adapter_start(struct vpa_adapter *ad, const struct vpa_shape *shape,
		      u16 rid_base)
{
	int i, ret;

	ret = vpa_core_init(ad->core, shape->total, shape->group_max,
			    rid_base);
	if (ret)
		return ret;
	/* the least counts before the types are checked against them */
	for (i = 0; i < VPA_RES_NR; i++) {
		if (!shape->group_min[i])
			continue;
		ret = vpa_core_set_min(ad->core, i, shape->group_min[i]);
		if (ret)
			return ret;
	}
	if (ad->kind != VPA_KIND_ENGINE)
		goto add;
	/*
	 * The virtual adapter an mdev shows (vpa_mdev.c, the recovery's
	 * follow) has queues on doorbells raising vectors: it needs every
	 * type. A back end lacking one offers its groups through functions
	 * of its own (Documentation/plans/sriov.md), not through these types.
	 */
	for (i = 0; i < VPA_RES_NR; i++) {
		if (!shape->total[i]) {
			dev_err(ad->dev, "no %s: no virtual adapter types\n",
				vpa_res_name(i));
			return -EINVAL;
		}
	}
	for (i = 0; i < VPA_NR_TYPES; i++) {
		ad->types[i].type.sysfs_name = vpa_type_defs[i].name;
		ad->types[i].type.pretty_name = vpa_type_defs[i].name;
		ad->types[i].req = vpa_type_defs[i].req;
		ad->types[i].desc = vpa_type_defs[i].desc;
		ad->type_ptrs[i] = &ad->types[i].type;
		ret = vpa_core_req_check(ad->core, &ad->types[i].req);
		if (ret) {
			dev_err(ad->dev, "type %s does not fit the adapter\n",
				vpa_type_defs[i].name);
			return ret;
		}
	}
add:
	mutex_lock(&vpa_adapters_lock);
	list_add_tail(&ad->node, &vpa_adapters);
	mutex_unlock(&vpa_adapters_lock);
	vpa_debugfs_init(ad);
	if (ad->kind == VPA_KIND_ENGINE) {
		ret = mdev_register_parent(&ad->parent, ad->dev,
					   &vpa_mdev_driver, ad->type_ptrs,
					   VPA_NR_TYPES);
		if (ret)
			goto err_list;
	}
	dev_info(ad->dev, "adapter ready, requester id %04x\n", rid_base);
	return 0;

err_list:
	debugfs_remove_recursive(ad->debugfs);
	mutex_lock(&vpa_adapters_lock);
	list_del(&ad->node);
	mutex_unlock(&vpa_adapters_lock);
	return ret;
}

/* Undo vpa_adapter_start(): every virtual adapter is removed first. */
void vpa_adapter_stop(struct vpa_adapter *ad)
{
	if (ad->kind == VPA_KIND_ENGINE)
		mdev_unregister_parent(&ad->parent);
	debugfs_remove_recursive(ad->debugfs);
	mutex_lock(&vpa_adapters_lock);
	list_del(&ad->node);
	mutex_unlock(&vpa_adapters_lock);
}

/* A new adapter of @kind, not started; vpa_adapter_free() undoes it. */
struct vpa_adapter *vpa_adapter_alloc(int id, enum vpa_kind kind)
{
	struct vpa_adapter *ad;

	ad = kzalloc(sizeof(*ad), GFP_KERNEL);
	if (!ad)
		return NULL;
	ad->id = id;
	ad->kind = kind;
	mutex_init(&ad->lock);
	mutex_init(&ad->recov_lock);
	INIT_DELAYED_WORK(&ad->recov_work, vpa_recov_timeout_work);
	INIT_LIST_HEAD(&ad->vdevs);
	spin_lock_init(&ad->bounce_lock);
	INIT_LIST_HEAD(&ad->bounce_free);
	atomic64_set(&ad->rid_rejects, 0);
	ad->core = kvzalloc(sizeof(*ad->core), GFP_KERNEL);
	if (kind == VPA_KIND_ENGINE)
		ad->engines = alloc_workqueue("%s%d_eng", WQ_UNBOUND,
					      VPA_ENGINES, KBUILD_MODNAME, id);
	if (!ad->core || (kind == VPA_KIND_ENGINE && !ad->engines)) {
		vpa_adapter_free(ad);
		return NULL;
	}
	return ad;
}

static void vpa_sw_release(struct device *dev)
{
	vpa_adapter_free(container_of(dev, struct vpa_adapter, sw_dev));
}

static int vpa_sw_create(int id)
{
	struct vpa_adapter *ad;
	int ret;

	ad = vpa_adapter_alloc(id, VPA_KIND_ENGINE);
	if (!ad)
		return -ENOMEM;
	ad->dev = &ad->sw_dev;
	device_initialize(&ad->sw_dev);
	ad->sw_dev.class = vpa_class;
	ad->sw_dev.groups = vpa_parent_groups;
	ad->sw_dev.release = vpa_sw_release;
	ret = dev_set_name(&ad->sw_dev, "%s%d", KBUILD_MODNAME, id);
	if (ret)
		goto err_put;
	ret = device_add(&ad->sw_dev);
	if (ret)
		goto err_put;
	ret = vpa_adapter_start(ad, &vpa_sw_shape, VPA_SW_RID_BASE + id * 0x40);
	if (ret)
		goto err_del;
	vpa_sw[id] = ad;
	return 0;

err_del:
	device_del(&ad->sw_dev);
err_put:
	put_device(&ad->sw_dev);	/* frees @ad */
	return ret;
}

static void vpa_sw_destroy(int id)
{
	struct vpa_adapter *ad = vpa_sw[id];

	vpa_adapter_stop(ad);
	device_unregister(&ad->sw_dev);
	vpa_sw[id] = NULL;
}

/*
 * PCI back ends: a function handed to us with driver_override. An NVMe
 * function with SR-IOV is an SR-IOV adapter; any other function gets the
 * software model, with the function's requester id, config space and AER.
 */

static int vpa_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vpa_adapter *ad;
	u16 rid = pci_dev_id(pdev);
	int ret;

	if (vpa_sriov_match(pdev))
		return vpa_sriov_probe(pdev);
	if ((u32)rid + VPA_CORE_MAX_GROUPS > 0xffff)
		return -EINVAL;
	ad = vpa_adapter_alloc(VPA_MAX_SW + rid, VPA_KIND_ENGINE);
	if (!ad)
		return -ENOMEM;
	ad->dev = &pdev->dev;
	ad->pdev = pdev;
	/*
	 * Error recovery: errors reported, config restored after resets.
	 * The function is put in D0 now (no driver has, so the PCI core
	 * knows its power state only as "unknown"): the reset during
	 * recovery (a PM reset where there is no FLR) needs D0, and must
	 * not change the power state from inside the core's bus walk.
	 */
	ret = pci_set_power_state(pdev, PCI_D0);
	if (ret)
		dev_info(&pdev->dev, "cannot set D0: %d\n", ret);
	pci_save_state(pdev);
	if (pdev->aer_cap && pci_enable_pcie_error_reporting(pdev))
		dev_info(&pdev->dev, "AER reporting not enabled\n");
	pci_set_drvdata(pdev, ad);
	ret = vpa_adapter_start(ad, &vpa_sw_shape, rid);
	if (ret) {
		pci_set_drvdata(pdev, NULL);
		if (pdev->aer_cap)
			pci_disable_pcie_error_reporting(pdev);
		vpa_adapter_free(ad);
		return ret;
	}
	return 0;
}

static void vpa_pci_remove(struct pci_dev *pdev)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (ad->kind == VPA_KIND_SRIOV) {
		vpa_sriov_remove(pdev);
		return;
	}
	vpa_adapter_stop(ad);
	if (pdev->aer_cap)
		pci_disable_pcie_error_reporting(pdev);
	pci_set_drvdata(pdev, NULL);
	vpa_adapter_free(ad);
}

/*
 * sysfs sriov_numvfs (the PCI core holds the device lock): an SR-IOV
 * adapter enables its VFs and brings their groups online, or takes them
 * offline and disables the VFs. The software model has no VFs to manage.
 */
static int vpa_pci_sriov_configure(struct pci_dev *pdev, int n)
{
	struct vpa_adapter *ad = pci_get_drvdata(pdev);

	if (!ad || ad->kind != VPA_KIND_SRIOV)
		return -EOPNOTSUPP;
	return vpa_sriov_configure(ad, n);
}

static struct pci_driver vpa_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = NULL,	/* driver_override only */
	.probe = vpa_pci_probe,
	.remove = vpa_pci_remove,
	.sriov_configure = vpa_pci_sriov_configure,
	.err_handler = &vpa_err_handlers,
	/* pci_register_driver() copies this into driver.dev_groups */
	.dev_groups = vpa_parent_groups,
};

static int __init vpa_init(void)
{
	int i, ret;

	if (sw_adapters > VPA_MAX_SW) {
		pr_err("sw_adapters=%u: at most %d\n", sw_adapters, VPA_MAX_SW);
		return -EINVAL;
	}
	vpa_sysfs_init();
	vpa_sriov_sysfs_init();
	vpa_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_u32("recov_delay_us", 0600, vpa_debugfs,
			   &vpa_recov_delay_us);
	debugfs_create_u32("sriov_probe_fail", 0600, vpa_debugfs,
			   &vpa_sriov_fail_step);
	debugfs_create_u32("sriov_group_fail", 0600, vpa_debugfs,
			   &vpa_sriov_group_fail);
	debugfs_create_u32("sriov_undo_fail", 0600, vpa_debugfs,
			   &vpa_sriov_undo_fail);
	debugfs_create_u32("sriov_restart_fail", 0600, vpa_debugfs,
			   &vpa_sriov_restart_fail);
	debugfs_create_u32("sriov_cmd_timeout", 0600, vpa_debugfs,
			   &vpa_sriov_cmd_timeout);
#ifdef VPA_BENCH_BYPASS
	debugfs_create_bool("bypass_checks", 0600, vpa_debugfs, &vpa_bypass);
#endif
	ret = mdev_register_driver(&vpa_mdev_driver);
	if (ret)
		goto err_debugfs;
	vpa_class = class_create(THIS_MODULE, KBUILD_MODNAME);
	if (IS_ERR(vpa_class)) {
		ret = PTR_ERR(vpa_class);
		goto err_driver;
	}
	for (i = 0; i < sw_adapters; i++) {
		ret = vpa_sw_create(i);
		if (ret)
			goto err_sw;
	}
	ret = pci_register_driver(&vpa_pci_driver);
	if (ret)
		goto err_sw;
	return 0;

err_sw:
	while (i--)
		vpa_sw_destroy(i);
	class_destroy(vpa_class);
err_driver:
	mdev_unregister_driver(&vpa_mdev_driver);
err_debugfs:
	debugfs_remove_recursive(vpa_debugfs);
	return ret;
}

static void __exit vpa_exit(void)
{
	int i;

	pci_unregister_driver(&vpa_pci_driver);
	for (i = 0; i < VPA_MAX_SW; i++)
		if (vpa_sw[i])
			vpa_sw_destroy(i);
	class_destroy(vpa_class);
	mdev_unregister_driver(&vpa_mdev_driver);
	debugfs_remove_recursive(vpa_debugfs);
}

module_init(vpa_init);
module_exit(vpa_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Partitioned adapter: virtual adapters as VFIO mdevs");
