/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare-sim: replay workload traces of N partitions sharing a pool under
 * the kvmshare policy engine (kvm/kvmshare_policy.c, the same code the
 * module runs) and under baseline policies. See
 * Documentation/design/policy.rst.
 */
#ifndef _KVMSHARE_SIM_H
#define _KVMSHARE_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "kvmshare_policy.h"

#define SIM_MAX_VMS		64
#define SIM_MAX_PHASES		512
#define SIM_MAX_DELAY		8
#define SIM_PAGE_KB		4

/* What a simulated guest does with its metrics page. */
enum sim_guest {
	SIM_GUEST_NORMAL,	/* publishes every period */
	SIM_GUEST_SILENT,	/* never writes the page */
	SIM_GUEST_GARBAGE,	/* writes random bytes, seq included */
	SIM_GUEST_FROZEN,	/* publishes, then stops after frozen_at */
	SIM_GUEST_BUSY,		/* always caught mid-update (odd seq) */
};

/* The controllers compared. */
enum sim_ctl {
	SIM_CTL_POLICY,		/* kvmshare_policy_step() */
	SIM_CTL_STATIC,		/* fixed: entitlement + weighted rest */
	SIM_CTL_PROPSHARE,	/* pool in proportion to weight x demand */
	SIM_CTL_MOM,		/* oVirt MOM-style guest free-memory rule */
	SIM_CTL_ESX,		/* ESX-style idle memory tax */
	SIM_CTL_SENPAI,		/* senpai-style PSI target per guest */
	SIM_NR_CTL,
};

/* Families of generated traces (gen.c). */
enum sim_family {
	SIM_FAM_DAY,		/* day cycles over 6 to 64 VMs */
	SIM_FAM_LEAK,		/* leaks and restarts */
	SIM_FAM_BATCH,		/* batch bursts beside a large database */
	SIM_FAM_SMALL,		/* many small VMs, staggered bursts */
	SIM_FAM_ARRIVE,		/* sudden arrivals and departures */
	SIM_FAM_MIXED,		/* held out: every kind above in one pool */
	SIM_FAM_SHIFT,		/* held out: load moving between VMs */
	SIM_NR_FAMILY,
};

/* The bench's families: the generated ones and the shipped traces. */
#define SIM_FAM_SHIPPED		SIM_NR_FAMILY
#define SIM_BENCH_FAMILIES	(SIM_NR_FAMILY + 1)

/* A point of the bench's sweep of the model. */
struct sim_sweep {
	char name[24];
	uint64_t balloon_rate;
	uint32_t balloon_delay;
	uint32_t noise_ppt;
};

/* The bench's sweep: 7 points one axis at a time, or the full 3x3x3 grid. */
#define SIM_NR_SWEEP		7
#define SIM_MAX_SWEEP		27

/* What the robust bench runs. */
struct sim_bench_opts {
	unsigned int nseeds;	/* seeds per set, at most 64 */
	unsigned int per_seed;	/* generated traces per family and seed */
	int grid;		/* the full grid instead of the 7 points */
	int tuning;		/* only what may be tuned on: no held-out */
};

struct sim_bench_summary {
	unsigned int goals;
	unsigned int met;
	uint64_t violations;
};

struct sim_vm_cfg {
	char name[32];
	uint64_t size;		/* pages: the VM's RAM */
	uint64_t entitlement;	/* pages */
	uint64_t limit;		/* pages, <= size */
	uint32_t weight;
	enum sim_guest guest;
	uint32_t frozen_at;	/* period at which a frozen guest stops */
};

struct sim_phase {
	uint32_t len;			/* periods */
	uint64_t ws[SIM_MAX_VMS];	/* hot working set, pages */
	uint64_t cold[SIM_MAX_VMS];	/* used but cold memory, pages */
};

struct sim_trace {
	char name[64];
	uint64_t pool;			/* pages */
	uint32_t nvm;
	uint32_t nphase;
	uint32_t periods;		/* sum of the phase lengths */
	struct sim_vm_cfg vm[SIM_MAX_VMS];
	struct sim_phase phase[SIM_MAX_PHASES];
};

/* Model constants; sim_model_defaults() gives the documented ones. */
struct sim_model {
	uint32_t period_ms;
	uint32_t touch_ppm;		/* missing hot pages touched per period */
	uint32_t guest_fault_us;	/* cost of a guest swap-in */
	uint32_t host_fault_us;		/* cost of a host page-in */
	uint64_t balloon_rate;		/* pages a balloon moves per period */
	uint32_t balloon_delay;		/* periods before a balloon reacts */
	uint32_t grace;			/* periods over target before paging */
	uint32_t oom_floor_pct;		/* OOM when usable < this % of ws */
	uint32_t oom_recover;		/* periods of lost work after an OOM */
	uint32_t noise_ppt;		/* error of the active estimate */
	uint64_t seed;			/* noise and garbage; 0: as shipped */
	/* the baselines' damping (every baseline has the same) */
	uint32_t base_deadband_ppt;	/* smaller target changes not made */
	uint32_t base_oom_ppt;		/* deflate on OOM: grow by this of size */
	uint32_t base_holdoff;		/* periods without shrink after OOM */
	uint32_t senpai_psi_ppm;	/* senpai's pressure target */
	uint32_t senpai_step_ppt;	/* senpai's largest shrink a period */
	/* tunables of our policy (pool_pages is set per trace) */
	struct kvmshare_policy_params policy;
};

struct sim_result {
	double stall_s;			/* total stall, seconds */
	double paging_pages;		/* total paging I/O, pages */
	double io_squeeze;		/* guest swap-out under the balloon */
	double io_guest;		/* guest thrash: swap-in + swap-out */
	double io_evict;		/* host page-out of a guest over target */
	double io_restore;		/* host page-in of paged-out pages */
	double io_host;			/* host thrash: page-in + page-out */
	uint64_t oom_kills;
	uint64_t viol_entitlement;	/* periods x VMs below entitlement */
	uint64_t viol_limit;		/* periods x VMs above limit */
	uint64_t viol_pool;		/* periods with targets over the pool */
	uint64_t viol_resident;		/* periods with residency over the pool */
	uint32_t nconv;			/* phase changes measured */
	uint32_t conv[SIM_MAX_PHASES];	/* periods to converge after each */
	uint64_t reversals;		/* target direction changes */
	uint64_t metrics_bad;		/* metrics reads that were not OK */
};

#define SIM_MAX_CONV		4096

/* Results of many runs, summed per controller. */
struct sim_report {
	int seen[SIM_NR_CTL];
	double stall_s[SIM_NR_CTL];
	double paging_pages[SIM_NR_CTL];
	uint64_t oom_kills[SIM_NR_CTL];
	uint64_t violations[SIM_NR_CTL];
	uint64_t reversals[SIM_NR_CTL];
	uint32_t nconv[SIM_NR_CTL];
	uint32_t conv[SIM_NR_CTL][SIM_MAX_CONV];
};

/* The bench figures: our policy against the best baseline of each kind. */
struct sim_figures {
	double stall_ratio;	/* our stall / least baseline stall */
	double paging_ratio;	/* our paging / least baseline paging */
	uint32_t conv_median;	/* periods to converge, median */
	uint32_t conv_p90;
	uint32_t conv_max;
};

extern const char *const sim_ctl_names[SIM_NR_CTL];
extern const char *const sim_family_names[SIM_NR_FAMILY];
extern const int sim_family_held[SIM_NR_FAMILY];

unsigned int sim_sweep_build(int grid, struct sim_sweep *sw);

int sim_trace_gen(struct sim_trace *t, enum sim_family fam, uint64_t seed);
int sim_bench_families(const struct sim_model *m,
		       const struct sim_bench_opts *o, char *const *paths,
		       unsigned int npaths, FILE *f, const char *prefix,
		       struct sim_bench_summary *sum);

void sim_model_defaults(struct sim_model *m);
int sim_model_set(struct sim_model *m, const char *assignment);
int sim_trace_load(struct sim_trace *t, const char *path, char *err,
		   size_t errlen);
int sim_run(const struct sim_trace *t, const struct sim_model *m,
	    enum sim_ctl ctl, struct sim_result *r, FILE *log);

uint64_t sim_result_violations(const struct sim_result *r, enum sim_ctl ctl);
void sim_report_init(struct sim_report *rep);
void sim_report_add(struct sim_report *rep, enum sim_ctl ctl,
		    const struct sim_result *r);
void sim_report_line(FILE *f, enum sim_ctl ctl, const struct sim_result *r,
		     int verbose);
int sim_report_figures(const struct sim_report *rep, struct sim_figures *fig);
void sim_report_bench(FILE *f, const struct sim_report *rep,
		      const char *prefix);
uint64_t sim_report_violations(const struct sim_report *rep);

#endif /* _KVMSHARE_SIM_H */
