// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: replay workload traces under the kvmshare policy and the
 * baselines, and report stall, paging I/O and convergence.
 *
 *   kvmshare-sim [-v] [-l LOG] [-c CTL] [-p TUNABLE=VALUE]... TRACE...
 *						     a table per trace
 *   kvmshare-sim --bench TRACE...                  the bench figures
 *
 * See Documentation/policy.rst.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void print_usage(void)
{
	fprintf(stderr,
		"usage: kvmshare-sim [-v] [-l LOG] [-c CTL] [-p TUNABLE=VALUE]... TRACE...\n"
		"       kvmshare-sim --bench TRACE...\n"
		"CTL: kvmshare static propshare mom esx-idletax\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct sim_trace trace;
	struct sim_report rep;
	struct sim_model m;
	const char *logname = NULL;
	int bench = 0, verbose = 0, only = -1, i, c;
	FILE *log = NULL;
	char err[256];

	sim_model_defaults(&m);
	sim_report_init(&rep);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--bench")) {
			bench = 1;
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
	if (i == argc)
		print_usage();
	if (logname) {
		log = fopen(logname, "w");
		if (!log) {
			perror(logname);
			return 1;
		}
	}
	for (; i < argc; i++) {
		if (sim_trace_load(&trace, argv[i], err, sizeof(err))) {
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
