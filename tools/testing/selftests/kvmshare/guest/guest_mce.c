// SPDX-License-Identifier: GPL-2.0
/*
 * Runs inside a nested guest of the end-to-end tests (built static into
 * the guest's initramfs), not in the test VM:
 *
 *   guest_mce WAIT_S CASE...     CASE: lost, hmp or hwpoison
 *   guest_mce cap                only print MCG_CAP (in the test VM too)
 *
 * Prints the CPU's MCG_CAP ("GUEST-MCE-MCGCAP ..."), then starts a ticker
 * process that prints "GUEST-TICK <pid> <n>" every second
 * and keeps running after this program returns. Then, for each CASE in
 * turn, a victim process holds one locked page of anonymous memory with a
 * pattern, prints "GUEST-MCE-READY <case> <pfn>" (its guest frame number)
 * and reads the page every 20 ms for up to WAIT_S seconds:
 *
 *   lost      the host pages that frame out to a paging service that
 *             fails its page-in: KVM's machine check, injected by QEMU
 *   hmp       the host injects an action-optional machine check for that
 *             frame with QEMU's HMP "mce" command (a control)
 *   hwpoison  the victim poisons its own page with MADV_HWPOISON (a
 *             control, needs no host)
 *
 * A SIGBUS is reported by the victim's handler as
 * "GUEST-MCE-SIGBUS <case> code=<si_code> lsb=<si_addr_lsb> addr=ok|other"
 * and the victim exits 0; a changed byte is "GUEST-MCE-BAD <case>" (exit
 * 3), no SIGBUS within WAIT_S "GUEST-MCE-TIMEOUT <case>" (exit 4). The
 * parent prints "GUEST-MCE-DONE <case> exit=<n>|signal=<n>" for each and
 * returns the number of cases that did not end in the victim's handler
 * with BUS_MCEERR_AR. Case hmp is skipped (GUEST-MCE-SKIP) on a CPU without
 * MCG_SER_P, where Linux cannot survive an action-optional machine check
 * that lands in the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
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

#ifndef MADV_HWPOISON
#define MADV_HWPOISON	100
#endif
#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR	4
#endif

#define PAGE		4096UL
#define VICTIM_OK	0
#define VICTIM_BAD	3
#define VICTIM_TIMEOUT	4

static uint8_t *victim_page;
static const char *victim_case;

/* The guest frame number of the page at @p, or 0. */
static uint64_t pfn_of(void *p)
{
	off_t off = (uintptr_t)p / PAGE * sizeof(uint64_t);
	uint64_t e = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), off) != sizeof(e))
		e = 0;
	close(fd);
	return (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
}

/* Async-signal-safe decimal of @v into @buf; returns the end. */
static char *put_num(char *buf, long v)
{
	char tmp[24];
	int n = 0;

	if (v < 0) {
		*buf++ = '-';
		v = -v;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*buf++ = tmp[--n];
	return buf;
}

static char *put_str(char *buf, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf, s, n);
	return buf + n;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char line[160], *p = line;
	uintptr_t page = (uintptr_t)victim_page;
	uintptr_t addr = (uintptr_t)si->si_addr;

	(void)sig;
	(void)uc;
	p = put_str(p, "GUEST-MCE-SIGBUS ");
	p = put_str(p, victim_case);
	p = put_str(p, " code=");
	p = put_num(p, si->si_code);
	p = put_str(p, " lsb=");
	p = put_num(p, si->si_addr_lsb);
	p = put_str(p, addr >= page && addr < page + PAGE ?
		       " addr=ok\n" : " addr=other\n");
	if (write(STDOUT_FILENO, line, p - line) < 0)
		_exit(5);
	_exit(si->si_code == BUS_MCEERR_AR ? VICTIM_OK : 6);
}

static int victim(const char *what, int wait_s)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct sigaction sa;
	uint8_t pat = (uint8_t)(0x5a ^ strlen(what));
	uint8_t *page;
	time_t end;
	unsigned long i;

	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (page == MAP_FAILED || mlock(page, PAGE)) {
		printf("GUEST-MCE-ERROR %s mmap/mlock: %s\n", what,
		       strerror(errno));
		return 1;
	}
	memset(page, pat, PAGE);
	victim_page = page;
	victim_case = what;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);

	printf("GUEST-MCE-READY %s %llu\n", what,
	       (unsigned long long)pfn_of(page));
	fflush(stdout);
	if (!strcmp(what, "hwpoison") && madvise(page, PAGE, MADV_HWPOISON)) {
		printf("GUEST-MCE-ERROR %s madvise: %s\n", what,
		       strerror(errno));
		return 1;
	}
	end = time(NULL) + wait_s;
	while (time(NULL) < end) {
		for (i = 0; i < PAGE; i += 512)
			if (__atomic_load_n(&page[i], __ATOMIC_RELAXED) != pat) {
				printf("GUEST-MCE-BAD %s byte %lu\n", what, i);
				return VICTIM_BAD;
			}
		nanosleep(&nap, NULL);
	}
	printf("GUEST-MCE-TIMEOUT %s\n", what);
	return VICTIM_TIMEOUT;
}

/*
 * What the guest's CPU says of its machine-check architecture: MCG_CAP
 * (MSR 0x179) through the msr driver; MCG_SER_P (bit 24) is what lets
 * Linux recover from a machine check by killing a process.
 */
static int mcg_ser = -1;	/* MCG_SER_P: 1, 0, or -1 unknown */

static void print_mcg_cap(void)
{
	uint64_t cap;
	int fd;

	fd = open("/dev/cpu/0/msr", O_RDONLY);
	if (fd < 0 || pread(fd, &cap, sizeof(cap), 0x179) != sizeof(cap)) {
		printf("GUEST-MCE-MCGCAP unknown (%s)\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	mcg_ser = !!(cap & (1ULL << 24));
	printf("GUEST-MCE-MCGCAP 0x%llx banks=%llu ser=%d\n",
	       (unsigned long long)cap, (unsigned long long)(cap & 0xff),
	       !!(cap & (1ULL << 24)));
}

static void ticker(void)
{
	unsigned long n = 0;

	for (;;) {
		printf("GUEST-TICK %d %lu\n", getpid(), ++n);
		fflush(stdout);
		sleep(1);
	}
}

int main(int argc, char **argv)
{
	int i, wait_s, status, failed = 0;
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "cap")) {
		print_mcg_cap();
		return 0;
	}
	if (argc < 3)
		return 2;
	wait_s = atoi(argv[1]);
	if (wait_s <= 0)
		return 2;
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "lost") && strcmp(argv[i], "hmp") &&
		    strcmp(argv[i], "hwpoison"))
			return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_mcg_cap();

	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		ticker();
		_exit(0);
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "hmp") && !mcg_ser) {
			/*
			 * Without recovery an action-optional machine check
			 * is "Uncorrected" to Linux: fatal in the kernel.
			 */
			printf("GUEST-MCE-SKIP hmp: no MCG_SER_P\n");
			continue;
		}
		pid = fork();
		if (pid < 0)
			return 1;
		if (!pid) {
			fflush(stdout);
			_exit(victim(argv[i], wait_s));
		}
		if (waitpid(pid, &status, 0) != pid)
			return 1;
		if (WIFEXITED(status))
			printf("GUEST-MCE-DONE %s exit=%d\n", argv[i],
			       WEXITSTATUS(status));
		else
			printf("GUEST-MCE-DONE %s signal=%d\n", argv[i],
			       WTERMSIG(status));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != VICTIM_OK)
			failed++;
	}
	return failed;
}
