// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: the simulator against the baselines
 * (Documentation/design/policy.rst, "Robust bench"). Two parts:
 *
 *  - the robust bench: five generated families of traces and the shipped
 *    traces, 20 tuning and 20 held-out seeds, two held-out families
 *    (mixed, shift: 20 held-out seeds), seven points of a sweep of
 *    balloon rate, balloon delay and estimate noise; per family and seed
 *    set the seed median of the geometric mean of per-trace ratios to the
 *    best baseline, worst over the sweep. Goals: stall <= 0.8, paging
 *    <= 1.0, OOM kills not above the static split's, convergence p90 <= 5
 *    periods;
 *  - the shipped traces at the default model and seed, totals.
 *
 * Every figure is printed with its goal; the test fails when one is
 * missed.
 */
#include "kselftest_harness.h"
#include "sim.h"
#include "simtraces.h"

static struct sim_trace trace;
static struct sim_report rep;

TEST(robust)
{
	struct sim_bench_opts o = { .nseeds = 20, .per_seed = 2 };
	char *paths[SIMTRACES_MAX];
	struct sim_bench_summary sum;
	struct sim_model m;
	int n, i;

	sim_model_defaults(&m);
	n = simtraces_list(paths, SIMTRACES_MAX);
	ASSERT_GE(n, 4) TH_LOG("traces not found under %s", tsrcdir());
	ASSERT_EQ(0, sim_bench_families(&m, &o, paths, n, stdout, "bench: ",
					&sum));
	fflush(stdout);
	for (i = 0; i < n; i++)
		free(paths[i]);
	ASSERT_EQ(0, sum.violations);
	EXPECT_EQ(sum.goals, sum.met)
		TH_LOG("%u of %u goals missed", sum.goals - sum.met, sum.goals);
}

TEST(shipped)
{
	char *paths[SIMTRACES_MAX], err[256];
	struct sim_figures fig;
	struct sim_model m;
	int n, i, c;

	sim_model_defaults(&m);
	sim_report_init(&rep);
	n = simtraces_list(paths, SIMTRACES_MAX);
	ASSERT_GE(n, 4) TH_LOG("traces not found under %s", tsrcdir());
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, sim_trace_load(&trace, paths[i], err, sizeof(err)))
			TH_LOG("%s: %s", paths[i], err);
		for (c = 0; c < SIM_NR_CTL; c++) {
			struct sim_result r;

			ASSERT_EQ(0, sim_run(&trace, &m, c, &r, NULL));
			sim_report_add(&rep, c, &r);
		}
		free(paths[i]);
	}
	ASSERT_EQ(0, sim_report_violations(&rep));
	ASSERT_EQ(0, sim_report_figures(&rep, &fig));
	for (c = 0; c < SIM_NR_CTL; c++)
		ksft_print_msg("%-12s stall %.1f s paging %.0f pages oom %llu\n",
			       sim_ctl_names[c], rep.stall_s[c],
			       rep.paging_pages[c],
			       (unsigned long long)rep.oom_kills[c]);
	sim_report_bench(stdout, &rep, "bench: ");
	fflush(stdout);
	EXPECT_LE(fig.stall_ratio, 0.8);
	EXPECT_LE(fig.paging_ratio, 1.0);
	EXPECT_LE(fig.conv_median, 3);
	EXPECT_LE(fig.conv_p90, 5);
}

TEST_HARNESS_MAIN
