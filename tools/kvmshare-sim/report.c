// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: sums of results and the bench figures.
 *
 * Stall and paging I/O are summed over all traces per controller; each of
 * our sums is divided by the smallest sum among the baselines (so each
 * ratio is against the best baseline for that figure). Convergence is the
 * distribution of per-phase-change convergence times of our policy.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/**
 * sim_result_violations - invariant violations of one run
 * @r: the result
 * @ctl: the controller that produced it
 *
 * Every controller must keep residency within the pool and targets within
 * limits; ours must also keep targets at or over the entitlements and
 * their sum within the pool (MOM's targets may over-commit by design).
 *
 * Return: the number of violations.
 */
uint64_t sim_result_violations(const struct sim_result *r, enum sim_ctl ctl)
{
	uint64_t v = r->viol_resident + r->viol_limit;

	if (ctl == SIM_CTL_POLICY)
		v += r->viol_entitlement + r->viol_pool;
	return v;
}

void sim_report_init(struct sim_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void sim_report_add(struct sim_report *rep, enum sim_ctl ctl,
		    const struct sim_result *r)
{
	uint32_t i;

	rep->seen[ctl] = 1;
	rep->stall_s[ctl] += r->stall_s;
	rep->paging_pages[ctl] += r->paging_pages;
	rep->oom_kills[ctl] += r->oom_kills;
	rep->violations[ctl] += sim_result_violations(r, ctl);
	rep->reversals[ctl] += r->reversals;
	for (i = 0; i < r->nconv && rep->nconv[ctl] < SIM_MAX_CONV; i++)
		rep->conv[ctl][rep->nconv[ctl]++] = r->conv[i];
}

static int sim_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void sim_report_line(FILE *f, enum sim_ctl ctl, const struct sim_result *r,
		     int verbose)
{
	uint32_t sorted[SIM_MAX_PHASES], i, max = 0;

	memcpy(sorted, r->conv, r->nconv * sizeof(*sorted));
	qsort(sorted, r->nconv, sizeof(*sorted), sim_cmp_u32);
	for (i = 0; i < r->nconv; i++)
		if (r->conv[i] > max)
			max = r->conv[i];
	fprintf(f, "  %-12s stall %9.1f s  paging %12.0f pages  oom %3llu",
		sim_ctl_names[ctl], r->stall_s, r->paging_pages,
		(unsigned long long)r->oom_kills);
	fprintf(f, "  converge median %u max %u  reversals %llu  violations %llu\n",
		r->nconv ? sorted[r->nconv / 2] : 0, max,
		(unsigned long long)r->reversals,
		(unsigned long long)sim_result_violations(r, ctl));
	if (verbose) {
		fprintf(f, "    converge:");
		for (i = 0; i < r->nconv; i++)
			fprintf(f, " %u", r->conv[i]);
		fprintf(f, "  bad metrics reads %llu\n",
			(unsigned long long)r->metrics_bad);
		fprintf(f, "    paging: squeeze %.0f guest %.0f", r->io_squeeze,
			r->io_guest);
		fprintf(f, " evict %.0f restore %.0f host %.0f\n",
			r->io_evict, r->io_restore, r->io_host);
	}
}

/**
 * sim_report_figures - the bench figures
 * @rep: the sums; our policy and at least one baseline must have run
 * @fig: the figures
 *
 * Return: 0, or -1 if there is nothing to compare.
 */
int sim_report_figures(const struct sim_report *rep, struct sim_figures *fig)
{
	double best_stall = -1, best_paging = -1;
	static uint32_t sorted[SIM_MAX_CONV];
	uint32_t n = rep->nconv[SIM_CTL_POLICY];
	int c;

	memset(fig, 0, sizeof(*fig));
	if (!rep->seen[SIM_CTL_POLICY])
		return -1;
	for (c = SIM_CTL_POLICY + 1; c < SIM_NR_CTL; c++) {
		if (!rep->seen[c])
			continue;
		if (best_stall < 0 || rep->stall_s[c] < best_stall)
			best_stall = rep->stall_s[c];
		if (best_paging < 0 || rep->paging_pages[c] < best_paging)
			best_paging = rep->paging_pages[c];
	}
	if (best_stall < 0)
		return -1;
	fig->stall_ratio = best_stall > 0 ?
			   rep->stall_s[SIM_CTL_POLICY] / best_stall :
			   (rep->stall_s[SIM_CTL_POLICY] > 0 ? 99 : 0);
	fig->paging_ratio = best_paging > 0 ?
			    rep->paging_pages[SIM_CTL_POLICY] / best_paging :
			    (rep->paging_pages[SIM_CTL_POLICY] > 0 ? 99 : 0);
	memcpy(sorted, rep->conv[SIM_CTL_POLICY], n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), sim_cmp_u32);
	if (n) {
		fig->conv_median = sorted[n / 2];
		fig->conv_p90 = sorted[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
		fig->conv_max = sorted[n - 1];
	}
	return 0;
}

void sim_report_bench(FILE *f, const struct sim_report *rep,
		      const char *prefix)
{
	struct sim_figures fig;
	int c;

	if (!*prefix) {
		fprintf(f, "all traces:\n");
		for (c = 0; c < SIM_NR_CTL; c++) {
			if (!rep->seen[c])
				continue;
			fprintf(f, "  %-12s stall %9.1f s  paging %12.0f pages",
				sim_ctl_names[c], rep->stall_s[c],
				rep->paging_pages[c]);
			fprintf(f, "  oom %3llu  reversals %llu  violations %llu\n",
				(unsigned long long)rep->oom_kills[c],
				(unsigned long long)rep->reversals[c],
				(unsigned long long)rep->violations[c]);
		}
	}
	if (sim_report_figures(rep, &fig))
		return;
	fprintf(f, "%spolicy.stall_vs_best_baseline %.3f (goal <= 0.8)\n",
		prefix, fig.stall_ratio);
	fprintf(f, "%spolicy.paging_vs_best_baseline %.3f (goal <= 1.0)\n",
		prefix, fig.paging_ratio);
	fprintf(f, "%spolicy.converge_periods %u (goal <= 3)\n", prefix,
		fig.conv_median);
	fprintf(f, "%spolicy.converge_periods_p90 %u (goal <= 5)\n", prefix,
		fig.conv_p90);
	fprintf(f, "%spolicy.converge_periods_max %u (no goal)\n", prefix,
		fig.conv_max);
}

uint64_t sim_report_violations(const struct sim_report *rep)
{
	uint64_t v = 0;
	int c;

	for (c = 0; c < SIM_NR_CTL; c++)
		v += rep->violations[c];
	return v;
}
