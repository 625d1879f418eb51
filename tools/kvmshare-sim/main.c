// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: replay workload traces under the kvmshare policy and the
 * baselines, and report stall, paging I/O and convergence.
 *
 *   kvmshare-sim [-v] [-l LOG] [-c CTL] [-p TUNABLE=VALUE]... TRACE...
 *						     a table per trace
 *   kvmshare-sim --bench TRACE...                  the bench figures
 *   kvmshare-sim --families N [--per-seed K] [--grid] [--tuning] [TRACE...]
 *				the robust bench: generated families and the
 *				traces given, N seeds per set, every sweep point
 *				(--grid: the full grid; --tuning: only what may
 *				be tuned on, no held-out family or seed)
 *   kvmshare-sim [-v] ... --gen FAMILY:SEED	one generated trace, a table
 *
 * See Documentation/design/policy.rst.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void print_usage(void)
{
	fprintf(stderr,
		"usage: kvmshare-sim [-v] [-l LOG] [-c CTL] [-p TUNABLE=VALUE]... TRACE...\n"
		"       kvmshare-sim --bench TRACE...\n"
		"       kvmshare-sim [-p ...] --families N [--per-seed K] [--grid] [--tuning] [TRACE...]\n"
		"       kvmshare-sim [-v] [-l LOG] [-c CTL] [-p ...] --gen FAMILY:SEED\n"
		"CTL: kvmshare static propshare mom esx-idletax senpai\n"
		"FAMILY: daycycle leak batchdb smallburst arrivals mixed shift\n"
		"-p sets a policy tunable or a model constant (balloon_rate,\n"
		"balloon_delay, noise_ppt, seed, base_deadband_ppt, ...)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct sim_trace trace;
	struct sim_report rep;
	struct sim_model m;
	const char *logname = NULL;
	struct sim_bench_opts bo = { .per_seed = 2 };
	int bench = 0, verbose = 0, only = -1, i, c, families = 0;
	const char *gen = NULL;
	FILE *log = NULL;
	char err[256];

	sim_model_defaults(&m);
	sim_report_init(&rep);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--bench")) {
			bench = 1;
		} else if (!strcmp(argv[i], "--families") && i + 1 < argc) {
			families = atoi(argv[++i]);
			if (families < 1)
				print_usage();
		} else if (!strcmp(argv[i], "--per-seed") && i + 1 < argc) {
			bo.per_seed = atoi(argv[++i]);
			if ((int)bo.per_seed < 1)
				print_usage();
		} else if (!strcmp(argv[i], "--grid")) {
			bo.grid = 1;
		} else if (!strcmp(argv[i], "--tuning")) {
			bo.tuning = 1;
		} else if (!strcmp(argv[i], "--gen") && i + 1 < argc) {
			gen = argv[++i];
		} else if (!strcmp(argv[i], "-v")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			if (sim_model_set(&m, argv[++i]))
				print_usage();
		} else if (!strcmp(argv[i], "-l") && i + 1 < argc) {
			logname = argv[++i];
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			i++;
			for (c = 0; c < SIM_NR_CTL; c++)
				if (!strcmp(argv[i], sim_ctl_names[c]))
					only = c;
			if (only < 0)
				print_usage();
		} else {
			print_usage();
		}
	}
	if (families) {
		struct sim_bench_summary sum;

		bo.nseeds = families;
		if (sim_bench_families(&m, &bo, argv + i,
				       argc - i, stdout, "bench: ", &sum)) {
			fprintf(stderr, "a trace cannot be had\n");
			return 1;
		}
		return sum.violations ? 1 : 0;
	}
	if (i == argc && !gen)
		print_usage();
	if (logname) {
		log = fopen(logname, "w");
		if (!log) {
			perror(logname);
			return 1;
		}
	}
	for (; i < argc || gen; i++) {
		if (gen) {
			const char *colon = strchr(gen, ':');

			for (c = 0; c < SIM_NR_FAMILY; c++)
				if (colon &&
				    strlen(sim_family_names[c]) == (size_t)(colon - gen) &&
				    !strncmp(gen, sim_family_names[c], colon - gen))
					break;
			if (!colon || c == SIM_NR_FAMILY ||
			    sim_trace_gen(&trace, c, strtoull(colon + 1, NULL, 0)))
				print_usage();
			gen = NULL;
			i = argc;
		} else if (sim_trace_load(&trace, argv[i], err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", argv[i], err);
			return 1;
		}
		if (!bench)
			printf("trace %s: %u vms, %u periods\n", trace.name,
			       trace.nvm, trace.periods);
		for (c = 0; c < SIM_NR_CTL; c++) {
			struct sim_result r;

			if (only >= 0 && c != only)
				continue;
			if (log)
				fprintf(log, "# %s %s\n", trace.name,
					sim_ctl_names[c]);
			if (sim_run(&trace, &m, c, &r, log)) {
				fprintf(stderr, "out of memory\n");
				return 1;
			}
			sim_report_add(&rep, c, &r);
			if (!bench)
				sim_report_line(stdout, c, &r, verbose);
		}
	}
	if (log)
		fclose(log);
	if (bench || only < 0)
		sim_report_bench(stdout, &rep, bench ? "bench: " : "");
	return sim_report_violations(&rep) ? 1 : 0;
}
