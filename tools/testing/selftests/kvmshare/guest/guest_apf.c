// SPDX-License-Identifier: GPL-2.0
/*
 * Runs inside a nested guest of the end-to-end tests (built static into
 * the guest's initramfs), not in the test VM:
 *
 *   guest_apf PAGES WAIT_S
 *
 * Holds PAGES locked pages of anonymous memory with a pattern and prints
 * their guest frame numbers ("GUEST-PFNS n pfn1 pfn2 ..."), so that the host
 * can page exactly those out; sleeps WAIT_S seconds; then reads them back
 * one by one while a second process ticks every 10 ms. It prints
 * "GUEST-APF pages=N elapsed_ms=E ticks=T expected=X ok|BAD": with KVM's
 * asynchronous page fault the guest runs the ticker while a page comes
 * back (T close to X); without it the whole vCPU waits (T far below X).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE		4096UL
#define MAX_PAGES	256

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* The guest frame number of the page at @p, or 0. */
static uint64_t pfn_of(int pagemap, void *p)
{
	uint64_t e;
	off_t off = (uintptr_t)p / PAGE * sizeof(e);

	if (pread(pagemap, &e, sizeof(e), off) != sizeof(e))
		return 0;
	return (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned long pages, i, bad = 0;
	uint64_t *ticks;
	uint64_t t0, t1, n0, n1;
	int pagemap, wait_s;
	uint8_t *buf;
	pid_t ticker;

	if (argc != 3)
		return 2;
	pages = strtoul(argv[1], NULL, 0);
	wait_s = atoi(argv[2]);
	if (!pages || pages > MAX_PAGES || wait_s < 0)
		return 2;
	buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ticks = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || ticks == MAP_FAILED || mlockall(MCL_CURRENT))
		return 1;
	for (i = 0; i < pages; i++)
		memset(buf + i * PAGE, (int)(i * 13 + 1), PAGE);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		return 1;
	printf("GUEST-PFNS %lu", pages);
	for (i = 0; i < pages; i++)
		printf(" %llu",
		       (unsigned long long)pfn_of(pagemap, buf + i * PAGE));
	printf("\n");
	fflush(stdout);

	ticker = fork();
	if (ticker < 0)
		return 1;
	if (!ticker) {
		for (;;) {
			nanosleep(&tick, NULL);
			__atomic_fetch_add(ticks, 1, __ATOMIC_RELAXED);
		}
	}
	sleep(wait_s);

	n0 = __atomic_load_n(ticks, __ATOMIC_RELAXED);
	t0 = now_ms();
	for (i = 0; i < pages; i++)
		if (buf[i * PAGE + 100] != (uint8_t)(i * 13 + 1))
			bad++;
	t1 = now_ms();
	n1 = __atomic_load_n(ticks, __ATOMIC_RELAXED);
	kill(ticker, SIGKILL);
	waitpid(ticker, NULL, 0);
	printf("GUEST-APF pages=%lu elapsed_ms=%llu ticks=%llu expected=%llu %s\n",
	       pages, (unsigned long long)(t1 - t0),
	       (unsigned long long)(n1 - n0),
	       (unsigned long long)((t1 - t0) / 10), bad ? "BAD" : "ok");
	fflush(stdout);
	return bad ? 1 : 0;
}
