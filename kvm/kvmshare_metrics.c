// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: reader of the guest metrics page. See kvmshare_metrics.h and
 * Documentation/userspace-api/metrics.rst.
 *
 * Everything in the page comes from the guest and may be wrong, torn,
 * hostile or frozen. This file never trusts a value before bounding it and
 * never loops on the guest's behalf: one read is a fixed amount of work.
 *
 * Integer bounds: sizes are at most KVMSHARE_METRICS_MAX_PAGES (2^40),
 * periods at most KVMSHARE_METRICS_MAX_PERIOD_US (< 2^26 us) and ages at
 * most KVMSHARE_METRICS_MAX_STALE (< 2^10), so the largest product below,
 * a stall time (< 2^37 us) times 10^6 (< 2^20), stays under 2^57.
 */
#include "kvmshare_metrics.h"

#define KVMSHARE_METRICS_WORDS	(sizeof(struct kvmshare_metrics_page) / sizeof(u64))

/**
 * kvmshare_metrics_snapshot - copy a shared page once
 * @shared: the page as the guest writes it
 * @copy: where the copy goes; copy->seq is the count read before the copy
 *
 * One attempt, no retry: a caller that wants to retry a torn copy does so
 * a bounded number of times. The host maps the page as ordinary memory.
 *
 * Return: the sequence count read after the copy, for
 * kvmshare_metrics_read().
 */
u32 kvmshare_metrics_snapshot(const struct kvmshare_metrics_page *shared,
			      struct kvmshare_metrics_page *copy)
{
	const u64 *src = (const u64 *)shared;
	u64 *dst = (u64 *)copy;
	u32 seq;
	size_t i;

	seq = kvmshare_read_u32(&shared->seq);
	kvmshare_rmb();
	for (i = 0; i < KVMSHARE_METRICS_WORDS; i++)
		dst[i] = kvmshare_read_u64(&src[i]);
	copy->seq = seq;
	kvmshare_rmb();
	return kvmshare_read_u32(&shared->seq);
}

/**
 * kvmshare_metrics_reader_check - are the caller's limits in range?
 * @r: the reader
 *
 * Return: 0 or -EINVAL.
 */
int kvmshare_metrics_reader_check(const struct kvmshare_metrics_reader *r)
{
	if (!r->max_pages || r->max_pages > KVMSHARE_METRICS_MAX_PAGES)
		return -EINVAL;
	if (!r->period_us || r->period_us > KVMSHARE_METRICS_MAX_PERIOD_US)
		return -EINVAL;
	if (!r->stale_periods || r->stale_periods > KVMSHARE_METRICS_MAX_STALE)
		return -EINVAL;
	return 0;
}

static const char * const kvmshare_metrics_reason_names[] = {
	[KVMSHARE_METRICS_OK]		= "ok",
	[KVMSHARE_METRICS_UNCHANGED]	= "unchanged",
	[KVMSHARE_METRICS_TORN]		= "torn",
	[KVMSHARE_METRICS_STALE]	= "stale",
	[KVMSHARE_METRICS_BAD_MAGIC]	= "bad_magic",
	[KVMSHARE_METRICS_BAD_VERSION]	= "bad_version",
	[KVMSHARE_METRICS_BAD_SIZE]	= "bad_size",
	[KVMSHARE_METRICS_BAD_RESERVED]	= "bad_reserved",
	[KVMSHARE_METRICS_STOPPING]	= "stopping",
	[KVMSHARE_METRICS_UNKNOWN_FLAGS] = "unknown_flags",
	[KVMSHARE_METRICS_CLAMPED]	= "clamped",
	[KVMSHARE_METRICS_BACKWARDS]	= "backwards",
};

/**
 * kvmshare_metrics_reason_name - short name of a reason, for counters
 * @reason: the reason
 *
 * Return: a static string, "invalid" for an unknown value.
 */
const char *kvmshare_metrics_reason_name(enum kvmshare_metrics_reason reason)
{
	if ((unsigned int)reason >= KVMSHARE_METRICS_NR_REASONS)
		return "invalid";
	return kvmshare_metrics_reason_names[reason];
}

static void kvmshare_metrics_count(struct kvmshare_metrics_reader *r,
				   enum kvmshare_metrics_reason reason)
{
	r->count[reason]++;
}

/* Forget the guest: the next good page starts a new baseline. */
static void kvmshare_metrics_drop(struct kvmshare_metrics_reader *r,
				  struct kvmshare_metrics_sample *out)
{
	static const struct kvmshare_metrics_sample none;

	r->have_base = 0;
	r->last = none;
	*out = none;
}

/* No fresh data this read: hand out the last sample for a while. */
static enum kvmshare_metrics_reason
kvmshare_metrics_hold(struct kvmshare_metrics_reader *r,
		      enum kvmshare_metrics_reason reason,
		      struct kvmshare_metrics_sample *out)
{
	static const struct kvmshare_metrics_sample none;

	if (r->missed < r->stale_periods)
		r->missed++;
	kvmshare_metrics_count(r, reason);
	if (r->missed >= r->stale_periods) {
		if (r->last.valid)
			kvmshare_metrics_count(r, KVMSHARE_METRICS_STALE);
		/*
		 * Deltas against a page from before the silence would be
		 * averaged over at most KVMSHARE_METRICS_MAX_STALE reads,
		 * however long it was: start afresh.
		 */
		r->rebase = 1;
		r->last = none;
		*out = none;
		return KVMSHARE_METRICS_STALE;
	}
	*out = r->last;
	out->fresh = 0;
	return reason;
}

static enum kvmshare_metrics_reason
kvmshare_metrics_check_header(const struct kvmshare_metrics_page *p)
{
	size_t i;

	if (p->magic != KVMSHARE_METRICS_MAGIC)
		return KVMSHARE_METRICS_BAD_MAGIC;
	if (p->version != KVMSHARE_METRICS_VERSION)
		return KVMSHARE_METRICS_BAD_VERSION;
	if (p->size != sizeof(*p))
		return KVMSHARE_METRICS_BAD_SIZE;
	for (i = 0; i < ARRAY_SIZE(p->reserved); i++)
		if (p->reserved[i])
			return KVMSHARE_METRICS_BAD_RESERVED;
	if (p->flags & KVMSHARE_METRICS_F_STOPPING)
		return KVMSHARE_METRICS_STOPPING;
	return KVMSHARE_METRICS_OK;
}

/* min(v, max), noting in *clamped that it was out of range */
static u64 kvmshare_metrics_bound(u64 v, u64 max, bool *clamped)
{
	if (v <= max)
		return v;
	*clamped = true;
	return max;
}

/* KiB from the guest to pages of 4 KiB, bounded by the partition size */
static u64 kvmshare_metrics_kb(u64 kb, u64 max_pages, bool *clamped)
{
	return kvmshare_metrics_bound(kb / 4, max_pages, clamped);
}

/*
 * Growth of a cumulative counter since the baseline, per read, bounded by
 * @max per read. A counter that went back yields 0.
 */
static u64 kvmshare_metrics_delta(u64 cur, u64 old, u32 age, u64 max,
				  bool *clamped, bool *backwards)
{
	if (cur < old) {
		*backwards = true;
		return 0;
	}
	return kvmshare_metrics_bound(div64_u64(cur - old, age), max, clamped);
}

/* Stall time since the baseline as ppm of the elapsed host time. */
static u32 kvmshare_metrics_stall_ppm(u64 cur, u64 old, u32 age, u32 period_us,
				      bool *clamped, bool *backwards)
{
	u64 elapsed = (u64)age * period_us;
	u64 stall;

	if (cur < old) {
		*backwards = true;
		return 0;
	}
	/* PSI time may run slightly ahead of ours; clamp at twice ours */
	stall = kvmshare_metrics_bound(cur - old, 2 * elapsed, clamped);
	stall = div64_u64(stall * KVMSHARE_METRICS_PPM, elapsed);
	return (u32)kvmshare_metrics_bound(stall, KVMSHARE_METRICS_PPM, clamped);
}

static void kvmshare_metrics_sanitize(struct kvmshare_metrics_reader *r,
				      const struct kvmshare_metrics_page *p,
				      struct kvmshare_metrics_sample *s,
				      bool *clamped, bool *backwards)
{
	const struct kvmshare_metrics_page *b = &r->base;
	u64 events = div64_u64(KVMSHARE_METRICS_MAX_EVENTS_PER_SEC * r->period_us,
			       1000000);
	u32 age = r->age ? r->age : 1;

	s->valid = 1;
	s->fresh = 1;
	s->flags = p->flags & KVMSHARE_METRICS_F_ALL;

	s->mem_total = kvmshare_metrics_kb(p->mem_total_kb, r->max_pages,
					   clamped);
	if (!s->mem_total) {
		/* MemTotal 0 is impossible: use the partition size */
		*clamped = true;
		s->mem_total = r->max_pages;
	}
	s->mem_available = kvmshare_metrics_kb(p->mem_available_kb,
					       s->mem_total, clamped);
	if (s->flags & KVMSHARE_METRICS_F_BALLOON)
		s->balloon = kvmshare_metrics_kb(p->balloon_kb, r->max_pages,
						 clamped);

	s->swap_used = kvmshare_metrics_kb(p->swap_used_kb, r->max_pages, clamped);

	if (s->flags & KVMSHARE_METRICS_F_PSI) {
		s->psi_some_avg10 = (u32)kvmshare_metrics_bound(p->psi_some_avg10,
								KVMSHARE_METRICS_PSI_SCALE,
								clamped);
		s->psi_full_avg10 = (u32)kvmshare_metrics_bound(p->psi_full_avg10,
								s->psi_some_avg10,
								clamped);
	}

	if (!r->have_base || r->rebase)
		return;

	if (s->flags & KVMSHARE_METRICS_F_PSI) {
		s->psi_some_ppm = kvmshare_metrics_stall_ppm(p->psi_some_total_us,
							     b->psi_some_total_us,
							     age, r->period_us,
							     clamped, backwards);
		s->psi_full_ppm = kvmshare_metrics_stall_ppm(p->psi_full_total_us,
							     b->psi_full_total_us,
							     age, r->period_us,
							     clamped, backwards);
		if (s->psi_full_ppm > s->psi_some_ppm) {
			*clamped = true;
			s->psi_full_ppm = s->psi_some_ppm;
		}
	}
	s->refaults = kvmshare_metrics_delta(p->refault_total, b->refault_total,
					     age, events, clamped, backwards);
	s->swapins = kvmshare_metrics_delta(p->swapin_total, b->swapin_total,
					    age, events, clamped, backwards);
	s->swapouts = kvmshare_metrics_delta(p->swapout_total, b->swapout_total,
					     age, events, clamped, backwards);
	s->majfaults = kvmshare_metrics_delta(p->majfault_total,
					      b->majfault_total, age, events,
					      clamped, backwards);
	s->allocstalls = kvmshare_metrics_delta(p->allocstall_total,
						b->allocstall_total, age,
						events, clamped, backwards);
	s->oom_kills = kvmshare_metrics_delta(p->oom_kill_total,
					      b->oom_kill_total, age, events,
					      clamped, backwards);
}

/**
 * kvmshare_metrics_restart - the reader's user stopped reading for a while
 * @r: the reader
 *
 * The next fresh page starts a new baseline, as after a bind: what the
 * guest counted while nobody read is not one period's worth. Nothing is
 * held meanwhile; the counters of reasons are kept.
 */
void kvmshare_metrics_restart(struct kvmshare_metrics_reader *r)
{
	static const struct kvmshare_metrics_sample none;

	r->rebase = 1;
	r->missed = 0;
	r->age = 0;
	r->last = none;
}

/**
 * kvmshare_metrics_read - check one snapshot and turn it into a sample
 * @r: the partition's reader, limits set (kvmshare_metrics_reader_check())
 * @copy: the snapshot; copy->seq is the count read before copying
 * @seq_end: the count read after copying
 * @out: the sanitized sample, always written
 *
 * Call once per period. A torn or unchanged page keeps the previous sample
 * (with @out->fresh clear) for up to @r->stale_periods reads, then the
 * sample becomes invalid until the guest publishes again. A page with a
 * bad header is invalid at once. Values out of range are clamped.
 *
 * Return: the outcome; KVMSHARE_METRICS_OK for a fresh sample.
 */
enum kvmshare_metrics_reason
kvmshare_metrics_read(struct kvmshare_metrics_reader *r,
		      const struct kvmshare_metrics_page *copy, u32 seq_end,
		      struct kvmshare_metrics_sample *out)
{
	static const struct kvmshare_metrics_sample none;
	enum kvmshare_metrics_reason reason;
	struct kvmshare_metrics_sample s = none;
	bool clamped = false, backwards = false;

	if (kvmshare_metrics_reader_check(r)) {
		*out = none;
		return KVMSHARE_METRICS_STALE;
	}
	if (r->age < KVMSHARE_METRICS_MAX_STALE)
		r->age++;

	if ((copy->seq & 1) || copy->seq != seq_end)
		return kvmshare_metrics_hold(r, KVMSHARE_METRICS_TORN, out);

	reason = kvmshare_metrics_check_header(copy);
	if (reason != KVMSHARE_METRICS_OK) {
		kvmshare_metrics_count(r, reason);
		r->missed = r->stale_periods;
		kvmshare_metrics_drop(r, out);
		return reason;
	}

	if (r->have_base && copy->seq == r->last_seq)
		return kvmshare_metrics_hold(r, KVMSHARE_METRICS_UNCHANGED, out);

	if (copy->flags & ~KVMSHARE_METRICS_F_ALL)
		kvmshare_metrics_count(r, KVMSHARE_METRICS_UNKNOWN_FLAGS);
	kvmshare_metrics_sanitize(r, copy, &s, &clamped, &backwards);
	if (clamped)
		kvmshare_metrics_count(r, KVMSHARE_METRICS_CLAMPED);
	if (backwards)
		kvmshare_metrics_count(r, KVMSHARE_METRICS_BACKWARDS);
	kvmshare_metrics_count(r, KVMSHARE_METRICS_OK);

	r->base = *copy;
	r->have_base = 1;
	r->rebase = 0;
	r->last_seq = copy->seq;
	r->missed = 0;
	r->age = 0;
	r->last = s;
	*out = s;
	return KVMSHARE_METRICS_OK;
}
