// SPDX-License-Identifier: GPL-2.0
/*
 * vpa benchmark (make bench), in the test VM on vpa_bench.ko:
 *
 *   bench: vpa.check_overhead R   time of a descriptor stream with the DMA
 *                                 window and requester-id checks, divided
 *                                 by the time of the same stream with them
 *                                 bypassed; rounds alternate in one run
 *   bench: vpa.lifecycle_ms T     mdev create + open + close + remove
 *
 * Times under TCG are emulated; only the ratio means something.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio_client.h"

#define BYPASS		"/sys/kernel/debug/vpa_bench/bypass_checks"
#define RING		256
#define BATCH		128
#define ROUND_DESCS	4096
#define PAIRS		10
#define XFER		1024

static int tests, failed;

static void result(bool ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", tests, what);
}

/* One round: ROUND_DESCS memmoves in batches; returns ns or 0. */
static uint64_t round_ns(struct vc *c)
{
	struct vpa_desc d[BATCH];
	uint64_t t0 = vc_now_ns();
	unsigned int slot;
	int i, b;

	for (b = 0; b < ROUND_DESCS / BATCH; b++) {
		memset(d, 0, sizeof(d));
		for (i = 0; i < BATCH; i++) {
			d[i].opcode = VPA_OP_MEMMOVE;
			d[i].size = XFER;
			d[i].src = vc_iova(VC_DATA_OFF + i * XFER);
			d[i].dst = vc_iova(VC_DATA_OFF + 0x100000 + i * XFER);
		}
		slot = (c->tail + BATCH - 1) & (RING - 1);
		memset(vc_compl(c, slot), 0, 32);
		d[BATCH - 1].flags = VPA_DESC_F_COMPL;
		d[BATCH - 1].completion = vc_iova(VC_COMPL_OFF + slot * 32);
		if (vc_submit(c, d, BATCH) || vc_wait(c, slot, 20000) ||
		    vc_compl(c, slot)->status != VPA_CS_SUCCESS)
			return 0;
	}
	return vc_now_ns() - t0;
}

static void bench_checks(void)
{
	uint64_t on = 0, off = 0, t;
	char uuid[40];
	struct vc c;
	int i, ret;

	ret = vc_create("large", uuid);
	result(!ret, "create a virtual adapter on vpa_bench0");
	if (ret)
		return;
	ret = vc_open(&c, uuid) ?: vc_wq_setup(&c, 0, RING);
	result(!ret, "open it through VFIO and set up a work queue");
	if (ret)
		goto out;
	memset(c.mem + VC_DATA_OFF, 0x3c, BATCH * XFER);
	round_ns(&c);	/* warm up: fault in the pages, wake the engines */
	/* ABBA order, so that drift and position effects cancel */
	for (i = 0; i < 2 * PAIRS && !ret; i++) {
		bool bypass = (i ^ (i >> 1)) & 1;

		ret = vc_write_file(BYPASS, bypass ? "Y" : "N");
		t = ret ? 0 : round_ns(&c);
		if (!t)
			ret = -EIO;
		if (bypass)
			off += t;
		else
			on += t;
		printf("# round %d, checks %s: %.1f ms\n", i,
		       bypass ? "bypassed" : "on", t / 1e6);
	}
	vc_write_file(BYPASS, "N");
	result(!ret, "descriptor rounds with and without checks");
	result(!ret && !memcmp(c.mem + VC_DATA_OFF, c.mem + VC_DATA_OFF +
			       0x100000, BATCH * XFER), "data copied");
	if (!ret) {
		printf("# %d descriptors of %d bytes per round, %d rounds each\n",
		       ROUND_DESCS, XFER, PAIRS);
		printf("# checks: %.1f us/desc, bypassed: %.1f us/desc\n",
		       on / 1e3 / (ROUND_DESCS * PAIRS),
		       off / 1e3 / (ROUND_DESCS * PAIRS));
		printf("bench: vpa.check_overhead %.3f\n", (double)on / off);
	}
out:
	vc_close(&c);
	vc_remove(uuid);
}

static void bench_lifecycle(void)
{
	struct vc c = { .container = -1, .group = -1, .dev = -1 };
	uint64_t total = 0, t0;
	char uuid[40];
	int i, ret = 0, n = 10;

	for (i = 0; i < n && !ret; i++) {
		t0 = vc_now_ns();
		ret = vc_create("small", uuid) ?: vc_open(&c, uuid);
		vc_close(&c);
		ret = ret ?: vc_remove(uuid);
		total += vc_now_ns() - t0;
	}
	result(!ret, "mdev create, open, close, remove");
	if (!ret)
		printf("bench: vpa.lifecycle_ms %.1f\n", total / 1e6 / n);
}

int main(void)
{
	setenv("VPA_PARENT", "/sys/class/vpa_bench/vpa_bench0", 0);
	printf("TAP version 13\n1..5\n");
	bench_checks();
	while (tests < 4)
		result(false, "skipped after an earlier failure");
	bench_lifecycle();
	return failed ? 1 : 0;
}
