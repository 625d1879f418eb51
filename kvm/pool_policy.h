/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: the pool's periodic policy (pool_policy.c) - per-pool and
 * per-partition state, embedded in struct kvmshare_pool and struct
 * kvmshare_part (pool.h).
 *
 * Locking: pool->policy.mutex protects everything in struct
 * kvmshare_pool_policy and in every partition's struct
 * kvmshare_part_policy, unless a field says otherwise; the policy work
 * holds it for a whole step. It is taken before pool->lock and never
 * while holding any lock of pool.h. The values shown in sysfs are written
 * with WRITE_ONCE() under the mutex and read locklessly, so that no sysfs
 * callback of a partition waits for the mutex. pool->policy.notify_lock
 * (taken without the mutex) keeps a partition in sysfs while its policy
 * target file is notified.
 */
#ifndef _KVMSHARE_POOL_POLICY_H
#define _KVMSHARE_POOL_POLICY_H

#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "kvmshare_metrics.h"
#include "kvmshare_policy.h"

struct kvmshare_part;
struct kvmshare_pool;
struct file;

/**
 * struct kvmshare_part_policy - a partition as the policy sees it
 * @ctl: its control file (a kobject reference), or NULL
 * @ctl_of: the partition this one is the control file of, or NULL (no
 *	reference: the binding is undone before either partition goes)
 * @reader: reader of the metrics page in @ctl
 * @sample: the guest's sample of the last step (invalid: none)
 * @last_reason: outcome of the last read, to log changes only
 * @log_rs: this guest's own budget of those lines (set at bind): a guest
 *	flipping its page cannot flood the log or use up another's budget
 * @absent: reads that found no resident page in @ctl (not written yet,
 *	punched out or paged out)
 * @eng: the engine's view: configuration, inputs, outputs and state
 * @stepped: took part in a step since the policy was (re)enabled
 * @pageins_base: pageins counter at the last step
 * @enforced: what the policy last wrote to part->target
 * @pending: a lower target that waits for its grace period
 * @deadline: jiffies at which @pending is enforced
 * @has_pending: @pending and @deadline are set
 * @target: the policy target, pages (sysfs policy_target_pages; 0 before
 *	the first step)
 * @stress_ppm: stress of the last step, ppm
 * @state: KVMSHARE_POLICY_S_* of the last step
 */
struct kvmshare_part_policy {
	struct kvmshare_part *ctl;
	struct kvmshare_part *ctl_of;
	struct kvmshare_metrics_reader reader;
	struct kvmshare_metrics_sample sample;
	enum kvmshare_metrics_reason last_reason;
	struct ratelimit_state log_rs;
	u64 absent;
	struct kvmshare_policy_part eng;
	bool stepped;
	u64 pageins_base;
	u64 enforced;
	u64 pending;
	unsigned long deadline;
	bool has_pending;
	u64 target;
	u32 stress_ppm;
	u32 state;
};

/**
 * struct kvmshare_pool_policy - the policy of one pool
 * @mutex: see the locking rules above
 * @notify_lock: serialises sysfs notifications with partitions leaving
 *	sysfs (kvmshare_part_unlinked())
 * @work: the periodic step (system_unbound_wq)
 * @enabled: steps run (sysfs policy_enabled)
 * @dying: the pool goes away: the work does not requeue itself
 * @period_ms: time between two steps (sysfs policy_period_ms)
 * @grace_ms: time a lowered target waits before eviction enforces it
 *	(sysfs policy_grace_ms)
 * @reserve_ppt: the engine's reserve_ppt, -1 for its default (sysfs
 *	policy_reserve_ppt): 1000 gives idle memory back at once
 * @last_run: jiffies of the last step
 * @steps: steps run (sysfs policy_steps)
 * @step_ns: time the steps took, ns (sysfs policy_step_ns): from the
 *	mutex taken to the last notification sent
 * @errors: steps the engine refused (-EINVAL)
 * @left_out: partitions left out of the last step (over the engine's
 *	limit on partitions)
 * @params: the engine's parameters of the last step
 */
struct kvmshare_pool_policy {
	struct mutex mutex;		/* see above */
	struct mutex notify_lock;	/* sysfs notify vs kobject_del */
	struct delayed_work work;
	bool enabled;
	bool dying;
	u32 period_ms;
	u32 grace_ms;
	int reserve_ppt;
	unsigned long last_run;
	u64 steps;
	atomic64_t step_ns;
	u64 errors;
	u64 left_out;
	struct kvmshare_policy_params params;
};

void kvmshare_policy_setup(struct kvmshare_pool *pool);
void kvmshare_policy_init(struct kvmshare_pool *pool);
void kvmshare_policy_exit(struct kvmshare_pool *pool);
void kvmshare_policy_part_destroy(struct kvmshare_part *part);
long kvmshare_policy_bind(struct file *file, void __user *uarg);

extern const struct attribute_group kvmshare_pool_policy_group;
extern const struct attribute_group kvmshare_part_policy_group;
extern const struct attribute_group kvmshare_part_metrics_group;

#endif /* _KVMSHARE_POOL_POLICY_H */
