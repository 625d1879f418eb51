/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the policy suite: a seeded generator so that every run is
 * the same, and the directory of the source tree.
 */
#ifndef _KVMSHARE_POLICY_TESTUTIL_H
#define _KVMSHARE_POLICY_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>

struct trng {
	uint64_t s;
};

static inline void trng_seed(struct trng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!r->s)
		r->s = 1;
}

/* xorshift64* */
static inline uint64_t trng_next(struct trng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* uniform in [lo, hi] */
static inline uint64_t trng_range(struct trng *r, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	if (hi - lo == UINT64_MAX)
		return trng_next(r);
	return lo + trng_next(r) % (hi - lo + 1);
}

/* a value that is often an edge case: 0, 1, a power of two, all ones */
static inline uint64_t trng_edgy(struct trng *r)
{
	switch (trng_next(r) % 8) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return UINT64_MAX;
	case 3:
		return 1ULL << (trng_next(r) % 64);
	case 4:
		return (1ULL << (trng_next(r) % 64)) - 1;
	default:
		return trng_next(r) >> (trng_next(r) % 64);
	}
}

#ifndef KVMSHARE_SRCDIR_DEFAULT
#define KVMSHARE_SRCDIR_DEFAULT "."
#endif

/* The source tree: $KVMSHARE_SRCDIR (set by make check) or the build's. */
static inline const char *tsrcdir(void)
{
	const char *d = getenv("KVMSHARE_SRCDIR");

	return d && *d ? d : KVMSHARE_SRCDIR_DEFAULT;
}

#endif /* _KVMSHARE_POLICY_TESTUTIL_H */
