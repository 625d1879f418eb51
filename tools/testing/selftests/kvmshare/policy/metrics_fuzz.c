// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the metrics page reader (kvm/kvmshare_metrics.c) built for user
 * space: the seqcount protocol, every reason code, clamping, and a
 * deterministic random-mutation fuzzer over valid pages whose every output
 * must satisfy the reader's documented bounds. A writer thread checks that
 * kvmshare_metrics_snapshot() never hands out a torn page as consistent.
 */
#include <pthread.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kvmshare_metrics.h"
#include "metrics_check.h"
#include "testutil.h"

#define MAX_PAGES	(1ULL << 20)	/* a 4 GiB guest */
#define PERIOD_US	1000000U
#define STALE		5U

static void reader_init(struct kvmshare_metrics_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->max_pages = MAX_PAGES;
	r->period_us = PERIOD_US;
	r->stale_periods = STALE;
}

/* A well-formed page as a guest would publish it after @n updates. */
static void page_valid(struct kvmshare_metrics_page *p, uint32_t n)
{
	memset(p, 0, sizeof(*p));
	p->magic = KVMSHARE_METRICS_MAGIC;
	p->version = KVMSHARE_METRICS_VERSION;
	p->size = sizeof(*p);
	p->seq = 2 * n;
	p->flags = KVMSHARE_METRICS_F_PSI | KVMSHARE_METRICS_F_BALLOON;
	p->interval_ms = 100;
	p->psi_some_avg10 = 1234;
	p->psi_full_avg10 = 567;
	p->psi_some_total_us = 100000ULL * n;	/* 10% of each second */
	p->psi_full_total_us = 50000ULL * n;
	p->mem_total_kb = 3ULL << 20;		/* 3 GiB */
	p->mem_available_kb = 1ULL << 20;
	p->refault_total = 1000ULL * n;
	p->swapin_total = 200ULL * n;
	p->swapout_total = 300ULL * n;
	p->majfault_total = 400ULL * n;
	p->allocstall_total = n / 2;
	p->oom_kill_total = 0;
	p->balloon_kb = 1ULL << 20;
	p->swap_used_kb = 256ULL << 10;
	p->update_count = n;
}

static enum kvmshare_metrics_reason
read_page(struct kvmshare_metrics_reader *r,
	  const struct kvmshare_metrics_page *p,
	  struct kvmshare_metrics_sample *s)
{
	return kvmshare_metrics_read(r, p, p->seq, s);
}

TEST(valid_pages)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;

	reader_init(&r);
	ASSERT_EQ(0, kvmshare_metrics_reader_check(&r));
	ASSERT_EQ(192, sizeof(p));
	page_valid(&p, 1);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(1, s.valid);
	EXPECT_EQ(1, s.fresh);
	EXPECT_EQ(3ULL << 18, s.mem_total);
	EXPECT_EQ(1ULL << 18, s.mem_available);
	EXPECT_EQ(1ULL << 18, s.balloon);
	EXPECT_EQ(1ULL << 16, s.swap_used);
	EXPECT_EQ(1234, s.psi_some_avg10);
	EXPECT_EQ(0, s.psi_some_ppm);	/* no baseline yet */
	EXPECT_EQ(0, s.refaults);

	page_valid(&p, 2);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(100000, s.psi_some_ppm);
	EXPECT_EQ(50000, s.psi_full_ppm);
	EXPECT_EQ(1000, s.refaults);
	EXPECT_EQ(200, s.swapins);
	EXPECT_EQ(300, s.swapouts);
	EXPECT_EQ(400, s.majfaults);

	/* two reads without an update: the next delta is spread over both */
	ASSERT_EQ(KVMSHARE_METRICS_UNCHANGED, read_page(&r, &p, &s));
	EXPECT_EQ(1, s.valid);
	EXPECT_EQ(0, s.fresh);
	page_valid(&p, 4);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(100000, s.psi_some_ppm);
	EXPECT_EQ(1000, s.refaults);
	EXPECT_EQ(3, r.count[KVMSHARE_METRICS_OK]);
	EXPECT_EQ(1, r.count[KVMSHARE_METRICS_UNCHANGED]);
	EXPECT_STREQ("torn", kvmshare_metrics_reason_name(KVMSHARE_METRICS_TORN));
	EXPECT_STREQ("invalid", kvmshare_metrics_reason_name(KVMSHARE_METRICS_NR_REASONS));
}

TEST(torn_then_stale)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;
	unsigned int i;

	reader_init(&r);
	page_valid(&p, 1);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	/* odd count: mid-update */
	p.seq = 3;
	ASSERT_EQ(KVMSHARE_METRICS_TORN, read_page(&r, &p, &s));
	EXPECT_EQ(1, s.valid);
	EXPECT_EQ(0, s.fresh);
	/* even, but moved during the copy */
	p.seq = 4;
	ASSERT_EQ(KVMSHARE_METRICS_TORN, kvmshare_metrics_read(&r, &p, 6, &s));
	/* a guest that is always mid-update goes stale and invalid */
	p.seq = 5;
	for (i = 2; i < STALE - 1; i++)
		ASSERT_EQ(KVMSHARE_METRICS_TORN, read_page(&r, &p, &s));
	ASSERT_EQ(KVMSHARE_METRICS_STALE, read_page(&r, &p, &s));
	EXPECT_EQ(0, s.valid);
	EXPECT_EQ(0, s.mem_total);
	ASSERT_EQ(KVMSHARE_METRICS_STALE, read_page(&r, &p, &s));
	EXPECT_EQ(STALE + 1, r.count[KVMSHARE_METRICS_TORN]);
	EXPECT_EQ(1, r.count[KVMSHARE_METRICS_STALE]);
	/*
	 * It recovers when the guest writes again, with a new baseline:
	 * not 900 ms of stall over the 7 reads since page 1.
	 */
	page_valid(&p, 10);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(1, s.valid);
	EXPECT_EQ(1, s.fresh);
	EXPECT_EQ(0, s.psi_some_ppm);
	EXPECT_EQ(0, s.refaults);
	page_valid(&p, 11);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(100000, s.psi_some_ppm);
	EXPECT_EQ(1000, s.refaults);
}

TEST(restart_takes_a_new_baseline)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;

	reader_init(&r);
	page_valid(&p, 1);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	page_valid(&p, 2);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(100000, s.psi_some_ppm);
	/* nobody read while the guest published 98 times */
	kvmshare_metrics_restart(&r);
	page_valid(&p, 100);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(1, s.valid);
	EXPECT_EQ(1, s.fresh);
	EXPECT_EQ(0, s.psi_some_ppm);
	EXPECT_EQ(0, s.refaults);
	EXPECT_EQ(1234, s.psi_some_avg10);	/* levels are kept */
	page_valid(&p, 101);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(100000, s.psi_some_ppm);
	EXPECT_EQ(4, r.count[KVMSHARE_METRICS_OK]);	/* counters kept */
	/* a page unchanged since before the restart is not fresh data */
	kvmshare_metrics_restart(&r);
	ASSERT_EQ(KVMSHARE_METRICS_UNCHANGED, read_page(&r, &p, &s));
	EXPECT_EQ(0, s.valid);
}

TEST(frozen_guest_goes_stale)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;
	unsigned int i;

	reader_init(&r);
	page_valid(&p, 1);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	for (i = 1; i < STALE; i++) {
		ASSERT_EQ(KVMSHARE_METRICS_UNCHANGED, read_page(&r, &p, &s));
		ASSERT_EQ(1, s.valid);
	}
	ASSERT_EQ(KVMSHARE_METRICS_STALE, read_page(&r, &p, &s));
	EXPECT_EQ(0, s.valid);
}

TEST(bad_headers)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;
	static const enum kvmshare_metrics_reason want[] = {
		KVMSHARE_METRICS_BAD_MAGIC, KVMSHARE_METRICS_BAD_VERSION,
		KVMSHARE_METRICS_BAD_VERSION, KVMSHARE_METRICS_BAD_SIZE,
		KVMSHARE_METRICS_BAD_SIZE, KVMSHARE_METRICS_BAD_RESERVED,
		KVMSHARE_METRICS_STOPPING, KVMSHARE_METRICS_BAD_MAGIC,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		reader_init(&r);
		page_valid(&p, 1);
		ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
		page_valid(&p, 2);
		switch (i) {
		case 0:
			p.magic ^= 1;
			break;
		case 1:
			p.version = 0;
			break;
		case 2:
			p.version = 2;
			break;
		case 3:
			p.size = sizeof(p) - 8;
			break;
		case 4:
			p.size = 4097;
			break;
		case 5:
			p.reserved[6] = 1;
			break;
		case 6:
			p.flags |= KVMSHARE_METRICS_F_STOPPING;
			break;
		case 7:
			memset(&p, 0, sizeof(p));
			break;
			/* never written */;
		}
		ASSERT_EQ(want[i], read_page(&r, &p, &s)) TH_LOG("case %u", i);
		EXPECT_EQ(0, s.valid);
		EXPECT_EQ(1, r.count[want[i]]);
		/* and a good page afterwards starts a new baseline */
		page_valid(&p, 3);
		ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
		EXPECT_EQ(0, s.refaults);
	}
}

TEST(nonsense_is_clamped)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;

	reader_init(&r);
	page_valid(&p, 1);
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	page_valid(&p, 2);
	p.flags |= 1U << 30;
	p.psi_some_avg10 = 20000;
	p.psi_full_avg10 = 30000;
	p.psi_some_total_us = UINT64_MAX;
	p.mem_total_kb = UINT64_MAX;
	p.mem_available_kb = UINT64_MAX;
	p.balloon_kb = UINT64_MAX;
	p.swap_used_kb = UINT64_MAX;
	p.refault_total = UINT64_MAX;
	p.swapin_total = 0;	/* backwards */
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(KVMSHARE_METRICS_F_PSI | KVMSHARE_METRICS_F_BALLOON, s.flags);
	EXPECT_EQ(KVMSHARE_METRICS_PSI_SCALE, s.psi_some_avg10);
	EXPECT_EQ(KVMSHARE_METRICS_PSI_SCALE, s.psi_full_avg10);
	EXPECT_EQ(KVMSHARE_METRICS_PPM, s.psi_some_ppm);
	EXPECT_EQ(MAX_PAGES, s.mem_total);
	EXPECT_EQ(MAX_PAGES, s.mem_available);
	EXPECT_EQ(MAX_PAGES, s.balloon);
	EXPECT_EQ(MAX_PAGES, s.swap_used);
	EXPECT_EQ(KVMSHARE_METRICS_MAX_EVENTS_PER_SEC, s.refaults);
	EXPECT_EQ(0, s.swapins);
	EXPECT_EQ(1, r.count[KVMSHARE_METRICS_CLAMPED]);
	EXPECT_EQ(1, r.count[KVMSHARE_METRICS_BACKWARDS]);
	EXPECT_EQ(1, r.count[KVMSHARE_METRICS_UNKNOWN_FLAGS]);

	/* MemTotal 0 is impossible: the partition size stands in */
	page_valid(&p, 3);
	p.mem_total_kb = 0;
	ASSERT_EQ(KVMSHARE_METRICS_OK, read_page(&r, &p, &s));
	EXPECT_EQ(MAX_PAGES, s.mem_total);
	EXPECT_LE(s.mem_available, s.mem_total);
}

TEST(bad_reader_limits)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;

	page_valid(&p, 1);
	reader_init(&r);
	r.period_us = 0;
	EXPECT_EQ(-EINVAL, kvmshare_metrics_reader_check(&r));
	EXPECT_EQ(KVMSHARE_METRICS_STALE, read_page(&r, &p, &s));
	EXPECT_EQ(0, s.valid);
	reader_init(&r);
	r.max_pages = 0;
	EXPECT_EQ(-EINVAL, kvmshare_metrics_reader_check(&r));
	reader_init(&r);
	r.stale_periods = KVMSHARE_METRICS_MAX_STALE + 1;
	EXPECT_EQ(-EINVAL, kvmshare_metrics_reader_check(&r));
}

/* One random change to a page. */
static void mutate(struct trng *g, struct kvmshare_metrics_page *p)
{
	uint8_t *b = (uint8_t *)p;
	uint64_t *w = (uint64_t *)p;
	size_t nw = sizeof(*p) / sizeof(*w);

	switch (trng_next(g) % 8) {
	case 0:		/* flip a bit */
		b[trng_next(g) % sizeof(*p)] ^= 1U << (trng_next(g) % 8);
		break;
	case 1:		/* a random byte */
		b[trng_next(g) % sizeof(*p)] = (uint8_t)trng_next(g);
		break;
	case 2:		/* an edgy word, anywhere but the header */
		w[3 + trng_next(g) % (nw - 3)] = trng_edgy(g);
		break;
	case 3:		/* a counter that jumps back or far ahead */
		w[5 + trng_next(g) % 12] += trng_edgy(g);
		break;
	case 4:		/* seq games */
		p->seq += (uint32_t)trng_range(g, 0, 3);
		break;
	case 5:		/* flags */
		p->flags = (uint32_t)trng_next(g);
		break;
	case 6:		/* an edgy 32-bit field */
		((uint32_t *)p)[trng_next(g) % 8] = (uint32_t)trng_edgy(g);
		break;
	default:	/* whole page random */
		for (size_t i = 0; i < nw; i++)
			w[i] = trng_next(g);
		break;
	}
}

/*
 * Random mutations of valid pages, read by a reader with random limits:
 * every outcome must lie within the documented bounds.
 */
TEST(fuzz_mutations)
{
	struct kvmshare_metrics_reader r;
	struct kvmshare_metrics_sample s;
	struct kvmshare_metrics_page p;
	unsigned int iter, k, reads = 0;
	uint64_t seen[KVMSHARE_METRICS_NR_REASONS] = { 0 };
	struct trng g;
	char why[128];

	trng_seed(&g, 42);
	for (iter = 0; iter < 20000; iter++) {
		memset(&r, 0, sizeof(r));
		r.max_pages = trng_range(&g, 1, KVMSHARE_METRICS_MAX_PAGES);
		r.period_us = (uint32_t)trng_range(&g, 1, KVMSHARE_METRICS_MAX_PERIOD_US);
		r.stale_periods = (uint32_t)trng_range(&g, 1, 10);
		for (k = 0; k < 20; k++) {
			enum kvmshare_metrics_reason res;
			uint32_t end;
			unsigned int m;

			page_valid(&p, iter * 20 + k + 1);
			for (m = (unsigned int)trng_range(&g, 0, 4); m; m--)
				mutate(&g, &p);
			end = p.seq;
			if (trng_next(&g) % 16 == 0)
				end += 2;
			res = kvmshare_metrics_read(&r, &p, end, &s);
			reads++;
			ASSERT_LT((unsigned int)res, KVMSHARE_METRICS_UNKNOWN_FLAGS);
			seen[res]++;
			ASSERT_EQ(0, metrics_sample_check(&r, &s, why, sizeof(why)))
				TH_LOG("iter %u read %u: %s", iter, k, why);
			ASSERT_EQ(res == KVMSHARE_METRICS_OK, s.valid && s.fresh);
		}
	}
	/* the mutations reached every outcome */
	for (k = 0; k < KVMSHARE_METRICS_UNKNOWN_FLAGS; k++)
		EXPECT_GT(seen[k], 0) TH_LOG("%s never seen",
					     kvmshare_metrics_reason_name(k));
	ksft_print_msg("%u reads: ok %llu torn %llu stale %llu\n", reads,
		       (unsigned long long)seen[KVMSHARE_METRICS_OK],
		       (unsigned long long)seen[KVMSHARE_METRICS_TORN],
		       (unsigned long long)seen[KVMSHARE_METRICS_STALE]);
}

/* A guest that never stops writing, read through the real snapshot. */
struct writer {
	struct kvmshare_metrics_page *page;
	int stop;
	uint64_t updates;
};

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct kvmshare_metrics_page *p = wr->page;
	uint64_t n = 0;

	while (!__atomic_load_n(&wr->stop, __ATOMIC_RELAXED)) {
		n++;
		__atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		/* every counter equal to n: a torn copy shows a mix */
		__atomic_store_n(&p->refault_total, n, __ATOMIC_RELAXED);
		__atomic_store_n(&p->swapin_total, n, __ATOMIC_RELAXED);
		__atomic_store_n(&p->swapout_total, n, __ATOMIC_RELAXED);
		__atomic_store_n(&p->majfault_total, n, __ATOMIC_RELAXED);
		__atomic_store_n(&p->update_count, n, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELAXED);
	}
	wr->updates = n;
	return NULL;
}

TEST(snapshot_against_busy_writer)
{
	static struct kvmshare_metrics_page shared;
	struct kvmshare_metrics_page copy;
	struct writer wr = { .page = &shared };
	unsigned int i, good = 0, torn = 0;
	pthread_t th;

	page_valid(&shared, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, writer_main, &wr));
	for (i = 0; i < 2000000; i++) {
		uint32_t end = kvmshare_metrics_snapshot(&shared, &copy);

		if ((copy.seq & 1) || copy.seq != end) {
			torn++;
			continue;
		}
		good++;
		ASSERT_EQ(copy.refault_total, copy.update_count);
		ASSERT_EQ(copy.swapin_total, copy.update_count);
		ASSERT_EQ(copy.swapout_total, copy.update_count);
		ASSERT_EQ(copy.majfault_total, copy.update_count);
		ASSERT_EQ((uint64_t)copy.seq / 2, copy.update_count & 0x7fffffff);
	}
	__atomic_store_n(&wr.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ksft_print_msg("%u consistent, %u torn copies, %llu updates\n", good,
		       torn, (unsigned long long)wr.updates);
	EXPECT_GT(good, 0);
}

TEST_HARNESS_MAIN
