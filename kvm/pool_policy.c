// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: the pool's periodic policy. See
 * Documentation/admin-guide/policy.rst.
 *
 * Each pool with its policy enabled runs one step every policy_period_ms:
 *
 *  1. it takes the partitions of the pool (a kobject reference each) with
 *     their host signals: resident and paged-out pages, page-ins since the
 *     last step, the sampled active estimate;
 *  2. for a partition with a control file, it reads the guest's metrics
 *     page straight from the control file's resident page (no VM exit):
 *     a snapshot under the page's sequence count, checked and bounded by
 *     the metrics reader (kvmshare_metrics.c), which counts every reason
 *     a page is not used;
 *  3. kvmshare_policy_step() computes every partition's target;
 *  4. the target is published (sysfs policy_target_pages, notified for
 *     poll(): the balloon daemon applies it through QEMU), and becomes the
 *     target that eviction enforces (part->target) while a paging service
 *     is attached: at once when it grows, after policy_grace_ms when it
 *     shrinks, so that the guest has time to give the memory back through
 *     its balloon before host paging takes it.
 *
 * Control files take no part in the policy. Everything read from a guest's
 * page is untrusted: the reader bounds it; the page is only read, through
 * a reference of its own, and a control file that is punched, truncated or
 * paged out simply has no page to read (counted as absent).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pool.h"
#include "kvmshare_trace.h"

#define KVMSHARE_POLICY_MIN_PERIOD_MS	100U
#define KVMSHARE_POLICY_MAX_GRACE_MS	600000U
/* Copies of a page tried per step while the guest is writing it. */
#define KVMSHARE_POLICY_SNAPSHOT_TRIES	3

static bool policy_enable;
module_param(policy_enable, bool, 0644);
MODULE_PARM_DESC(policy_enable,
		 "Run the policy in new pools (per pool: sysfs policy_enabled)");

static int kvmshare_param_set_period(const char *val,
				     const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, KVMSHARE_POLICY_MIN_PERIOD_MS,
				     KVMSHARE_POLICY_MAX_PERIOD_MS);
}

static const struct kernel_param_ops kvmshare_period_ops = {
	.set = kvmshare_param_set_period,
	.get = param_get_uint,
};

static unsigned int policy_period_ms = 1000;
module_param_cb(policy_period_ms, &kvmshare_period_ops, &policy_period_ms,
		0644);
MODULE_PARM_DESC(policy_period_ms,
		 "Policy period of new pools, 100..60000 ms (default 1000)");

static int kvmshare_param_set_grace(const char *val,
				    const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, KVMSHARE_POLICY_MAX_GRACE_MS);
}

static const struct kernel_param_ops kvmshare_grace_ops = {
	.set = kvmshare_param_set_grace,
	.get = param_get_uint,
};

static unsigned int policy_grace_ms = 5000;
module_param_cb(policy_grace_ms, &kvmshare_grace_ops, &policy_grace_ms, 0644);
MODULE_PARM_DESC(policy_grace_ms,
		 "Time a guest has to follow a lowered target before host paging enforces it, new pools, 0..600000 ms (default 5000)");

static int kvmshare_param_set_stale(const char *val,
				    const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_METRICS_MAX_STALE);
}

static const struct kernel_param_ops kvmshare_stale_ops = {
	.set = kvmshare_param_set_stale,
	.get = param_get_uint,
};

static unsigned int metrics_stale_periods = 3;
module_param_cb(metrics_stale_periods, &kvmshare_stale_ops,
		&metrics_stale_periods, 0644);
MODULE_PARM_DESC(metrics_stale_periods,
		 "Policy periods without a guest update after which its metrics are dropped, 1..1000 (default 3)");

static struct kvmshare_pool *kvmshare_policy_pool(struct kvmshare_pool_policy *pol)
{
	return container_of(pol, struct kvmshare_pool, policy);
}

/* Metrics: the control file's page */

/*
 * Read the guest's page of @part into part->policy.sample (invalid when
 * there is none). @max_pages bounds the sizes the guest reports,
 * @elapsed_us is the time since the last read.
 */
static void kvmshare_policy_read_metrics(struct kvmshare_part *part,
					 u64 max_pages, u32 elapsed_us)
{
	struct kvmshare_part_policy *pp = &part->policy;
	struct kvmshare_metrics_reader *r = &pp->reader;
	struct kvmshare_metrics_page copy;
	enum kvmshare_metrics_reason reason;
	const void *shared;
	struct page *page;
	unsigned int i;
	u32 seq_end = 0;
	int err;

	lockdep_assert_held(&part->pool->policy.mutex);
	memset(&pp->sample, 0, sizeof(pp->sample));
	if (!pp->ctl)
		return;
	r->max_pages = clamp_t(u64, max_pages, 1, KVMSHARE_METRICS_MAX_PAGES);
	r->period_us = clamp_t(u32, elapsed_us, 1,
			       KVMSHARE_METRICS_MAX_PERIOD_US);
	r->stale_periods = READ_ONCE(metrics_stale_periods);

	/* A reference of our own: the page stays valid if punched now. */
	page = kvmshare_part_get_page(pp->ctl, 0, NULL, false, &err);
	if (!page) {
		WRITE_ONCE(pp->absent, pp->absent + 1);
		return;
	}
	shared = kmap_local_page(page);
	for (i = 0; i < KVMSHARE_POLICY_SNAPSHOT_TRIES; i++) {
		seq_end = kvmshare_metrics_snapshot(shared, &copy);
		if (!(copy.seq & 1) && copy.seq == seq_end)
			break;
		cpu_relax();
	}
	kunmap_local(shared);
	put_page(page);

	reason = kvmshare_metrics_read(r, &copy, seq_end, &pp->sample);
	if (reason != pp->last_reason && reason >= KVMSHARE_METRICS_STALE &&
	    __ratelimit(&pp->log_rs))
		pr_info("%s/%llu: metrics page %s: not used\n",
			part->pool->name, part->id,
			kvmshare_metrics_reason_name(reason));
	pp->last_reason = reason;
}

/* Steps */

/* Partitions taken for one step. */
struct kvmshare_policy_run {
	unsigned int n;			/* partitions taken */
	unsigned int nr_notify;		/* the first ones: target changed */
	struct kvmshare_part **parts;
	struct kvmshare_policy_part *eng;
	u64 pool_pages;
};

/*
 * Take every partition of the pool that is not a control file and has a
 * size, with a kobject reference, its host-side configuration and the
 * engine's state of it. The policy mutex keeps that state.
 */
static int kvmshare_policy_gather(struct kvmshare_pool *pool,
				  struct kvmshare_policy_run *run)
{
	struct kvmshare_pool_policy *pol = &pool->policy;
	unsigned int cap, left_out = 0;
	struct kvmshare_part *part;
	u64 ctl_pages = 0, ent_sum = 0, usable;

	lockdep_assert_held(&pol->mutex);
	cap = min_t(unsigned long, READ_ONCE(pool->nr_parts),
		    KVMSHARE_POLICY_MAX_PARTS);
	run->n = 0;
	if (!cap)
		return 0;
	run->parts = kcalloc(cap, sizeof(*run->parts), GFP_KERNEL);
	run->eng = kvcalloc(cap, sizeof(*run->eng), GFP_KERNEL);
	if (!run->parts || !run->eng)
		return -ENOMEM;

	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node) {
		struct kvmshare_policy_part *e;
		u64 size, limit;

		/*
		 * One that misses this step starts afresh when it comes
		 * back: what it counted meanwhile is not one period's.
		 */
		if (part->policy.ctl_of) {
			part->policy.stepped = false;
			ctl_pages += part->resident;
			continue;
		}
		if (!part->inode)
			continue;
		size = DIV_ROUND_UP_ULL(i_size_read(part->inode), PAGE_SIZE);
		if (!size) {
			part->policy.stepped = false;
			continue;
		}
		if (run->n == cap) {
			part->policy.stepped = false;
			/* Else it came after nr_parts was read: next step. */
			if (cap == KVMSHARE_POLICY_MAX_PARTS)
				left_out++;
			continue;
		}
		kobject_get(&part->kobj);
		e = &run->eng[run->n];
		/* The engine's state; zero (as allocated) before its first step. */
		if (part->policy.stepped)
			*e = part->policy.eng;
		limit = part->limit ? min(part->limit, size) : size;
		limit = min_t(u64, max(limit, part->entitlement),
			      KVMSHARE_POLICY_MAX_PAGES);
		e->limit = max_t(u64, limit, 1);
		e->entitlement = min(part->entitlement, e->limit);
		e->weight = part->weight;
		memset(&e->in, 0, sizeof(e->in));
		e->in.resident = part->resident;
		e->in.paged_out = part->paged_out;
		ent_sum += e->entitlement;
		run->parts[run->n++] = part;
	}
	usable = pool->size_pages - pool->reserve_pages;
	spin_unlock(&pool->lock);

	usable -= min(usable, ctl_pages);
	run->pool_pages = min_t(u64, max(usable, ent_sum),
				KVMSHARE_POLICY_MAX_PAGES);
	if (left_out && left_out != pol->left_out)
		pr_info_ratelimited("%s: %u partitions over %u left out of the policy\n",
				    pool->name, left_out,
				    KVMSHARE_POLICY_MAX_PARTS);
	pol->left_out = left_out;
	return 0;
}

/*
 * The target eviction enforces: the policy target at once when it is not
 * lower, else the lowest value the policy asked for at least grace_ms
 * ago (a later, higher, request raises the pending value).
 */
static u64 kvmshare_policy_enforce(struct kvmshare_pool_policy *pol,
				   struct kvmshare_part_policy *pp, u64 target)
{
	unsigned long now = jiffies;

	if (target >= pp->enforced || !pol->grace_ms) {
		pp->has_pending = false;
		return target;
	}
	if (!pp->has_pending) {
		pp->has_pending = true;
		pp->pending = target;
		pp->deadline = now + msecs_to_jiffies(pol->grace_ms);
	} else if (target > pp->pending) {
		pp->pending = target;
	}
	if (time_before(now, pp->deadline))
		return pp->enforced;
	pp->has_pending = false;
	return pp->pending;
}

/* One step over the pool. Returns the partitions to notify in @run. */
static void kvmshare_policy_step_pool(struct kvmshare_pool *pool,
				      struct kvmshare_policy_run *run)
{
	struct kvmshare_pool_policy *pol = &pool->policy;
	bool paging = kvmshare_pager_active(pool);
	unsigned long now = jiffies;
	u32 elapsed_ms;
	bool lowered = false;
	unsigned int i, k = 0;
	int ret;

	lockdep_assert_held(&pol->mutex);
	elapsed_ms = pol->last_run ? jiffies_to_msecs(now - pol->last_run) :
		     pol->period_ms;
	elapsed_ms = clamp_t(u32, elapsed_ms, 1, KVMSHARE_POLICY_MAX_PERIOD_MS);
	pol->last_run = now;

	if (kvmshare_policy_gather(pool, run)) {
		pr_info_ratelimited("%s: no memory for a policy step\n",
				    pool->name);
		return;
	}

	for (i = 0; i < run->n; i++) {
		struct kvmshare_part *part = run->parts[i];
		struct kvmshare_part_policy *pp = &part->policy;
		struct kvmshare_policy_part *e = &run->eng[i];
		u64 pageins = atomic64_read(&part->cnt.pageins);

		if (!pp->stepped) {
			/*
			 * First step: no target yet, start from what it has,
			 * and from the guest's counters as they are now.
			 */
			pp->pageins_base = pageins;
			pp->enforced = e->in.resident;
			pp->has_pending = false;
			kvmshare_metrics_restart(&pp->reader);
		}
		/* Page-ins of this period, scaled to the nominal period. */
		e->in.pageins = div_u64((pageins - pp->pageins_base) *
					pol->period_ms, elapsed_ms);
		pp->pageins_base = pageins;
		e->in.active = min_t(u64, READ_ONCE(part->active_estimate),
				     e->limit);
		kvmshare_policy_read_metrics(part, e->limit, elapsed_ms * 1000);
		e->in.guest = pp->sample;
	}

	kvmshare_policy_defaults(&pol->params, run->pool_pages);
	pol->params.period_ms = pol->period_ms;
	if (pol->reserve_ppt >= 0)
		pol->params.reserve_ppt = pol->reserve_ppt;
	ret = kvmshare_policy_step(&pol->params, run->eng, run->n);
	WRITE_ONCE(pol->steps, pol->steps + 1);
	if (ret) {
		/* Bounds are ours, not a guest's: log it, keep the targets. */
		pol->errors++;
		pr_info_ratelimited("%s: policy step refused: %d\n", pool->name,
				    ret);
		return;
	}

	for (i = 0; i < run->n; i++) {
		struct kvmshare_part *part = run->parts[i];
		struct kvmshare_part_policy *pp = &part->policy;
		struct kvmshare_policy_part *e = &run->eng[i];
		u64 enforced, old = pp->target;
		bool changed;

		pp->eng = *e;
		pp->stepped = true;
		changed = old != e->target;
		WRITE_ONCE(pp->target, e->target);
		WRITE_ONCE(pp->stress_ppm, e->stress_ppm);
		WRITE_ONCE(pp->state, e->state);

		enforced = kvmshare_policy_enforce(pol, pp, e->target);
		if (enforced < pp->enforced)
			lowered = true;
		trace_kvmshare_policy(part, old, e->target, enforced);
		pp->enforced = enforced;
		/*
		 * Without a paging service there is nothing to enforce
		 * with: no target, so that eviction does not scan the
		 * partition for nothing. The grace period runs anyway.
		 */
		spin_lock(&pool->lock);
		part->target = paging ? enforced : 0;
		spin_unlock(&pool->lock);

		/* Partitions to notify first, the others after them. */
		if (changed) {
			swap(run->parts[k], run->parts[i]);
			k++;
		}
	}
	if (lowered && paging)
		kvmshare_evict_kick(pool);
	run->nr_notify = k;
}

/* Drop the step's references; notify those whose target changed first. */
static void kvmshare_policy_put_run(struct kvmshare_pool *pool,
				    struct kvmshare_policy_run *run)
{
	struct kvmshare_pool_policy *pol = &pool->policy;
	unsigned int i;

	for (i = 0; i < run->n; i++) {
		struct kvmshare_part *part = run->parts[i];

		if (i < run->nr_notify) {
			mutex_lock(&pol->notify_lock);
			if (part->kobj.state_in_sysfs)
				sysfs_notify(&part->kobj, NULL,
					     "policy_target_pages");
			mutex_unlock(&pol->notify_lock);
		}
		kobject_put(&part->kobj);
	}
	kfree(run->parts);
	kvfree(run->eng);
}

static void kvmshare_policy_work(struct work_struct *work)
{
	struct kvmshare_pool_policy *pol =
		container_of(to_delayed_work(work), struct kvmshare_pool_policy,
			     work);
	struct kvmshare_pool *pool = kvmshare_policy_pool(pol);
	struct kvmshare_policy_run run = {};
	u64 t0;

	mutex_lock(&pol->mutex);
	if (!pol->enabled || pol->dying) {
		mutex_unlock(&pol->mutex);
		return;
	}
	t0 = ktime_get_ns();
	kvmshare_policy_step_pool(pool, &run);
	queue_delayed_work(system_unbound_wq, &pol->work,
			   msecs_to_jiffies(pol->period_ms));
	mutex_unlock(&pol->mutex);
	/* Outside the mutex: see the locking rules in pool_policy.h. */
	kvmshare_policy_put_run(pool, &run);
	atomic64_add(ktime_get_ns() - t0, &pol->step_ns);
}

/* debugfs: <debugfs>/kvmshare/<pool>/policy, the engine's details */

static void kvmshare_policy_show_part(struct seq_file *m,
				      struct kvmshare_part *part)
{
	struct kvmshare_part_policy *pp = &part->policy;
	const struct kvmshare_policy_part *e = &pp->eng;
	const struct kvmshare_metrics_sample *g = &pp->sample;
	unsigned int i;

	seq_printf(m, "part %llu%s", part->id, part->inode ? "" : " (gone)");
	if (pp->ctl_of) {
		seq_printf(m, " control-of %llu\n", pp->ctl_of->id);
		return;
	}
	seq_printf(m, " control %llu\n", pp->ctl ? pp->ctl->id : 0);
	seq_printf(m, "  target %llu enforced %llu target_pages %llu",
		   pp->target, pp->enforced, part->target);
	if (pp->has_pending)
		seq_printf(m, " pending %llu in %d ms", pp->pending,
			   jiffies_to_msecs(max_t(long, 0, (long)(pp->deadline -
								   jiffies))));
	seq_printf(m, "\n  entitlement %llu limit %llu weight %u\n",
		   e->entitlement, e->limit, e->weight);
	seq_printf(m, "  in: resident %llu active %llu pageins %llu paged_out %llu\n",
		   e->in.resident, e->in.active, e->in.pageins,
		   e->in.paged_out);
	seq_printf(m, "  out: estimate %llu need %llu keep %llu stress_ppm %u state 0x%x idle %u holdoff %u waited %u shrunk %u settle %u backoff %u used %llu\n",
		   e->estimate, e->need, e->keep, e->stress_ppm, e->state,
		   e->idle, e->holdoff, e->waited, e->shrunk,
		   e->settle, e->backoff, e->used);
	seq_printf(m, "  guest: valid %u fresh %u flags 0x%x psi_some_ppm %u psi_full_ppm %u mem_total %llu mem_available %llu balloon %llu swap_used %llu refaults %llu swapins %llu allocstalls %llu oom_kills %llu\n",
		   g->valid, g->fresh, g->flags, g->psi_some_ppm,
		   g->psi_full_ppm, g->mem_total, g->mem_available, g->balloon,
		   g->swap_used, g->refaults, g->swapins, g->allocstalls,
		   g->oom_kills);
	seq_puts(m, "  reader:");
	for (i = 0; i < KVMSHARE_METRICS_NR_REASONS; i++)
		seq_printf(m, " %s %llu", kvmshare_metrics_reason_name(i),
			   pp->reader.count[i]);
	seq_printf(m, " absent %llu\n", pp->absent);
}

static int kvmshare_policy_debug_show(struct seq_file *m, void *unused)
{
	struct kvmshare_pool *pool = m->private;
	struct kvmshare_pool_policy *pol = &pool->policy;
	const struct kvmshare_policy_params *p = &pol->params;
	struct kvmshare_part *part;

	mutex_lock(&pol->mutex);
	seq_printf(m, "enabled %d period_ms %u grace_ms %u steps %llu errors %llu left_out %llu\n",
		   pol->enabled, pol->period_ms, pol->grace_ms, pol->steps,
		   pol->errors, pol->left_out);
	seq_printf(m, "params: pool_pages %llu stress_ppm %u grow_gain_pct %u grow_min_ppt %u refault_mult %u headroom_ppt %u idle_periods %u shrink_ppt %u deadband_ppt %u holdoff_periods %u reserve_ppt %u pagein_cost_us %u wait_periods %u settle_periods %u\n",
		   p->pool_pages, p->stress_ppm, p->grow_gain_pct,
		   p->grow_min_ppt, p->refault_mult, p->headroom_ppt,
		   p->idle_periods, p->shrink_ppt, p->deadband_ppt,
		   p->holdoff_periods, p->reserve_ppt, p->pagein_cost_us,
		   p->wait_periods, p->settle_periods);
	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node)
		kvmshare_policy_show_part(m, part);
	spin_unlock(&pool->lock);
	mutex_unlock(&pol->mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvmshare_policy_debug);

/* Start the policy of @pool afresh: every partition starts from its use. */
static void kvmshare_policy_start(struct kvmshare_pool *pool)
{
	struct kvmshare_pool_policy *pol = &pool->policy;
	struct kvmshare_part *part;

	lockdep_assert_held(&pol->mutex);
	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node)
		part->policy.stepped = false;
	spin_unlock(&pool->lock);
	pol->last_run = 0;
	pol->enabled = true;
	mod_delayed_work(system_unbound_wq, &pol->work, 0);
}

/*
 * The policy's state, before the pool's sysfs files (its tunables among
 * them) can be written.
 */
void kvmshare_policy_setup(struct kvmshare_pool *pool)
{
	struct kvmshare_pool_policy *pol = &pool->policy;

	mutex_init(&pol->mutex);
	mutex_init(&pol->notify_lock);
	INIT_DELAYED_WORK(&pol->work, kvmshare_policy_work);
	pol->period_ms = READ_ONCE(policy_period_ms);
	pol->grace_ms = READ_ONCE(policy_grace_ms);
	pol->reserve_ppt = -1;
}

/* The pool is complete: the debugfs file, and the policy on if asked. */
void kvmshare_policy_init(struct kvmshare_pool *pool)
{
	struct kvmshare_pool_policy *pol = &pool->policy;

	/* In the pool's directory, removed with it (pool_main.c). */
	if (!IS_ERR_OR_NULL(pool->debugfs))
		debugfs_create_file("policy", 0400, pool->debugfs, pool,
				    &kvmshare_policy_debug_fops);
	if (READ_ONCE(policy_enable)) {
		mutex_lock(&pol->mutex);
		if (!pol->enabled)
			kvmshare_policy_start(pool);
		mutex_unlock(&pol->mutex);
	}
}

/* The pool goes away: stop the work. Partitions are gone already. */
void kvmshare_policy_exit(struct kvmshare_pool *pool)
{
	struct kvmshare_pool_policy *pol = &pool->policy;

	mutex_lock(&pol->mutex);
	pol->dying = true;
	mutex_unlock(&pol->mutex);
	cancel_delayed_work_sync(&pol->work);
}

/* Binding control files */

/*
 * The inode of @part is being evicted: undo its bindings, whichever side
 * it is on. Called before anything else of the partition goes.
 */
void kvmshare_policy_part_destroy(struct kvmshare_part *part)
{
	struct kvmshare_pool_policy *pol = &part->pool->policy;
	struct kvmshare_part *ctl, *owner;

	mutex_lock(&pol->mutex);
	ctl = part->policy.ctl;
	part->policy.ctl = NULL;
	if (ctl)
		ctl->policy.ctl_of = NULL;
	owner = part->policy.ctl_of;
	part->policy.ctl_of = NULL;
	if (owner)
		owner->policy.ctl = NULL;
	mutex_unlock(&pol->mutex);
	if (ctl)
		kobject_put(&ctl->kobj);
	if (owner)
		kobject_put(&part->kobj);	/* the owner's reference */
}

/* Why @ctl cannot become the control file of @part, or NULL. */
static const char *kvmshare_policy_bind_check(struct kvmshare_part *part,
					      struct kvmshare_part *ctl,
					      int *err)
{
	*err = -EINVAL;
	if (ctl == part)
		return "a partition cannot be its own control file";
	if (part->policy.ctl_of)
		return "a control file cannot have a control file";
	if (ctl->policy.ctl)
		return "the control file has a control file itself";
	if (ctl->policy.ctl_of && ctl->policy.ctl_of != part) {
		*err = -EBUSY;
		return "the control file serves another partition";
	}
	*err = 0;
	return NULL;
}

/**
 * kvmshare_policy_bind - KVMSHARE_IOC_METRICS_BIND on a partition file
 * @file: the partition file
 * @uarg: struct kvmshare_metrics_bind
 *
 * Return: 0 or a negative errno (see include/uapi/linux/kvmshare_metrics.h).
 */
long kvmshare_policy_bind(struct file *file, void __user *uarg)
{
	struct kvmshare_part *part = kvmshare_part_of(file_inode(file));
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_pool_policy *pol = &pool->policy;
	struct kvmshare_part *ctl = NULL, *old;
	struct kvmshare_metrics_bind b;
	struct fd f = {};
	const char *why;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (b.flags || memchr_inv(b.reserved, 0, sizeof(b.reserved))) {
		pr_info_ratelimited("%s/%llu: metrics bind: flags and reserved fields must be zero\n",
				    pool->name, part->id);
		return -EINVAL;
	}
	if (b.fd < -1) {
		pr_info_ratelimited("%s/%llu: metrics bind: bad fd %d\n",
				    pool->name, part->id, b.fd);
		return -EBADF;
	}
	if (b.fd >= 0) {
		f = fdget(b.fd);
		if (!f.file)
			return -EBADF;
		if (f.file->f_op != &kvmshare_file_ops ||
		    file_inode(f.file)->i_sb != file_inode(file)->i_sb) {
			pr_info_ratelimited("%s/%llu: metrics bind: fd %d is not a file of this pool\n",
					    pool->name, part->id, b.fd);
			ret = -EINVAL;
			goto out;
		}
		ctl = kvmshare_part_of(file_inode(f.file));
	}

	mutex_lock(&pol->mutex);
	if (ctl) {
		why = kvmshare_policy_bind_check(part, ctl, &ret);
		if (why) {
			mutex_unlock(&pol->mutex);
			pr_info_ratelimited("%s/%llu: metrics bind: %s\n",
					    pool->name, part->id, why);
			goto out;
		}
		kobject_get(&ctl->kobj);
	}
	old = part->policy.ctl;
	if (old)
		old->policy.ctl_of = NULL;
	if (ctl)
		ctl->policy.ctl_of = part;
	part->policy.ctl = ctl;
	/* A new page: a new reader, new counters. */
	memset(&part->policy.reader, 0, sizeof(part->policy.reader));
	memset(&part->policy.sample, 0, sizeof(part->policy.sample));
	part->policy.last_reason = KVMSHARE_METRICS_OK;
	/* a few lines a minute; every outcome is counted in metrics/ */
	ratelimit_state_init(&part->policy.log_rs, 60 * HZ, 4);
	ratelimit_set_flags(&part->policy.log_rs, RATELIMIT_MSG_ON_RELEASE);
	WRITE_ONCE(part->policy.absent, 0);
	mutex_unlock(&pol->mutex);
	if (old)
		kobject_put(&old->kobj);
	ret = 0;
out:
	fdput(f);
	return ret;
}

/* sysfs of a pool: /sys/fs/kvmshare/<pool>/policy_* */

#define to_pool(k) container_of(k, struct kvmshare_pool, kobj)

static ssize_t policy_enabled_show(struct kobject *kobj,
				   struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_pool(kobj)->policy.enabled));
}

static ssize_t policy_enabled_store(struct kobject *kobj,
				    struct kobj_attribute *a,
				    const char *buf, size_t len)
{
	struct kvmshare_pool *pool = to_pool(kobj);
	struct kvmshare_pool_policy *pol = &pool->policy;
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	mutex_lock(&pol->mutex);
	if (on && !pol->enabled && !pol->dying)
		kvmshare_policy_start(pool);
	else if (!on)
		WRITE_ONCE(pol->enabled, false);
	mutex_unlock(&pol->mutex);
	/*
	 * Off: a step under way ends (its notifications sent, its time
	 * counted) before the write returns, and none runs after it.
	 */
	if (!on)
		flush_delayed_work(&pol->work);
	return len;
}

static ssize_t policy_period_ms_show(struct kobject *kobj,
				     struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_pool(kobj)->policy.period_ms));
}

static ssize_t policy_period_ms_store(struct kobject *kobj,
				      struct kobj_attribute *a,
				      const char *buf, size_t len)
{
	struct kvmshare_pool_policy *pol = &to_pool(kobj)->policy;
	u32 v;
	int ret;

	ret = kstrtou32(buf, 0, &v);
	if (ret)
		return ret;
	if (v < KVMSHARE_POLICY_MIN_PERIOD_MS ||
	    v > KVMSHARE_POLICY_MAX_PERIOD_MS) {
		pr_info_ratelimited("%s: policy_period_ms %u not in %u..%u\n",
				    to_pool(kobj)->name, v,
				    KVMSHARE_POLICY_MIN_PERIOD_MS,
				    KVMSHARE_POLICY_MAX_PERIOD_MS);
		return -EINVAL;
	}
	mutex_lock(&pol->mutex);
	WRITE_ONCE(pol->period_ms, v);
	if (pol->enabled && !pol->dying)
		mod_delayed_work(system_unbound_wq, &pol->work,
				 msecs_to_jiffies(v));
	mutex_unlock(&pol->mutex);
	return len;
}

static ssize_t policy_grace_ms_show(struct kobject *kobj,
				    struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_pool(kobj)->policy.grace_ms));
}

static ssize_t policy_grace_ms_store(struct kobject *kobj,
				     struct kobj_attribute *a,
				     const char *buf, size_t len)
{
	struct kvmshare_pool_policy *pol = &to_pool(kobj)->policy;
	u32 v;
	int ret;

	ret = kstrtou32(buf, 0, &v);
	if (ret)
		return ret;
	if (v > KVMSHARE_POLICY_MAX_GRACE_MS) {
		pr_info_ratelimited("%s: policy_grace_ms %u over %u\n",
				    to_pool(kobj)->name, v,
				    KVMSHARE_POLICY_MAX_GRACE_MS);
		return -EINVAL;
	}
	mutex_lock(&pol->mutex);
	WRITE_ONCE(pol->grace_ms, v);
	mutex_unlock(&pol->mutex);
	return len;
}

/* Counters: steps run and the time they took, for the mean step time. */
static ssize_t policy_steps_show(struct kobject *kobj,
				 struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(to_pool(kobj)->policy.steps));
}

static ssize_t policy_step_ns_show(struct kobject *kobj,
				   struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&to_pool(kobj)->policy.step_ns));
}

/* -1 (write "default"): the engine's default */
static ssize_t policy_reserve_ppt_show(struct kobject *kobj,
				       struct kobj_attribute *a, char *buf)
{
	struct kvmshare_pool_policy *pol = &to_pool(kobj)->policy;
	struct kvmshare_policy_params p;
	int v = READ_ONCE(pol->reserve_ppt);

	if (v < 0) {
		kvmshare_policy_defaults(&p, 0);
		v = p.reserve_ppt;
	}
	return sysfs_emit(buf, "%d\n", v);
}

static ssize_t policy_reserve_ppt_store(struct kobject *kobj,
					struct kobj_attribute *a,
					const char *buf, size_t len)
{
	struct kvmshare_pool_policy *pol = &to_pool(kobj)->policy;
	u32 v;
	int ret;

	if (sysfs_streq(buf, "default")) {
		v = U32_MAX;
	} else {
		ret = kstrtou32(buf, 0, &v);
		if (ret)
			return ret;
		if (v > KVMSHARE_POLICY_PPT) {
			pr_info_ratelimited("%s: policy_reserve_ppt %u over %u\n",
					    to_pool(kobj)->name, v,
					    KVMSHARE_POLICY_PPT);
			return -EINVAL;
		}
	}
	mutex_lock(&pol->mutex);
	WRITE_ONCE(pol->reserve_ppt, v == U32_MAX ? -1 : (int)v);
	mutex_unlock(&pol->mutex);
	return len;
}

static struct kobj_attribute kvmshare_pool_policy_attrs[] = {
	__ATTR_RW(policy_enabled),
	__ATTR_RW(policy_period_ms),
	__ATTR_RW(policy_grace_ms),
	__ATTR_RW(policy_reserve_ppt),
	__ATTR_RO(policy_steps),
	__ATTR_RO(policy_step_ns),
};

static struct attribute *kvmshare_pool_policy_attr_list[] = {
	&kvmshare_pool_policy_attrs[0].attr,
	&kvmshare_pool_policy_attrs[1].attr,
	&kvmshare_pool_policy_attrs[2].attr,
	&kvmshare_pool_policy_attrs[3].attr,
	&kvmshare_pool_policy_attrs[4].attr,
	&kvmshare_pool_policy_attrs[5].attr,
	NULL,
};

const struct attribute_group kvmshare_pool_policy_group = {
	.attrs = kvmshare_pool_policy_attr_list,
};

/* sysfs of a partition: .../partitions/<name>/policy_*, metrics_file */

#define to_part(k) container_of(k, struct kvmshare_part, kobj)

static ssize_t policy_target_pages_show(struct kobject *kobj,
					struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(to_part(kobj)->policy.target));
}

static ssize_t policy_stress_ppm_show(struct kobject *kobj,
				      struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_part(kobj)->policy.stress_ppm));
}

static const char * const kvmshare_policy_state_names[] = {
	"stressed", "waiting", "holdoff", "cut", "settling", "growing",
};

static ssize_t policy_state_show(struct kobject *kobj,
				 struct kobj_attribute *a, char *buf)
{
	u32 state = READ_ONCE(to_part(kobj)->policy.state);
	unsigned int i;
	int n = 0;

	for (i = 0; i < ARRAY_SIZE(kvmshare_policy_state_names); i++)
		if (state & BIT(i))
			n += sysfs_emit_at(buf, n, "%s%s", n ? " " : "",
					   kvmshare_policy_state_names[i]);
	if (!n)
		n = sysfs_emit(buf, "idle");
	return n + sysfs_emit_at(buf, n, "\n");
}

/* The control file's name; the mutex keeps the binding and its inode. */
static ssize_t metrics_file_show(struct kobject *kobj,
				 struct kobj_attribute *a, char *buf)
{
	struct kvmshare_part *part = to_part(kobj);
	struct kvmshare_pool_policy *pol = &part->pool->policy;
	struct name_snapshot name;
	struct dentry *dentry = NULL;
	ssize_t n;

	mutex_lock(&pol->mutex);
	if (part->policy.ctl && part->policy.ctl->inode)
		dentry = d_find_alias(part->policy.ctl->inode);
	mutex_unlock(&pol->mutex);
	if (!dentry)
		return sysfs_emit(buf, "\n");
	take_dentry_name_snapshot(&name, dentry);
	n = sysfs_emit(buf, "%s\n", name.name.name);
	release_dentry_name_snapshot(&name);
	dput(dentry);
	return n;
}

static struct kobj_attribute kvmshare_part_policy_attrs[] = {
	__ATTR_RO(policy_target_pages),
	__ATTR_RO(policy_stress_ppm),
	__ATTR_RO(policy_state),
	__ATTR_RO(metrics_file),
};

static struct attribute *kvmshare_part_policy_attr_list[] = {
	&kvmshare_part_policy_attrs[0].attr,
	&kvmshare_part_policy_attrs[1].attr,
	&kvmshare_part_policy_attrs[2].attr,
	&kvmshare_part_policy_attrs[3].attr,
	NULL,
};

const struct attribute_group kvmshare_part_policy_group = {
	.attrs = kvmshare_part_policy_attr_list,
};

/*
 * .../partitions/<name>/metrics/<reason>: the reader's counters, one per
 * enum kvmshare_metrics_reason, and "absent".
 */
struct kvmshare_metrics_sysfs {
	struct kobj_attribute kattr;
	int reason;			/* -1: absent */
};

static ssize_t kvmshare_metrics_count_show(struct kobject *kobj,
					   struct kobj_attribute *kattr,
					   char *buf)
{
	struct kvmshare_metrics_sysfs *a =
		container_of(kattr, struct kvmshare_metrics_sysfs, kattr);
	struct kvmshare_part_policy *pp = &to_part(kobj)->policy;

	if (a->reason < 0)
		return sysfs_emit(buf, "%llu\n", READ_ONCE(pp->absent));
	return sysfs_emit(buf, "%llu\n", READ_ONCE(pp->reader.count[a->reason]));
}

#define KVMSHARE_METRICS_SYSFS(_name, _reason) {			\
	.kattr = __ATTR(_name, 0444, kvmshare_metrics_count_show, NULL),\
	.reason = _reason,						\
}

static struct kvmshare_metrics_sysfs kvmshare_metrics_sysfs[] = {
	KVMSHARE_METRICS_SYSFS(ok, KVMSHARE_METRICS_OK),
	KVMSHARE_METRICS_SYSFS(unchanged, KVMSHARE_METRICS_UNCHANGED),
	KVMSHARE_METRICS_SYSFS(torn, KVMSHARE_METRICS_TORN),
	KVMSHARE_METRICS_SYSFS(stale, KVMSHARE_METRICS_STALE),
	KVMSHARE_METRICS_SYSFS(bad_magic, KVMSHARE_METRICS_BAD_MAGIC),
	KVMSHARE_METRICS_SYSFS(bad_version, KVMSHARE_METRICS_BAD_VERSION),
	KVMSHARE_METRICS_SYSFS(bad_size, KVMSHARE_METRICS_BAD_SIZE),
	KVMSHARE_METRICS_SYSFS(bad_reserved, KVMSHARE_METRICS_BAD_RESERVED),
	KVMSHARE_METRICS_SYSFS(stopping, KVMSHARE_METRICS_STOPPING),
	KVMSHARE_METRICS_SYSFS(unknown_flags, KVMSHARE_METRICS_UNKNOWN_FLAGS),
	KVMSHARE_METRICS_SYSFS(clamped, KVMSHARE_METRICS_CLAMPED),
	KVMSHARE_METRICS_SYSFS(backwards, KVMSHARE_METRICS_BACKWARDS),
	KVMSHARE_METRICS_SYSFS(absent, -1),
};

static struct attribute *kvmshare_part_metrics_attr_list[] = {
	&kvmshare_metrics_sysfs[0].kattr.attr,
	&kvmshare_metrics_sysfs[1].kattr.attr,
	&kvmshare_metrics_sysfs[2].kattr.attr,
	&kvmshare_metrics_sysfs[3].kattr.attr,
	&kvmshare_metrics_sysfs[4].kattr.attr,
	&kvmshare_metrics_sysfs[5].kattr.attr,
	&kvmshare_metrics_sysfs[6].kattr.attr,
	&kvmshare_metrics_sysfs[7].kattr.attr,
	&kvmshare_metrics_sysfs[8].kattr.attr,
	&kvmshare_metrics_sysfs[9].kattr.attr,
	&kvmshare_metrics_sysfs[10].kattr.attr,
	&kvmshare_metrics_sysfs[11].kattr.attr,
	&kvmshare_metrics_sysfs[12].kattr.attr,
	NULL,
};

const struct attribute_group kvmshare_part_metrics_group = {
	.name = "metrics",
	.attrs = kvmshare_part_metrics_attr_list,
};
