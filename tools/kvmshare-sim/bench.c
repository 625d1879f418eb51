// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: the robust bench (Documentation/design/policy.rst,
 * "Robust bench").
 *
 * For every point of a sweep of the model (balloon rate, balloon delay,
 * estimate noise: one axis at a time, or with --grid all 27 combinations),
 * every family of traces (the generated ones and the shipped traces) and
 * every seed of two disjoint sets (tuning, held out; the held-out families
 * mixed and shift only the held-out seeds, --tuning neither of them):
 * replay the family's traces of that seed under every controller, and take
 * per baseline the geometric mean over the traces of our figure divided by
 * the baseline's (each with a small floor, so that two near-zero figures
 * compare as equal). The best baseline of a seed is the one against which
 * that mean is largest. Reported: median and interquartile range over the
 * seeds, and the goals checked at the median of every sweep point.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define BENCH_MAX_SEEDS		64
#define BENCH_SPLITS		2
#define BENCH_MAX_CONVS		65536
#define BENCH_MAX_TRACES	64

/* The axes of the sweep; index 1 of each is the default model. */
static const uint64_t sweep_rate[3] = { 1ULL << 16, 1ULL << 18, 1ULL << 20 };
static const char *const sweep_rate_name[3] = { "256M", "1G", "4G" };
static const uint32_t sweep_delay[3] = { 0, 1, 4 };
static const uint32_t sweep_noise[3] = { 0, 30, 200 };

static void sweep_point(struct sim_sweep *p, unsigned int r, unsigned int d,
			unsigned int n, const char *name)
{
	p->balloon_rate = sweep_rate[r];
	p->balloon_delay = sweep_delay[d];
	p->noise_ppt = sweep_noise[n];
	if (name)
		snprintf(p->name, sizeof(p->name), "%s", name);
	else
		snprintf(p->name, sizeof(p->name), "r%s-d%u-n%u",
			 sweep_rate_name[r], sweep_delay[d], sweep_noise[n]);
}

/**
 * sim_sweep_build - the points of the bench's sweep
 * @grid: the full grid (27 points) instead of one axis at a time (7)
 * @sw: SIM_MAX_SWEEP points to fill
 *
 * Return: the number of points; the first is the default model.
 */
unsigned int sim_sweep_build(int grid, struct sim_sweep *sw)
{
	unsigned int r, d, n, k = 0;

	if (!grid) {
		sweep_point(&sw[k++], 1, 1, 1, "default");
		sweep_point(&sw[k++], 0, 1, 1, "rate-256M");
		sweep_point(&sw[k++], 2, 1, 1, "rate-4G");
		sweep_point(&sw[k++], 1, 0, 1, "delay-0");
		sweep_point(&sw[k++], 1, 2, 1, "delay-4");
		sweep_point(&sw[k++], 1, 1, 0, "noise-0");
		sweep_point(&sw[k++], 1, 1, 2, "noise-200");
		return k;
	}
	sweep_point(&sw[k++], 1, 1, 1, "default");
	for (r = 0; r < 3; r++)
		for (d = 0; d < 3; d++)
			for (n = 0; n < 3; n++)
				if (r != 1 || d != 1 || n != 1)
					sweep_point(&sw[k++], r, d, n, NULL);
	return k;
}

static const char *const split_names[BENCH_SPLITS] = { "tune", "held" };

/* Seeds: the tuning set is 1..n, the held-out set 1000001..1000000+n. */
static uint64_t bench_seed(unsigned int split, unsigned int k)
{
	return (split ? 1000001ULL : 1ULL) + k;
}

/*
 * Which seed sets run for a family: a held-out family only the held-out
 * set; with --tuning only the tuning set of the other families.
 */
static int bench_split_runs(unsigned int fam, unsigned int split,
			    const struct sim_bench_opts *o)
{
	int held_fam = fam < SIM_NR_FAMILY && sim_family_held[fam];

	if (o->tuning)
		return !held_fam && !split;
	return !held_fam || split;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q (0..1) of n values, linear between neighbours; sorts v. */
static double quantile(double *v, unsigned int n, double q)
{
	double pos;
	unsigned int lo;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	pos = q * (n - 1);
	lo = (unsigned int)pos;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (v[lo + 1] - v[lo]) * (pos - lo);
}

struct bench_cell {
	unsigned int n;
	double stall[BENCH_MAX_SEEDS];
	double paging[BENCH_MAX_SEEDS];
	double oom[BENCH_MAX_SEEDS];	/* our OOM kills less static's */
	unsigned int best_stall[SIM_NR_CTL];	/* seeds a baseline was best */
	unsigned int best_paging[SIM_NR_CTL];
	/* every controller against the best of the baselines but itself */
	double league[SIM_NR_CTL][2][BENCH_MAX_SEEDS];
};

struct bench_state {
	struct sim_trace trace;
	struct sim_sweep sweep[SIM_MAX_SWEEP];
	unsigned int nsweep;
	struct bench_cell cell[SIM_MAX_SWEEP][SIM_BENCH_FAMILIES][BENCH_SPLITS];
	uint32_t conv[BENCH_SPLITS][BENCH_MAX_CONVS];
	uint32_t nconv[BENCH_SPLITS];
	uint32_t fconv[SIM_BENCH_FAMILIES][BENCH_MAX_CONVS];
	uint32_t nfconv[SIM_BENCH_FAMILIES];
	uint64_t violations;
};

/* One seed of one family at one sweep point: the per-seed figures. */
static int bench_seed_run(struct bench_state *st, const struct sim_model *m,
			  unsigned int fam, unsigned int split, uint64_t seed,
			  char *const *paths, unsigned int npaths,
			  unsigned int per_seed, struct bench_cell *cell)
{
	static double lg[SIM_NR_CTL][2][BENCH_MAX_TRACES];
	double lsum[SIM_NR_CTL][2] = { { 0 } };
	unsigned int ntr = fam == SIM_FAM_SHIPPED ? npaths : per_seed, k, c;
	unsigned int b, x;
	uint64_t oom[SIM_NR_CTL] = { 0 };
	struct sim_model mm = *m;
	double ws = -1, wp = -1;
	int bs = SIM_CTL_STATIC, bp = SIM_CTL_STATIC;
	char err[256];

	mm.seed = seed;
	if (ntr > BENCH_MAX_TRACES)
		return -1;
	for (k = 0; k < ntr; k++) {
		struct sim_trace *t = &st->trace;
		double fs, fp, our_s = 0, our_p = 0, size = 0;
		unsigned int i;

		if (fam == SIM_FAM_SHIPPED) {
			if (sim_trace_load(t, paths[k], err, sizeof(err)))
				return -1;
		} else if (sim_trace_gen(t, fam, seed * 16 + k)) {
			return -1;
		}
		for (i = 0; i < t->nvm; i++)
			size += (double)t->vm[i].size;
		/* floors: 0.1% of the VM time stalled, 1% of RAM paged */
		fs = 0.001 * t->periods * t->nvm * m->period_ms / 1000.0;
		fp = 0.01 * size;
		for (c = 0; c < SIM_NR_CTL; c++) {
			struct sim_result r;

			if (sim_run(t, &mm, c, &r, NULL))
				return -1;
			st->violations += sim_result_violations(&r, c);
			oom[c] += r.oom_kills;
			lg[c][0][k] = log(r.stall_s + fs);
			lg[c][1][k] = log(r.paging_pages + fp);
			if (c == SIM_CTL_POLICY) {
				our_s = r.stall_s;
				our_p = r.paging_pages;
				for (i = 0; i < r.nconv; i++) {
					if (st->nconv[split] < BENCH_MAX_CONVS)
						st->conv[split][st->nconv[split]++] =
							r.conv[i];
					if (st->nfconv[fam] < BENCH_MAX_CONVS)
						st->fconv[fam][st->nfconv[fam]++] =
							r.conv[i];
				}
				continue;
			}
			lsum[c][0] += log((our_s + fs) / (r.stall_s + fs));
			lsum[c][1] += log((our_p + fp) / (r.paging_pages + fp));
		}
	}
	for (c = SIM_CTL_POLICY + 1; c < SIM_NR_CTL; c++) {
		double s = exp(lsum[c][0] / ntr), p = exp(lsum[c][1] / ntr);

		if (s > ws) {
			ws = s;
			bs = c;
		}
		if (p > wp) {
			wp = p;
			bp = c;
		}
	}
	/*
	 * The league: each controller's figure by the same rule against the
	 * baselines other than itself (ours: the figures above). Could any
	 * controller meet the goals against the others?
	 */
	for (c = 0; c < SIM_NR_CTL; c++) {
		for (x = 0; x < 2; x++) {
			double worst = -1;

			for (b = SIM_CTL_POLICY + 1; b < SIM_NR_CTL; b++) {
				double l = 0;

				if (b == c)
					continue;
				for (k = 0; k < ntr; k++)
					l += lg[c][x][k] - lg[b][x][k];
				if (exp(l / ntr) > worst)
					worst = exp(l / ntr);
			}
			cell->league[c][x][cell->n] = worst;
		}
	}
	cell->stall[cell->n] = ws;
	cell->paging[cell->n] = wp;
	cell->oom[cell->n] = (double)oom[SIM_CTL_POLICY] -
			     (double)oom[SIM_CTL_STATIC];
	cell->best_stall[bs]++;
	cell->best_paging[bp]++;
	cell->n++;
	return 0;
}

static unsigned int mode_of(const unsigned int *cnt)
{
	unsigned int c, best = SIM_CTL_STATIC;

	for (c = SIM_CTL_POLICY + 1; c < SIM_NR_CTL; c++)
		if (cnt[c] > cnt[best])
			best = c;
	return best;
}

static const char *bench_family_name(unsigned int fam)
{
	return fam == SIM_FAM_SHIPPED ? "shipped" : sim_family_names[fam];
}

static uint32_t conv_p90(uint32_t *v, uint32_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
}

static void bench_goal(FILE *f, const char *prefix, const char *name,
		       double v, const char *op, double goal,
		       struct sim_bench_summary *sum)
{
	int ok = !strcmp(op, "<=") ? v <= goal : v >= goal;

	fprintf(f, "%s%s %.3f (goal %s %g)%s\n", prefix, name, v, op, goal,
		ok ? "" : " MISSED");
	sum->goals++;
	sum->met += ok;
}

/*
 * The league at the default point: for every controller, the median over
 * the seeds of its stall and paging against the best of the baselines but
 * itself, by the rule of our figures. No goal: it tells whether any
 * controller meets the goals against the others.
 */
static void bench_league(struct bench_state *st, FILE *f, unsigned int npaths,
			 const struct sim_bench_opts *o)
{
	double tmp[BENCH_MAX_SEEDS];
	unsigned int fam, split, c, x;

	fprintf(f, "# league at %s: median over the seeds of each controller's stall/paging\n"
		"# against the best of the baselines but itself\n",
		st->sweep[0].name);
	for (fam = 0; fam < SIM_BENCH_FAMILIES; fam++) {
		for (split = 0; split < BENCH_SPLITS; split++) {
			struct bench_cell *cell = &st->cell[0][fam][split];

			if ((fam == SIM_FAM_SHIPPED && !npaths) ||
			    !bench_split_runs(fam, split, o) || !cell->n)
				continue;
			fprintf(f, "# league %-10s %-4s", bench_family_name(fam),
				split_names[split]);
			for (c = 0; c < SIM_NR_CTL; c++) {
				double med[2];

				for (x = 0; x < 2; x++) {
					memcpy(tmp, cell->league[c][x],
					       cell->n * sizeof(*tmp));
					med[x] = quantile(tmp, cell->n, 0.5);
				}
				fprintf(f, " %s %.2f/%.2f", sim_ctl_names[c],
					med[0], med[1]);
			}
			fprintf(f, "\n");
		}
	}
}

/**
 * sim_bench_families - the robust bench
 * @m: the model (the sweep changes balloon rate, delay and noise)
 * @o: seeds per set (tuning, held out; at most 64), generated traces per
 *	family and seed, the full grid or not, tuning only or not
 * @paths: the shipped traces (a family of their own), @npaths of them
 * @npaths: how many
 * @f: where the tables and bench lines go
 * @prefix: before each bench line ("bench: ")
 * @sum: goals met
 *
 * Return: 0, or -1 if a trace cannot be had or a run fails.
 */
int sim_bench_families(const struct sim_model *m,
		       const struct sim_bench_opts *o, char *const *paths,
		       unsigned int npaths, FILE *f, const char *prefix,
		       struct sim_bench_summary *sum)
{
	static struct bench_state st;
	unsigned int sw, fam, split, k, nseeds = o->nseeds;
	double tmp[BENCH_MAX_SEEDS];
	char name[128];

	memset(&st, 0, sizeof(st));
	memset(sum, 0, sizeof(*sum));
	if (nseeds > BENCH_MAX_SEEDS)
		nseeds = BENCH_MAX_SEEDS;
	st.nsweep = sim_sweep_build(o->grid, st.sweep);
	for (sw = 0; sw < st.nsweep; sw++) {
		struct sim_model mm = *m;

		mm.balloon_rate = st.sweep[sw].balloon_rate;
		mm.balloon_delay = st.sweep[sw].balloon_delay;
		mm.noise_ppt = st.sweep[sw].noise_ppt;
		for (fam = 0; fam < SIM_BENCH_FAMILIES; fam++) {
			if (fam == SIM_FAM_SHIPPED && !npaths)
				continue;
			for (split = 0; split < BENCH_SPLITS; split++) {
				if (!bench_split_runs(fam, split, o))
					continue;
				for (k = 0; k < nseeds; k++)
					if (bench_seed_run(&st, &mm, fam, split,
							   bench_seed(split, k),
							   paths, npaths, o->per_seed,
							   &st.cell[sw][fam][split]))
						return -1;
			}
		}
	}

	fprintf(f, "# per family and seed set: median [IQR] over %u seeds of the geometric\n"
		"# mean of per-trace ratios to the best baseline; oom: our kills less static's\n",
		nseeds);
	fprintf(f, "# held-out families (never tuned on, held-out seeds only):");
	for (fam = 0; fam < SIM_NR_FAMILY; fam++)
		if (sim_family_held[fam])
			fprintf(f, " %s", sim_family_names[fam]);
	fprintf(f, "%s\n", o->tuning ? " (not run: --tuning)" : "");
	fprintf(f, "# %-10s %-4s %-10s %-22s %-22s %-16s %s\n", "family", "set",
		"sweep", "stall", "paging", "oom", "best(stall/paging)");
	for (fam = 0; fam < SIM_BENCH_FAMILIES; fam++) {
		for (split = 0; split < BENCH_SPLITS; split++) {
			double worst[3] = { 0, 0, -1e9 };

			if ((fam == SIM_FAM_SHIPPED && !npaths) ||
			    !bench_split_runs(fam, split, o))
				continue;
			for (sw = 0; sw < st.nsweep; sw++) {
				struct bench_cell *c = &st.cell[sw][fam][split];
				double med[3], q1[3], q3[3];
				const double *src[3] = { c->stall, c->paging, c->oom };
				unsigned int i;

				for (i = 0; i < 3; i++) {
					memcpy(tmp, src[i], c->n * sizeof(*tmp));
					med[i] = quantile(tmp, c->n, 0.5);
					q1[i] = quantile(tmp, c->n, 0.25);
					q3[i] = quantile(tmp, c->n, 0.75);
					if (med[i] > worst[i])
						worst[i] = med[i];
				}
				fprintf(f, "# %-10s %-4s %-10s", bench_family_name(fam),
					split_names[split], st.sweep[sw].name);
				for (i = 0; i < 2; i++)
					fprintf(f, " %5.3f [%5.3f %5.3f] ", med[i],
						q1[i], q3[i]);
				fprintf(f, " %+5.1f [%+.0f %+.0f]  %s/%s\n", med[2],
					q1[2], q3[2],
					sim_ctl_names[mode_of(c->best_stall)],
					sim_ctl_names[mode_of(c->best_paging)]);
			}
			snprintf(name, sizeof(name), "policy.%s.%s.stall_vs_best",
				 bench_family_name(fam), split_names[split]);
			bench_goal(f, prefix, name, worst[0], "<=", 0.8, sum);
			snprintf(name, sizeof(name), "policy.%s.%s.paging_vs_best",
				 bench_family_name(fam), split_names[split]);
			bench_goal(f, prefix, name, worst[1], "<=", 1.0, sum);
			snprintf(name, sizeof(name), "policy.%s.%s.oom_over_static",
				 bench_family_name(fam), split_names[split]);
			bench_goal(f, prefix, name, worst[2], "<=", 0, sum);
		}
		if (st.nfconv[fam]) {
			snprintf(name, sizeof(name), "policy.%s.converge_p90",
				 bench_family_name(fam));
			fprintf(f, "# %s: converge p90 %u over %u phase changes\n",
				bench_family_name(fam),
				conv_p90(st.fconv[fam], st.nfconv[fam]),
				st.nfconv[fam]);
		}
	}
	bench_league(&st, f, npaths, o);
	for (split = 0; split < BENCH_SPLITS; split++) {
		if (!st.nconv[split])
			continue;
		snprintf(name, sizeof(name), "policy.%s.converge_p90",
			 split_names[split]);
		bench_goal(f, prefix, name,
			   conv_p90(st.conv[split], st.nconv[split]), "<=", 5,
			   sum);
	}
	sum->violations = st.violations;
	fprintf(f, "%spolicy.goals_met %u of %u\n", prefix, sum->met,
		sum->goals);
	return 0;
}
