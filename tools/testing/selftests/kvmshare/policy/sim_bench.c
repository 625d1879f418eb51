// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: the simulator over every shipped trace, our policy against
 * the baselines. Prints the bench figures and checks them against the
 * goals of the policy (Documentation/policy.rst): stall at most 0.7 and
 * paging I/O at most 1.0 of the best baseline, convergence in at most 3
 * periods (median over phase changes).
 */
#include "kselftest_harness.h"
#include "sim.h"
#include "simtraces.h"

static struct sim_trace trace;
static struct sim_report rep;

TEST(bench)
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
	EXPECT_LE(fig.stall_ratio, 0.7);
	EXPECT_LE(fig.paging_ratio, 1.0);
	EXPECT_LE(fig.conv_median, 3);
}

TEST_HARNESS_MAIN
