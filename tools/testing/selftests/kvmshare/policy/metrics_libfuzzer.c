// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer entry point for the metrics page reader: the input is a
 * sequence of pages (and seq ends) read by one reader. Not part of make
 * check; build and run with
 *
 *   make -C tools/testing/selftests/kvmshare/policy policy-libfuzzer
 *   build/selftests/policy/metrics_libfuzzer -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvmshare_metrics.h"
#include "metrics_check.h"

/* libFuzzer calls this under its fixed symbol name */
int metrics_fuzz_one(const uint8_t *data, size_t size)
	__asm__("LLVMFuzzerTestOneInput");

int metrics_fuzz_one(const uint8_t *data, size_t size)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;
	char why[128];
	uint32_t end;

	memset(&r, 0, sizeof(r));
	r.max_pages = 1ULL << 20;
	r.period_us = 1000000;
	r.stale_periods = 3;
	while (size >= sizeof(p) + sizeof(end)) {
		memcpy(&p, data, sizeof(p));
		memcpy(&end, data + sizeof(p), sizeof(end));
		data += sizeof(p) + sizeof(end);
		size -= sizeof(p) + sizeof(end);
		if ((unsigned int)kvmshare_metrics_read(&r, &p, end, &s) >=
		    KVMSHARE_METRICS_UNKNOWN_FLAGS)
			abort();
		if (metrics_sample_check(&r, &s, why, sizeof(why)))
			abort();
	}
	return 0;
}
