// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: the pool policy engine. See kvmshare_policy.h and
 * Documentation/design/policy.rst.
 *
 * One step:
 *  1. stress of each partition: the larger of the guest's PSI "some" stall
 *     of the period and the stall the host's page-ins cost it;
 *  2. need: a stressed partition grows from its target by a step that
 *     rises with its stall and with the pages it misses (refaults, swap-ins,
 *     page-ins) - unless its last growth is not delivered yet; an
 *     unstressed one needs its active estimate plus headroom;
 *  3. damping: growth at once; a shrink only after idle_periods
 *     unstressed steps, by at most shrink_ppt, never inside the deadband
 *     and never while an allocation stall or OOM kill of the guest holds
 *     it off. This gives two levels: what the partition must have (need)
 *     and what it keeps if nobody else needs it (keep, its old target);
 *  4. allocation in three tiers, each a weighted max-min fair fill of what
 *     is left of the pool: every entitlement, then every need, then - as
 *     long as reserve_ppt of the pool (none by default) stays free - what
 *     it keeps. Idle
 *     memory thus stays where it is (no paging I/O for nothing) until
 *     another partition needs it or the pool's reserve runs low.
 *
 * Integer bounds (checked by kvmshare_policy_check()): pages <= 2^40,
 * weights <= 10^4 (< 2^14), ppm <= 10^6 (< 2^20), percent <= 400 (< 2^9),
 * ppt <= 1000 (< 2^10), page-ins counted up to 2^32 per period and costs up
 * to 10^6 us (< 2^20). The largest products: a target times a gain and a
 * stall (< 2^40 * 2^9 * 2^20 / 100 < 2^63 after the first division, see
 * kvmshare_policy_grow()), a page-in stall (< 2^52 us) times 1000, and a
 * budget times a weight (< 2^54). Nothing divides by a value that can be
 * zero: divisors are constants, a checked period, or a non-zero sum.
 */
#include "kvmshare_policy.h"

/* Scratch bit of kvmshare_policy_part::state used by the fill. */
#define KVMSHARE_POLICY_S_FULL		BIT(31)

#define KVMSHARE_POLICY_MAX_PAGEINS	BIT_ULL(32)

/*
 * Settling after a premature shrink (see kvmshare_policy_assess()), in
 * settle_periods: how long after a shrink a stress shows it premature (the
 * guest feels a shrink only once its balloon or host paging enforced it),
 * and the longest wait.
 */
#define KVMSHARE_POLICY_RELAPSE_WIN	6U
#define KVMSHARE_POLICY_SETTLE_MAX	16ULL

static u64 kvmshare_policy_min(u64 a, u64 b)
{
	return a < b ? a : b;
}

static u64 kvmshare_policy_max(u64 a, u64 b)
{
	return a > b ? a : b;
}

static u64 kvmshare_policy_clamp(u64 v, u64 lo, u64 hi)
{
	return kvmshare_policy_min(kvmshare_policy_max(v, lo), hi);
}

/* v * ppt / 1000 for v <= 2^40 and ppt <= 1000 */
static u64 kvmshare_policy_ppt(u64 v, u32 ppt)
{
	return div64_u64(v * ppt, KVMSHARE_POLICY_PPT);
}

/**
 * kvmshare_policy_defaults - the default tunables
 * @p: parameters to fill
 * @pool_pages: the pool size, pages
 */
void kvmshare_policy_defaults(struct kvmshare_policy_params *p, u64 pool_pages)
{
	p->pool_pages = pool_pages;
	p->period_ms = 1000;
	p->stress_ppm = 20000;		/* 2% of the time stalled */
	p->grow_gain_pct = 100;		/* double at 100% stall */
	p->grow_min_ppt = 16;		/* 1.6% of the limit */
	p->refault_mult = 8;
	p->headroom_ppt = 250;		/* active + 25% */
	p->idle_periods = 2;
	p->shrink_ppt = 1000;		/* straight to the need ... */
	p->deadband_ppt = 62;		/* ... unless within 6.2% */
	p->holdoff_periods = 5;
	p->reserve_ppt = 0;		/* idle memory stays until needed */
	p->pagein_cost_us = 200;
	p->wait_periods = 3;
	p->settle_periods = 5;
}

/**
 * kvmshare_policy_check - are parameters and partitions within bounds?
 * @p: parameters
 * @parts: partitions
 * @n: number of partitions
 *
 * Return: 0, or -EINVAL if anything is out of its documented range or the
 * entitlements do not fit in the pool.
 */
int kvmshare_policy_check(const struct kvmshare_policy_params *p,
			  const struct kvmshare_policy_part *parts,
			  unsigned int n)
{
	u64 sum = 0;
	unsigned int i;

	if (n > KVMSHARE_POLICY_MAX_PARTS ||
	    p->pool_pages > KVMSHARE_POLICY_MAX_PAGES ||
	    !p->period_ms || p->period_ms > KVMSHARE_POLICY_MAX_PERIOD_MS ||
	    !p->stress_ppm || p->stress_ppm > KVMSHARE_POLICY_PPM ||
	    p->grow_gain_pct > KVMSHARE_POLICY_MAX_GAIN_PCT ||
	    p->grow_min_ppt > KVMSHARE_POLICY_PPT ||
	    p->refault_mult > KVMSHARE_POLICY_MAX_MULT ||
	    p->headroom_ppt > KVMSHARE_POLICY_PPT ||
	    p->idle_periods > KVMSHARE_POLICY_MAX_HOLD ||
	    !p->shrink_ppt || p->shrink_ppt > KVMSHARE_POLICY_PPT ||
	    p->deadband_ppt > KVMSHARE_POLICY_PPT ||
	    p->reserve_ppt > KVMSHARE_POLICY_PPT ||
	    p->holdoff_periods > KVMSHARE_POLICY_MAX_HOLD ||
	    p->pagein_cost_us > KVMSHARE_POLICY_MAX_COST_US ||
	    p->wait_periods > KVMSHARE_POLICY_MAX_HOLD ||
	    p->settle_periods > KVMSHARE_POLICY_MAX_HOLD)
		return -EINVAL;

	for (i = 0; i < n; i++) {
		const struct kvmshare_policy_part *pt = &parts[i];

		if (!pt->limit || pt->limit > KVMSHARE_POLICY_MAX_PAGES ||
		    pt->entitlement > pt->limit || !pt->weight ||
		    pt->weight > KVMSHARE_POLICY_MAX_WEIGHT)
			return -EINVAL;
		sum += pt->entitlement;
	}
	/* sum <= 2^10 * 2^40: no overflow */
	if (sum > p->pool_pages)
		return -EINVAL;
	return 0;
}

/* Stall of a partition this period, ppm, from host and guest signals. */
static u32 kvmshare_policy_stress(const struct kvmshare_policy_params *p,
				  const struct kvmshare_policy_input *in)
{
	const struct kvmshare_metrics_sample *g = &in->guest;
	u64 pageins = kvmshare_policy_min(in->pageins,
					  KVMSHARE_POLICY_MAX_PAGEINS);
	u64 stall;

	/* us stalled * 10^6 / (period_ms * 1000) */
	stall = div64_u64(pageins * p->pagein_cost_us * 1000, p->period_ms);
	if (g->valid) {
		if (g->flags & KVMSHARE_METRICS_F_PSI) {
			stall = kvmshare_policy_max(stall, g->psi_some_ppm);
		} else {
			u64 ins = kvmshare_policy_min(g->swapins + g->refaults,
						      KVMSHARE_POLICY_MAX_PAGEINS);

			stall = kvmshare_policy_max(stall,
						    div64_u64(ins * p->pagein_cost_us * 1000,
							      p->period_ms));
		}
		/*
		 * F_ACUTE also stays set while the guest's PSI full avg10,
		 * a 10 s average, decays: with PSI it counts only in a
		 * period that shows stall of its own (or an allocation stall,
		 * an OOM kill), else a guest whose stall ended seconds ago
		 * would keep growing to its limit.
		 */
		if ((g->flags & KVMSHARE_METRICS_F_ACUTE) &&
		    (!(g->flags & KVMSHARE_METRICS_F_PSI) ||
		     g->psi_some_ppm >= p->stress_ppm / 4 ||
		     g->allocstalls || g->oom_kills))
			stall = kvmshare_policy_max(stall,
						    KVMSHARE_POLICY_PPM / 4);
	}
	return (u32)kvmshare_policy_min(stall, KVMSHARE_POLICY_PPM);
}

/*
 * The guest's size by its balloon driver: what the balloon leaves of the
 * partition; 0 without a balloon driver.
 */
static u64 kvmshare_policy_guest_size(const struct kvmshare_policy_part *pt)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;

	if (!(g->flags & KVMSHARE_METRICS_F_BALLOON))
		return 0;
	return pt->limit - kvmshare_policy_min(g->balloon, pt->limit);
}

/*
 * What the guest says it holds of the partition (fresh sample): its
 * workload, MemTotal - MemAvailable plus its swap in use, and what its
 * kernel keeps for itself (its size above MemTotal, known with a balloon
 * driver); at most the limit, 0 if not known.
 */
static u64 kvmshare_policy_guest_used(const struct kvmshare_policy_part *pt)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;
	u64 used, size;

	if (!g->valid || !g->fresh)
		return 0;
	/* each <= max_pages <= 2^40 (the reader bounds them) */
	used = g->mem_total - g->mem_available + g->swap_used;
	size = kvmshare_policy_guest_size(pt);
	if (size > g->mem_total)
		used += size - g->mem_total;
	return kvmshare_policy_min(used, pt->limit);
}

/*
 * Pages an unstressed partition needs: what it uses plus headroom. @held
 * is kvmshare_policy_guest_used().
 */
static u64 kvmshare_policy_idle_need(const struct kvmshare_policy_params *p,
				     const struct kvmshare_policy_part *pt,
				     u64 cur, u64 held)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;
	u64 used;

	/*
	 * The host's sample counts pages touched, the guest knows what it
	 * holds: pages its balloon takes are touched (zeroed) on the way,
	 * and they are not in use.
	 */
	if (pt->in.active)
		used = held ? kvmshare_policy_min(pt->in.active, held) :
		       pt->in.active;
	else if (g->valid)
		used = g->mem_total - g->mem_available;
	else
		return cur;
	used = kvmshare_policy_min(used, pt->limit);
	return used + kvmshare_policy_ppt(used, p->headroom_ppt);
}

/*
 * Does the guest say it has @pages (valid, fresh sample)? Its MemTotal
 * excludes the memory its kernel reserved, so with a balloon driver what
 * the balloon leaves of the partition counts.
 */
static bool kvmshare_policy_guest_has(const struct kvmshare_policy_part *pt,
				      u64 pages)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;

	if (!g->valid || !g->fresh)
		return false;
	return kvmshare_policy_guest_size(pt) >= pages ||
	       g->mem_total >= pages;
}

/*
 * Pages a stressed partition needs. When it is known how much was pushed
 * out of it (the guest's swap, the host's paging service), what it holds
 * plus that is its demand. Otherwise it grows from @cur by a step that
 * rises with the stall and with the pages it misses per period.
 */
static u64 kvmshare_policy_grow(const struct kvmshare_policy_params *p,
				const struct kvmshare_policy_part *pt,
				u64 cur, u32 stress)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;
	u64 step_min, step, missing, held = 0;

	step_min = kvmshare_policy_ppt(pt->limit, p->grow_min_ppt);
	if (g->valid && g->swap_used)
		held = g->mem_total - g->mem_available + g->swap_used;
	if (pt->in.paged_out)
		held = kvmshare_policy_max(held, pt->in.resident +
					   kvmshare_policy_min(pt->in.paged_out,
							       pt->limit));
	if (held)
		return kvmshare_policy_max(cur + step_min, held);

	/* cur * gain / 100 < 2^49, times stress < 2^69: shift first */
	step = div64_u64(div64_u64(cur * p->grow_gain_pct, 100) * (stress >> 4),
			 KVMSHARE_POLICY_PPM >> 4);
	missing = kvmshare_policy_min(pt->in.pageins,
				      KVMSHARE_POLICY_MAX_PAGEINS);
	if (g->valid)
		missing += kvmshare_policy_min(kvmshare_policy_max(g->refaults,
								   g->swapins),
					       KVMSHARE_POLICY_MAX_PAGEINS);
	step = kvmshare_policy_max(step, missing * p->refault_mult);
	step = kvmshare_policy_max(step, step_min);
	return cur + kvmshare_policy_min(step, pt->limit);
}

/* Steps 1 to 3 for one partition: stress, need, keep (returned). */
static u64 kvmshare_policy_assess(const struct kvmshare_policy_params *p,
				  struct kvmshare_policy_part *pt)
{
	const struct kvmshare_metrics_sample *g = &pt->in.guest;
	u64 cur, need, band, used, ahead = 0, keep;
	u32 stress;

	/* A new partition starts from what it holds. */
	cur = pt->target ? pt->target : pt->in.resident;
	cur = kvmshare_policy_clamp(cur, pt->entitlement, pt->limit);

	stress = kvmshare_policy_stress(p, &pt->in);
	pt->stress_ppm = stress;
	pt->state = 0;

	/*
	 * The guest's workload takes more memory than a period ago (by more
	 * than 1/256 of the limit): it is growing, not idle, and gets what
	 * it holds plus headroom before it runs short, not after it stalls.
	 */
	used = kvmshare_policy_guest_used(pt);
	if (used && pt->used && used > pt->used + (pt->limit >> 8)) {
		pt->state |= KVMSHARE_POLICY_S_GROWING;
		ahead = used + kvmshare_policy_ppt(used, p->headroom_ppt);
		ahead = kvmshare_policy_min(ahead, pt->limit);
	}
	if (used || !g->valid)
		pt->used = used;

	if (g->valid && (g->allocstalls || g->oom_kills))
		pt->holdoff = p->holdoff_periods;
	else if (pt->holdoff)
		pt->holdoff--;
	if (pt->holdoff)
		pt->state |= KVMSHARE_POLICY_S_HOLDOFF;

	need = kvmshare_policy_idle_need(p, pt, cur, used);
	if (stress >= p->stress_ppm) {
		pt->state |= KVMSHARE_POLICY_S_STRESSED;
		pt->idle = 0;
		/*
		 * Stressed again soon after a shrink (or while settling): the
		 * shrink was premature (the estimate calls part of its working
		 * set idle). No shrink for settle_periods unstressed steps,
		 * twice as many after each further premature shrink: a wrong
		 * estimate costs a few swings, not one every few periods.
		 */
		if (pt->shrunk || pt->settle) {
			if (!pt->backoff)
				pt->backoff = p->settle_periods;
			else if (!pt->settle)
				pt->backoff = (u32)kvmshare_policy_min(2ULL * pt->backoff,
								       KVMSHARE_POLICY_SETTLE_MAX *
								       p->settle_periods);
			pt->settle = pt->backoff;
			pt->shrunk = 0;
		}
		/*
		 * Less than 7/8 of the target resident: the last growth may
		 * still be on its way (balloon deflation, pool contention),
		 * and the stall says nothing about the next one. But a guest
		 * need not touch all its memory (Linux leaves most of its DMA
		 * zone alone), so it waits only while its guest does not
		 * report the memory as its own, and wait_periods at most.
		 */
		if (pt->in.resident < cur - cur / 8 &&
		    pt->waited < p->wait_periods &&
		    !kvmshare_policy_guest_has(pt, cur - cur / 8)) {
			pt->state |= KVMSHARE_POLICY_S_WAITING;
			pt->waited++;
			need = kvmshare_policy_max(need, cur);
		} else {
			pt->waited = 0;
			need = kvmshare_policy_max(need,
						   kvmshare_policy_grow(p, pt, cur, stress));
		}
	} else if (ahead) {
		pt->waited = 0;
		pt->idle = 0;
	} else {
		pt->waited = 0;
		if (pt->idle < KVMSHARE_POLICY_MAX_HOLD)
			pt->idle++;
		if (pt->settle)
			pt->settle--;
	}
	/*
	 * A grower must have what it holds in memory. Pages in its swap
	 * that it does not read back (no swap-in this period) are cold:
	 * they count in what it may keep (ahead, tier 2), not in its need,
	 * else a grower whose cold pages were swapped out takes them back
	 * into memory from a partition that needs it, to have them swapped
	 * out again once it is idle.
	 */
	if (ahead) {
		u64 held = used;

		if (!g->swapins)
			held -= kvmshare_policy_min(g->swap_used, held);
		need = kvmshare_policy_max(need, held);
	}
	/* A shrink that stuck: the next premature one starts afresh. */
	if (pt->shrunk && !--pt->shrunk && !pt->settle)
		pt->backoff = 0;
	if (pt->settle)
		pt->state |= KVMSHARE_POLICY_S_SETTLING;
	/* An OOM kill: the guest was squeezed too hard, give some back. */
	if (g->valid && g->oom_kills)
		need = kvmshare_policy_max(need, cur +
					   kvmshare_policy_ppt(pt->limit, p->grow_min_ppt));
	need = kvmshare_policy_clamp(need, pt->entitlement, pt->limit);
	pt->estimate = need;

	/*
	 * Tier 1 (pt->need) is what the partition must have; tier 2 (the
	 * return value) what it keeps while the pool has more than its
	 * reserve free. Growth is at once (outside the deadband when not
	 * stressed); a shrink waits for idle_periods quiet steps and for the
	 * end of a holdoff, and is at most shrink_ppt of the target a step;
	 * none while the partition settles after a premature shrink. A
	 * growing partition keeps its target and may reach what its guest
	 * holds plus headroom (tier 2: only from memory nobody needs).
	 */
	band = kvmshare_policy_ppt(cur, p->deadband_ppt);
	if (need >= cur || ahead >= cur) {
		need = kvmshare_policy_max(need, cur);
		keep = kvmshare_policy_max(need, ahead);
		if (!(pt->state & KVMSHARE_POLICY_S_STRESSED)) {
			if (need - cur < band)
				need = cur;
			if (keep - cur < band)
				keep = need;
		}
		pt->need = need;
		return keep;
	}
	if (pt->holdoff || pt->settle || pt->idle <= p->idle_periods ||
	    cur - need < band)
		need = cur;
	else
		need = kvmshare_policy_max(need,
					   cur - kvmshare_policy_ppt(cur, p->shrink_ppt));
	pt->need = kvmshare_policy_max(need, pt->entitlement);
	if (pt->need < cur)
		pt->shrunk = KVMSHARE_POLICY_RELAPSE_WIN * p->settle_periods;
	return cur;
}

/* What a partition may reach in @tier (1: its need, 2: what it keeps). */
static u64 kvmshare_policy_cap(const struct kvmshare_policy_part *pt,
			       unsigned int tier)
{
	return tier == 1 ? pt->need : pt->keep;
}

/*
 * Weighted max-min fair fill: hand out up to @budget pages, raising each
 * partition's target towards its cap for @tier, in proportion to the
 * weights of those not yet at their cap. O(n^2) at worst: every round but
 * the last one caps at least one partition.
 *
 * Return: pages left of @budget.
 */
static u64 kvmshare_policy_fill(struct kvmshare_policy_part *parts,
				unsigned int n, unsigned int tier, u64 budget)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		parts[i].state &= ~KVMSHARE_POLICY_S_FULL;
		if (kvmshare_policy_cap(&parts[i], tier) <= parts[i].target)
			parts[i].state |= KVMSHARE_POLICY_S_FULL;
	}

	while (budget) {
		u64 wsum = 0, round = budget;
		bool capped = false;

		for (i = 0; i < n; i++)
			if (!(parts[i].state & KVMSHARE_POLICY_S_FULL))
				wsum += parts[i].weight;
		if (!wsum)
			break;

		/* Those whose wish fits in their share get it all ... */
		for (i = 0; i < n; i++) {
			struct kvmshare_policy_part *pt = &parts[i];
			u64 want, share;

			if (pt->state & KVMSHARE_POLICY_S_FULL)
				continue;
			want = kvmshare_policy_cap(pt, tier) - pt->target;
			share = div64_u64(round * pt->weight, wsum);
			if (want <= share) {
				pt->target += want;
				budget -= want;
				pt->state |= KVMSHARE_POLICY_S_FULL;
				capped = true;
			}
		}
		if (capped)
			continue;

		/* ... else everyone gets its share, and the rounding rest. */
		for (i = 0; i < n; i++) {
			struct kvmshare_policy_part *pt = &parts[i];

			if (pt->state & KVMSHARE_POLICY_S_FULL)
				continue;
			pt->target += div64_u64(round * pt->weight, wsum);
			budget -= div64_u64(round * pt->weight, wsum);
		}
		for (i = 0; i < n && budget; i++) {
			struct kvmshare_policy_part *pt = &parts[i];

			if (pt->state & KVMSHARE_POLICY_S_FULL ||
			    pt->target >= kvmshare_policy_cap(pt, tier))
				continue;
			pt->target++;
			budget--;
		}
		break;
	}
	for (i = 0; i < n; i++)
		parts[i].state &= ~KVMSHARE_POLICY_S_FULL;
	return budget;
}

/**
 * kvmshare_policy_step - one policy period
 * @p: parameters
 * @parts: the partitions, their inputs set; targets and state are updated
 * @n: number of partitions
 *
 * Guarantees, for any input: each target lies between the partition's
 * entitlement and its limit, and the targets sum to at most the pool.
 *
 * Return: 0, or -EINVAL (nothing changed) if kvmshare_policy_check() fails.
 */
int kvmshare_policy_step(const struct kvmshare_policy_params *p,
			 struct kvmshare_policy_part *parts, unsigned int n)
{
	u64 budget = p->pool_pages, reserve;
	unsigned int i;
	int ret;

	ret = kvmshare_policy_check(p, parts, n);
	if (ret)
		return ret;

	for (i = 0; i < n; i++) {
		struct kvmshare_policy_part *pt = &parts[i];

		pt->keep = kvmshare_policy_assess(p, pt);
		pt->target = pt->entitlement;
		budget -= pt->entitlement;
	}
	budget = kvmshare_policy_fill(parts, n, 1, budget);
	reserve = kvmshare_policy_ppt(p->pool_pages, p->reserve_ppt);
	if (budget > reserve)
		kvmshare_policy_fill(parts, n, 2, budget - reserve);
	for (i = 0; i < n; i++)
		if (parts[i].target < parts[i].keep)
			parts[i].state |= KVMSHARE_POLICY_S_CUT;
	return 0;
}
