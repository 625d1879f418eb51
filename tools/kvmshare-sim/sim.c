// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: the workload model and the controllers.
 *
 * One step per policy period. Each guest has a hot working set W and cold
 * used memory C (from the trace), a balloon B that follows the host's
 * target T after balloon_delay periods at balloon_rate pages per period,
 * and so G = size - B usable pages. The host holds `res` of its pages.
 *
 *  - guest squeeze: W + C > G pushes pages to the guest's swap (I/O once,
 *    an allocation stall); G < oom_floor_pct % of W is an OOM kill, which
 *    costs oom_recover periods of lost work;
 *  - guest thrash: W > G misses W - G hot pages, touch_ppm of them per
 *    period, each a swap-in and a swap-out costing guest_fault_us;
 *  - host: pages come from the pool's free memory up to min(T, what the
 *    guest uses); a guest over its target for more than `grace` periods is
 *    paged out by the host (I/O); hot pages missing on the host fault at
 *    touch_ppm per period, costing host_fault_us (and I/O if they had been
 *    paged out).
 *
 * Stall of a period is capped at the period. The guest publishes its
 * metrics into a real struct kvmshare_metrics_page under the seqcount
 * protocol; the controllers read it through kvmshare_metrics_read().
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

const char *const sim_ctl_names[SIM_NR_CTL] = {
	[SIM_CTL_POLICY]	= "kvmshare",
	[SIM_CTL_STATIC]	= "static",
	[SIM_CTL_PROPSHARE]	= "propshare",
	[SIM_CTL_MOM]		= "mom",
	[SIM_CTL_ESX]		= "esx-idletax",
	[SIM_CTL_SENPAI]	= "senpai",
};

struct sim_vm {
	const struct sim_vm_cfg *cfg;
	uint64_t target;
	uint64_t balloon;
	uint64_t res;
	uint64_t gswapped;	/* pages in the guest's swap */
	uint64_t host_out;	/* pages the host paged out, still wanted */
	uint64_t want;		/* growth wanted this period */
	uint64_t used;		/* what the guest's workload holds: W + C */
	uint32_t over;		/* periods resident over target */
	uint64_t bhist[SIM_MAX_DELAY + 1];	/* balloon targets, [0] newest */
	uint32_t oom_left;
	uint64_t oom_ws;
	/* the guest's cumulative counters, as /proc would show them */
	uint64_t psi_some_us, psi_full_us;
	uint64_t refaults, swapins, swapouts, majflt, allocstalls, oom_kills;
	double avg_some, avg_full;
	uint32_t seq;
	struct kvmshare_metrics_page page;	/* shared with the host */
	/* what the host observed in the last period */
	uint64_t pageins;
	uint64_t active;
	struct kvmshare_metrics_reader reader;
	struct kvmshare_metrics_sample sample;
	uint64_t prev_target;
	int lastdir;
	/* baselines' state */
	double want_target;	/* this period's wish, before damping */
	double ema_fast, ema_slow;
	int ema_init;
	double sp_target;	/* senpai's own target, before the deadband */
	uint64_t floor;		/* deflated to after an OOM kill */
	uint32_t hold;		/* periods left without shrink */
};

struct sim {
	const struct sim_trace *t;
	const struct sim_model *m;
	enum sim_ctl ctl;
	uint64_t rng;
	struct sim_vm vm[SIM_MAX_VMS];
	struct kvmshare_policy_params params;
	struct kvmshare_policy_part part[SIM_MAX_VMS];
};

/**
 * sim_model_defaults - the model constants used by the shipped figures
 * @m: the model
 */
void sim_model_defaults(struct sim_model *m)
{
	m->period_ms = 1000;
	m->touch_ppm = 50000;		/* 5% of missing hot pages per period */
	m->guest_fault_us = 100;	/* swap-in from the guest's disk */
	m->host_fault_us = 200;		/* page-in from the paging service */
	m->balloon_rate = 1ULL << 18;	/* 1 GiB per period */
	m->balloon_delay = 1;
	m->grace = 2;
	m->oom_floor_pct = 60;
	m->oom_recover = 5;
	m->noise_ppt = 30;
	m->seed = 0;
	m->base_deadband_ppt = 62;	/* as our deadband_ppt */
	m->base_oom_ppt = 100;
	m->base_holdoff = 5;		/* as our holdoff_periods */
	m->senpai_psi_ppm = 1000;	/* senpai's 0.1% */
	m->senpai_step_ppt = 20;
	kvmshare_policy_defaults(&m->policy, 0);
	m->policy.period_ms = m->period_ms;
}

/**
 * sim_model_set - set a policy tunable or a model constant from "name=value"
 * @m: the model
 * @assignment: e.g. "reserve_ppt=100", "balloon_delay=3", "seed=7"
 *
 * Return: 0, or -1 for an unknown name.
 */
int sim_model_set(struct sim_model *m, const char *assignment)
{
	static const struct {
		const char *name;
		size_t off;
	} tun[] = {
#define SIM_TUNABLE(x) { #x, offsetof(struct kvmshare_policy_params, x) }
		SIM_TUNABLE(stress_ppm),
		SIM_TUNABLE(grow_gain_pct),
		SIM_TUNABLE(grow_min_ppt),
		SIM_TUNABLE(refault_mult),
		SIM_TUNABLE(headroom_ppt),
		SIM_TUNABLE(idle_periods),
		SIM_TUNABLE(shrink_ppt),
		SIM_TUNABLE(deadband_ppt),
		SIM_TUNABLE(holdoff_periods),
		SIM_TUNABLE(reserve_ppt),
		SIM_TUNABLE(pagein_cost_us),
		SIM_TUNABLE(wait_periods),
		SIM_TUNABLE(settle_periods),
#undef SIM_TUNABLE
	};
	static const struct {
		const char *name;
		size_t off;
	} mod[] = {
#define SIM_MODEL(x) { #x, offsetof(struct sim_model, x) }
		SIM_MODEL(balloon_delay),
		SIM_MODEL(noise_ppt),
		SIM_MODEL(base_deadband_ppt),
		SIM_MODEL(base_oom_ppt),
		SIM_MODEL(base_holdoff),
		SIM_MODEL(senpai_psi_ppm),
		SIM_MODEL(senpai_step_ppt),
#undef SIM_MODEL
	};
	const char *eq = strchr(assignment, '=');
	size_t i;

	if (!eq)
		return -1;
	if (!strncmp(assignment, "balloon_rate=", 13)) {
		m->balloon_rate = strtoull(eq + 1, NULL, 0);
		return m->balloon_rate ? 0 : -1;
	}
	if (!strncmp(assignment, "seed=", 5)) {
		m->seed = strtoull(eq + 1, NULL, 0);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(mod); i++) {
		if (strlen(mod[i].name) != (size_t)(eq - assignment) ||
		    strncmp(mod[i].name, assignment, eq - assignment))
			continue;
		*(uint32_t *)((char *)m + mod[i].off) =
			(uint32_t)strtoul(eq + 1, NULL, 0);
		if (m->balloon_delay > SIM_MAX_DELAY)
			return -1;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(tun); i++) {
		if (strlen(tun[i].name) != (size_t)(eq - assignment) ||
		    strncmp(tun[i].name, assignment, eq - assignment))
			continue;
		*(uint32_t *)((char *)&m->policy + tun[i].off) =
			(uint32_t)strtoul(eq + 1, NULL, 0);
		return 0;
	}
	return -1;
}

static uint64_t sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static uint64_t sim_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t sim_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * Max-min fair fill in floating point for the baselines: out[i] starts at
 * lo[i] and gets a share of the rest of @budget in proportion to w[i],
 * capped at hi[i].
 */
static void sim_fill(unsigned int n, const double *w, const double *lo,
		     const double *hi, double budget, double *out)
{
	int capped[SIM_MAX_VMS] = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		out[i] = lo[i];
		budget -= lo[i];
	}
	while (budget > 0.5) {
		double wsum = 0;
		int any = 0;

		for (i = 0; i < n; i++)
			if (!capped[i])
				wsum += w[i];
		if (wsum <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (capped[i] || out[i] + budget * w[i] / wsum < hi[i])
				continue;
			budget -= hi[i] - out[i];
			out[i] = hi[i];
			capped[i] = 1;
			any = 1;
		}
		if (any)
			continue;
		for (i = 0; i < n; i++)
			if (!capped[i])
				out[i] += budget * w[i] / wsum;
		break;
	}
}

/*
 * Baselines that hand out the whole pool by weights: from the floors
 * (entitlement, raised after an OOM kill; scaled down if they do not fit)
 * up to @cap (the limit if NULL), then what is left up to the limits.
 */
static void sim_fill_pool(struct sim *s, const double *w, const double *cap)
{
	double lo[SIM_MAX_VMS] = { 0 }, hi[SIM_MAX_VMS] = { 0 }, out[SIM_MAX_VMS];
	double ent = 0, sum = 0, pool = (double)s->t->pool;
	unsigned int i, n = s->t->nvm;

	for (i = 0; i < n; i++) {
		const struct sim_vm *v = &s->vm[i];

		lo[i] = (double)v->cfg->entitlement;
		ent += lo[i];
		if (v->floor > lo[i])
			lo[i] = (double)v->floor;
		sum += lo[i];
	}
	for (i = 0; sum > pool && i < n; i++) {
		double e = (double)s->vm[i].cfg->entitlement;

		lo[i] = e + (lo[i] - e) * (pool - ent) / (sum - ent);
	}
	for (i = 0; i < n; i++) {
		hi[i] = (double)s->vm[i].cfg->limit;
		if (cap && cap[i] < hi[i])
			hi[i] = cap[i] > lo[i] ? cap[i] : lo[i];
	}
	sim_fill(n, w, lo, hi, pool, out);
	if (cap) {
		double left = pool;

		for (i = 0; i < n; i++) {
			left -= out[i];
			lo[i] = out[i];
			hi[i] = (double)s->vm[i].cfg->limit;
		}
		if (left > 0.5)
			sim_fill(n, w, lo, hi, pool, out);
	}
	for (i = 0; i < n; i++)
		s->vm[i].want_target = out[i];
}

static void sim_ctl_static(struct sim *s)
{
	double w[SIM_MAX_VMS] = { 0 };
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++)
		w[i] = s->t->vm[i].weight;
	sim_fill_pool(s, w, NULL);
}

/*
 * What the guest says its workload holds, as our policy reads it: its
 * MemTotal - MemAvailable, its swap in use and what its kernel keeps
 * (size by the balloon less MemTotal); 0 without a usable sample.
 */
static double sim_guest_used(const struct sim_vm *v)
{
	const struct kvmshare_metrics_sample *g = &v->sample;
	double used, size;

	if (!g->valid)
		return 0;
	used = (double)(g->mem_total - g->mem_available + g->swap_used);
	size = (double)v->cfg->limit - (double)g->balloon;
	if ((g->flags & KVMSHARE_METRICS_F_BALLOON) && size > g->mem_total)
		used += size - (double)g->mem_total;
	return used;
}

/* Moving averages of an estimate: fast (1/2) and slow (1/8) per period. */
static double sim_ema(struct sim_vm *v, double x)
{
	if (!v->ema_init) {
		v->ema_fast = x;
		v->ema_slow = x;
		v->ema_init = 1;
	}
	v->ema_fast += (x - v->ema_fast) / 2;
	v->ema_slow += (x - v->ema_slow) / 8;
	/* quick to rise, slow to fall, as ESX's three estimates */
	if (v->ema_fast > x)
		x = v->ema_fast;
	if (v->ema_slow > x)
		x = v->ema_slow;
	return x;
}

/*
 * Proportional share: the pool in proportion to weight x demand. Demand
 * is what the guest's workload holds by its metrics page (as our policy
 * reads it, unmet demand in its swap included) or the host's sampled
 * active estimate when larger, plus pages the host paged out of it, plus
 * 10%; smoothed (quick up, slow down). Each VM first gets up to its
 * demand, then the rest of the pool goes by the same proportion.
 */
static void sim_ctl_propshare(struct sim *s)
{
	double w[SIM_MAX_VMS] = { 0 }, cap[SIM_MAX_VMS];
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		double d = sim_guest_used(v);

		if (d < (double)v->active)
			d = (double)v->active;
		d += (double)v->host_out;
		d = sim_ema(v, d * 1.1 + 1);
		if (d < v->cfg->entitlement)
			d = (double)v->cfg->entitlement;
		cap[i] = d;
		w[i] = s->t->vm[i].weight * d;
	}
	sim_fill_pool(s, w, cap);
}

/*
 * ESX: shares per page with an idle memory tax of 75%: a page the
 * sampler finds idle costs 1 / (1 - 0.75) = 4 times an active one, so
 * memory goes in proportion to weight / (f + 4 (1 - f)), f the active
 * fraction. The active estimate is the largest of the sample and its
 * slow and fast moving averages (ESX's three estimates). A VM first gets
 * up to its demand (active + 25%), then the rest goes by the same shares.
 */
static void sim_ctl_esx(struct sim *s)
{
	double w[SIM_MAX_VMS] = { 0 }, cap[SIM_MAX_VMS];
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		double a = sim_ema(v, (double)v->active);
		double f = v->res ? a / v->res : 1;

		if (f > 1)
			f = 1;
		w[i] = s->t->vm[i].weight / (f + 4 * (1 - f));
		cap[i] = a * 1.25 + 1;
	}
	sim_fill_pool(s, w, cap);
}

/*
 * oVirt MOM's balloon rule: when the host's free memory is under 20%,
 * shrink guests with more than 20% free by up to 5% of their size; when
 * it is not, grow guests with less than 20% free by 5% of their size.
 * MOM knows guests only through their agent (here the metrics page), and
 * its targets may add up to more than the pool: residency never does.
 */
static void sim_ctl_mom(struct sim *s)
{
	uint64_t used = 0, step;
	unsigned int i;
	int pressure;

	for (i = 0; i < s->t->nvm; i++)
		used += s->vm[i].res;
	pressure = s->t->pool - used < s->t->pool / 5;
	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		const struct kvmshare_metrics_sample *g = &v->sample;
		double tg = (double)v->target;
		uint64_t minfree;

		v->want_target = tg;
		if (!g->valid)
			continue;
		minfree = g->mem_total / 5;
		step = v->cfg->size / 20;
		if (pressure && g->mem_available > minfree)
			tg -= (double)sim_min(step, g->mem_available - minfree);
		else if (!pressure && g->mem_available < minfree)
			tg += (double)step;
		if (tg < (double)v->floor)
			tg = (double)v->floor;
		v->want_target = tg;
	}
}

/*
 * senpai (Facebook's PSI-driven sizing), per guest: below the pressure
 * target the guest gives back up to senpai_step_ppt of its target a
 * period, in proportion to how far below the target it is; above it, it
 * grows by its stall (at least 1.6% of its size, the least step our
 * policy takes). It steps from its own target, which the deadband does
 * not hold back (its steps are smaller than the deadband); what is
 * applied changes once that target is a deadband away. Pressure: the
 * guest's PSI "some", else the stall of the host's page-ins. Under
 * contention the growth is shared by weight.
 */
static void sim_ctl_senpai(struct sim *s)
{
	double w[SIM_MAX_VMS] = { 0 }, lo[SIM_MAX_VMS] = { 0 };
	double hi[SIM_MAX_VMS] = { 0 }, out[SIM_MAX_VMS], sum = 0;
	double tgt = s->m->senpai_psi_ppm;
	unsigned int i, n = s->t->nvm;

	for (i = 0; i < n; i++) {
		struct sim_vm *v = &s->vm[i];
		const struct kvmshare_metrics_sample *g = &v->sample;
		double cur = v->sp_target, p, d;

		if (cur <= 0)
			cur = (double)v->target;
		p = (double)v->pageins * s->m->host_fault_us * 1000.0 /
		    s->m->period_ms;
		if (g->valid && (g->flags & KVMSHARE_METRICS_F_PSI) &&
		    g->psi_some_ppm > p)
			p = g->psi_some_ppm;
		if (p > tgt) {
			double step = cur * p / 1e6;

			if (step < v->cfg->size * 0.016)
				step = v->cfg->size * 0.016;
			d = cur + step;
		} else {
			d = cur - cur * s->m->senpai_step_ppt / 1000.0 *
				  (1 - p / tgt);
		}
		if (d < (double)v->floor)
			d = (double)v->floor;
		if (d < (double)v->cfg->entitlement)
			d = (double)v->cfg->entitlement;
		if (d > (double)v->cfg->limit)
			d = (double)v->cfg->limit;
		lo[i] = (double)v->cfg->entitlement;
		hi[i] = d;
		w[i] = v->cfg->weight;
		out[i] = d;
		sum += d;
	}
	if (sum > (double)s->t->pool)
		sim_fill(n, w, lo, hi, (double)s->t->pool, out);
	for (i = 0; i < n; i++) {
		s->vm[i].want_target = out[i];
		s->vm[i].sp_target = out[i];
	}
}

/*
 * What every baseline does with its wish, as ours does: deflate on an
 * OOM kill (grow by base_oom_ppt of the size and shrink no more for
 * base_holdoff periods), and no change inside the deadband. Growth that
 * the deadband's kept targets leave no room for is cut so that targets
 * fit the pool (MOM's may over-commit, as before).
 */
static void sim_base_damp(struct sim *s)
{
	double tg[SIM_MAX_VMS], sum = 0, grow = 0, pool = (double)s->t->pool;
	unsigned int i, n = s->t->nvm;

	for (i = 0; i < n; i++) {
		struct sim_vm *v = &s->vm[i];
		double cur = (double)v->target, d = v->want_target;

		if (v->hold && d < cur)
			d = cur;
		if (fabs(d - cur) < cur * s->m->base_deadband_ppt / 1000.0)
			d = cur;
		tg[i] = d;
		sum += d;
		if (d > cur)
			grow += d - cur;
	}
	if (s->ctl != SIM_CTL_MOM && sum > pool) {
		for (i = 0; i < n; i++) {
			double cur = (double)s->vm[i].target;

			if (grow >= sum - pool && tg[i] > cur)
				tg[i] -= (tg[i] - cur) * (sum - pool) / grow;
			else if (grow < sum - pool)
				tg[i] = s->vm[i].want_target;
		}
	}
	for (i = 0; i < n; i++) {
		struct sim_vm *v = &s->vm[i];
		uint64_t t = (uint64_t)tg[i];

		if (t < v->cfg->entitlement)
			t = v->cfg->entitlement;
		if (t > v->cfg->limit)
			t = v->cfg->limit;
		v->target = t;
	}
}

/* Deflate-on-OOM bookkeeping of the baselines, before they decide. */
static void sim_base_oom(struct sim *s)
{
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		const struct kvmshare_metrics_sample *g = &v->sample;

		if (g->valid && g->oom_kills) {
			v->floor = sim_min(v->cfg->limit, v->target +
					   v->cfg->size * s->m->base_oom_ppt /
					   1000);
			v->hold = s->m->base_holdoff;
		} else if (v->hold && !--v->hold) {
			v->floor = 0;
		}
	}
}

static void sim_ctl_policy(struct sim *s)
{
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++) {
		struct kvmshare_policy_part *p = &s->part[i];
		struct sim_vm *v = &s->vm[i];

		p->in.resident = v->res;
		p->in.active = v->active;
		p->in.pageins = v->pageins;
		p->in.paged_out = v->host_out;
		p->in.guest = v->sample;
	}
	if (kvmshare_policy_step(&s->params, s->part, s->t->nvm)) {
		fprintf(stderr, "kvmshare_policy_step: invalid parameters\n");
		abort();
	}
	for (i = 0; i < s->t->nvm; i++)
		s->vm[i].target = s->part[i].target;
}

/* The guest's side of the seqcount protocol, or its misbehaviour. */
static void sim_publish(struct sim *s, struct sim_vm *v, uint32_t t)
{
	struct kvmshare_metrics_page *p = &v->page;
	const struct sim_vm_cfg *c = v->cfg;
	uint64_t g = c->size - v->balloon;
	unsigned int i;

	switch (c->guest) {
	case SIM_GUEST_SILENT:
		return;
	case SIM_GUEST_FROZEN:
		if (t >= c->frozen_at)
			return;
		break;
	case SIM_GUEST_GARBAGE:
		if (sim_rand(s) & 1) {
			uint64_t *w = (uint64_t *)p;

			for (i = 0; i < sizeof(*p) / sizeof(*w); i++)
				w[i] = sim_rand(s);
			return;
		}
		p->magic = KVMSHARE_METRICS_MAGIC;
		p->version = KVMSHARE_METRICS_VERSION;
		p->size = sizeof(*p);
		memset(p->reserved, 0, sizeof(p->reserved));
		p->seq = (uint32_t)sim_rand(s) & ~1U;
		p->flags = (uint32_t)sim_rand(s);
		p->psi_some_avg10 = (uint32_t)sim_rand(s);
		p->psi_full_avg10 = (uint32_t)sim_rand(s);
		p->psi_some_total_us = sim_rand(s);
		p->psi_full_total_us = sim_rand(s);
		p->mem_total_kb = sim_rand(s);
		p->mem_available_kb = sim_rand(s);
		p->refault_total = sim_rand(s);
		p->swapin_total = sim_rand(s);
		p->swapout_total = sim_rand(s);
		p->majfault_total = sim_rand(s);
		p->allocstall_total = sim_rand(s);
		p->oom_kill_total = sim_rand(s);
		p->balloon_kb = sim_rand(s);
		return;
	default:
		break;
	}

	v->seq++;	/* odd: update in progress */
	p->seq = v->seq;
	if (c->guest == SIM_GUEST_BUSY)
		return;	/* the host always finds it mid-update */
	p->magic = KVMSHARE_METRICS_MAGIC;
	p->version = KVMSHARE_METRICS_VERSION;
	p->size = sizeof(*p);
	p->flags = KVMSHARE_METRICS_F_PSI | KVMSHARE_METRICS_F_BALLOON;
	if (v->avg_full > 0.10 || v->oom_left)
		p->flags |= KVMSHARE_METRICS_F_ACUTE;
	p->interval_ms = 100;
	p->psi_some_avg10 = (uint32_t)(v->avg_some * KVMSHARE_METRICS_PSI_SCALE);
	p->psi_full_avg10 = (uint32_t)(v->avg_full * KVMSHARE_METRICS_PSI_SCALE);
	p->psi_some_total_us = v->psi_some_us;
	p->psi_full_total_us = v->psi_full_us;
	p->mem_total_kb = g * SIM_PAGE_KB;
	p->mem_available_kb = sim_sub(g, v->used) * SIM_PAGE_KB;
	p->refault_total = v->refaults;
	p->swapin_total = v->swapins;
	p->swapout_total = v->swapouts;
	p->majfault_total = v->majflt;
	p->allocstall_total = v->allocstalls;
	p->oom_kill_total = v->oom_kills;
	p->balloon_kb = v->balloon * SIM_PAGE_KB;
	p->swap_used_kb = v->gswapped * SIM_PAGE_KB;
	p->update_count++;
	v->seq++;	/* even: done */
	p->seq = v->seq;
}

static void sim_setup(struct sim *s, const struct sim_trace *t,
		      const struct sim_model *m, enum sim_ctl ctl)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->m = m;
	s->ctl = ctl;
	s->rng = 0x9e3779b97f4a7c15ULL ^ t->pool ^ t->periods ^
		 (m->seed * 0xbf58476d1ce4e5b9ULL);
	if (!s->rng)
		s->rng = 1;
	s->params = m->policy;
	s->params.pool_pages = t->pool;
	for (i = 0; i < t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];

		v->cfg = &t->vm[i];
		v->reader.max_pages = t->vm[i].size;
		v->reader.period_us = m->period_ms * 1000;
		v->reader.stale_periods = 5;
		s->part[i].entitlement = t->vm[i].entitlement;
		s->part[i].limit = t->vm[i].limit;
		s->part[i].weight = t->vm[i].weight;
	}
	/*
	 * Every VM boots with the static split (its balloon set so), and then
	 * the controller takes over: the same start for every controller. Our
	 * policy's engine starts from that target as it starts in the kernel
	 * from what a partition holds.
	 */
	sim_ctl_static(s);
	for (i = 0; i < t->nvm; i++) {
		s->vm[i].target = (uint64_t)s->vm[i].want_target;
		s->part[i].target = s->vm[i].target;
	}
}

/* Host residency for one period: shrink, evict over target, then grow. */
static void sim_host(struct sim *s, const uint64_t *gdemand,
		     struct sim_result *r)
{
	const struct sim_trace *t = s->t;
	uint64_t used = 0, free, wants = 0;
	unsigned int i;

	for (i = 0; i < t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];

		if (v->res > gdemand[i])
			v->res = gdemand[i];	/* freed or ballooned */
		if (v->res > v->target) {
			if (++v->over > s->m->grace) {
				uint64_t evict = v->res - v->target;

				r->io_evict += (double)evict;
				v->host_out += evict;
				v->res = v->target;
				v->over = 0;
			}
		} else {
			v->over = 0;
		}
		v->host_out = sim_min(v->host_out, gdemand[i] - v->res);
		used += v->res;
	}
	free = sim_sub(t->pool, used);
	for (i = 0; i < t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];

		v->want = sim_sub(sim_min(gdemand[i], v->target), v->res);
		wants += v->want;
	}
	for (i = 0; i < t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		uint64_t grant = v->want, back;

		if (wants > free)
			grant = (uint64_t)((double)v->want * free / wants);
		/* pages the host had paged out come back with I/O */
		back = sim_min(grant, v->host_out);
		v->host_out -= back;
		v->pageins += back;
		r->io_restore += (double)back;
		v->res += grant;
	}
}

/* One period of every guest; returns the stall in us and adds up I/O. */
static double sim_period(struct sim *s, uint32_t t, uint32_t ph,
			 struct sim_result *r)
{
	const struct sim_model *m = s->m;
	uint64_t gdemand[SIM_MAX_VMS], ws[SIM_MAX_VMS];
	double period_us = m->period_ms * 1000.0, stall = 0;
	double decay = exp(-(double)m->period_ms / 10000.0);
	unsigned int i, d;

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		const struct sim_vm_cfg *c = v->cfg;
		uint64_t w = s->t->phase[ph].ws[i];
		uint64_t cold = s->t->phase[ph].cold[i], g, swapped;
		int inflated;

		if (v->oom_left) {
			w = sim_min(w, v->oom_ws);
			cold = 0;
		}
		/* the balloon follows the target of balloon_delay ago */
		for (d = SIM_MAX_DELAY; d > 0; d--)
			v->bhist[d] = v->bhist[d - 1];
		v->bhist[0] = c->size - v->target;
		if (t == 0) {
			for (d = 0; d <= SIM_MAX_DELAY; d++)
				v->bhist[d] = v->bhist[0];
			v->balloon = v->bhist[0];
		}
		d = m->balloon_delay;
		inflated = v->bhist[d] > v->balloon;
		if (inflated)
			v->balloon += sim_min(m->balloon_rate,
					      v->bhist[d] - v->balloon);
		else
			v->balloon -= sim_min(m->balloon_rate,
					      v->balloon - v->bhist[d]);
		g = c->size - v->balloon;

		/* squeeze: pages pushed to the guest's swap */
		swapped = sim_sub(w + cold, g);
		if (t == 0)
			v->gswapped = swapped;	/* booted with that much */
		if (swapped > v->gswapped) {
			v->swapouts += swapped - v->gswapped;
			r->io_squeeze += (double)(swapped - v->gswapped);
			v->allocstalls += 1 + (swapped - v->gswapped) / 4096;
		}
		v->gswapped = swapped;
		/* the balloon, not the workload, drives a guest to OOM */
		if (inflated && !v->oom_left &&
		    g * 100 < w * m->oom_floor_pct) {
			v->oom_kills++;
			v->oom_left = m->oom_recover;
			v->oom_ws = g / 2;
			w = v->oom_ws;
		}
		ws[i] = w;
		v->used = w + cold;
		gdemand[i] = sim_min(w + cold, g);
	}

	sim_host(s, gdemand, r);

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		uint64_t g = v->cfg->size - v->balloon, w = ws[i];
		double gmiss = (double)sim_sub(w, g) * m->touch_ppm / 1e6;
		double hmiss = (double)sim_sub(sim_min(w, g), v->res) *
			       m->touch_ppm / 1e6;
		double gst = gmiss * m->guest_fault_us, hst;
		double noise;

		if (gst > period_us)
			gst = period_us;
		hst = hmiss * m->host_fault_us;
		if (gst + hst > period_us)
			hst = period_us - gst;
		stall += gst + hst;
		if (v->oom_left) {
			stall += period_us;	/* lost work */
			v->oom_left--;
		}
		/* thrash: every miss is a page in and a page out */
		r->io_guest += 2 * gmiss;
		r->io_host += 2 * sim_min(hmiss, (double)v->host_out *
					  m->touch_ppm / 1e6);
		v->pageins += (uint64_t)hmiss;

		v->refaults += (uint64_t)gmiss;
		v->swapins += (uint64_t)gmiss;
		v->swapouts += (uint64_t)gmiss;
		v->majflt += (uint64_t)gmiss;
		v->psi_some_us += (uint64_t)gst;
		v->psi_full_us += (uint64_t)(gst / 2);
		v->avg_some = v->avg_some * decay + gst / period_us * (1 - decay);
		v->avg_full = v->avg_full * decay +
			      gst / 2 / period_us * (1 - decay);

		noise = 1 + ((double)(sim_rand(s) % 2001) - 1000) / 1000 *
			    m->noise_ppt / 1000;
		v->active = (uint64_t)(sim_min(w, v->res) * noise);
		if (v->active > v->res)
			v->active = v->res;
		sim_publish(s, v, t);
	}
	return stall;
}

/* The controller reads every guest's page and sets the targets. */
static void sim_control(struct sim *s, struct sim_result *r)
{
	unsigned int i;

	for (i = 0; i < s->t->nvm; i++) {
		struct sim_vm *v = &s->vm[i];
		struct kvmshare_metrics_page copy;
		uint32_t end;

		end = kvmshare_metrics_snapshot(&v->page, &copy);
		if (kvmshare_metrics_read(&v->reader, &copy, end, &v->sample) !=
		    KVMSHARE_METRICS_OK)
			r->metrics_bad++;
	}
	if (s->ctl != SIM_CTL_POLICY)
		sim_base_oom(s);
	switch (s->ctl) {
	case SIM_CTL_POLICY:
		sim_ctl_policy(s);
		break;
	case SIM_CTL_STATIC:
		sim_ctl_static(s);
		break;
	case SIM_CTL_PROPSHARE:
		sim_ctl_propshare(s);
		break;
	case SIM_CTL_MOM:
		sim_ctl_mom(s);
		break;
	case SIM_CTL_SENPAI:
		sim_ctl_senpai(s);
		break;
	default:
		sim_ctl_esx(s);
		break;
	}
	if (s->ctl != SIM_CTL_POLICY)
		sim_base_damp(s);
	for (i = 0; i < s->t->nvm; i++)
		s->vm[i].pageins = 0;
}

/*
 * Convergence after each phase change: periods until every target stays
 * within max(5% of its final value, 1/64 of its limit) of the value it has
 * at the end of the phase. Phases shorter than 8 periods are spikes and
 * are not measured.
 */
static void sim_converge(const struct sim_trace *t, const uint64_t *tg,
			 struct sim_result *r)
{
	uint32_t start = 0, ph;

	for (ph = 0; ph < t->nphase; start += t->phase[ph].len, ph++) {
		uint32_t len = t->phase[ph].len, end = start + len - 1, k = 0;
		uint32_t at, i;

		if (!ph || len < 8 || r->nconv == SIM_MAX_PHASES)
			continue;
		for (at = start; at <= end; at++)
			for (i = 0; i < t->nvm; i++) {
				uint64_t fin = tg[(uint64_t)end * t->nvm + i];
				uint64_t cur = tg[(uint64_t)at * t->nvm + i];
				uint64_t tol = fin / 20;

				if (tol < t->vm[i].limit / 64)
					tol = t->vm[i].limit / 64;
				if (cur > fin + tol || cur + tol < fin)
					k = at - start + 1;
			}
		r->conv[r->nconv++] = k;
	}
}

/**
 * sim_run - replay a trace under one controller
 * @t: the trace
 * @m: model constants
 * @ctl: the controller
 * @r: results
 * @log: per-period log (one line per period), or NULL
 *
 * Return: 0, or -1 if memory for the run cannot be had.
 */
int sim_run(const struct sim_trace *t, const struct sim_model *m,
	    enum sim_ctl ctl, struct sim_result *r, FILE *log)
{
	uint64_t *tg = calloc((size_t)t->periods * t->nvm, sizeof(*tg));
	uint32_t period = 0, ph, k, i;
	struct sim *s = malloc(sizeof(*s));
	double stall = 0;

	memset(r, 0, sizeof(*r));
	if (!tg || !s) {
		free(tg);
		free(s);
		return -1;
	}
	sim_setup(s, t, m, ctl);
	for (ph = 0; ph < t->nphase; ph++) {
		for (k = 0; k < t->phase[ph].len; k++, period++) {
			uint64_t sum = 0, rsum = 0;

			sim_control(s, r);
			for (i = 0; i < t->nvm; i++) {
				struct sim_vm *v = &s->vm[i];
				int dir;

				tg[(uint64_t)period * t->nvm + i] = v->target;
				sum += v->target;
				if (v->target < v->cfg->entitlement)
					r->viol_entitlement++;
				if (v->target > v->cfg->limit)
					r->viol_limit++;
				dir = v->target > v->prev_target ? 1 :
				      v->target < v->prev_target ? -1 : 0;
				if (period && dir) {
					if (v->lastdir && dir != v->lastdir)
						r->reversals++;
					v->lastdir = dir;
				}
				v->prev_target = v->target;
			}
			if (sum > t->pool)
				r->viol_pool++;
			stall += sim_period(s, period, ph, r);
			for (i = 0; i < t->nvm; i++)
				rsum += s->vm[i].res;
			if (rsum > t->pool)
				r->viol_resident++;
			if (log) {
				fprintf(log, "%4u", period);
				for (i = 0; i < t->nvm; i++)
					fprintf(log, " %s:T=%llu,R=%llu,B=%llu,W=%llu,s=%u,o=%u",
						t->vm[i].name,
						(unsigned long long)s->vm[i].target,
						(unsigned long long)s->vm[i].res,
						(unsigned long long)s->vm[i].balloon,
						(unsigned long long)t->phase[ph].ws[i],
						s->part[i].stress_ppm,
						s->vm[i].oom_left);
				fprintf(log, "\n");
			}
		}
	}
	for (i = 0; i < t->nvm; i++)
		r->oom_kills += s->vm[i].oom_kills;
	sim_converge(t, tg, r);
	r->stall_s = stall / 1e6;
	r->paging_pages = r->io_squeeze + r->io_guest + r->io_evict +
			  r->io_restore + r->io_host;
	free(tg);
	free(s);
	return 0;
}
