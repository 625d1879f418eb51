/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: the pool policy engine. Pure C (see kvmshare_compat.h): the
 * module runs it once per policy period, the simulator in tools/kvmshare-sim
 * and the unit tests run the same code in user space.
 *
 * The caller owns everything: the parameters, an array of partitions with
 * their configuration, this period's inputs and the state the engine keeps
 * between periods. kvmshare_policy_step() reads the inputs, updates the
 * state and writes each partition's target; it allocates nothing, sleeps
 * nowhere and takes no lock, so the caller serialises steps of one pool
 * (the pool's policy lock in the module).
 *
 * Units: memory in pages (of the host page size), stall in parts per
 * million of the period, time in periods unless a name says otherwise.
 * See Documentation/design/policy.rst.
 */
#ifndef _KVMSHARE_POLICY_H
#define _KVMSHARE_POLICY_H

#include "kvmshare_compat.h"
#include "kvmshare_metrics.h"

/* Bounds that keep every product in the engine below 2^63. */
#define KVMSHARE_POLICY_MAX_PARTS	1024U
#define KVMSHARE_POLICY_MAX_PAGES	BIT_ULL(40)
#define KVMSHARE_POLICY_MAX_WEIGHT	10000U
#define KVMSHARE_POLICY_MAX_PERIOD_MS	60000U
#define KVMSHARE_POLICY_MAX_GAIN_PCT	400U
#define KVMSHARE_POLICY_MAX_MULT	1024U
#define KVMSHARE_POLICY_MAX_COST_US	1000000U
#define KVMSHARE_POLICY_MAX_HOLD	1000U
#define KVMSHARE_POLICY_PPT		1000U
#define KVMSHARE_POLICY_PPM		1000000U

/**
 * struct kvmshare_policy_params - pool-wide parameters and tunables
 * @pool_pages: pages the pool hands out in total; the sum of all targets
 *	never exceeds it. At least the sum of the entitlements.
 * @period_ms: time between two steps, 1..KVMSHARE_POLICY_MAX_PERIOD_MS
 * @stress_ppm: stall (ppm of the period) from which a partition counts
 *	as stressed, 1..KVMSHARE_POLICY_PPM
 * @grow_gain_pct: growth per period of a stressed partition at 100%
 *	stall, percent of its target (scaled down with the stall),
 *	0..KVMSHARE_POLICY_MAX_GAIN_PCT
 * @grow_min_ppt: smallest growth step of a stressed partition, 1/1000 of
 *	its limit, 0..1000
 * @refault_mult: pages of working set assumed missing per guest refault,
 *	swap-in or host page-in of the period, 0..KVMSHARE_POLICY_MAX_MULT
 * @headroom_ppt: target of an unstressed partition above its active
 *	estimate, 1/1000 of that estimate, 0..1000
 * @idle_periods: unstressed periods before a target may shrink,
 *	0..KVMSHARE_POLICY_MAX_HOLD
 * @shrink_ppt: largest shrink in one period, 1/1000 of the target, 1..1000
 * @deadband_ppt: a partition that is not stressed keeps its target when
 *	the change would be smaller than this, 1/1000 of the target, 0..1000
 * @reserve_ppt: part of the pool that idle partitions give up (down to
 *	their need) to keep it free for growth, 1/1000 of the pool, 0..1000
 * @holdoff_periods: periods without any shrink of a partition after it
 *	showed an allocation stall or an OOM kill,
 *	0..KVMSHARE_POLICY_MAX_HOLD
 * @pagein_cost_us: stall charged per host page-in when turning the host's
 *	page-in count into a stall, us, 0..KVMSHARE_POLICY_MAX_COST_US
 * @wait_periods: most consecutive periods a stressed partition waits for
 *	its last growth to be delivered before it grows again,
 *	0..KVMSHARE_POLICY_MAX_HOLD
 * @settle_periods: a partition stressed again within 6 times this many
 *	periods after a shrink (the shrink was premature) is not shrunk
 *	until it has been unstressed for this many periods, twice as many
 *	after each further premature shrink (at most 16 times as many),
 *	0..KVMSHARE_POLICY_MAX_HOLD
 */
struct kvmshare_policy_params {
	u64 pool_pages;
	u32 period_ms;
	u32 stress_ppm;
	u32 grow_gain_pct;
	u32 grow_min_ppt;
	u32 refault_mult;
	u32 headroom_ppt;
	u32 idle_periods;
	u32 shrink_ppt;
	u32 deadband_ppt;
	u32 holdoff_periods;
	u32 reserve_ppt;
	u32 pagein_cost_us;
	u32 wait_periods;
	u32 settle_periods;
};

/**
 * struct kvmshare_policy_input - what was observed of a partition
 * @resident: pages of the partition resident now (host counter)
 * @active: sampled active pages (host estimate), 0 if not known
 * @pageins: pages the host paged in for it during the last period
 * @paged_out: pages of it the host holds in the paging service now
 * @guest: the guest's sample from kvmshare_metrics_read(); ignored unless
 *	@guest.valid
 */
struct kvmshare_policy_input {
	u64 resident;
	u64 active;
	u64 pageins;
	u64 paged_out;
	struct kvmshare_metrics_sample guest;
};

/* Bits of kvmshare_policy_part::state */
#define KVMSHARE_POLICY_S_STRESSED	BIT(0)	/* stressed this step */
#define KVMSHARE_POLICY_S_WAITING	BIT(1)	/* growth awaits delivery */
#define KVMSHARE_POLICY_S_HOLDOFF	BIT(2)	/* shrinking held off */
#define KVMSHARE_POLICY_S_CUT		BIT(3)	/* got less than it asked */
#define KVMSHARE_POLICY_S_SETTLING	BIT(4)	/* no shrink: stressed after one */
#define KVMSHARE_POLICY_S_GROWING	BIT(5)	/* the guest's use rises */

/**
 * struct kvmshare_policy_part - one partition as the engine sees it
 * @entitlement: guaranteed pages; its target never goes below. Set by the
 *	caller, <= @limit.
 * @limit: most pages it may ever get (its RAM size), 1..
 *	KVMSHARE_POLICY_MAX_PAGES. Set by the caller.
 * @weight: share of contended memory, 1..KVMSHARE_POLICY_MAX_WEIGHT. Set
 *	by the caller.
 * @in: this period's observations. Set by the caller before each step.
 * @target: pages it may hold. Output of each step, also the engine's
 *	memory of the last step: the caller zeroes it for a new partition and
 *	leaves it alone otherwise.
 * @estimate: pages it needs by this step's estimate, undamped (output)
 * @need: pages it must have after damping, the allocation's tier 1
 *	(output)
 * @keep: pages it keeps while the pool has its reserve free, tier 2
 *	(output)
 * @stress_ppm: stress used by this step, ppm (output)
 * @state: KVMSHARE_POLICY_S_* of this step (output)
 * @idle: consecutive unstressed steps (engine state)
 * @holdoff: steps left without shrinking (engine state)
 * @waited: consecutive steps it waited for its growth (engine state)
 * @shrunk: steps left in which a stress means its last shrink was
 *	premature (engine state)
 * @settle: unstressed steps left without shrinking after a premature
 *	shrink (engine state)
 * @backoff: length of the last such wait, 0 once a shrink stuck (engine
 *	state)
 * @used: what the guest said its workload held at its last fresh sample,
 *	pages, 0 if nothing is known (engine state)
 */
struct kvmshare_policy_part {
	u64 entitlement;
	u64 limit;
	u32 weight;
	struct kvmshare_policy_input in;
	u64 target;
	u64 estimate;
	u64 need;
	u64 keep;
	u32 stress_ppm;
	u32 state;
	u32 idle;
	u32 holdoff;
	u32 waited;
	u32 shrunk;
	u32 settle;
	u32 backoff;
	u64 used;
};

void kvmshare_policy_defaults(struct kvmshare_policy_params *p, u64 pool_pages);
int kvmshare_policy_check(const struct kvmshare_policy_params *p,
			  const struct kvmshare_policy_part *parts,
			  unsigned int n);
int kvmshare_policy_step(const struct kvmshare_policy_params *p,
			 struct kvmshare_policy_part *parts, unsigned int n);

#endif /* _KVMSHARE_POLICY_H */
