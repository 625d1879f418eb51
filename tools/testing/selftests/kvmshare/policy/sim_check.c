// SPDX-License-Identifier: GPL-2.0
/*
 * The simulator tested: every shipped trace replayed under every
 * controller; the invariants hold (our targets never below entitlement,
 * never over limit, never over the pool; nobody's residency over the
 * pool), the figures are sane, and the runs are reproducible. Also checks
 * that the checks can fail: a controller that breaks the invariants is
 * caught.
 */
#include <math.h>

#include "kselftest_harness.h"
#include "sim.h"
#include "simtraces.h"

static struct sim_trace trace;

TEST(traces_hold_the_invariants)
{
	char *paths[SIMTRACES_MAX], err[256];
	struct sim_model m;
	int n, i, c;

	sim_model_defaults(&m);
	n = simtraces_list(paths, SIMTRACES_MAX);
	ASSERT_GE(n, 4) TH_LOG("traces not found under %s", tsrcdir());
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, sim_trace_load(&trace, paths[i], err, sizeof(err)))
			TH_LOG("%s: %s", paths[i], err);
		for (c = 0; c < SIM_NR_CTL; c++) {
			struct sim_result r, again;

			ASSERT_EQ(0, sim_run(&trace, &m, c, &r, NULL));
			EXPECT_EQ(0, r.viol_resident)
				TH_LOG("%s %s", trace.name, sim_ctl_names[c]);
			EXPECT_EQ(0, r.viol_limit)
				TH_LOG("%s %s", trace.name, sim_ctl_names[c]);
			if (c == SIM_CTL_POLICY) {
				EXPECT_EQ(0, r.viol_entitlement)
					TH_LOG("%s below entitlement", trace.name);
				EXPECT_EQ(0, r.viol_pool)
					TH_LOG("%s over the pool", trace.name);
			}
			EXPECT_TRUE(r.stall_s >= 0 && isfinite(r.stall_s));
			EXPECT_TRUE(r.paging_pages >= 0 &&
				    isfinite(r.paging_pages));
			/* no more stall than periods x VMs (+ lost work) */
			EXPECT_LE(r.stall_s, 2.0 * trace.periods * trace.nvm);
			ASSERT_EQ(0, sim_run(&trace, &m, c, &again, NULL));
			EXPECT_EQ(r.stall_s, again.stall_s);
			EXPECT_EQ(r.paging_pages, again.paging_pages);
			ksft_print_msg("%s %-12s stall %.1f s paging %.0f pages oom %llu\n",
				       trace.name, sim_ctl_names[c], r.stall_s,
				       r.paging_pages,
				       (unsigned long long)r.oom_kills);
		}
		free(paths[i]);
	}
}

/*
 * Generated traces: reproducible, within the simulator's bounds, and
 * every controller holds the invariants on them; different seeds give
 * different traces.
 */
TEST(generated_families_hold_the_invariants)
{
	static struct sim_trace again;
	struct sim_model m;
	unsigned int f, c;
	uint64_t seed;

	sim_model_defaults(&m);
	for (f = 0; f < SIM_NR_FAMILY; f++) {
		for (seed = 1; seed <= 3; seed++) {
			uint64_t ent = 0;
			unsigned int i;

			ASSERT_EQ(0, sim_trace_gen(&trace, f, seed));
			ASSERT_EQ(0, sim_trace_gen(&again, f, seed));
			EXPECT_EQ(0, memcmp(&trace, &again, sizeof(trace)))
				TH_LOG("%s not reproducible", trace.name);
			ASSERT_GE(trace.nvm, 1);
			ASSERT_LE(trace.nvm, SIM_MAX_VMS);
			for (i = 0; i < trace.nvm; i++)
				ent += trace.vm[i].entitlement;
			EXPECT_LE(ent, trace.pool);
			m.seed = seed;
			for (c = 0; c < SIM_NR_CTL; c++) {
				struct sim_result r;

				ASSERT_EQ(0, sim_run(&trace, &m, c, &r, NULL));
				EXPECT_EQ(0, sim_result_violations(&r, c))
					TH_LOG("%s %s", trace.name,
					       sim_ctl_names[c]);
			}
		}
		ASSERT_EQ(0, sim_trace_gen(&again, f, 4));
		EXPECT_NE(0, memcmp(&trace, &again, sizeof(trace)));
	}
	EXPECT_EQ(-1, sim_trace_gen(&trace, SIM_NR_FAMILY, 1));
}

/* Broken traces are refused with a message, not simulated. */
TEST(trace_errors_are_caught)
{
	static const char *const bad[] = {
		"pool 1G\nvm a size=1G entitlement=2G\nphase 1 1G\n",
		"pool 1G\nvm a size=1G entitlement=512M\nvm b size=1G entitlement=768M\nphase 1 1M 1M\n",
		"pool 1G\nvm a size=1G\nphase 1 2G\n",
		"pool 1G\nvm a size=1G\nphase 0 1M\n",
		"pool 1G\nvm a size=1G\nphase 1 1M 1M\n",
		"pool 1G\nvm a size=1G guest=martian\nphase 1 1M\n",
		"pool 1G\nvm a size=1G\n",
		"pool 1X\nvm a size=1G\nphase 1 1M\n",
		"frobnicate\n",
	};
	char path[] = "/tmp/kvmshare-trace-XXXXXX", err[256];
	unsigned int i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fd = mkstemp(path);
		ASSERT_GE(fd, 0);
		ASSERT_EQ((ssize_t)strlen(bad[i]), write(fd, bad[i], strlen(bad[i])));
		close(fd);
		EXPECT_EQ(-1, sim_trace_load(&trace, path, err, sizeof(err)))
			TH_LOG("trace %u accepted", i);
		unlink(path);
		strcpy(path, "/tmp/kvmshare-trace-XXXXXX");
	}
}

/*
 * The invariant counters do count, and MOM's targets may over-commit
 * without being counted as violations of ours.
 */
TEST(violations_are_counted)
{
	struct sim_result r;

	memset(&r, 0, sizeof(r));
	r.viol_pool = 1;
	EXPECT_EQ(1, sim_result_violations(&r, SIM_CTL_POLICY));
	EXPECT_EQ(0, sim_result_violations(&r, SIM_CTL_MOM));
	r.viol_resident = 2;
	EXPECT_EQ(2, sim_result_violations(&r, SIM_CTL_MOM));
}

TEST_HARNESS_MAIN
