// SPDX-License-Identifier: GPL-2.0
/*
 * Unit and property tests of the policy engine (kvm/kvmshare_policy.c),
 * built for user space. Randomised tests use fixed seeds: every run checks
 * the same cases.
 *
 * Properties: targets within [entitlement, limit]; the pool never
 * over-committed; every page of the pool accounted for (handed out in full
 * when demand exceeds it); a larger stress never yields a smaller target;
 * memory moves from idle to stressed partitions; constant inputs reach a
 * fixed point (no oscillation); shrinking held off after an allocation
 * stall; a stressed partition's wait for delivery bounded; premature
 * shrinks backed off; a growing guest served before it stalls, from free
 * memory only, and its swapped-out cold pages not counted in its need;
 * bad parameters refused with nothing changed.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "kvmshare_policy.h"
#include "testutil.h"

#define NMAX		32
#define GIB		(1ULL << 18)	/* pages */

static struct kvmshare_policy_params params(uint64_t pool)
{
	struct kvmshare_policy_params p;

	kvmshare_policy_defaults(&p, pool);
	return p;
}

static void part_init(struct kvmshare_policy_part *pt, uint64_t ent,
		      uint64_t limit, uint32_t weight)
{
	memset(pt, 0, sizeof(*pt));
	pt->entitlement = ent;
	pt->limit = limit;
	pt->weight = weight;
}

/* The guest reports this much stall (PSI some, ppm of the period). */
static void stall(struct kvmshare_policy_part *pt, uint32_t ppm)
{
	pt->in.guest.valid = 1;
	pt->in.guest.fresh = 1;
	pt->in.guest.flags = KVMSHARE_METRICS_F_PSI;
	pt->in.guest.psi_some_ppm = ppm;
	pt->in.guest.mem_total = pt->limit;
}

static uint64_t sum_targets(const struct kvmshare_policy_part *pt,
			    unsigned int n)
{
	uint64_t s = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		s += pt[i].target;
	return s;
}

/* A random but valid pool of n partitions. */
static uint64_t random_pool(struct trng *r, struct kvmshare_policy_part *pt,
			    unsigned int n, int huge)
{
	uint64_t ent = 0, pool;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t limit, emax;

		limit = huge ? trng_range(r, 1, KVMSHARE_POLICY_MAX_PAGES) :
			trng_range(r, 1, 16 * GIB);
		/* entitlements must fit in the largest pool */
		emax = limit / 2;
		if (emax > KVMSHARE_POLICY_MAX_PAGES / (2 * NMAX))
			emax = KVMSHARE_POLICY_MAX_PAGES / (2 * NMAX);
		part_init(pt + i, trng_range(r, 0, emax), limit,
			  (uint32_t)trng_range(r, 1, KVMSHARE_POLICY_MAX_WEIGHT));
		ent += pt[i].entitlement;
	}
	pool = ent + trng_range(r, 0, huge ? KVMSHARE_POLICY_MAX_PAGES / 2 :
				8 * GIB);
	if (pool > KVMSHARE_POLICY_MAX_PAGES)
		pool = KVMSHARE_POLICY_MAX_PAGES;
	return pool;
}

/* Random inputs, from plausible to absurd. */
static void random_input(struct trng *r, struct kvmshare_policy_part *pt)
{
	struct kvmshare_policy_input *in = &pt->in;
	struct kvmshare_metrics_sample *g = &in->guest;
	int wild = trng_next(r) % 4 == 0;

	in->resident = wild ? trng_edgy(r) : trng_range(r, 0, pt->limit);
	in->active = wild ? trng_edgy(r) : trng_range(r, 0, in->resident);
	in->pageins = wild ? trng_edgy(r) : trng_range(r, 0, 100000);
	in->paged_out = wild ? trng_edgy(r) : trng_range(r, 0, pt->limit / 4);
	memset(g, 0, sizeof(*g));
	if (trng_next(r) % 3 == 0)
		return;
	/* the metrics reader's bounds hold for anything it hands out */
	g->valid = 1;
	g->fresh = (uint32_t)(trng_next(r) & 1);
	g->flags = (uint32_t)(trng_next(r) & KVMSHARE_METRICS_F_ALL);
	g->psi_some_ppm = (uint32_t)trng_range(r, 0, KVMSHARE_METRICS_PPM);
	g->psi_full_ppm = (uint32_t)trng_range(r, 0, g->psi_some_ppm);
	g->mem_total = trng_range(r, 1, pt->limit);
	g->mem_available = trng_range(r, 0, g->mem_total);
	g->swap_used = trng_range(r, 0, pt->limit);
	g->balloon = trng_range(r, 0, pt->limit);
	g->refaults = wild ? trng_range(r, 0, 1ULL << 30) : trng_range(r, 0, 5000);
	g->swapins = wild ? trng_range(r, 0, 1ULL << 30) : trng_range(r, 0, 5000);
	g->allocstalls = trng_next(r) % 8 == 0;
	g->oom_kills = trng_next(r) % 32 == 0;
}

TEST(defaults_are_valid)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[2];

	part_init(&pt[0], GIB, 4 * GIB, 100);
	part_init(&pt[1], GIB, 4 * GIB, 100);
	ASSERT_EQ(0, kvmshare_policy_check(&p, pt, 2));
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
	EXPECT_GE(pt[0].target, GIB);
	EXPECT_GE(pt[1].target, GIB);
	/* no partition at all is fine too */
	EXPECT_EQ(0, kvmshare_policy_step(&p, pt, 0));
}

TEST(bad_parameters_are_refused)
{
	struct kvmshare_policy_params good = params(8 * GIB), p;
	struct kvmshare_policy_part pt[2], saved[2];
	int i;

	part_init(&pt[0], GIB, 4 * GIB, 100);
	part_init(&pt[1], GIB, 4 * GIB, 100);
	pt[0].target = 12345;
	pt[1].target = 54321;
	memcpy(saved, pt, sizeof(pt));

	for (i = 0; i < 16; i++) {
		p = good;
		memcpy(pt, saved, sizeof(pt));
		switch (i) {
		case 0:
			p.period_ms = 0;
			break;
		case 1:
			p.period_ms = KVMSHARE_POLICY_MAX_PERIOD_MS + 1;
			break;
		case 2:
			p.stress_ppm = 0;
			break;
		case 3:
			p.shrink_ppt = 0;
			break;
		case 4:
			p.grow_gain_pct = KVMSHARE_POLICY_MAX_GAIN_PCT + 1;
			break;
		case 5:
			p.pool_pages = KVMSHARE_POLICY_MAX_PAGES + 1;
			break;
		case 6:
			p.pool_pages = 2 * GIB - 1;
			break;
			/* < entitlements */;
		case 7:
			pt[0].weight = 0;
			break;
		case 8:
			pt[1].weight = KVMSHARE_POLICY_MAX_WEIGHT + 1;
			break;
		case 9:
			pt[0].entitlement = pt[0].limit + 1;
			break;
		case 10:
			pt[1].limit = 0;
			pt[1].entitlement = 0;
			break;
		case 11:
			pt[0].limit = KVMSHARE_POLICY_MAX_PAGES + 1;
			break;
		case 12:
			p.refault_mult = KVMSHARE_POLICY_MAX_MULT + 1;
			break;
		case 13:
			p.reserve_ppt = KVMSHARE_POLICY_PPT + 1;
			break;
		case 14:
			p.wait_periods = KVMSHARE_POLICY_MAX_HOLD + 1;
			break;
		case 15:
			p.settle_periods = KVMSHARE_POLICY_MAX_HOLD + 1;
			break;
		}
		EXPECT_EQ(-EINVAL, kvmshare_policy_step(&p, pt, 2))
			TH_LOG("case %d accepted", i);
		EXPECT_EQ(saved[0].target, pt[0].target);
		EXPECT_EQ(saved[1].target, pt[1].target);
	}
	p = good;
	EXPECT_EQ(-EINVAL, kvmshare_policy_check(&p, pt,
						 KVMSHARE_POLICY_MAX_PARTS + 1));
}

/* Random pools and inputs, many steps: the hard invariants. */
TEST(random_invariants)
{
	struct kvmshare_policy_part pt[NMAX];
	struct kvmshare_policy_params p;
	struct trng r;
	unsigned int iter, step, i, n;

	trng_seed(&r, 1);
	for (iter = 0; iter < 20000; iter++) {
		n = (unsigned int)trng_range(&r, 1, NMAX);
		p = params(random_pool(&r, pt, n, iter % 4 == 0));
		p.grow_gain_pct = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_MAX_GAIN_PCT);
		p.shrink_ppt = (uint32_t)trng_range(&r, 1, 1000);
		p.reserve_ppt = (uint32_t)trng_range(&r, 0, 1000);
		p.refault_mult = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_MAX_MULT);
		p.pagein_cost_us = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_MAX_COST_US);
		p.period_ms = (uint32_t)trng_range(&r, 1, KVMSHARE_POLICY_MAX_PERIOD_MS);
		p.wait_periods = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_MAX_HOLD);
		p.settle_periods = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_MAX_HOLD);
		for (step = 0; step < 10; step++) {
			for (i = 0; i < n; i++)
				random_input(&r, &pt[i]);
			ASSERT_EQ(0, kvmshare_policy_step(&p, pt, n));
			for (i = 0; i < n; i++) {
				ASSERT_GE(pt[i].target, pt[i].entitlement)
					TH_LOG("iter %u step %u part %u", iter, step, i);
				ASSERT_LE(pt[i].target, pt[i].limit)
					TH_LOG("iter %u step %u part %u", iter, step, i);
				ASSERT_LE(pt[i].stress_ppm, KVMSHARE_POLICY_PPM);
			}
			ASSERT_LE(sum_targets(pt, n), p.pool_pages)
				TH_LOG("iter %u step %u: pool over-committed", iter, step);
		}
	}
}

/*
 * Conservation: when every partition is stressed and together they could
 * take more than the pool, the pool is handed out to the last page; when
 * they could not, each gets its limit.
 */
TEST(conservation_of_pages)
{
	struct kvmshare_policy_part pt[NMAX];
	struct kvmshare_policy_params p;
	unsigned int iter, step, i, n;
	struct trng r;

	trng_seed(&r, 2);
	for (iter = 0; iter < 3000; iter++) {
		uint64_t limits = 0;

		n = (unsigned int)trng_range(&r, 1, NMAX);
		p = params(random_pool(&r, pt, n, iter % 3 == 0));
		for (i = 0; i < n; i++)
			limits += pt[i].limit;
		for (step = 0; step < 3; step++) {
			for (i = 0; i < n; i++) {
				stall(&pt[i], KVMSHARE_POLICY_PPM);
				pt[i].in.resident = pt[i].target;
				pt[i].in.guest.swap_used = pt[i].limit;
			}
			ASSERT_EQ(0, kvmshare_policy_step(&p, pt, n));
		}
		if (limits >= p.pool_pages) {
			ASSERT_EQ(p.pool_pages, sum_targets(pt, n))
				TH_LOG("iter %u: pages lost", iter);
		} else {
			ASSERT_EQ(limits, sum_targets(pt, n));
		}
	}
}

/* More stress, everything else equal, never gives a smaller target. */
TEST(monotonic_in_stress)
{
	struct kvmshare_policy_part a[NMAX], b[NMAX];
	struct kvmshare_policy_params p;
	unsigned int iter, i, n, k;
	struct trng r;

	trng_seed(&r, 3);
	for (iter = 0; iter < 20000; iter++) {
		uint32_t lo, hi;

		n = (unsigned int)trng_range(&r, 1, 12);
		p = params(random_pool(&r, a, n, 0));
		/* some history first */
		for (k = 0; k < 3; k++) {
			for (i = 0; i < n; i++)
				random_input(&r, &a[i]);
			ASSERT_EQ(0, kvmshare_policy_step(&p, a, n));
		}
		for (i = 0; i < n; i++)
			random_input(&r, &a[i]);
		k = (unsigned int)trng_range(&r, 0, n - 1);
		lo = (uint32_t)trng_range(&r, 0, KVMSHARE_POLICY_PPM);
		hi = (uint32_t)trng_range(&r, lo, KVMSHARE_POLICY_PPM);
		a[k].in.guest.valid = 1;
		a[k].in.guest.flags |= KVMSHARE_METRICS_F_PSI;
		a[k].in.guest.flags &= ~KVMSHARE_METRICS_F_ACUTE;
		if (!a[k].in.guest.mem_total)
			a[k].in.guest.mem_total = a[k].limit;
		memcpy(b, a, sizeof(a[0]) * n);
		a[k].in.guest.psi_some_ppm = lo;
		b[k].in.guest.psi_some_ppm = hi;
		ASSERT_EQ(0, kvmshare_policy_step(&p, a, n));
		ASSERT_EQ(0, kvmshare_policy_step(&p, b, n));
		ASSERT_GE(b[k].target, a[k].target)
			TH_LOG("iter %u: stress %u -> %llu pages, %u -> %llu",
			       iter, lo, (unsigned long long)a[k].target, hi,
			       (unsigned long long)b[k].target);
	}
}

/* Entitlements hold under any contention, whatever the weights. */
TEST(entitlement_under_contention)
{
	struct kvmshare_policy_params p = params(6 * GIB);
	struct kvmshare_policy_part pt[3];
	int step, i;

	part_init(&pt[0], 3 * GIB, 6 * GIB, 10000);
	part_init(&pt[1], GIB, 6 * GIB, 1);
	part_init(&pt[2], GIB, 6 * GIB, 1);
	for (step = 0; step < 20; step++) {
		for (i = 0; i < 3; i++) {
			stall(&pt[i], KVMSHARE_POLICY_PPM);
			pt[i].in.resident = pt[i].target;
			pt[i].in.guest.swap_used = 6 * GIB;
		}
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 3));
		EXPECT_EQ(6 * GIB, sum_targets(pt, 3));
		EXPECT_GE(pt[1].target, GIB);
		EXPECT_GE(pt[2].target, GIB);
		EXPECT_GE(pt[0].target, 3 * GIB);
	}
	/* the heavy one gets 10000/10002 of what is not guaranteed */
	EXPECT_GE(pt[0].target, 3 * GIB + (GIB * 10000) / 10002 - 1);
	EXPECT_LE(pt[0].target, 3 * GIB + (GIB * 10000) / 10002 + 2);
}

/* Contended memory is shared in proportion to weight. */
TEST(weights_share_contention)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[2];
	int step, i;

	part_init(&pt[0], 0, 8 * GIB, 300);
	part_init(&pt[1], 0, 8 * GIB, 100);
	for (step = 0; step < 20; step++) {
		for (i = 0; i < 2; i++) {
			stall(&pt[i], KVMSHARE_POLICY_PPM);
			pt[i].in.resident = pt[i].target;
			pt[i].in.guest.swap_used = 8 * GIB;
		}
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
	}
	EXPECT_EQ(6 * GIB, pt[0].target);
	EXPECT_EQ(2 * GIB, pt[1].target);
}

/*
 * A small closed loop: each partition's working set is fixed; it stalls
 * when its target is below it and is idle (active = its working set)
 * otherwise. Memory must move from the idle to the stressed partition,
 * and then the targets must stay put.
 */
static void loop_inputs(struct kvmshare_policy_part *pt, const uint64_t *ws,
			unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t t = pt[i].target;

		memset(&pt[i].in, 0, sizeof(pt[i].in));
		pt[i].in.resident = t < ws[i] ? t : ws[i];
		pt[i].in.active = pt[i].in.resident;
		stall(&pt[i], t < ws[i] ? KVMSHARE_POLICY_PPM / 2 : 0);
		pt[i].in.guest.mem_total = t;
		pt[i].in.guest.mem_available = t > ws[i] ? t - ws[i] : 0;
		pt[i].in.guest.swap_used = t < ws[i] ? ws[i] - t : 0;
	}
}

TEST(idle_to_stressed_and_settles)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[2];
	uint64_t ws[2] = { 6 * GIB, GIB }, settled[2];
	int step;

	part_init(&pt[0], GIB, 8 * GIB, 100);
	part_init(&pt[1], GIB, 8 * GIB, 100);
	/* the idle one starts with most of the pool */
	pt[0].target = 2 * GIB;
	pt[1].target = 6 * GIB;
	for (step = 0; step < 20; step++) {
		loop_inputs(pt, ws, 2);
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
		ASSERT_LE(sum_targets(pt, 2), 8 * GIB);
	}
	EXPECT_GE(pt[0].target, 6 * GIB);
	EXPECT_LT(pt[1].target, 2 * GIB);
	settled[0] = pt[0].target;
	settled[1] = pt[1].target;
	for (step = 0; step < 100; step++) {
		loop_inputs(pt, ws, 2);
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
		ASSERT_EQ(settled[0], pt[0].target) TH_LOG("step %d", step);
		ASSERT_EQ(settled[1], pt[1].target) TH_LOG("step %d", step);
	}
}

/* Random closed loops always come to rest: no oscillation. */
TEST(random_loops_settle)
{
	struct kvmshare_policy_part pt[8];
	struct kvmshare_policy_params p;
	uint64_t ws[8], last[8];
	unsigned int iter, step, i, n, changes;
	struct trng r;

	trng_seed(&r, 4);
	for (iter = 0; iter < 500; iter++) {
		n = (unsigned int)trng_range(&r, 2, 8);
		p = params(random_pool(&r, pt, n, 0));
		for (i = 0; i < n; i++)
			ws[i] = trng_range(&r, 0, pt[i].limit);
		for (step = 0; step < 60; step++) {
			loop_inputs(pt, ws, n);
			ASSERT_EQ(0, kvmshare_policy_step(&p, pt, n));
		}
		for (i = 0; i < n; i++)
			last[i] = pt[i].target;
		changes = 0;
		for (step = 0; step < 40; step++) {
			loop_inputs(pt, ws, n);
			ASSERT_EQ(0, kvmshare_policy_step(&p, pt, n));
			for (i = 0; i < n; i++) {
				changes += pt[i].target != last[i];
				last[i] = pt[i].target;
			}
		}
		ASSERT_EQ(0, changes) TH_LOG("iter %u keeps moving", iter);
	}
}

/* After an allocation stall no shrink for holdoff_periods. */
TEST(holdoff_after_allocation_stall)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[2];
	uint64_t before;
	unsigned int step;

	part_init(&pt[0], GIB, 8 * GIB, 100);
	part_init(&pt[1], GIB, 8 * GIB, 100);
	pt[0].target = 4 * GIB;
	pt[1].target = 4 * GIB;
	before = pt[0].target;
	for (step = 0; step < p.holdoff_periods + 10; step++) {
		/* partition 1 is starving, partition 0 looks idle ... */
		memset(&pt[0].in, 0, sizeof(pt[0].in));
		pt[0].in.resident = pt[0].target;
		pt[0].in.active = GIB / 4;
		stall(&pt[0], 0);
		/* ... but showed an allocation stall at step 0 */
		pt[0].in.guest.allocstalls = step == 0;
		memset(&pt[1].in, 0, sizeof(pt[1].in));
		pt[1].in.resident = pt[1].target;
		stall(&pt[1], KVMSHARE_POLICY_PPM);
		pt[1].in.guest.swap_used = 8 * GIB;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
		if (step < p.holdoff_periods)
			ASSERT_EQ(before, pt[0].target) TH_LOG("step %u", step);
	}
	EXPECT_LT(pt[0].target, before);
}

/*
 * A stressed partition short of 7/8 of its target resident waits for its
 * last growth, but not for ever: a guest need not touch all its memory.
 */
TEST(stressed_wait_is_bounded)
{
	struct kvmshare_policy_params p = params(4 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t start = GIB / 10;
	unsigned int step;

	part_init(&pt[0], GIB / 16, GIB / 2, 100);
	pt[0].target = start;
	for (step = 0; step <= p.wait_periods; step++) {
		memset(&pt[0].in, 0, sizeof(pt[0].in));
		pt[0].in.resident = start * 4 / 5;	/* below 7/8, for ever */
		stall(&pt[0], KVMSHARE_POLICY_PPM / 2);
		pt[0].in.guest.mem_total = start * 4 / 5;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
		if (step < p.wait_periods) {
			ASSERT_TRUE(pt[0].state & KVMSHARE_POLICY_S_WAITING);
			ASSERT_EQ(start, pt[0].target) TH_LOG("step %u", step);
		}
	}
	EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_WAITING);
	EXPECT_GT(pt[0].target, start);
}

/*
 * A guest whose balloon already gave it its target does not wait, however
 * little of it is resident (Linux leaves its DMA zone alone).
 */
TEST(balloon_delivered_no_wait)
{
	struct kvmshare_policy_params p = params(4 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t start = GIB / 10;

	part_init(&pt[0], GIB / 16, GIB / 2, 100);
	pt[0].target = start;
	pt[0].in.resident = start * 4 / 5;
	stall(&pt[0], KVMSHARE_POLICY_PPM / 2);
	/* MemTotal below the target: the guest kernel's own reservations */
	pt[0].in.guest.mem_total = start * 4 / 5;
	pt[0].in.guest.flags |= KVMSHARE_METRICS_F_BALLOON;
	pt[0].in.guest.balloon = pt[0].limit - start;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_WAITING);
	EXPECT_GT(pt[0].target, start);
}

/*
 * The host's active estimate sees half the working set: each shrink to it
 * makes the guest stall and grow again. The engine must learn that its
 * shrinks are premature and stop swinging (reserve_ppt 1000: no keep).
 */
TEST(premature_shrinks_back_off)
{
	struct kvmshare_policy_params p = params(16 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t ws = 4 * GIB, last;
	unsigned int step, shrinks = 0, late = 0;

	p.reserve_ppt = 1000;
	part_init(&pt[0], GIB, 8 * GIB, 100);
	pt[0].target = ws + ws / 4;
	last = pt[0].target;
	for (step = 0; step < 300; step++) {
		uint64_t t = pt[0].target;

		memset(&pt[0].in, 0, sizeof(pt[0].in));
		pt[0].in.resident = t < ws ? t : ws;
		pt[0].in.active = ws / 2;
		stall(&pt[0], t < ws ? KVMSHARE_POLICY_PPM / 2 : 0);
		pt[0].in.guest.mem_total = t;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
		if (pt[0].target < last) {
			shrinks++;
			late += step >= 150;
		}
		last = pt[0].target;
	}
	/* every 4 periods without damping; backing off, a handful */
	EXPECT_LE(shrinks, 10) TH_LOG("%u shrinks", shrinks);
	EXPECT_LE(late, 2) TH_LOG("%u shrinks in the second half", late);
}

/* A shrink that sticks (no stress after it) is not held back. */
TEST(idle_shrink_not_delayed)
{
	struct kvmshare_policy_params p = params(16 * GIB);
	struct kvmshare_policy_part pt[1];
	unsigned int step;

	p.reserve_ppt = 1000;
	part_init(&pt[0], GIB, 8 * GIB, 100);
	pt[0].target = 4 * GIB;
	for (step = 0; step <= p.idle_periods; step++) {
		memset(&pt[0].in, 0, sizeof(pt[0].in));
		pt[0].in.resident = pt[0].target;
		pt[0].in.active = GIB;
		stall(&pt[0], 0);
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	}
	EXPECT_LT(pt[0].target, 2 * GIB);
	EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_SETTLING);
}

/* Without any guest data the host's page-ins still count as stress. */
TEST(host_pageins_are_stress)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[1];

	part_init(&pt[0], GIB, 8 * GIB, 100);
	pt[0].target = 2 * GIB;
	pt[0].in.resident = 2 * GIB;
	pt[0].in.active = 2 * GIB;
	pt[0].in.pageins = 100000;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_STRESSED);
	EXPECT_GT(pt[0].target, 2 * GIB);
}

/* The guest's workload holds @used pages, no stall; its memory is @total. */
static void holds(struct kvmshare_policy_part *pt, uint64_t used,
		  uint64_t total)
{
	stall(pt, 0);
	pt->in.guest.mem_total = total;
	pt->in.guest.mem_available = total - used;
	pt->in.resident = used;
}

/*
 * F_ACUTE stays set while the guest's PSI full avg10 decays: a guest that
 * stalls no more (PSI some 0 this period, no allocation stall) is not
 * stressed by the flag alone, and does not grow step after step; one
 * that still stalls a little, or has an allocation stall, is.
 */
TEST(acute_flag_needs_stall_of_its_own)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[1];
	unsigned int step;
	uint64_t start;

	part_init(&pt[0], GIB, 8 * GIB, 100);
	pt[0].target = 2 * GIB;
	start = pt[0].target;
	for (step = 0; step < 10; step++) {
		holds(&pt[0], GIB, 2 * GIB);
		pt[0].in.resident = pt[0].target;
		pt[0].in.active = GIB;
		pt[0].in.guest.flags |= KVMSHARE_METRICS_F_ACUTE;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
		EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_STRESSED)
			TH_LOG("step %u", step);
		EXPECT_LE(pt[0].target, start) TH_LOG("step %u", step);
	}
	/* with some stall of the period, or an allocation stall: stressed */
	holds(&pt[0], GIB, 2 * GIB);
	pt[0].in.resident = pt[0].target;
	pt[0].in.guest.flags |= KVMSHARE_METRICS_F_ACUTE;
	pt[0].in.guest.psi_some_ppm = p.stress_ppm / 4;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_EQ(KVMSHARE_POLICY_PPM / 4, pt[0].stress_ppm);
	holds(&pt[0], GIB, 2 * GIB);
	pt[0].in.resident = pt[0].target;
	pt[0].in.guest.flags |= KVMSHARE_METRICS_F_ACUTE;
	pt[0].in.guest.allocstalls = 1;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_STRESSED);
	/* without PSI the flag counts as before */
	holds(&pt[0], GIB, 2 * GIB);
	pt[0].in.resident = pt[0].target;
	pt[0].in.guest.flags = KVMSHARE_METRICS_F_ACUTE;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_STRESSED);
}

/*
 * A guest whose workload grows without stalling yet gets what it holds
 * plus headroom each step, before it runs short; it is not shrunk while
 * it grows, and keeps the memory once it stops growing.
 */
TEST(growing_guest_served_ahead)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t used = GIB / 4, peak;
	unsigned int step;

	part_init(&pt[0], GIB / 2, 4 * GIB, 100);
	holds(&pt[0], used, GIB / 2);
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_EQ(GIB / 2, pt[0].target);
	EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
	for (step = 0; step < 12; step++) {
		used += GIB / 4;
		/* the balloon lets the guest see its target */
		holds(&pt[0], used, pt[0].target > used ? pt[0].target : used);
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
		EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
		EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_STRESSED);
		EXPECT_GE(pt[0].target, used + used / 5 < 4 * GIB ?
			  used + used / 5 : 4 * GIB) TH_LOG("step %u", step);
	}
	peak = pt[0].target;
	EXPECT_EQ(4 * GIB, peak);
	/* it stops growing and keeps using it: nothing to shrink */
	for (step = 0; step < 20; step++) {
		holds(&pt[0], used > 4 * GIB ? 4 * GIB : used, 4 * GIB);
		pt[0].in.active = pt[0].in.resident;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
		EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
		EXPECT_EQ(peak, pt[0].target) TH_LOG("step %u", step);
	}
}

/*
 * The headroom of a growing guest comes from free memory only: under
 * contention it gets what it holds, and a stressed partition's need
 * comes first.
 */
TEST(growing_headroom_yields_to_stress)
{
	struct kvmshare_policy_params p = params(4 * GIB);
	struct kvmshare_policy_part pt[2];
	uint64_t used = GIB;
	unsigned int step;

	part_init(&pt[0], GIB / 2, 4 * GIB, 100);
	part_init(&pt[1], GIB / 2, 4 * GIB, 100);
	pt[0].target = GIB;
	pt[1].target = 2 * GIB;
	holds(&pt[0], used, used);	/* the first sample: a baseline */
	pt[1].in.resident = pt[1].target;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
	for (step = 0; step < 8; step++) {
		used += GIB / 8;
		holds(&pt[0], used, used);
		stall(&pt[1], 500000);
		pt[1].in.resident = pt[1].target;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
		ASSERT_LE(sum_targets(pt, 2), 4 * GIB);
		EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
		EXPECT_GE(pt[0].target, used) TH_LOG("step %u", step);
	}
	/* the stressed one has the rest, the grower no headroom */
	EXPECT_EQ(used, pt[0].target);
	EXPECT_EQ(4 * GIB - used, pt[1].target);
}

/*
 * Pages in a grower's swap that it does not read back are cold: under
 * contention it must have what it holds in memory plus headroom, not
 * them; once it swaps them in they count.
 */
TEST(growing_cold_swap_not_needed)
{
	struct kvmshare_policy_params p = params(3 * GIB);
	struct kvmshare_policy_part pt[2];
	unsigned int hot, step;

	for (hot = 0; hot < 2; hot++) {
		part_init(&pt[0], GIB / 2, 4 * GIB, 100);
		part_init(&pt[1], GIB / 2, 4 * GIB, 100);
		pt[0].target = GIB;
		pt[1].target = 2 * GIB;
		for (step = 0; step < 2; step++) {
			if (!step) {
				holds(&pt[0], 3 * GIB / 4, GIB);
			} else {
				/* all it has in use, 512 MiB in its swap */
				holds(&pt[0], GIB, GIB);
				pt[0].in.guest.swap_used = GIB / 2;
				pt[0].in.guest.swapins = hot;
			}
			stall(&pt[1], 500000);
			pt[1].in.resident = pt[1].target;
			pt[1].in.guest.swap_used = 4 * GIB;
			ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 2));
		}
		EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
		EXPECT_FALSE(pt[0].state & KVMSHARE_POLICY_S_STRESSED);
		EXPECT_EQ(3 * GIB, sum_targets(pt, 2));
		/* cold: 1 GiB + 25%; read back: 1.5 GiB, its equal share */
		EXPECT_EQ(hot ? 3 * GIB / 2 : 5 * GIB / 4, pt[0].target)
			TH_LOG("swap-ins %u", hot);
	}
}

/*
 * What a guest's kernel keeps for itself (its size less MemTotal, known
 * with a balloon) is part of what it holds: a growing guest with 820 MiB
 * in use, 64 MiB kept by its kernel and 1 GiB in all needs more than its
 * 1 GiB now (820 MiB + 25% is within the deadband).
 */
TEST(growing_counts_guest_kernel)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t mib = GIB / 1024;
	struct kvmshare_metrics_sample *g = &pt[0].in.guest;

	part_init(&pt[0], GIB, 4 * GIB, 100);
	pt[0].target = GIB;
	holds(&pt[0], 600 * mib, GIB - 64 * mib);
	g->flags |= KVMSHARE_METRICS_F_BALLOON;
	g->balloon = 3 * GIB;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_EQ(GIB, pt[0].target);
	holds(&pt[0], 820 * mib, GIB - 64 * mib);
	g->flags |= KVMSHARE_METRICS_F_BALLOON;
	g->balloon = 3 * GIB;
	ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	EXPECT_TRUE(pt[0].state & KVMSHARE_POLICY_S_GROWING);
	/* (820 + 64) MiB + 25% */
	EXPECT_EQ(1105 * mib, pt[0].target);
}

/*
 * The host's sample calls active what was touched; a guest whose balloon
 * takes pages touches them on the way (zeroing). An idle partition needs
 * what its guest holds, not what was touched.
 */
TEST(idle_need_capped_by_guest)
{
	struct kvmshare_policy_params p = params(8 * GIB);
	struct kvmshare_policy_part pt[1];
	uint64_t mib = GIB / 1024;
	unsigned int step;

	p.reserve_ppt = 1000;	/* targets follow needs */
	part_init(&pt[0], GIB / 2, 4 * GIB, 100);
	pt[0].target = 2 * GIB;
	for (step = 0; step <= p.idle_periods + 1; step++) {
		holds(&pt[0], 600 * mib, 2 * GIB);
		pt[0].in.resident = 2 * GIB;
		pt[0].in.active = 2 * GIB;
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, 1));
	}
	EXPECT_EQ(750 * mib, pt[0].target);
}

/* Same inputs, same outputs. */
TEST(deterministic)
{
	struct kvmshare_policy_part a[NMAX], b[NMAX];
	struct kvmshare_policy_params p;
	unsigned int iter, i, n;
	struct trng r;

	trng_seed(&r, 5);
	for (iter = 0; iter < 2000; iter++) {
		n = (unsigned int)trng_range(&r, 1, NMAX);
		p = params(random_pool(&r, a, n, iter & 1));
		for (i = 0; i < n; i++)
			random_input(&r, &a[i]);
		memcpy(b, a, sizeof(a[0]) * n);
		ASSERT_EQ(0, kvmshare_policy_step(&p, a, n));
		ASSERT_EQ(0, kvmshare_policy_step(&p, b, n));
		ASSERT_EQ(0, memcmp(a, b, sizeof(a[0]) * n));
	}
}

/* The largest pool, partition count, limits and inputs: no overflow. */
TEST(extremes)
{
	static struct kvmshare_policy_part pt[KVMSHARE_POLICY_MAX_PARTS];
	struct kvmshare_policy_params p = params(KVMSHARE_POLICY_MAX_PAGES);
	unsigned int i, step;

	p.grow_gain_pct = KVMSHARE_POLICY_MAX_GAIN_PCT;
	p.refault_mult = KVMSHARE_POLICY_MAX_MULT;
	p.pagein_cost_us = KVMSHARE_POLICY_MAX_COST_US;
	p.period_ms = 1;
	for (i = 0; i < KVMSHARE_POLICY_MAX_PARTS; i++) {
		part_init(&pt[i], KVMSHARE_POLICY_MAX_PAGES / KVMSHARE_POLICY_MAX_PARTS,
			  KVMSHARE_POLICY_MAX_PAGES, KVMSHARE_POLICY_MAX_WEIGHT);
		stall(&pt[i], KVMSHARE_POLICY_PPM);
	}
	for (step = 0; step < 3; step++) {
		for (i = 0; i < KVMSHARE_POLICY_MAX_PARTS; i++) {
			pt[i].in.resident = UINT64_MAX;
			pt[i].in.active = UINT64_MAX;
			pt[i].in.pageins = UINT64_MAX;
			pt[i].in.paged_out = UINT64_MAX;
			pt[i].in.guest.refaults = UINT64_MAX >> 1;
			pt[i].in.guest.swapins = UINT64_MAX >> 1;
			pt[i].in.guest.swap_used = KVMSHARE_POLICY_MAX_PAGES;
			pt[i].in.guest.mem_total = KVMSHARE_POLICY_MAX_PAGES;
		}
		ASSERT_EQ(0, kvmshare_policy_step(&p, pt, KVMSHARE_POLICY_MAX_PARTS));
		ASSERT_EQ(KVMSHARE_POLICY_MAX_PAGES,
			  sum_targets(pt, KVMSHARE_POLICY_MAX_PARTS));
		for (i = 0; i < KVMSHARE_POLICY_MAX_PARTS; i++)
			ASSERT_EQ(KVMSHARE_POLICY_MAX_PAGES / KVMSHARE_POLICY_MAX_PARTS,
				  pt[i].target);
	}
}

TEST_HARNESS_MAIN
