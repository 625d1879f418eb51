/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vpa: partitioned adapter. Internal interfaces between the adapter
 * (vpa_main.c), the mdev/VFIO front end (vpa_mdev.c) and the software
 * engine (vpa_engine.c).
 *
 * Lock order (outer first):
 *   vpa_adapter::recov_lock  ->  vpa_vdev::lock  (two vdev locks are only
 *                               ever held together under recov_lock)
 *   vpa_vdev::lock  ->  vpa_adapter::lock
 *   vpa_vdev::cfg_lock, vpa_vdev::irq_lock  (spinlocks, innermost)
 * The engine never takes vpa_vdev::lock, so holders of it may wait for
 * the engine (cancel_work_sync()).
 *
 * Lifetime: a struct vpa_vdev lives in its vfio_device; vfio_device's
 * kref (vfio_put_device) frees it. The mdev driver's probe holds the first
 * reference until remove; vpa_find_guid() takes one for the sysfs writes
 * that name a virtual adapter by its UUID (vpa_destroy, give_to).
 */
#ifndef _VPA_H
#define _VPA_H

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/vpa.h>

#include "vpa_attrs.h"
#include "vpa_core.h"

#define VPA_CFG_SIZE		256
#define VPA_NR_TYPES		5
/* Descriptors one work queue runs per turn at 100% engine share. */
#define VPA_TURN_DESCS		64
#define VPA_MAX_SW		4	/* software adapters */
struct vpa_vdev;
struct vpa_sriov;

/*
 * What an adapter has: resources of each type (0: none of that type), the
 * most one group may own and the least it keeps (0: one).
 */
struct vpa_shape {
	u32 total[VPA_RES_NR];
	u32 group_max[VPA_RES_NR];
	u32 group_min[VPA_RES_NR];
};

/*
 * The back end of an adapter. An engine adapter (the software adapter, or
 * the software model on a PCI function) offers mdev types and runs the
 * engine; an SR-IOV adapter (vpa_sriov.c) owns a physical function whose
 * resources its VFs get, and has neither mdev parent nor engine.
 */
enum vpa_kind {
	VPA_KIND_ENGINE,
	VPA_KIND_SRIOV,
};

struct vpa_win {
	u64 base;
	u64 size;
	u32 attr;		/* VPA_WIN_* as the guest wrote it */
	u32 admin;		/* VPA_WIN_* the host allows */
};

/* An mdev type: a name and the request its groups make. */
struct vpa_type {
	struct mdev_type type;
	struct vpa_req req;
	const char *desc;
};

/**
 * struct vpa_adapter - one physical or software adapter
 * @dev:	the device the mdevs hang off (ours or the PCI function's)
 * @sw_dev:	the software adapter's own device (unused for PCI)
 * @pdev:	the bound PCI function, or NULL
 * @kind:	enum vpa_kind, fixed at allocation
 * @sriov:	the SR-IOV back end's state (VPA_KIND_SRIOV), else NULL
 * @parent:	mdev parent (VPA_KIND_ENGINE)
 * @types:	mdev types of this adapter
 * @type_ptrs:	the same, as mdev_register_parent() takes them
 * @lock:	protects @core, @vdevs and @wq_owner
 * @core:	resource groups
 * @vdevs:	virtual adapters (vpa_vdev::node)
 * @wq_owner:	global work queue -> the virtual adapter's queue using it
 * @engines:	the engine workqueue; max_active is the number of engines
 *		(VPA_KIND_ENGINE; NULL otherwise)
 * @bounce_lock: protects @bounce_free
 * @bounce_free: the engines' idle bounce buffers (struct vpa_bounce): one
 *		is taken per turn and given back after it, so there are as
 *		many as turns ever ran at once (max_active per NUMA node)
 * @debugfs:	debugfs directory
 * @rid_rejects: requests the back end refused for their requester id
 * @recov_lock:	serialises resize, reassign and error recovery
 * @aer_state:	enum vpa_aer_state (under @recov_lock)
 * @aer_frozen:	the error froze the link: the PCI core resets it
 * @errors:	error recoveries started
 * @resets:	adapter resets done
 * @last_acked:	virtual adapters that acknowledged the last error in time
 * @last_failed: virtual adapters failed by the last error
 * @abandoned:	recoveries the PCI core never finished (recov_work)
 * @recov_work:	abandons a recovery still running at @recov_deadline
 * @recov_deadline: jiffies; set when the PCI core reports an error
 * @id:		adapter number
 * @node:	in vpa_adapters
 */
struct vpa_adapter {
	struct device *dev;
	struct device sw_dev;
	struct pci_dev *pdev;
	enum vpa_kind kind;
	struct vpa_sriov *sriov;
	struct mdev_parent parent;
	struct vpa_type types[VPA_NR_TYPES];
	struct mdev_type *type_ptrs[VPA_NR_TYPES];
	struct mutex lock;		/* core, vdevs, wq_owner */
	struct vpa_core *core;
	struct list_head vdevs;
	struct vpa_wq *wq_owner[VPA_CORE_MAX_ITEMS];
	struct workqueue_struct *engines;
	spinlock_t bounce_lock;		/* bounce_free */
	struct list_head bounce_free;
	struct dentry *debugfs;
	atomic64_t rid_rejects;
	struct mutex recov_lock;	/* resize, reassign, recovery */
	int aer_state;
	bool aer_frozen;
	u64 errors;
	u64 resets;
	u32 last_acked;
	u32 last_failed;
	u64 abandoned;
	struct delayed_work recov_work;
	unsigned long recov_deadline;
	int id;
	struct list_head node;
};

enum vpa_aer_state {
	VPA_AER_NORMAL,		/* no error recovery */
	VPA_AER_DETECTED,	/* guests told, engines stopped */
	VPA_AER_RESET,		/* adapter reset, state restored */
};

/*
 * One work queue of a virtual adapter. Fields below @work are protected
 * by vpa_vdev::cfg_lock; the engine reads them there and runs the
 * descriptors themselves without it.
 */
struct vpa_wq {
	struct vpa_vdev *vdev;
	u32 local;		/* index in the virtual adapter */
	u32 global;		/* index in the adapter */
	struct work_struct work;
	u64 ring;		/* ring IOVA */
	u32 size;		/* entries */
	u32 ctrl;		/* VPA_WQ_CTRL_* */
	u32 head;
	u32 tail;
	u32 vec;
	u32 db;
	u32 gen;		/* bumped when the ring is reset */
	bool frozen;		/* the host stopped it between descriptors */
	/*
	 * The engine's copy of the DMA windows, refreshed under cfg_lock when
	 * vpa_vdev::win_gen moves; read by the engine without a lock, so a
	 * window change applies from the next descriptor on.
	 */
	u32 snap_gen;
	u32 snap_nr;		/* windows the adapter had at that time */
	struct vpa_win snap[VPA_MAX_WINS];
};

/* DMA audit counters of one virtual adapter (one line each in sysfs). */
enum vpa_audit {
	VPA_AUD_UNMAPPED,	/* IOVA not mapped in the VM's container */
	VPA_AUD_READONLY,	/* write to a read-only mapping */
	VPA_AUD_WINDOW,		/* outside the adapter's DMA windows */
	VPA_AUD_BAD_DESC,	/* malformed descriptors */
	VPA_AUD_BAD_MMIO,	/* refused or invalid register accesses */
	VPA_AUD_CFG_RO,		/* config writes that changed nothing */
	VPA_AUD_DONE,		/* descriptors completed */
	VPA_AUD_NR
};

/* Outcome of the last quiesce request of a virtual adapter. */
enum vpa_outcome {
	VPA_OUT_NONE,		/* never asked */
	VPA_OUT_PENDING,	/* asked, waiting */
	VPA_OUT_ACKED,		/* acknowledged in time */
	VPA_OUT_FORCED,		/* revoke went on after the deadline */
	VPA_OUT_FAILED,		/* error recovery failed it */
	VPA_OUT_IDLE,		/* not open: nothing to quiesce */
	VPA_OUT_NR
};

/*
 * Recovery statistics of one virtual adapter, under
 * vpa_adapter::recov_lock (written) and read locklessly by sysfs.
 */
struct vpa_recov_stats {
	u64 events;		/* quiesce requests */
	u64 acked;		/* acknowledged in time */
	u64 forced;		/* revokes forced after the deadline */
	u64 failed;		/* error recoveries not acknowledged */
	u64 resumed;		/* error recoveries it came back from */
	u64 changes;		/* resource changes applied */
	u64 recoveries;		/* error recoveries asked: failed + resumed */
	s64 last_ack_us;	/* latency of the last ack, -1 if none */
	int last_outcome;	/* enum vpa_outcome */
	bool last_error;	/* the last request was an error recovery */
};

/**
 * struct vpa_vdev - one virtual adapter
 * @vfio:	the VFIO device (first: vfio_alloc_device() wants it there)
 * @ad:		the adapter it is carved from
 * @mdev:	its mdev
 * @node:	in vpa_adapter::vdevs, under vpa_adapter::lock
 * @gid:	resource group, -1 once destroyed (under vpa_adapter::lock)
 * @rid:	requester id
 * @nr:		resources it owns, by type
 * @keep:	while a shrink of a type runs, the count it keeps, else
 *		U32_MAX (under @cfg_lock): a register write may not name a
 *		doorbell or vector that is going, nor enable a queue that is
 *		going or on a doorbell that is (vpa_usable())
 * @lock:	serialises the VFIO file operations, @open, @dead, @give_to
 * @open:	the VFIO device is open
 * @dead:	destroyed: every access fails with -ENODEV
 * @cfg:	emulated config space (under @lock)
 * @cfg_wmask:	writable bits of @cfg
 * @cfg_lock:	protects @ctrl, @err, @wq fields, @win
 * @ctrl:	VPA_REG_CTRL
 * @err:	VPA_REG_ERR
 * @wq:		work queues
 * @win:	DMA windows
 * @win_gen:	generation of @win (under @cfg_lock)
 * @irq_lock:	protects @irq_type, @msix, @msi, @req
 * @irq_type:	VFIO_PCI_*_IRQ_INDEX in use, or -1
 * @msix:	MSI-X eventfds
 * @msi:	MSI eventfd
 * @req:	device request eventfd
 * @stat_page:	BAR4 status page; its own refcount keeps it while mapped
 * @stat:	kernel address of @stat_page
 * @audit:	counters, enum vpa_audit
 * @event:	VPA_REG_EVENT latches (under @cfg_lock, as all below to @failed)
 * @evt_vec:	VPA_REG_EVT_VEC
 * @evt_seq:	number of the last quiesce request
 * @quiesce_wqs: queues asked to quiesce
 * @quiescing:	a quiesce request waits for its acknowledgment
 * @recovery:	adapter error recovery: the engine runs nothing
 * @failed:	failed by error recovery until reset
 * @ack_time:	when the last acknowledgment came
 * @ack_wait:	woken on an acknowledgment
 * @rec:	recovery statistics
 * @asked:	when the last quiesce request went out (under recov_lock)
 * @give_to:	the virtual adapter give_<type> moves resources to (sysfs,
 *		under @lock), valid if @give_to_set
 * @give_to_set: @give_to names one
 */
struct vpa_vdev {
	struct vfio_device vfio;
	struct vpa_adapter *ad;
	struct mdev_device *mdev;
	struct list_head node;
	int gid;
	u16 rid;
	u32 nr[VPA_RES_NR];
	u32 keep[VPA_RES_NR];
	struct mutex lock;		/* file ops, open, dead, cfg, give_to */
	bool open;
	bool dead;
	u8 cfg[VPA_CFG_SIZE];
	u8 cfg_wmask[VPA_CFG_SIZE];
	spinlock_t cfg_lock;		/* ctrl, err, wq[], win[] */
	u32 ctrl;
	u32 err;
	struct vpa_wq wq[VPA_MAX_WQS];
	struct vpa_win win[VPA_MAX_WINS];
	u32 win_gen;		/* bumped on every change of @win */
	spinlock_t irq_lock;		/* irq_type, msix, msi, req */
	int irq_type;
	struct eventfd_ctx *msix[VPA_MAX_VECS];
	struct eventfd_ctx *msi;
	struct eventfd_ctx *req;
	struct page *stat_page;
	u32 *stat;
	atomic64_t audit[VPA_AUD_NR];
	u32 event;
	u32 evt_vec;
	u32 evt_seq;
	u32 quiesce_wqs;
	bool quiescing;
	bool recovery;
	bool failed;
	ktime_t ack_time;
	wait_queue_head_t ack_wait;
	struct vpa_recov_stats rec;
	ktime_t asked;
	guid_t give_to;
	bool give_to_set;
};

/*
 * How many resources of @type a guest may name in a register: those it
 * owns, less those a shrink under way takes (a queue moved to a doorbell
 * or vector about to go after the freeze would run without its head
 * advancing). Caller holds @v->cfg_lock.
 */
static inline u32 vpa_usable(struct vpa_vdev *v, enum vpa_res type)
{
	lockdep_assert_held(&v->cfg_lock);
	return min(v->nr[type], v->keep[type]);
}

/* vpa_main.c */
extern struct mdev_driver vpa_mdev_driver;
extern bool vpa_bypass;
struct vpa_type *vpa_type_of(struct mdev_device *mdev);
struct vpa_adapter *vpa_adapter_of(struct device *dev);
struct vpa_vdev *vpa_find_guid(struct vpa_adapter *ad, const guid_t *uuid);
int vpa_parse_uuid(const char *buf, guid_t *uuid);
void vpa_adapter_own_wqs(struct vpa_adapter *ad, struct vpa_vdev *v);
void vpa_adapter_attach(struct vpa_adapter *ad, struct vpa_vdev *v);
void vpa_adapter_detach(struct vpa_adapter *ad, struct vpa_vdev *v);
void vpa_adapter_release_group(struct vpa_adapter *ad, struct vpa_vdev *v);
struct vpa_adapter *vpa_adapter_alloc(int id, enum vpa_kind kind);
void vpa_adapter_free(struct vpa_adapter *ad);
int vpa_adapter_start(struct vpa_adapter *ad, const struct vpa_shape *shape,
		      u16 rid_base);
void vpa_adapter_stop(struct vpa_adapter *ad);

/* vpa_sriov.c */
extern u32 vpa_sriov_fail_step;
extern u32 vpa_sriov_group_fail;
extern u32 vpa_sriov_undo_fail;
extern u32 vpa_sriov_restart_fail;
bool vpa_sriov_match(struct pci_dev *pdev);
int vpa_sriov_probe(struct pci_dev *pdev);
void vpa_sriov_remove(struct pci_dev *pdev);
pci_ers_result_t vpa_sriov_error_detected(struct vpa_adapter *ad,
					  pci_channel_state_t state);
pci_ers_result_t vpa_sriov_slot_reset(struct vpa_adapter *ad);
void vpa_sriov_resume(struct vpa_adapter *ad);
void vpa_sriov_aer_timeout(struct vpa_adapter *ad);
void vpa_sriov_reset_prepare(struct vpa_adapter *ad);
void vpa_sriov_reset_done(struct vpa_adapter *ad);
void vpa_sriov_sysfs_init(void);
int vpa_sriov_configure(struct vpa_adapter *ad, int n);
void vpa_sriov_debugfs_init(struct vpa_adapter *ad);

/* vpa_mdev.c */
extern const struct vfio_device_ops vpa_vfio_ops;
void vpa_vdev_kill(struct vpa_vdev *v);

/* vpa_recov.c */
extern unsigned int vpa_ack_timeout_ms;
extern unsigned int vpa_error_ack_timeout_ms;
void vpa_recov_timeout_work(struct work_struct *work);
void vpa_recov_arm(struct vpa_adapter *ad);
extern u32 vpa_recov_delay_us;
extern const struct pci_error_handlers vpa_err_handlers;
int vpa_change(struct vpa_adapter *ad, struct vpa_vdev *v,
	       struct vpa_vdev *to, enum vpa_res type, u32 count);
void vpa_recov_init_vdev(struct vpa_vdev *v);
int vpa_vdev_ack(struct vpa_vdev *v, u32 seq);
void vpa_vdev_raise(struct vpa_vdev *v, u32 events);
int vpa_adapter_error(struct vpa_adapter *ad);

/* vpa_sysfs.c */
extern const char * const vpa_outcome_names[VPA_OUT_NR];
extern const struct attribute_group *vpa_mdev_groups[];
extern const struct attribute_group *vpa_parent_groups[];
void vpa_sysfs_init(void);

/* vpa_engine.c */
void vpa_engine_free_bounce(struct vpa_adapter *ad);
void vpa_engine_kick(struct vpa_vdev *v);
void vpa_engine_freeze_wq(struct vpa_vdev *v, struct vpa_wq *wq);
void vpa_engine_init_wq(struct vpa_vdev *v, struct vpa_wq *wq);
int vpa_engine_ring(struct vpa_adapter *ad, u16 rid, u32 global, u32 tail);
void vpa_engine_stop(struct vpa_vdev *v);
void vpa_vdev_set_err(struct vpa_vdev *v, u32 err);
void vpa_vdev_signal(struct vpa_vdev *v, u32 vec);
void vpa_audit(struct vpa_vdev *v, enum vpa_audit what);

static inline bool vpa_checks_on(void)
{
#ifdef VPA_BENCH_BYPASS
	return !READ_ONCE(vpa_bypass);
#else
	return true;
#endif
}

#endif /* _VPA_H */
