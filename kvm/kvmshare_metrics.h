/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: reader of the guest metrics page (include/uapi/linux/
 * kvmshare_metrics.h). Pure C: builds in the module and in user space.
 *
 * The host takes a snapshot of a partition's page once per policy period
 * (kvmshare_metrics_snapshot()) and hands it to kvmshare_metrics_read(),
 * which checks it, bounds every value and turns the guest's cumulative
 * counters into per-period figures. The result is a sanitized sample that
 * the policy may use as it is; everything that was wrong with the page is
 * counted per reason in the reader.
 *
 * Locking: none. A reader belongs to one partition and is used by one
 * thread at a time (the policy period of its pool).
 */
#ifndef _KVMSHARE_METRICS_H
#define _KVMSHARE_METRICS_H

#include "kvmshare_compat.h"
#include <linux/kvmshare_metrics.h>

/* Bounds of struct kvmshare_metrics_reader's limits. */
#define KVMSHARE_METRICS_MAX_PAGES	BIT_ULL(40)	/* 4 PiB of 4 KiB pages */
#define KVMSHARE_METRICS_MAX_PERIOD_US	60000000U	/* one minute */
#define KVMSHARE_METRICS_MAX_STALE	1000U
/*
 * Most counter events (faults, refaults, swap pages) a guest can plausibly
 * have per second; larger deltas are clamped to this.
 */
#define KVMSHARE_METRICS_MAX_EVENTS_PER_SEC	BIT_ULL(24)
/* PSI stall fractions of a sample are parts per million. */
#define KVMSHARE_METRICS_PPM		1000000U

/*
 * Outcome of one read, and the index of the reader's counter for it.
 * Reasons up to KVMSHARE_METRICS_STOPPING are the result of a read (the
 * return value); the ones after it are found along the way in a page that
 * is otherwise used, and are only counted.
 */
enum kvmshare_metrics_reason {
	KVMSHARE_METRICS_OK,		/* fresh, consistent, used */
	KVMSHARE_METRICS_UNCHANGED,	/* no update since the last read */
	KVMSHARE_METRICS_TORN,		/* seq odd or moved during the copy */
	KVMSHARE_METRICS_STALE,		/* no usable update for stale_periods */
	KVMSHARE_METRICS_BAD_MAGIC,	/* magic is not KVMSHARE_METRICS_MAGIC */
	KVMSHARE_METRICS_BAD_VERSION,	/* version this host does not read */
	KVMSHARE_METRICS_BAD_SIZE,	/* size too small or over the page */
	KVMSHARE_METRICS_BAD_RESERVED,	/* a reserved field is not zero */
	KVMSHARE_METRICS_STOPPING,	/* the guest set F_STOPPING */
	KVMSHARE_METRICS_UNKNOWN_FLAGS,	/* bits outside F_ALL, masked off */
	KVMSHARE_METRICS_CLAMPED,	/* a value out of range was clamped */
	KVMSHARE_METRICS_BACKWARDS,	/* a cumulative counter went back */
	KVMSHARE_METRICS_NR_REASONS,
};

/**
 * struct kvmshare_metrics_sample - what the policy gets from a guest
 * @valid: the other fields may be used; 0 when there is no usable data
 *	(never published, bad page, stopped writing), in which case they are 0
 * @fresh: 1 if the guest updated the page since the last read, 0 if the
 *	values are held from an earlier read (at most stale_periods reads old)
 * @flags: the KVMSHARE_METRICS_F_* bits of the page that are known
 * @psi_some_ppm: PSI "some" stall over the last interval, ppm of wall time
 * @psi_full_ppm: PSI "full" stall over the last interval, ppm, <= some
 * @psi_some_avg10: PSI "some" avg10, 0..KVMSHARE_METRICS_PSI_SCALE
 * @psi_full_avg10: PSI "full" avg10, 0..psi_some_avg10
 * @mem_total: MemTotal, pages, 1..max_pages
 * @mem_available: MemAvailable, pages, <= mem_total
 * @balloon: balloon size, pages, <= max_pages
 * @swap_used: guest swap in use, pages, <= max_pages
 * @refaults: workingset refaults, pages per period
 * @swapins: swap-ins, pages per period
 * @swapouts: swap-outs, pages per period
 * @majfaults: major faults per period
 * @allocstalls: allocation stalls per period
 * @oom_kills: OOM kills per period
 *
 * The per-period figures are averages over the reads since the previous
 * fresh sample; they are 0 in the first sample after (re)start. PSI fields
 * are 0 unless KVMSHARE_METRICS_F_PSI is set.
 */
struct kvmshare_metrics_sample {
	u32 valid;
	u32 fresh;
	u32 flags;
	u32 psi_some_ppm;
	u32 psi_full_ppm;
	u32 psi_some_avg10;
	u32 psi_full_avg10;
	u64 mem_total;
	u64 mem_available;
	u64 balloon;
	u64 swap_used;
	u64 refaults;
	u64 swapins;
	u64 swapouts;
	u64 majfaults;
	u64 allocstalls;
	u64 oom_kills;
};

/**
 * struct kvmshare_metrics_reader - per-partition reader state
 * @max_pages: partition size, pages (1..KVMSHARE_METRICS_MAX_PAGES); bounds
 *	every memory size the guest reports. Set by the caller.
 * @period_us: time between two reads, us (1..KVMSHARE_METRICS_MAX_PERIOD_US).
 *	Set by the caller.
 * @stale_periods: reads without a usable update after which the held
 *	values are dropped (1..KVMSHARE_METRICS_MAX_STALE). Set by the caller.
 * @have_base: @base holds the last good page
 * @rebase: the next fresh page starts a new baseline although @base and
 *	@last_seq are kept (to tell an unchanged page): set when the held
 *	values go stale and by kvmshare_metrics_restart()
 * @last_seq: sequence count of @base
 * @missed: consecutive reads without a fresh sample
 * @age: reads since @base was taken
 * @base: the last good page, the baseline of the cumulative counters
 * @last: the last sample handed out, held while the guest is silent
 * @count: reads per enum kvmshare_metrics_reason
 *
 * The caller zeroes the structure and sets the limits before the first
 * read; everything else belongs to kvmshare_metrics_read().
 */
struct kvmshare_metrics_reader {
	u64 max_pages;
	u32 period_us;
	u32 stale_periods;
	u32 have_base;
	u32 rebase;
	u32 last_seq;
	u32 missed;
	u32 age;
	struct kvmshare_metrics_page base;
	struct kvmshare_metrics_sample last;
	u64 count[KVMSHARE_METRICS_NR_REASONS];
};

u32 kvmshare_metrics_snapshot(const struct kvmshare_metrics_page *shared,
			      struct kvmshare_metrics_page *copy);
int kvmshare_metrics_reader_check(const struct kvmshare_metrics_reader *r);
void kvmshare_metrics_restart(struct kvmshare_metrics_reader *r);
enum kvmshare_metrics_reason
kvmshare_metrics_read(struct kvmshare_metrics_reader *r,
		      const struct kvmshare_metrics_page *copy, u32 seq_end,
		      struct kvmshare_metrics_sample *out);
const char *kvmshare_metrics_reason_name(enum kvmshare_metrics_reason reason);

#endif /* _KVMSHARE_METRICS_H */
