// SPDX-License-Identifier: GPL-2.0
/*
 * Runs inside a nested guest of the end-to-end tests (built static into
 * the guest's initramfs), not in the test VM:
 *
 *   guest_mem KEEP_MIB CHURN_MIB ROUNDS HOLD_S [GAP_S]
 *
 * Writes a pattern over KEEP_MIB MiB of anonymous memory that it keeps,
 * then ROUNDS times maps CHURN_MIB MiB more, writes a pattern of that
 * round over it (GUEST-FILLED r), holds it HOLD_S seconds, verifies
 * every word of it and unmaps it (GUEST-FREED r): the guest kernel gets
 * it back, and free page reporting or a balloon can hand it to the host.
 * After each round it verifies every word it keeps (GUEST-ROUND r ok|BAD).
 * With GAP_S, between rounds it waits (GUEST-GAP r) for a balloon to be
 * inflated and deflated again (MemTotal down by 16 MiB or more, then
 * back within 8 MiB of what it was), at most GAP_S seconds, so that the
 * next round writes the pages the balloon gave back (GUEST-GAP-END r,
 * with how it ended).
 * Then GUEST-DONE, and every 5 s a verification of every kept word
 * (GUEST-ALIVE n ok|BAD), until killed (not more often: under two levels
 * of TCG a pass over 32 MiB takes seconds of a CPU the other guest and
 * the host's paging service need).
 *
 * Each word's value depends on the region, the round and its index, so a
 * page that came back from the wrong place, zeroed, or stale from an
 * earlier round is told apart; a mismatch prints the first bad word.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define MIB		(1024UL * 1024)
#define WORDS_PER_MIB	(MIB / sizeof(uint64_t))

static uint64_t word(uint64_t tag, uint64_t i)
{
	return (tag << 48) ^ (i * 0x9e3779b97f4a7c15ULL) ^ (i >> 9);
}

static void fill(uint64_t *p, uint64_t words, uint64_t tag)
{
	uint64_t i;

	for (i = 0; i < words; i++)
		p[i] = word(tag, i);
}

/* Words of @p that are wrong; the first one's index in *@first. */
static uint64_t verify(const uint64_t *p, uint64_t words, uint64_t tag,
		       uint64_t *first, uint64_t *got)
{
	uint64_t i, bad = 0;

	for (i = 0; i < words; i++) {
		if (p[i] == word(tag, i))
			continue;
		if (!bad++) {
			*first = i;
			*got = p[i];
		}
	}
	return bad;
}

static void *map(unsigned long mib)
{
	void *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Print a verdict of a verification; returns 1 when bad. */
static int report(const char *what, uint64_t n, uint64_t bad, uint64_t words,
		  uint64_t first, uint64_t got, uint64_t tag)
{
	if (!bad) {
		printf("GUEST-%s %llu ok words=%llu\n", what,
		       (unsigned long long)n, (unsigned long long)words);
		return 0;
	}
	printf("GUEST-%s %llu BAD %llu of %llu words wrong, ", what,
	       (unsigned long long)n, (unsigned long long)bad,
	       (unsigned long long)words);
	printf("first at byte %llu: %#llx, expected %#llx\n",
	       (unsigned long long)(first * sizeof(uint64_t)),
	       (unsigned long long)got, (unsigned long long)word(tag, first));
	return 1;
}

/* MemTotal in KiB, 0 if /proc/meminfo cannot be read. */
static unsigned long mem_total_kb(void)
{
	unsigned long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Wait for a balloon's inflation and deflation, at most @gap seconds. */
static void balloon_gap(unsigned long r, unsigned long gap)
{
	unsigned long was = mem_total_kb(), now, t;
	int dipped = 0;

	printf("GUEST-GAP %lu MemTotal %lu kB\n", r, was);
	for (t = 0; t < gap; t++) {
		sleep(1);
		now = mem_total_kb();
		if (!was || !now)
			continue;
		if (now + 16 * 1024 < was)
			dipped = 1;
		if (dipped && now + 8 * 1024 >= was) {
			printf("GUEST-GAP-END %lu deflated after %lus\n", r,
			       t + 1);
			return;
		}
	}
	printf("GUEST-GAP-END %lu timeout%s\n", r, dipped ? " (inflated)" : "");
}

int main(int argc, char **argv)
{
	unsigned long keep_mib, churn_mib, rounds, hold, gap = 0, r, n;
	uint64_t keep_words, churn_words, first = 0, got = 0, bad;
	uint64_t *keep, *churn;
	int bads = 0;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: guest_mem KEEP_MIB CHURN_MIB ROUNDS HOLD_S [GAP_S]\n");
		return 2;
	}
	keep_mib = strtoul(argv[1], NULL, 0);
	churn_mib = strtoul(argv[2], NULL, 0);
	rounds = strtoul(argv[3], NULL, 0);
	hold = strtoul(argv[4], NULL, 0);
	if (argc == 6)
		gap = strtoul(argv[5], NULL, 0);
	if (!keep_mib)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	keep_words = keep_mib * WORDS_PER_MIB;
	churn_words = churn_mib * WORDS_PER_MIB;
	keep = map(keep_mib);
	if (!keep) {
		printf("GUEST-MEM-FAILED mmap %lu MiB\n", keep_mib);
		return 1;
	}
	fill(keep, keep_words, 1);
	printf("GUEST-KEPT %lu MiB\n", keep_mib);
	for (r = 1; churn_mib && r <= rounds; r++) {
		churn = map(churn_mib);
		if (!churn) {
			printf("GUEST-MEM-FAILED mmap %lu MiB\n", churn_mib);
			return 1;
		}
		fill(churn, churn_words, r + 1);
		printf("GUEST-FILLED %lu %lu MiB\n", r, churn_mib);
		if (hold)
			sleep(hold);
		bad = verify(churn, churn_words, r + 1, &first, &got);
		bads += report("FREED", r, bad, churn_words, first, got,
			       r + 1);
		munmap(churn, churn_mib * MIB);
		bad = verify(keep, keep_words, 1, &first, &got);
		bads += report("ROUND", r, bad, keep_words, first, got, 1);
		if (gap && r < rounds)
			balloon_gap(r, gap);
	}
	printf("GUEST-DONE rounds=%lu bad=%d\n", churn_mib ? rounds : 0, bads);
	for (n = 1;; n++) {
		bad = verify(keep, keep_words, 1, &first, &got);
		report("ALIVE", n, bad, keep_words, first, got, 1);
		sleep(5);
	}
	return 0;
}
