/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The documented bounds of a sanitized metrics sample, shared by the
 * fuzzing test and the libFuzzer entry point.
 */
#ifndef _KVMSHARE_POLICY_METRICS_CHECK_H
#define _KVMSHARE_POLICY_METRICS_CHECK_H

#include <stdio.h>
#include <string.h>

#include "kvmshare_metrics.h"

/* 1 if @ok, else 0 and @what in @why */
static inline int metrics_holds(int ok, const char *what, char *why, size_t len)
{
	if (!ok)
		snprintf(why, len, "%s", what);
	return ok;
}

#define MHOLDS(cond)	metrics_holds(!!(cond), #cond, why, len)

/* 0 if @s is within bounds, else -1 and a reason in @why. */
static inline int metrics_sample_check(const struct kvmshare_metrics_reader *r,
				       const struct kvmshare_metrics_sample *s,
				       char *why, size_t len)
{
	static const struct kvmshare_metrics_sample zero;
	uint64_t ev = KVMSHARE_METRICS_MAX_EVENTS_PER_SEC * r->period_us /
		      1000000;
	int ok;

	if (!s->valid)
		return MHOLDS(!memcmp(s, &zero, sizeof(zero))) ? 0 : -1;
	ok = MHOLDS(s->valid == 1 && s->fresh <= 1) &&
	     MHOLDS(!(s->flags & ~KVMSHARE_METRICS_F_ALL)) &&
	     MHOLDS(!(s->flags & KVMSHARE_METRICS_F_STOPPING)) &&
	     MHOLDS(s->mem_total >= 1 && s->mem_total <= r->max_pages) &&
	     MHOLDS(s->mem_available <= s->mem_total) &&
	     MHOLDS(s->balloon <= r->max_pages) &&
	     MHOLDS(s->swap_used <= r->max_pages) &&
	     MHOLDS(s->psi_some_avg10 <= KVMSHARE_METRICS_PSI_SCALE) &&
	     MHOLDS(s->psi_full_avg10 <= s->psi_some_avg10) &&
	     MHOLDS(s->psi_some_ppm <= KVMSHARE_METRICS_PPM) &&
	     MHOLDS(s->psi_full_ppm <= s->psi_some_ppm) &&
	     MHOLDS((s->flags & KVMSHARE_METRICS_F_PSI) ||
		    (!s->psi_some_ppm && !s->psi_some_avg10)) &&
	     MHOLDS((s->flags & KVMSHARE_METRICS_F_BALLOON) || !s->balloon) &&
	     MHOLDS(s->refaults <= ev && s->swapins <= ev &&
		    s->swapouts <= ev) &&
	     MHOLDS(s->majfaults <= ev && s->allocstalls <= ev &&
		    s->oom_kills <= ev);
	return ok ? 0 : -1;
}

#endif /* _KVMSHARE_POLICY_METRICS_CHECK_H */
