// SPDX-License-Identifier: GPL-2.0
/*
 * vpa benchmark (make bench), in the test VM on vpa_bench.ko:
 *
 *   bench: vpa.check_overhead R   time of a descriptor stream with the DMA
 *                                 window and requester-id checks, divided
 *                                 by the time of the same stream with them
 *                                 bypassed; rounds alternate in one run
 *   bench: vpa.check_overhead_worst R
 *                                 the same for the worst case: 32 windows
 *                                 with the match last, 64-byte descriptors,
 *                                 one per doorbell: the median over 40 pairs
 *                                 of short rounds; also the difference per
 *                                 descriptor with its 95% confidence interval
 *   bench: vpa.lifecycle_ms T     mdev create + open + close + remove
 *   bench: vpa.lifecycle_vs_mtty R
 *                                 that time divided by the same for the
 *                                 kernel's sample mdev driver mtty (make
 *                                 samples), cycles alternating in one run
 *
 * Times under TCG are emulated; only the ratios mean something.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
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
#define WORST_DESCS	64	/* descriptors per round, one per doorbell */
#define WORST_PAIRS	40	/* short rounds, many pairs: less noise */
#define WORST_XFER	64
#define MTTY_PARENT	"/sys/class/mtty/mtty"
#define VPA_BENCH_PARENT "/sys/class/vpa_bench/vpa_bench0"
/* Student's t, 97.5th percentile, WORST_PAIRS - 1 = 39 degrees of freedom */
#define T975_39		2.023

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

/*
 * @pairs pairs of rounds of @round with the checks on and bypassed, in
 * ABBA order so that drift and position effects cancel: the times of
 * pair k go to on[k] and off[k]. The checks are on again afterwards.
 * Returns 0 or an errno.
 */
static int abba_rounds(struct vc *c, uint64_t (*round)(struct vc *),
		       int pairs, uint64_t *on, uint64_t *off, bool verbose)
{
	uint64_t t;
	int i, ret = 0;

	for (i = 0; i < 2 * pairs && !ret; i++) {
		bool bypass = (i ^ (i >> 1)) & 1;

		ret = vc_write_file(BYPASS, bypass ? "Y" : "N");
		t = ret ? 0 : round(c);
		if (!t)
			ret = -EIO;
		(bypass ? off : on)[i / 2] = t;
		if (verbose)
			printf("# round %d, checks %s: %.1f ms\n", i,
			       bypass ? "bypassed" : "on", t / 1e6);
	}
	vc_write_file(BYPASS, "N");
	return ret;
}

static void bench_checks(void)
{
	uint64_t on = 0, off = 0, t_on[PAIRS], t_off[PAIRS];
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
	ret = abba_rounds(&c, round_ns, PAIRS, t_on, t_off, true);
	for (i = 0; i < PAIRS && !ret; i++) {
		on += t_on[i];
		off += t_off[i];
	}
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

/*
 * One worst-case round: WORST_DESCS memmoves of WORST_XFER bytes, each
 * rung on its own and awaited by polling its completion record (no sleep:
 * the engine runs on the other vCPU). Returns ns or 0.
 */
static uint64_t worst_round_ns(struct vc *c)
{
	uint64_t t0 = vc_now_ns(), end = t0 + 20000000000ULL;
	struct vpa_completion *cr;
	struct vpa_desc d;
	unsigned int slot;
	int i, spin;

	for (i = 0; i < WORST_DESCS; i++) {
		slot = c->tail;
		cr = vc_compl(c, slot);
		memset(cr, 0, 32);
		memset(&d, 0, sizeof(d));
		d.opcode = VPA_OP_MEMMOVE;
		d.flags = VPA_DESC_F_COMPL;
		d.size = WORST_XFER;
		d.src = vc_iova(VC_DATA_OFF + (i % BATCH) * WORST_XFER);
		d.dst = vc_iova(VC_DATA_OFF + 0x100000 + (i % BATCH) * WORST_XFER);
		d.completion = vc_iova(VC_COMPL_OFF + slot * 32);
		if (vc_submit(c, &d, 1))
			return 0;
		for (spin = 0; !__atomic_load_n(&cr->status, __ATOMIC_ACQUIRE);
		     spin++)
			if (!(spin & 1023) && vc_now_ns() > end)
				return 0;
		if (cr->status != VPA_CS_SUCCESS)
			return 0;
	}
	return vc_now_ns() - t0;
}

/*
 * The window check's worst case: 32 windows, the only one that matches
 * (all of the client's memory) last, so every access of a descriptor
 * (ring entry, source, destination, completion) scans all of them.
 */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench_checks_worst(void)
{
	double diff[WORST_PAIRS], ratio[WORST_PAIRS], mean = 0, var = 0, half;
	uint64_t on = 0, off = 0, t_on[WORST_PAIRS], t_off[WORST_PAIRS];
	struct vc c = { .container = -1, .group = -1, .dev = -1 };
	int i, ret;
	char uuid[40];

	ret = vc_create("large", uuid);
	ret = ret ?: vc_mdev_write(uuid, "vpa/nr_win", "32");
	ret = ret ?: vc_open(&c, uuid) ?: vc_wq_setup(&c, 0, RING);
	for (i = 0; i < 31 && !ret; i++)
		ret = vc_win(&c, i, 0x10000000000ULL + i * 0x100000ULL, 4096,
			     VPA_WIN_ALL);
	ret = ret ?: vc_win(&c, 31, VC_MEM_IOVA, VC_MEM_SIZE, VPA_WIN_ALL);
	result(!ret, "a virtual adapter with 32 windows, the match last");
	if (ret)
		goto out;
	memset(c.mem + VC_DATA_OFF, 0x5a, BATCH * WORST_XFER);
	worst_round_ns(&c);	/* warm up */
	ret = abba_rounds(&c, worst_round_ns, WORST_PAIRS, t_on, t_off, false);
	result(!ret, "single descriptors with and without checks");
	if (ret)
		goto out;
	for (i = 0; i < WORST_PAIRS; i++) {
		on += t_on[i];
		off += t_off[i];
		diff[i] = ((double)t_on[i] - t_off[i]) / WORST_DESCS;
		ratio[i] = (double)t_on[i] / t_off[i];
		mean += diff[i] / WORST_PAIRS;
	}
	for (i = 0; i < WORST_PAIRS; i++)
		var += (diff[i] - mean) * (diff[i] - mean) / (WORST_PAIRS - 1);
	half = T975_39 * sqrt(var / WORST_PAIRS);
	/* the median pair: a host stall in one round moves it little */
	qsort(ratio, WORST_PAIRS, sizeof(ratio[0]), cmp_double);
	printf("# worst case: %d descriptors of %d bytes per round, ",
	       WORST_DESCS, WORST_XFER);
	printf("one per doorbell, %d rounds each\n", WORST_PAIRS);
	printf("# checks: %.2f us/desc, bypassed: %.2f us/desc (sum ratio %.3f)\n",
	       on / 1e3 / (WORST_DESCS * WORST_PAIRS),
	       off / 1e3 / (WORST_DESCS * WORST_PAIRS), (double)on / off);
	printf("# difference per descriptor: %.3f us (95%% CI %.3f .. %.3f)\n",
	       mean / 1e3, (mean - half) / 1e3, (mean + half) / 1e3);
	printf("bench: vpa.check_overhead_worst %.3f (goal <= 1.10)\n",
	       (ratio[WORST_PAIRS / 2 - 1] + ratio[WORST_PAIRS / 2]) / 2);
out:
	vc_close(&c);
	vc_remove(uuid);
}

/* One mdev create + open + close + remove on @parent; ns, or 0. */
static uint64_t lifecycle_ns(const char *parent, const char *type)
{
	struct vc c = { .container = -1, .group = -1, .dev = -1 };
	uint64_t t0 = vc_now_ns();
	char uuid[40];
	int ret;

	setenv("VPA_PARENT", parent, 1);
	ret = vc_create(type, uuid);
	if (ret)
		return 0;
	ret = vc_open(&c, uuid);
	vc_close(&c);
	ret = vc_remove(uuid) ?: ret;
	return ret ? 0 : vc_now_ns() - t0;
}

/* vpa's mdev lifecycle, alternating with mtty's (the kernel's sample). */
static void bench_lifecycle(void)
{
	uint64_t vpa = 0, mtty = 0, t;
	bool have_mtty = !access(MTTY_PARENT, F_OK);
	int i, n = 10;

	for (i = 0; i < n; i++) {
		t = lifecycle_ns(VPA_BENCH_PARENT, "small");
		if (!t)
			break;
		vpa += t;
		t = have_mtty ? lifecycle_ns(MTTY_PARENT, "2") : 0;
		if (!t)
			have_mtty = false;
		mtty += t;
	}
	setenv("VPA_PARENT", VPA_BENCH_PARENT, 1);
	result(i == n, "mdev create, open, close, remove");
	result(i == n && have_mtty,
	       "the same on mtty (modprobe mtty; make samples builds it)");
	if (i < n)
		return;
	printf("bench: vpa.lifecycle_ms %.1f\n", vpa / 1e6 / n);
	if (!have_mtty)
		return;
	printf("# mtty: %.1f ms\n", mtty / 1e6 / n);
	printf("bench: vpa.lifecycle_vs_mtty %.2f (goal <= 2.0)\n",
	       (double)vpa / mtty);
}

int main(void)
{
	setenv("VPA_PARENT", VPA_BENCH_PARENT, 0);
	printf("TAP version 13\n1..8\n");
	bench_checks();
	while (tests < 4)
		result(false, "skipped after an earlier failure");
	bench_checks_worst();
	while (tests < 6)
		result(false, "skipped after an earlier failure");
	bench_lifecycle();
	return failed ? 1 : 0;
}
