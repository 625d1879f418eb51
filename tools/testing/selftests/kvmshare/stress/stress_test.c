// SPDX-License-Identifier: GPL-2.0
/*
 * stress: many threads doing random operations on one pool at once, with
 * a primary and a standby kvmshare-pagerd that are killed, stopped and
 * restarted on the way, checked against an exact shadow model of every
 * page.
 *
 * Each worker thread owns a disjoint range of pages of one of the pool's
 * partition files and is the only one to change their data: pwrite, writes
 * through the file's shared mapping, a vCPU of a mini VM (mvm) filling
 * its range through a memory slot on that mapping, a forked process
 * writing through the inherited mapping, hole punching and (for the owner
 * of a file's tail) truncation. Every page holds one 64-bit value in each
 * of its qwords, page_gpa ^ seed, where the seed names the thread and the
 * operation that wrote it (bit 63 | thread << 48 | op number), so the same
 * data is written and checked from the host and from the guest, and a
 * wrong value says whose data it was. Everything else is known not to
 * change data and runs on any range: fadvise(DONTNEED) page-outs,
 * fallocate, read-ahead, eviction targets, attribute changes, pool
 * resizes, the paging services dying or stopping, a forked reader killed
 * in the middle of its page-ins; each worker also deletes files of its
 * own while they are mapped. Every byte read is compared with the model;
 * a difference is reported with the file, page, qword, expected and found
 * values and who wrote the found data.
 *
 * Rounds: at the end of each one every page is read back, the files are
 * deleted, and the pool's pages, backing store blocks, pending requests,
 * page-ins and partitions must come back to zero; the services stop (or,
 * every other round, the pool is unmounted with them still attached);
 * unmount must succeed and the pool's sysfs directory go away (requests
 * hold a reference to it); the kernel log of the round must be clean. At
 * the end the module is unloaded and its kvmshare_io cache must be empty.
 *
 * Environment (the test VM's init passes unknown kernel parameters
 * without a dot to it: KVMSHARE_VM_APPEND="STRESS_SEED=...").
 *   STRESS_SEED      seed (default: from the clock); printed
 *   STRESS_SECONDS   seconds of random operations over all rounds (30)
 *   STRESS_ROUNDS    rounds, each with a fresh mount (3)
 *   STRESS_THREADS   worker threads, 2..16, even (4)
 *   STRESS_OPS       operations enabled: "all", a list of names
 *                    ("pwrite,pread,kill") or exclusions ("all,-kill");
 *                    the names are printed at the start
 *   STRESS_VERBOSE   1: log every operation of every thread
 * Each thread's operations follow from the seed alone (its own generator),
 * so a seed replays the same sequence per thread; how they interleave
 * depends on timing.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/kvmshare.h>
#include <linux/kvmshare_pager.h>

#include "../lib/ksutil.h"
#include "../lib/mvm.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NFILES		2
#define FILE_PAGES	1024UL		/* 4 MiB each, 8 MiB in all */
#define POOL_PAGES	640UL		/* over a pool of 2.5 MiB */
#define RESERVE_PAGES	32UL
#define STORE_BLOCKS	8192UL
#define PRIV_MAX_PAGES	48UL
#define MAX_THREADS	16
#define QWORDS		(KS_PAGE / 8)
#define ZFROM_NONE	QWORDS
#define STORE_PATH	"/dev/shm/kvmshare-stress.store"
#define PAGERD		"kvmshare-pagerd"

/* The seed of a page no one wrote yet (all zero), and of an unknown one. */
#define SEED_ZERO	0ULL
#define SEED_UNKNOWN	1ULL

enum op {
	/* Workers, on their own range (or content-neutral on any). */
	OP_PWRITE, OP_PREAD, OP_MWRITE, OP_MREAD, OP_VFILL, OP_VVERIFY,
	OP_FORK, OP_FORKKILL, OP_PUNCH, OP_FALLOC, OP_FADVISE, OP_RAHEAD,
	OP_TRUNC, OP_UNLINK, OP_OUTWRITE, OP_OUTPUNCH, OP_INPUNCH, OP_TOUCH,
	/* The chaos thread. */
	OP_ATTR, OP_EVICT, OP_CLUSTER, OP_RESIZE, OP_STAT, OP_NAMES,
	/* The paging service thread. */
	OP_KILL, OP_STOP,
	/* Round ends: unmount with the services attached. */
	OP_UMOUNT_ATTACHED,
	/* Each worker's shadow thread. */
	OP_SHADOW,
	NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"pwrite", "pread", "mwrite", "mread", "vfill", "vverify", "fork",
	"forkkill", "punch", "falloc", "fadvise", "readahead", "truncate",
	"unlink", "outwrite", "outpunch", "inpunch", "touch", "attr", "evict",
	"cluster", "resize", "stat", "names", "kill",
	"stop", "umount_attached", "shadow",
};

/* Relative weights of the workers' and the chaos thread's choices. */
static const unsigned int op_weight[NR_OPS] = {
	/* The racing ones (out*, inpunch) find the most: a third of all. */
	[OP_PWRITE] = 6, [OP_PREAD] = 6, [OP_MWRITE] = 5, [OP_MREAD] = 5,
	[OP_VFILL] = 4, [OP_VVERIFY] = 4, [OP_FORK] = 2, [OP_FORKKILL] = 1,
	[OP_PUNCH] = 3, [OP_FALLOC] = 1, [OP_FADVISE] = 3, [OP_RAHEAD] = 3,
	[OP_TRUNC] = 2, [OP_UNLINK] = 1, [OP_OUTWRITE] = 10, [OP_OUTPUNCH] = 10,
	[OP_INPUNCH] = 6, [OP_TOUCH] = 3,
	[OP_ATTR] = 3, [OP_EVICT] = 4, [OP_CLUSTER] = 2, [OP_RESIZE] = 1,
	[OP_STAT] = 2, [OP_NAMES] = 2, [OP_KILL] = 2, [OP_STOP] = 1,
};

struct worker {
	int id;
	int file;
	uint64_t lo, hi;		/* owned pages [lo, hi) of @file */
	bool tail;			/* owns the file's last page */
	uint64_t rng;
	uint64_t opno;			/* operations so far, all rounds */
	struct mvm_vcpu *vcpu;		/* NULL: none or broken */
	/*
	 * vCPUs whose KVM_RUN failed: the first, its replacement's and that
	 * one's (each replacement has an id of its own: vcpu_recheck())
	 */
	struct mvm_vcpu *broken[3];
	uint8_t *buf;			/* PRIV_MAX_PAGES pages */
	pthread_t thread;
	uint64_t count[NR_OPS];		/* this round */
	/* The range the worker works on now, for its shadow (__atomic). */
	uint64_t hot_start, hot_n;
	pthread_t shadow;
	uint64_t shadow_rng;
	uint64_t shadow_passes;
	unsigned int trunc_seq;		/* odd while truncated (__atomic) */
	/* For the watchdog's dump (__atomic): the operation under way. */
	int cur_op;			/* -1: between operations */
	int tid;
	uint64_t vcall_op, vcall_arg[3];	/* vcall_op 0: not in a vCPU call */
	long vcall_since;		/* ms (now_s()) the call began */
	uint64_t vcall_seq;		/* calls so far; the watchdog's: */
	uint64_t vcall_asked;		/* the call whose state it asked for */
};

/* Configuration. */
static uint64_t cfg_seed;
static unsigned int cfg_seconds = 30, cfg_rounds = 3, cfg_threads = 4;
static bool cfg_ops[NR_OPS];
static bool cfg_verbose;

/* The current round. */
static char pool_dir[64], pool_name[32];
static int round_no;
static int file_fd[NFILES];
static uint8_t *file_map[NFILES];
static struct mvm *vm;
static struct worker workers[MAX_THREADS];
static int stop_now;		/* __atomic */
static double deadline;

/* The shadow model: written only by a page's owner (or with all stopped). */
static uint64_t model_seed[NFILES][FILE_PAGES];
static uint16_t model_zfrom[NFILES][FILE_PAGES];	/* zero from qword */
static uint8_t model_op[NFILES][FILE_PAGES];	/* last change, NR_OPS: none */

/* Findings of the round (atomics). */
static unsigned long n_mismatch, n_opfail, n_pagerd_bad;
/*
 * vCPU calls given up to the emulator's known faults: the vCPU's guest was
 * handed the host's registers (MVM_ERR_HOST_STATE), or it triple-faulted
 * with its memory intact and a fresh vCPU then read the worker's pages
 * right through KVM (vcpu_recheck()). Not kvmshare's (its pages hold no
 * code, stack or page table of the guest, and each one is checked as
 * above), but a round that lost many calls so tested too little of KVM's
 * path: more than one in EMULATOR_FAULT_CALLS of the round's vCPU calls
 * (and more than one in a round of fewer calls) is a failure all the
 * same. Seen in CI (stop 34): two in a round of 262 vCPU calls.
 */
static unsigned long n_emulator;
#define EMULATOR_FAULT_CALLS	64

/* How many of those a round of @vcalls vCPU calls may have (above). */
static unsigned long emulator_faults_allowed(unsigned long long vcalls)
{
	return vcalls / EMULATOR_FAULT_CALLS > 1 ?
	       vcalls / EMULATOR_FAULT_CALLS : 1;
}

/*
 * Each round's injected triple fault (inject_triple_fault()): taken by one
 * worker (inj_claimed), then its outcome, written by that worker before
 * the round's threads are joined.
 */
static double inj_at;			/* when (now_s()) */
static int inj_claimed;			/* __atomic */
static int inj_worker;
static bool inj_told;			/* a fresh vCPU took over */
static uint64_t inj_seq;		/* the worker's vcall_seq then */
/* A vCPU call this long is asked for its state (before the phase limit). */
#define VCALL_STUCK_MS		60000
#define MAX_REPORTS	40
static unsigned long n_reports;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int tap_n;
/* In a forked child: where its diagnostics go (a pipe to the parent). */
static __thread int child_fd = -1;

/* Watchdog: what the program is doing and since when. */
static const char *phase = "start";	/* __atomic, all three */
static long phase_since;		/* ms (now_s()) */
static long phase_limit = 120000;	/* ms */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The longest each phase took, against its limit (printed at the end). */
static struct {
	const char *name;
	double longest, limit;
} phase_times[16];

static void phase_record(const char *name, double secs, double limit)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(phase_times); i++) {
		if (phase_times[i].name && phase_times[i].name != name)
			continue;
		phase_times[i].name = name;
		if (secs > phase_times[i].longest)
			phase_times[i].longest = secs;
		phase_times[i].limit = limit;
		return;
	}
}

static void phase_report(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(phase_times) && phase_times[i].name; i++)
		printf("# phase '%s': longest %.1f s of its %.0f s limit\n",
		       phase_times[i].name, phase_times[i].longest,
		       phase_times[i].limit);
}

static void set_phase(const char *p, double limit)
{
	const char *prev = __atomic_load_n(&phase, __ATOMIC_RELAXED);
	long since = __atomic_load_n(&phase_since, __ATOMIC_RELAXED);

	if (since)
		phase_record(prev, now_s() - since / 1000.0,
			     __atomic_load_n(&phase_limit, __ATOMIC_RELAXED) /
			     1000.0);
	__atomic_store_n(&phase_since, (long)(now_s() * 1000), __ATOMIC_RELAXED);
	__atomic_store_n(&phase_limit, (long)(limit * 1000), __ATOMIC_RELAXED);
	__atomic_store_n(&phase, p, __ATOMIC_RELAXED);
}

static bool stopping(void)
{
	return __atomic_load_n(&stop_now, __ATOMIC_RELAXED) ||
	       now_s() >= deadline;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	if (child_fd >= 0) {
		/* A forked child: no lock another thread may have held. */
		n = snprintf(line, sizeof(line), "# ");
		va_start(ap, fmt);
		n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
		va_end(ap);
		if (n > (int)sizeof(line) - 2)
			n = sizeof(line) - 2;
		line[n++] = '\n';
		if (write(child_fd, line, n) < 0)
			_exit(5);
		return;
	}
	pthread_mutex_lock(&out_lock);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* A finding: printed up to MAX_REPORTS times a round, always counted. */
static void report(unsigned long *counter, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(unsigned long *counter, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&n_reports, 1, __ATOMIC_RELAXED) > MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	diag("round %d: %s", round_no, line);
}

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	printf("%sok %d ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* Random numbers: splitmix64, one stream per thread. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return mix64(*s);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static uint64_t stream_seed(int stream)
{
	return mix64(cfg_seed ^ mix64((uint64_t)stream * 0x1000193 +
				      (uint64_t)round_no * 0x7fb5));
}

/* Pick an enabled operation among @first..@last by weight; -1: none. */
static int pick_op(uint64_t *s, int first, int last, const struct worker *w)
{
	unsigned int total = 0, r;
	int i;

	for (i = first; i <= last; i++)
		if (cfg_ops[i] && !(i == OP_TRUNC && w && !w->tail))
			total += op_weight[i];
	if (!total)
		return -1;
	r = rnd_below(s, total);
	for (i = first; i <= last; i++) {
		if (!cfg_ops[i] || (i == OP_TRUNC && w && !w->tail))
			continue;
		if (r < op_weight[i])
			return i;
		r -= op_weight[i];
	}
	return -1;
}

/* Page data */

static uint64_t page_gpa(int file, uint64_t page)
{
	return MVM_DATA_GPA + ((uint64_t)file << 30) + page * KS_PAGE;
}

/* Pages of a worker's private (unlinked) files: never in the VM. */
static uint64_t priv_gpa(int id, uint64_t page)
{
	return (1ULL << 44) + ((uint64_t)id << 36) + page * KS_PAGE;
}

static uint64_t new_seed(struct worker *w)
{
	return (1ULL << 63) | ((uint64_t)w->id << 48) |
	       (++w->opno & 0xffffffffffffULL);
}

static void fill_page(void *dst, uint64_t gpa, uint64_t seed)
{
	uint64_t *q = dst, v = gpa ^ seed;
	unsigned int i;

	for (i = 0; i < QWORDS; i++)
		q[i] = v;
}

static uint64_t expect_qword(uint64_t gpa, uint64_t seed, unsigned int zfrom,
			     unsigned int q)
{
	if (seed == SEED_ZERO || q >= zfrom)
		return 0;
	return gpa ^ seed;
}

static void describe(char *s, size_t n, uint64_t v, uint64_t gpa)
{
	uint64_t x = v ^ gpa;

	if (!v)
		snprintf(s, n, "zero");
	else if (x >> 63)
		snprintf(s, n, "thread %u op %lu if of this page",
			 (unsigned int)((x >> 48) & 0x7fff),
			 (uint64_t)(x & 0xffffffffffffULL));
	else
		snprintf(s, n, "not a pattern");
}

/*
 * Compare page @page (@gpa) read through @how with its model; report and
 * return false on a difference.
 */
static bool check_page(const char *who, const char *how, uint64_t page,
		       uint64_t gpa, uint64_t seed, unsigned int zfrom,
		       unsigned int last_op, const uint8_t *data)
{
	const uint64_t *q = (const void *)data;
	unsigned int i, first = QWORDS, bad = 0;
	char e[80], f[80];
	uint64_t want;

	if (seed == SEED_UNKNOWN)
		return true;
	for (i = 0; i < QWORDS; i++) {
		if (q[i] != expect_qword(gpa, seed, zfrom, i)) {
			if (first == QWORDS)
				first = i;
			bad++;
		}
	}
	if (!bad)
		return true;
	want = expect_qword(gpa, seed, zfrom, first);
	describe(e, sizeof(e), want, gpa);
	describe(f, sizeof(f), q[first], gpa);
	report(&n_mismatch,
	       "MISMATCH %s page %lu (gpa 0x%lx) via %s: qword %u expected 0x%016lx (%s), found 0x%016lx (%s); %u of %u qwords differ; last changed by %s",
	       who, page, gpa, how, first, want, e, q[first], f, bad,
	       (unsigned int)QWORDS, last_op < NR_OPS ? op_names[last_op] :
	       "nothing");
	return false;
}

static bool check_file_page(int file, uint64_t page, const char *how,
			    const uint8_t *data)
{
	uint64_t again[QWORDS], gpa = page_gpa(file, page), seed;
	unsigned int zfrom = model_zfrom[file][page], i;
	char who[16], f[80];

	seed = model_seed[file][page];
	snprintf(who, sizeof(who), "file p%d", file);
	if (check_page(who, how, page, gpa, seed, zfrom, model_op[file][page],
		       data))
		return true;
	/* Is it still so? Lost data stays lost; a stale view goes. */
	if (pread(file_fd[file], again, KS_PAGE, page * KS_PAGE) != KS_PAGE) {
		diag("round %d: p%d page %lu: pread again: %s", round_no, file,
		     page, strerror(errno));
		return false;
	}
	for (i = 0; i < QWORDS; i++)
		if (again[i] != expect_qword(gpa, seed, zfrom, i))
			break;
	if (i == QWORDS) {
		diag("round %d: p%d page %lu: a pread right after reads the expected data",
		     round_no, file, page);
	} else {
		describe(f, sizeof(f), again[i], gpa);
		diag("round %d: p%d page %lu: a pread right after reads 0x%016lx (%s) at qword %u",
		     round_no, file, page, again[i], f, i);
	}
	return false;
}

static void model_set(int file, uint64_t page, uint64_t seed,
		      unsigned int zfrom, enum op op)
{
	model_seed[file][page] = seed;
	model_zfrom[file][page] = zfrom;
	model_op[file][page] = op;
}

/* SIGBUS from partition mappings, caught per thread. */

/*
 * Set with barriers around the access it guards: the compiler must not
 * drop the store as one that a memcpy() it knows cannot read.
 */
static __thread void *bus_env;		/* a sigjmp_buf */
static __thread int bus_code;
static __thread uint64_t bus_addr;

static inline void barrier(void)
{
	__asm__ __volatile__("" : : : "memory");
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	if (!bus_env) {
		n = snprintf(msg, sizeof(msg),
			     "# unexpected SIGBUS in thread %ld: code %d addr %p\n",
			     (long)syscall(SYS_gettid), si->si_code,
			     si->si_addr);
		if (write(STDOUT_FILENO, msg, n) < 0)
			n = 0;
		signal(SIGBUS, SIG_DFL);
		return;		/* the access faults again, fatally */
	}
	bus_code = si->si_code | 0x100;
	bus_addr = (uintptr_t)si->si_addr;
	siglongjmp(*(sigjmp_buf *)bus_env, 1);
}

/* memcpy() where either side may be a partition mapping: 0 or si_code. */
static int guarded_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 1)) {
		bus_env = NULL;
		return bus_code & 0xff ? bus_code & 0xff : -1;
	}
	bus_env = &env;
	barrier();
	memcpy(dst, src, len);
	barrier();
	bus_env = NULL;
	return 0;
}

/* The worker of this thread (NULL in others), for the watchdog's dump. */
static __thread struct worker *this_worker;

/*
 * mvm_call() catching a SIGBUS that KVM sends for a lost page. The vCPUs
 * of the workers run at the same time, and forks happen while they run,
 * as in a VMM. (The test VM's emulated SVM has made guests triple-fault
 * under exactly that on a memfd, without kvmshare: Documentation/
 * dev-guide.rst, "The emulator".)
 */
static int guarded_vcall(struct mvm_vcpu *vcpu, enum mvm_op op,
			 uint64_t gpa, uint64_t pages, uint64_t seed,
			 struct mvm_result *res, int *code)
{
	sigjmp_buf env;
	int ret;

	*code = 0;
	if (sigsetjmp(env, 1)) {
		/* KVM's SIGBUS for a lost page, from inside mvm_call(). */
		bus_env = NULL;
		if (this_worker)
			__atomic_store_n(&this_worker->vcall_op, 0,
					 __ATOMIC_RELEASE);
		*code = bus_code & 0xff ? bus_code & 0xff : -1;
		return -EFAULT;
	}
	bus_env = &env;
	if (this_worker) {
		this_worker->vcall_arg[0] = gpa;
		this_worker->vcall_arg[1] = pages;
		this_worker->vcall_arg[2] = seed;
		__atomic_store_n(&this_worker->vcall_since,
				 (long)(now_s() * 1000), __ATOMIC_RELAXED);
		__atomic_add_fetch(&this_worker->vcall_seq, 1,
				   __ATOMIC_RELAXED);
		__atomic_store_n(&this_worker->vcall_op, op, __ATOMIC_RELEASE);
	}
	barrier();
	ret = mvm_call(vcpu, op, gpa, pages, seed, res);
	barrier();
	bus_env = NULL;
	if (this_worker)
		__atomic_store_n(&this_worker->vcall_op, 0, __ATOMIC_RELEASE);
	return ret;
}

static const char *bus_name(int code)
{
	switch (code) {
	case BUS_ADRERR:
		return "BUS_ADRERR";
	case BUS_OBJERR:
		return "BUS_OBJERR";
	case BUS_MCEERR_AR:
		return "BUS_MCEERR_AR (page lost)";
	default:
		return "SIGBUS";
	}
}

/* Worker operations */

static void opfail(struct worker *w, const char *what, int err)
{
	report(&n_opfail, "thread %d op %lu %s: %s", w->id, w->opno,
	       what, strerror(err));
}

/* A random sub-range [*start, *start + *n) of @w's pages, at most @max. */
static void pick_range(struct worker *w, uint64_t max, uint64_t *start,
		       uint64_t *n)
{
	uint64_t span = w->hi - w->lo;

	*start = w->lo + rnd_below(&w->rng, span);
	*n = 1 + rnd_below(&w->rng, max);
	if (*start + *n > w->hi)
		*n = w->hi - *start;
	__atomic_store_n(&w->hot_n, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&w->hot_start, *start, __ATOMIC_RELEASE);
	__atomic_store_n(&w->hot_n, *n, __ATOMIC_RELEASE);
}

/*
 * A worker's shadow: reads and pages out the range its owner works on
 * right now, without looking at the data (neither changes it), so that
 * faults, read-ahead and page-outs race with the owner's writes, punches
 * and page-outs of the very same pages. A SIGBUS is right only beyond the
 * end of the file.
 */
static void shadow_touch(struct worker *w, uint64_t start, uint64_t n,
			 unsigned int seq)
{
	uint8_t buf[8];
	uint64_t i;
	int code;

	for (i = 0; i < n; i++) {
		code = guarded_copy(buf, file_map[w->file] +
				    (start + i) * KS_PAGE, sizeof(buf));
		if (!code)
			continue;
		/* Not while the owner truncated: then it is right. */
		if (!(seq & 1) &&
		    seq == __atomic_load_n(&w->trunc_seq, __ATOMIC_ACQUIRE))
			report(&n_opfail, "shadow of thread %d: %s reading page %lu of p%d",
			       w->id, bus_name(code), start + i, w->file);
		return;
	}
}

static void *shadow_main(void *arg)
{
	struct worker *w = arg;
	unsigned int seq;
	uint64_t start, n;

	while (!stopping()) {
		seq = __atomic_load_n(&w->trunc_seq, __ATOMIC_ACQUIRE);
		n = __atomic_load_n(&w->hot_n, __ATOMIC_ACQUIRE);
		start = __atomic_load_n(&w->hot_start, __ATOMIC_ACQUIRE);
		if (n && start + n <= FILE_PAGES) {
			w->shadow_passes++;
			if (rnd_below(&w->shadow_rng, 2))
				posix_fadvise(file_fd[w->file], start * KS_PAGE,
					      n * KS_PAGE, POSIX_FADV_DONTNEED);
			else
				shadow_touch(w, start, n, seq);
		}
		usleep(300 + rnd_below(&w->shadow_rng, 3000));
	}
	return NULL;
}

static void do_pwrite(struct worker *w, enum op op)
{
	uint64_t start, n, i, seed = new_seed(w);
	ssize_t r;

	pick_range(w, 16, &start, &n);
	for (i = 0; i < n; i++)
		fill_page(w->buf + i * KS_PAGE, page_gpa(w->file, start + i),
			  seed);
	r = pwrite(file_fd[w->file], w->buf, n * KS_PAGE, start * KS_PAGE);
	if (r < 0) {
		opfail(w, "pwrite", errno);
		return;
	}
	for (i = 0; i < (uint64_t)r / KS_PAGE; i++)
		model_set(w->file, start + i, seed, ZFROM_NONE, op);
	if ((uint64_t)r < n * KS_PAGE) {
		if (r % KS_PAGE)
			model_set(w->file, start + i, SEED_UNKNOWN,
				  ZFROM_NONE, op);
		report(&n_opfail, "thread %d: short pwrite at page %lu: %zd of %lu",
		       w->id, start, r, n * KS_PAGE);
	}
}

static void do_pread(struct worker *w, uint64_t start, uint64_t n)
{
	uint64_t i;
	ssize_t r;

	r = pread(file_fd[w->file], w->buf, n * KS_PAGE, start * KS_PAGE);
	if (r < 0) {
		opfail(w, "pread", errno);
		return;
	}
	if ((uint64_t)r != n * KS_PAGE)
		report(&n_opfail, "thread %d: short pread at page %lu: %zd of %lu",
		       w->id, start, r, n * KS_PAGE);
	for (i = 0; i < (uint64_t)r / KS_PAGE; i++)
		check_file_page(w->file, start + i, "pread",
				w->buf + i * KS_PAGE);
}

static void do_mwrite(struct worker *w, enum op op)
{
	uint64_t start, n, i, seed = new_seed(w);
	uint8_t *m = file_map[w->file];
	int code;

	pick_range(w, 16, &start, &n);
	for (i = 0; i < n; i++) {
		fill_page(w->buf, page_gpa(w->file, start + i), seed);
		code = guarded_copy(m + (start + i) * KS_PAGE, w->buf, KS_PAGE);
		if (code) {
			model_set(w->file, start + i, SEED_UNKNOWN, ZFROM_NONE,
				  op);
			report(&n_opfail,
			       "thread %d: %s writing page %lu of p%d through the mapping",
			       w->id, bus_name(code), start + i, w->file);
			return;
		}
		model_set(w->file, start + i, seed, ZFROM_NONE, op);
	}
}

static void do_mread(struct worker *w, uint64_t start, uint64_t n,
		     const char *how)
{
	uint8_t *m = file_map[w->file];
	uint64_t i;
	int code;

	for (i = 0; i < n; i++) {
		code = guarded_copy(w->buf, m + (start + i) * KS_PAGE, KS_PAGE);
		if (code) {
			report(&n_opfail,
			       "thread %d: %s reading page %lu of p%d through the mapping (%s)",
			       w->id, bus_name(code), start + i, w->file, how);
			return;
		}
		check_file_page(w->file, start + i, how, w->buf);
	}
}

/*
 * @vcpu checks pages [start, start + n) of @w's file against the model, a
 * run of pages with one seed at a time (pages of unknown content skipped).
 * Returns a KVM_RUN error (*code: its SIGBUS), 0 with @res->status MVM_OK,
 * or 0 with @res at the first page that differs.
 */
static int vverify_runs(struct worker *w, struct mvm_vcpu *vcpu,
			uint64_t start, uint64_t n, struct mvm_result *res,
			int *code)
{
	uint64_t i, j, seed;
	int ret;

	res->status = MVM_OK;
	for (i = 0; i < n; i = j) {
		seed = model_seed[w->file][start + i];
		for (j = i + 1; j < n; j++)
			if (model_seed[w->file][start + j] != seed ||
			    model_zfrom[w->file][start + j] != ZFROM_NONE)
				break;
		if (seed == SEED_UNKNOWN ||
		    model_zfrom[w->file][start + i] != ZFROM_NONE) {
			j = i + 1;
			continue;
		}
		ret = guarded_vcall(vcpu, seed ? MVM_OP_VERIFY : MVM_OP_ZERO,
				    page_gpa(w->file, start + i), j - i, seed,
				    res, code);
		if (ret || res->status != MVM_OK)
			return ret;
	}
	return 0;
}

/*
 * After a guest triple fault with its page tables, code and mailbox intact
 * as the host reads them: a fresh vCPU of the same VM checks every page of
 * the worker's range whose content the model knows, through KVM's mapping
 * of the pool. If all read right, the pool gave KVM the right memory and
 * the guest ran on other memory than KVM gave it: the emulator's known
 * fault, which it has shown on a memfd without kvmshare (Documentation/
 * dev-guide.rst, "The emulator"). Returns the fresh vCPU then (the worker
 * goes on with it), else NULL. Two a worker a round at most (ids from
 * MAX_THREADS and from 2 * MAX_THREADS up).
 */
static_assert(3 * MAX_THREADS <= MVM_MAX_VCPUS, "replacement vCPU ids");
static int broken_vcpus(const struct worker *w)
{
	return !!w->broken[0] + !!w->broken[1];
}

static struct mvm_vcpu *vcpu_recheck(struct worker *w)
{
	int n = broken_vcpus(w);
	struct mvm_vcpu *fresh;
	struct mvm_result res;
	int ret, code;

	/*
	 * Two replacements at most: a second fault of one worker in a round
	 * (the injected triple fault had used the first, 7 December) is
	 * rechecked like the first instead of failing unread.
	 */
	if (n >= 2)
		return NULL;
	fresh = mvm_vcpu_create(vm, MAX_THREADS * (n + 1) + w->id);
	if (!fresh) {
		diag("round %d: thread %d: no fresh vCPU to check its pages",
		     round_no, w->id);
		return NULL;
	}
	ret = vverify_runs(w, fresh, w->lo, w->hi - w->lo, &res, &code);
	if (!ret && res.status == MVM_OK)
		return fresh;
	if (ret)
		diag("round %d: thread %d: the fresh vCPU failed too (%s)",
		     round_no, w->id, code ? bus_name(code) : strerror(-ret));
	else
		report(&n_mismatch,
		       "thread %d: the fresh vCPU found a mismatch at gpa 0x%lx (p%d page %lu)",
		       w->id, (uint64_t)res.addr, w->file,
		       (uint64_t)(res.addr - page_gpa(w->file, 0)) / KS_PAGE);
	mvm_vcpu_destroy(fresh);
	return NULL;
}

static void vcpu_broken(struct worker *w, const char *what, int err,
			int code)
{
	struct mvm_vcpu *fresh = NULL;

	if (!code && err == -ESHUTDOWN)
		fresh = vcpu_recheck(w);
	if (code)
		report(&n_opfail,
		       "thread %d: vCPU %s: %s at 0x%lx in KVM_RUN; no more vCPU operations in this thread",
		       w->id, what, bus_name(code), (uint64_t)bus_addr);
	else if (err == MVM_ERR_HOST_STATE)
		report(&n_emulator,
		       "thread %d: vCPU %s: its guest held the host's registers (the emulator's known fault, see above); no more vCPU operations in this thread",
		       w->id, what);
	else if (fresh)
		report(&n_emulator,
		       "thread %d: vCPU %s: guest triple fault with its memory intact as the host sees it, and a fresh vCPU read every known page of p%d %lu-%lu right through KVM: it ran on other memory than KVM gave it (the emulator's known fault); the thread goes on with the fresh vCPU",
		       w->id, what, w->file, w->lo, w->hi - 1);
	else if (err == -ESHUTDOWN)
		report(&n_opfail,
		       "thread %d: vCPU %s: guest triple fault with its memory intact as the host sees it (it ran on other memory), and no fresh vCPU read its pages right; no more vCPU operations in this thread",
		       w->id, what);
	else
		report(&n_opfail,
		       "thread %d: vCPU %s: KVM_RUN failed: %s; no more vCPU operations in this thread",
		       w->id, what, strerror(-err));
	/* Freed with the VM at the end of the round (destroy_vm()). */
	w->broken[broken_vcpus(w)] = w->vcpu;
	w->vcpu = fresh;
}

static void do_vfill(struct worker *w)
{
	uint64_t start, n, i, seed = new_seed(w);
	struct mvm_result res;
	int ret, code;

	if (!w->vcpu)
		return;
	pick_range(w, 32, &start, &n);
	ret = guarded_vcall(w->vcpu, MVM_OP_FILL, page_gpa(w->file, start), n,
			    seed, &res, &code);
	if (ret) {
		for (i = 0; i < n; i++)
			model_set(w->file, start + i, SEED_UNKNOWN, ZFROM_NONE,
				  OP_VFILL);
		vcpu_broken(w, "fill", ret, code);
		return;
	}
	for (i = 0; i < n; i++)
		model_set(w->file, start + i, seed, ZFROM_NONE, OP_VFILL);
}

/* The guest checks a range of the worker's pages; the host explains. */
static void do_vverify(struct worker *w)
{
	uint64_t start, n, page;
	struct mvm_result res;
	int ret, code;

	if (!w->vcpu)
		return;
	pick_range(w, 64, &start, &n);
	ret = vverify_runs(w, w->vcpu, start, n, &res, &code);
	if (ret) {
		vcpu_broken(w, "verify", ret, code);
		return;
	}
	if (res.status == MVM_OK)
		return;
	page = (res.addr - page_gpa(w->file, 0)) / KS_PAGE;
	report(&n_mismatch,
	       "thread %d: the vCPU found a mismatch at gpa 0x%lx (p%d page %lu); the host reads:",
	       w->id, (uint64_t)res.addr, w->file, page);
	if (page >= w->lo && page < w->hi &&
	    pread(file_fd[w->file], w->buf, KS_PAGE, page * KS_PAGE) == KS_PAGE &&
	    check_file_page(w->file, page, "pread after vCPU", w->buf))
		diag("round %d: thread %d: page %lu reads right from the host",
		     round_no, w->id, page);
}

/*
 * A forked process faults the range in through the inherited mapping,
 * checks it, and writes a new version of it; its findings come back
 * through a pipe.
 */
static void do_fork(struct worker *w, bool kill_it)
{
	uint64_t start, n, i, seed = new_seed(w);
	uint8_t *m = file_map[w->file];
	char msg[512];
	int pfd[2], status, code;
	ssize_t len;
	pid_t pid;

	pick_range(w, kill_it ? 64 : 16, &start, &n);
	if (kill_it)
		posix_fadvise(file_fd[w->file], start * KS_PAGE, n * KS_PAGE,
			      POSIX_FADV_DONTNEED);
	if (pipe2(pfd, O_CLOEXEC)) {
		opfail(w, "pipe", errno);
		return;
	}
	pid = fork();
	if (pid < 0) {
		opfail(w, "fork", errno);
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (!pid) {
		int bad = 0;

		close(pfd[0]);
		child_fd = pfd[1];
		for (i = 0; i < n; i++) {
			code = guarded_copy(w->buf, m + (start + i) * KS_PAGE,
					    KS_PAGE);
			if (code) {
				diag("round %d: thread %d's child: %s reading page %lu",
				     round_no, w->id, bus_name(code), start + i);
				_exit(3);
			}
			bad += !check_file_page(w->file, start + i,
						"a child's mapping", w->buf);
		}
		if (bad)
			_exit(1);
		if (kill_it)
			_exit(0);
		for (i = 0; i < n; i++) {
			fill_page(w->buf, page_gpa(w->file, start + i), seed);
			code = guarded_copy(m + (start + i) * KS_PAGE, w->buf,
					    KS_PAGE);
			if (code) {
				diag("round %d: thread %d's child: %s writing page %lu",
				     round_no, w->id, bus_name(code), start + i);
				_exit(4);
			}
		}
		_exit(0);
	}
	close(pfd[1]);
	if (kill_it) {
		usleep(rnd_below(&w->rng, 30000));
		kill(pid, SIGKILL);
	}
	while ((len = read(pfd[0], msg, sizeof(msg) - 1)) > 0) {
		msg[len] = 0;
		pthread_mutex_lock(&out_lock);
		fputs(msg, stdout);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid) {
		opfail(w, "waitpid", errno);
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && kill_it)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (!kill_it)
			for (i = 0; i < n; i++)
				model_set(w->file, start + i, seed, ZFROM_NONE,
					  OP_FORK);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		__atomic_add_fetch(&n_mismatch, 1, __ATOMIC_RELAXED);
	} else {
		report(&n_opfail, "thread %d: child process ended with status 0x%x",
		       w->id, status);
	}
	/* It may have written some of the pages. */
	if (!kill_it && !(WIFEXITED(status) && WEXITSTATUS(status) <= 3))
		for (i = 0; i < n; i++)
			model_set(w->file, start + i, SEED_UNKNOWN, ZFROM_NONE,
				  OP_FORK);
}

static void do_punch(struct worker *w)
{
	uint64_t start, n, i;

	pick_range(w, 32, &start, &n);
	if (fallocate(file_fd[w->file], FALLOC_FL_PUNCH_HOLE |
		      FALLOC_FL_KEEP_SIZE, start * KS_PAGE, n * KS_PAGE)) {
		opfail(w, "punch", errno);
		return;
	}
	for (i = 0; i < n; i++)
		model_set(w->file, start + i, SEED_ZERO, ZFROM_NONE, OP_PUNCH);
}

static void do_falloc(struct worker *w)
{
	uint64_t start, n;

	pick_range(w, 32, &start, &n);
	/* The pool may be full: ENOSPC is an answer, not a finding. */
	if (fallocate(file_fd[w->file], FALLOC_FL_KEEP_SIZE, start * KS_PAGE,
		      n * KS_PAGE) && errno != ENOSPC)
		opfail(w, "fallocate", errno);
}

static void do_fadvise(struct worker *w)
{
	uint64_t start, n;
	int ret;

	/* Any range of the file: page-out does not change data. */
	start = rnd_below(&w->rng, FILE_PAGES);
	n = 1 + rnd_below(&w->rng, 128);
	ret = posix_fadvise(file_fd[w->file], start * KS_PAGE, n * KS_PAGE,
			    POSIX_FADV_DONTNEED);
	if (ret)
		opfail(w, "fadvise", ret);
}

/* Page a range out, then read it back in order: read-ahead windows. */
static void do_rahead(struct worker *w)
{
	uint64_t start, n;
	int ret;

	pick_range(w, 64, &start, &n);
	ret = posix_fadvise(file_fd[w->file], start * KS_PAGE, n * KS_PAGE,
			    POSIX_FADV_DONTNEED);
	if (ret)
		opfail(w, "fadvise", ret);
	do_mread(w, start, n, "mapping after page-out");
}

/*
 * The owner of a file's tail truncates into its range (to a qword inside
 * a page, whose tail must read as zeros) and grows it back.
 */
static void do_trunc(struct worker *w)
{
	uint64_t keep = rnd_below(&w->rng, w->hi - w->lo);
	unsigned int q = rnd_below(&w->rng, QWORDS);
	uint64_t page = w->lo + keep, i, size = page * KS_PAGE + q * 8;
	int fd = file_fd[w->file];
	ssize_t r;

	__atomic_store_n(&w->hot_n, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&w->trunc_seq, 1, __ATOMIC_ACQ_REL);
	if (ftruncate(fd, size)) {
		__atomic_add_fetch(&w->trunc_seq, 1, __ATOMIC_ACQ_REL);
		opfail(w, "truncate", errno);
		return;
	}
	for (i = page + 1; i < w->hi; i++)
		model_set(w->file, i, SEED_ZERO, ZFROM_NONE, OP_TRUNC);
	if (!q || model_seed[w->file][page] == SEED_ZERO) {
		model_set(w->file, page, SEED_ZERO, ZFROM_NONE, OP_TRUNC);
	} else if (model_seed[w->file][page] != SEED_UNKNOWN) {
		/* The page's tail from the new end on reads as zeros. */
		if (q < model_zfrom[w->file][page])
			model_zfrom[w->file][page] = q;
		model_op[w->file][page] = OP_TRUNC;
	}
	/* Nothing is read beyond the end, and the mapping faults there. */
	r = pread(fd, w->buf, KS_PAGE, (page + 1) * KS_PAGE);
	if (r != 0)
		report(&n_opfail, "thread %d: pread beyond the end (size %lu) returned %zd",
		       w->id, size, r);
	if (page + 1 < FILE_PAGES &&
	    !guarded_copy(w->buf, file_map[w->file] + (page + 1) * KS_PAGE, 8))
		report(&n_opfail, "thread %d: the mapping beyond the end (size %lu) did not fault",
		       w->id, size);
	if (q)
		do_mread(w, page, 1, "mapping of a truncated page");
	if (ftruncate(fd, FILE_PAGES * KS_PAGE))
		opfail(w, "truncate back", errno);
	__atomic_add_fetch(&w->trunc_seq, 1, __ATOMIC_ACQ_REL);
}

/*
 * A file of the worker's own: written, deleted while mapped and open,
 * paged out, read back, punched, closed, read back through the mapping
 * alone.
 */
static void do_unlink(struct worker *w)
{
	uint64_t n = 8 + rnd_below(&w->rng, PRIV_MAX_PAGES - 8), i;
	uint64_t seed = new_seed(w), seeds[PRIV_MAX_PAGES];
	char path[128], who[32];
	uint8_t *m;
	int fd, code, ret;

	snprintf(path, sizeof(path), "%s/u%d", pool_dir, w->id);
	snprintf(who, sizeof(who), "thread %d's deleted file", w->id);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		opfail(w, "create", errno);
		return;
	}
	if (ftruncate(fd, n * KS_PAGE)) {
		opfail(w, "ftruncate", errno);
		goto out_unlink;
	}
	m = mmap(NULL, n * KS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		opfail(w, "mmap", errno);
		goto out_unlink;
	}
	for (i = 0; i < n; i++) {
		seeds[i] = rnd_below(&w->rng, 4) ? seed : SEED_ZERO;
		if (!seeds[i])
			continue;
		fill_page(w->buf, priv_gpa(w->id, i), seed);
		if (i & 1) {
			code = guarded_copy(m + i * KS_PAGE, w->buf, KS_PAGE);
			if (code) {
				report(&n_opfail, "thread %d: %s writing page %lu of its file",
				       w->id, bus_name(code), i);
				goto out_unmap;
			}
		} else if (pwrite(fd, w->buf, KS_PAGE, i * KS_PAGE) != KS_PAGE) {
			opfail(w, "pwrite (own file)", errno);
			goto out_unmap;
		}
	}
	if (unlink(path))
		opfail(w, "unlink", errno);
	ret = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (ret)
		opfail(w, "fadvise (deleted file)", ret);
	for (i = 0; i < n; i += 3) {
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      i * KS_PAGE, KS_PAGE)) {
			opfail(w, "punch (deleted file)", errno);
			break;
		}
		seeds[i] = SEED_ZERO;
	}
	close(fd);
	fd = -1;
	for (i = 0; i < n; i++) {
		code = guarded_copy(w->buf, m + i * KS_PAGE, KS_PAGE);
		if (code) {
			report(&n_opfail, "thread %d: %s reading page %lu of its deleted file",
			       w->id, bus_name(code), i);
			break;
		}
		check_page(who, "mapping", i, priv_gpa(w->id, i), seeds[i],
			   ZFROM_NONE, OP_UNLINK, w->buf);
	}
out_unmap:
	munmap(m, n * KS_PAGE);
out_unlink:
	if (fd >= 0) {
		unlink(path);
		close(fd);
	}
}

/* Page a range out (fadvise: the page-outs are posted, not waited for). */
static void pageout(struct worker *w, uint64_t start, uint64_t n)
{
	int ret = posix_fadvise(file_fd[w->file], start * KS_PAGE, n * KS_PAGE,
				POSIX_FADV_DONTNEED);

	if (ret)
		opfail(w, "fadvise", ret);
}

/* Write a new version of [start, start + n) with pwrite, the mapping or the vCPU. */
static void write_range(struct worker *w, uint64_t start, uint64_t n,
			enum op op)
{
	uint64_t i, seed = new_seed(w);
	struct mvm_result res;
	int how = rnd_below(&w->rng, 3), code, ret;
	ssize_t r;

	if (how == 2 && !w->vcpu)
		how = 0;
	if (how == 2) {
		ret = guarded_vcall(w->vcpu, MVM_OP_FILL,
				    page_gpa(w->file, start), n, seed, &res,
				    &code);
		for (i = 0; i < n; i++)
			model_set(w->file, start + i, ret ? SEED_UNKNOWN : seed,
				  ZFROM_NONE, op);
		if (ret)
			vcpu_broken(w, "fill", ret, code);
		return;
	}
	for (i = 0; i < n; i++) {
		fill_page(w->buf, page_gpa(w->file, start + i), seed);
		if (how == 1) {
			code = guarded_copy(file_map[w->file] +
					    (start + i) * KS_PAGE, w->buf,
					    KS_PAGE);
			if (code) {
				model_set(w->file, start + i, SEED_UNKNOWN,
					  ZFROM_NONE, op);
				report(&n_opfail, "thread %d: %s writing page %lu of p%d",
				       w->id, bus_name(code), start + i,
				       w->file);
				return;
			}
		} else {
			r = pwrite(file_fd[w->file], w->buf, KS_PAGE,
				   (start + i) * KS_PAGE);
			if (r != KS_PAGE) {
				opfail(w, "pwrite", r < 0 ? errno : EIO);
				model_set(w->file, start + i, SEED_UNKNOWN,
					  ZFROM_NONE, op);
				return;
			}
		}
		model_set(w->file, start + i, seed, ZFROM_NONE, op);
	}
}

/*
 * Pages written while their page-outs are under way: a page touched,
 * written or pinned (by KVM) meanwhile must stay, with its new data.
 */
static void do_outwrite(struct worker *w)
{
	uint64_t start, n;
	int k, times;

	pick_range(w, 16, &start, &n);
	times = 2 + rnd_below(&w->rng, 7);
	for (k = 0; k < times; k++) {
		pageout(w, start, n);
		if (rnd_below(&w->rng, 2))
			usleep(rnd_below(&w->rng, 3000));
		write_range(w, start, n, OP_OUTWRITE);
	}
	do_pread(w, start, n);
}

/* Pages punched while their page-outs are under way. */
static void do_outpunch(struct worker *w)
{
	uint64_t start, n, i;

	pick_range(w, 32, &start, &n);
	write_range(w, start, n, OP_OUTPUNCH);
	pageout(w, start, n);
	if (rnd_below(&w->rng, 2))
		usleep(rnd_below(&w->rng, 3000));
	if (fallocate(file_fd[w->file], FALLOC_FL_PUNCH_HOLE |
		      FALLOC_FL_KEEP_SIZE, start * KS_PAGE, n * KS_PAGE)) {
		opfail(w, "punch", errno);
		return;
	}
	for (i = 0; i < n; i++)
		model_set(w->file, start + i, SEED_ZERO, ZFROM_NONE,
			  OP_OUTPUNCH);
	do_pread(w, start, n);
}

/*
 * Page-ins (a fault's read-ahead window, or a vCPU's asynchronous
 * restore) cut short by a punch of their pages.
 */
static void do_inpunch(struct worker *w)
{
	uint64_t start, n, i, first;
	struct mvm_result res;
	int code, ret;

	pick_range(w, 64, &start, &n);
	pageout(w, start, n);
	usleep(5000 + rnd_below(&w->rng, 20000));
	first = start + rnd_below(&w->rng, n);
	if (w->vcpu && rnd_below(&w->rng, 2)) {
		ret = guarded_vcall(w->vcpu, MVM_OP_TOUCH_RD,
				    page_gpa(w->file, first), 1, 0, &res, &code);
		if (ret)
			vcpu_broken(w, "touch", ret, code);
	} else {
		code = guarded_copy(w->buf, file_map[w->file] + first * KS_PAGE,
				    8);
		if (code)
			report(&n_opfail, "thread %d: %s reading page %lu of p%d",
			       w->id, bus_name(code), first, w->file);
	}
	if (fallocate(file_fd[w->file], FALLOC_FL_PUNCH_HOLE |
		      FALLOC_FL_KEEP_SIZE, start * KS_PAGE, n * KS_PAGE)) {
		opfail(w, "punch", errno);
		return;
	}
	for (i = 0; i < n; i++)
		model_set(w->file, start + i, SEED_ZERO, ZFROM_NONE,
			  OP_INPUNCH);
	do_mread(w, start, n, "mapping after punch");
}

/*
 * Read faults on any pages of the file, other threads' too, without
 * looking at the data: page-ins, read-ahead and KVM's restores racing
 * with what the owners do. Beyond the end (a tail being truncated) a
 * SIGBUS is right.
 */
static void do_touch(struct worker *w)
{
	uint64_t start = rnd_below(&w->rng, FILE_PAGES), n, i, safe;
	int f = rnd_below(&w->rng, NFILES), k, code, ret;
	struct worker *o;
	struct mvm_result res;

	n = 1 + rnd_below(&w->rng, 64);
	if (start + n > FILE_PAGES)
		n = FILE_PAGES - start;
	/* No vCPU access where a tail owner truncates: KVM_RUN would fail. */
	safe = FILE_PAGES;
	for (k = 0; k < (int)cfg_threads; k++) {
		o = &workers[k];
		if (o->file == f && o->tail && cfg_ops[OP_TRUNC])
			safe = o->lo;
	}
	if (w->vcpu && start + n <= safe &&
	    rnd_below(&w->rng, 2)) {
		ret = guarded_vcall(w->vcpu, MVM_OP_TOUCH_RD,
				    page_gpa(f, start), n, 0, &res, &code);
		if (ret)
			vcpu_broken(w, "touch", ret, code);
		return;
	}
	for (i = 0; i < n; i++) {
		code = guarded_copy(w->buf, file_map[f] + (start + i) * KS_PAGE,
				    8);
		if (code && (start + i < safe || code != BUS_ADRERR))
			report(&n_opfail, "thread %d: %s touching page %lu of p%d",
			       w->id, bus_name(code), start + i, f);
		if (code)
			return;
	}
}

/*
 * A third into the round, one worker's guest gets an empty IDT and touches
 * memory beyond its page tables: it shuts down with its memory intact, as
 * in the emulator's fault. The round must tell that from a lost page
 * (vcpu_recheck()) and the worker go on with a fresh vCPU; the injected
 * fault is not counted against the emulator's allowance.
 */
static void inject_triple_fault(struct worker *w)
{
	struct kvm_sregs sregs;
	struct mvm_result res;
	int ret, code;

	if (!w->vcpu || w->broken[0] || now_s() < inj_at ||
	    __atomic_load_n(&inj_claimed, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&inj_claimed, 1, __ATOMIC_ACQ_REL))
		return;
	inj_worker = w->id;
	if (ioctl(w->vcpu->fd, KVM_GET_SREGS, &sregs)) {
		opfail(w, "KVM_GET_SREGS", errno);
		return;
	}
	sregs.idt.limit = 0;
	if (ioctl(w->vcpu->fd, KVM_SET_SREGS, &sregs)) {
		opfail(w, "KVM_SET_SREGS", errno);
		return;
	}
	diag("round %d: thread %d: injecting a guest triple fault", round_no,
	     w->id);
	ret = guarded_vcall(w->vcpu, MVM_OP_TOUCH_RD,
			    (uint64_t)MVM_MAPPED_GB << 30, 1, 0, &res, &code);
	if (ret != -ESHUTDOWN) {
		report(&n_opfail,
		       "thread %d: the injected triple fault: the vCPU call returned %d, not -ESHUTDOWN",
		       w->id, ret);
		if (!ret)
			return;
	}
	vcpu_broken(w, "injected triple fault", ret, code);
	inj_told = ret == -ESHUTDOWN && w->vcpu;
	inj_seq = w->vcall_seq;
	if (!inj_told)
		return;
	/*
	 * The fresh vCPU's first call comes at once: on a slow kernel (the
	 * debug lane) the recheck above can outlast the round, and the round
	 * would end with no call to show that the worker goes on with it.
	 * A verify when the model knows pages of the range, else a ping.
	 */
	w->count[OP_VVERIFY]++;
	do_vverify(w);
	if (w->vcpu && w->vcall_seq == inj_seq) {
		ret = guarded_vcall(w->vcpu, MVM_OP_PING, 0, 0, 0, &res, &code);
		if (ret)
			vcpu_broken(w, "ping", ret, code);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t start, n;
	int op;

	this_worker = w;
	__atomic_store_n(&w->tid, (int)syscall(SYS_gettid), __ATOMIC_RELAXED);
	while (!stopping()) {
		__atomic_store_n(&w->cur_op, -1, __ATOMIC_RELAXED);
		inject_triple_fault(w);
		op = pick_op(&w->rng, OP_PWRITE, OP_TOUCH, w);
		if (op < 0)
			break;
		__atomic_store_n(&w->cur_op, op, __ATOMIC_RELAXED);
		w->count[op]++;
		if (cfg_verbose)
			diag("t%d %s", w->id, op_names[op]);
		switch (op) {
		case OP_PWRITE:
			do_pwrite(w, op);
			break;
		case OP_PREAD:
			pick_range(w, 32, &start, &n);
			do_pread(w, start, n);
			break;
		case OP_MWRITE:
			do_mwrite(w, op);
			break;
		case OP_MREAD:
			pick_range(w, 32, &start, &n);
			do_mread(w, start, n, "mapping");
			break;
		case OP_VFILL:
			do_vfill(w);
			break;
		case OP_VVERIFY:
			do_vverify(w);
			break;
		case OP_FORK:
		case OP_FORKKILL:
			do_fork(w, op == OP_FORKKILL);
			break;
		case OP_PUNCH:
			do_punch(w);
			break;
		case OP_FALLOC:
			do_falloc(w);
			break;
		case OP_FADVISE:
			do_fadvise(w);
			break;
		case OP_RAHEAD:
			do_rahead(w);
			break;
		case OP_TRUNC:
			do_trunc(w);
			break;
		case OP_UNLINK:
			do_unlink(w);
			break;
		case OP_OUTWRITE:
			do_outwrite(w);
			break;
		case OP_OUTPUNCH:
			do_outpunch(w);
			break;
		case OP_INPUNCH:
			do_inpunch(w);
			break;
		case OP_TOUCH:
			do_touch(w);
			break;
		}
	}
	return NULL;
}

/*
 * The chaos thread's names: a directory d<k> (k < 2) and partitions in it
 * (d<k>/f<j>) or at the top named as one of those would be in sysfs
 * (d<k>!f<j>), created, renamed between the two, unlinked and the
 * directory removed, while the workers, the eviction worker and the
 * paging services run. A name in use is EEXIST, a directory with files
 * ENOTEMPTY, a missing one ENOENT; anything else fails the run, and so
 * does a file whose partition is not in sysfs under its name.
 */
static void names_path(uint64_t *s, char *path, size_t len, char *sysname,
		       size_t slen)
{
	unsigned int k = rnd_below(s, 2), j = rnd_below(s, 2);
	bool top = rnd_below(s, 2);

	snprintf(path, len, "%s/d%u%cf%u", pool_dir, k, top ? '!' : '/', j);
	snprintf(sysname, slen, "d%u!f%u", k, j);
}

static unsigned long names_ops;	/* chaos thread; read after it ended */

/* The names' files and directories gone (the end of a round). */
static void names_cleanup(void)
{
	char path[128];
	int k, j;

	for (k = 0; k < 2; k++) {
		for (j = 0; j < 2; j++) {
			snprintf(path, sizeof(path), "%s/d%d/f%d", pool_dir, k, j);
			unlink(path);
			snprintf(path, sizeof(path), "%s/d%d!f%d", pool_dir, k, j);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/d%d", pool_dir, k);
		if (rmdir(path) && errno != ENOENT)
			report(&n_opfail, "names: rmdir %s at the end: %s", path,
			       strerror(errno));
	}
	if (names_ops)
		diag("round %d: names: %lu operations", round_no, names_ops);
	names_ops = 0;
}

static void names_op(uint64_t *s)
{
	char path[128], to[128], name[32], name2[32];
	int fd, r = rnd_below(s, 4);

	names_ops++;
	names_path(s, path, sizeof(path), name, sizeof(name));
	snprintf(to, sizeof(to), "%s/d%u", pool_dir, (unsigned int)rnd_below(s, 2));
	switch (r) {
	case 0:		/* mkdir, or create (a page written) */
		if (mkdir(to, 0700) && errno != EEXIST)
			report(&n_opfail, "names: mkdir %s: %s", to,
			       strerror(errno));
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			if (errno != EEXIST && errno != ENOENT)
				report(&n_opfail, "names: create %s: %s", path,
				       strerror(errno));
			break;
		}
		if (ftruncate(fd, KS_PAGE) || pwrite(fd, "x", 1, 0) != 1)
			report(&n_opfail, "names: write %s: %s", path,
			       strerror(errno));
		if (!ks_sysfs_exists("%s/partitions/%s", pool_name, name))
			report(&n_opfail, "names: %s is not %s in sysfs", path,
			       name);
		close(fd);
		break;
	case 1:		/* rename to the other form, or over it */
		names_path(s, to, sizeof(to), name2, sizeof(name2));
		if (rename(path, to)) {
			if (errno != EEXIST && errno != ENOENT)
				report(&n_opfail, "names: rename %s %s: %s",
				       path, to, strerror(errno));
		} else if (!ks_sysfs_exists("%s/partitions/%s", pool_name,
					    name2)) {
			report(&n_opfail, "names: renamed %s is not %s in sysfs",
			       to, name2);
		}
		break;
	case 2:
		if (unlink(path) && errno != ENOENT)
			report(&n_opfail, "names: unlink %s: %s", path,
			       strerror(errno));
		break;
	case 3:
		if (rmdir(to) && errno != ENOTEMPTY && errno != ENOENT)
			report(&n_opfail, "names: rmdir %s: %s", to,
			       strerror(errno));
		break;
	}
}

/* The chaos thread: attributes, eviction targets, tunables, resizes. */

static void chaos_op(uint64_t *s, int op)
{
	struct kvmshare_part_attr a = { 0 };
	struct kvmshare_part_stats st;
	int f = rnd_below(s, NFILES);
	char buf[4096], opts[128];
	uint64_t pages;
	int fd;

	switch (op) {
	case OP_ATTR:
		a.flags = 1 + rnd_below(s, KVMSHARE_ATTR_WEIGHT * 2 - 1);
		a.entitlement_pages = rnd_below(s, 128);
		a.limit_pages = rnd_below(s, 2) ? 0 :
				FILE_PAGES + rnd_below(s, FILE_PAGES);
		a.weight = KVMSHARE_WEIGHT_MIN +
			   rnd_below(s, KVMSHARE_WEIGHT_MAX);
		if (ioctl(file_fd[f], KVMSHARE_IOC_SET_ATTR, &a) &&
		    errno != ENOSPC && errno != EINVAL)
			report(&n_opfail, "chaos: SET_ATTR 0x%x: %s", a.flags,
			       strerror(errno));
		break;
	case OP_EVICT:
		a.flags = KVMSHARE_ATTR_TARGET;
		a.target_pages = rnd_below(s, 3) ? 16 + rnd_below(s, 400) : 0;
		/* Only the target changes: no rule can refuse it. */
		if (ioctl(file_fd[f], KVMSHARE_IOC_SET_ATTR, &a))
			report(&n_opfail,
			       "chaos: SET_ATTR of only the target (%llu) of p%d: %s",
			       (unsigned long long)a.target_pages, f,
			       strerror(errno));
		if (rnd_below(s, 2) && posix_fadvise(file_fd[f], 0, 0,
						     POSIX_FADV_DONTNEED))
			report(&n_opfail, "chaos: fadvise of p%d failed", f);
		break;
	case OP_CLUSTER:
		snprintf(buf, sizeof(buf), "%u", 1U << rnd_below(s, 7));
		if (ks_write_file("/sys/module/kvmshare/parameters/pagein_cluster",
				  buf))
			report(&n_opfail, "chaos: pagein_cluster=%s refused",
			       buf);
		/* asynchronous restore on and off under the faults */
		if (ks_write_file("/sys/module/kvmshare/parameters/async_restore",
				  rnd_below(s, 2) ? "Y" : "N"))
			report(&n_opfail, "chaos: async_restore refused");
		break;
	case OP_RESIZE:
		pages = POOL_PAGES * 3 / 4 + rnd_below(s, POOL_PAGES / 2);
		snprintf(opts, sizeof(opts), "size=%luK", pages * 4);
		if (ks_pool_remount(pool_dir, opts) == -EINVAL)
			report(&n_opfail, "chaos: remount %s: EINVAL", opts);
		break;
	case OP_STAT:
		ks_part_stats(file_fd[f], &st);
		snprintf(opts, sizeof(opts), "/sys/kernel/debug/kvmshare/%s/%s",
			 pool_name, rnd_below(s, 2) ? "restores" : "pagers");
		fd = open(opts, O_RDONLY);
		if (fd >= 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
		ks_sysfs_num("%s/partitions/p%d/stream_state", pool_name, f);
		break;
	case OP_NAMES:
		for (pages = 0; pages < 8; pages++)
			names_op(s);
		break;
	}
}

static void *chaos_main(void *arg)
{
	uint64_t s = stream_seed(100);
	int op;

	while (!stopping()) {
		usleep(20000 + rnd_below(&s, 200000));
		op = pick_op(&s, OP_ATTR, OP_NAMES, NULL);
		if (op < 0)
			break;
		if (cfg_verbose)
			diag("chaos %s", op_names[op]);
		chaos_op(&s, op);
	}
	return NULL;
}

/* Paging services: two kvmshare-pagerd on one store. */

struct pagerd {
	pid_t pid;			/* 0: none */
	uint64_t id;			/* the pool's id for it */
	int gen;			/* starts, for its log file name */
	char log[64];
};

static struct pagerd pd[2];
static unsigned int pd_kills, pd_stops;

/* The ids of the services attached, from debugfs; returns how many. */
static int pager_ids(uint64_t *ids, int max)
{
	char path[128], line[256];
	unsigned long long id;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pagers",
		 pool_name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu ", &id) == 1 && n < max)
			ids[n++] = id;
	fclose(f);
	return n;
}

static int pagerd_start(int i, bool standby)
{
	char blocks[32], pidfile[64], *argv[16];
	uint64_t before[8], after[8];
	posix_spawn_file_actions_t fa;
	int nb, na, a = 0, k, j;
	struct stat st;

	pd[i].gen++;
	snprintf(pd[i].log, sizeof(pd[i].log), "/tmp/stress-pagerd%d.%d.log",
		 i, pd[i].gen);
	snprintf(pidfile, sizeof(pidfile), "/tmp/stress-pagerd%d.pid", i);
	snprintf(blocks, sizeof(blocks), "%lu", STORE_BLOCKS);
	unlink(pidfile);
	nb = pager_ids(before, 8);
	argv[a++] = PAGERD;
	argv[a++] = "--pool";
	argv[a++] = pool_dir;
	argv[a++] = "--backend";
	argv[a++] = "file:" STORE_PATH;
	argv[a++] = "--blocks";
	argv[a++] = blocks;
	argv[a++] = "--pidfile";
	argv[a++] = pidfile;
	if (standby)
		argv[a++] = "--standby";
	argv[a] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, pd[i].log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	/* It must not hold our partitions (or VM) open. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	if (posix_spawnp(&pd[i].pid, PAGERD, &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		pd[i].pid = 0;
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	for (k = 0; k < 100 && stat(pidfile, &st); k++)
		usleep(100000);
	na = pager_ids(after, 8);
	pd[i].id = 0;
	for (k = 0; k < na; k++) {
		for (j = 0; j < nb && before[j] != after[k]; j++)
			;
		if (j == nb)
			pd[i].id = after[k];
	}
	if (!pd[i].id) {
		diag("round %d: %s %d did not attach; its log:", round_no,
		     PAGERD, i);
		ks_dump_file(diag, pd[i].log, "  ", 10);
		return -1;
	}
	return 0;
}

/* Wait up to @secs for service @i to end; its wait status, or -1. */
static int pagerd_wait(int i, double secs)
{
	double end = now_s() + secs;
	int status;

	while (now_s() < end) {
		pid_t r = waitpid(pd[i].pid, &status, WNOHANG);

		if (r == pd[i].pid) {
			pd[i].pid = 0;
			return status;
		}
		if (r < 0)
			return -1;
		usleep(20000);
	}
	return -1;
}

/* The service the pool sends requests to, as an index of pd[], or -1. */
static int pagerd_active(void)
{
	long long id = ks_sysfs_num("%s/active_pager", pool_name);
	int i;

	for (i = 0; i < 2; i++)
		if (pd[i].pid && id > 0 && pd[i].id == (uint64_t)id)
			return i;
	return -1;
}

/* A service that ended without being told to: a finding; restart it. */
static void pagerd_reap(void)
{
	int i, status;

	for (i = 0; i < 2; i++) {
		if (!pd[i].pid || waitpid(pd[i].pid, &status, WNOHANG) != pd[i].pid)
			continue;
		pd[i].pid = 0;
		report(&n_pagerd_bad, "%s %d (service %lu) ended by itself, status 0x%x; its log:",
		       PAGERD, i, pd[i].id, status);
		ks_dump_file(diag, pd[i].log, "  ", 8);
		if (pagerd_start(i, true))
			report(&n_pagerd_bad, "could not restart %s %d",
			       PAGERD, i);
	}
}

static void *pager_main(void *arg)
{
	uint64_t s = stream_seed(101);
	int op, i, status;
	double next = now_s() + 0.5 + rnd_below(&s, 1000) / 1000.0;

	while (!stopping()) {
		usleep(50000);
		pagerd_reap();
		if (now_s() < next)
			continue;
		next = now_s() + 0.3 + rnd_below(&s, 1500) / 1000.0;
		op = pick_op(&s, OP_KILL, OP_STOP, NULL);
		if (op < 0)
			break;
		/* Only with both up: one always serves. */
		if (!pd[0].pid || !pd[1].pid || ks_sysfs_num("%s/pagers", pool_name) != 2)
			continue;
		i = pagerd_active();
		if (i < 0)
			continue;
		if (cfg_verbose)
			diag("pager %s %d", op_names[op], i);
		if (op == OP_KILL) {
			kill(pd[i].pid, SIGKILL);
			status = pagerd_wait(i, 30);
			pd_kills++;
		} else {
			kill(pd[i].pid, SIGTERM);
			status = pagerd_wait(i, 30);
			pd_stops++;
			if (status == -1 || !WIFEXITED(status) ||
			    WEXITSTATUS(status)) {
				report(&n_pagerd_bad,
				       "%s %d (service %lu) stopped with a standby: status 0x%x, want exit 0; its log:",
				       PAGERD, i, pd[i].id, status);
				ks_dump_file(diag, pd[i].log, "  ", 8);
			}
		}
		if (status == -1) {
			report(&n_pagerd_bad, "%s %d did not end after %s",
			       PAGERD, i, op == OP_KILL ? "SIGKILL" : "SIGTERM");
			kill(pd[i].pid, SIGKILL);
			pagerd_wait(i, 10);
			pd[i].pid = 0;
		}
		if (pagerd_start(i, true))
			report(&n_pagerd_bad, "could not restart %s %d",
			       PAGERD, i);
	}
	return NULL;
}

/* Kernel log: the records written during the round. */

static int kmsg_fd = -1;

static void kmsg_mark(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

static const char *const bad_log[] = {
	"WARNING:", "BUG:", "kernel BUG", "BUG kvmshare", "Oops",
	"general protection", "Call Trace",
	"soft lockup", "hung_task", "blocked for more than", "RCU stall",
	"UBSAN", "KASAN", "list_add corruption", "list_del corruption",
	"refcount_t:", "Objects remaining", "double free", "Bad page",
	"page dumped because", "leak",
};

/* Print the bad lines (and their kvmshare context); how many were bad. */
static int kmsg_scan(void)
{
	char rec[1024], *msg;
	int bad = 0, shown = 0;
	unsigned int i;
	ssize_t n;

	if (kmsg_fd < 0)
		return 0;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		for (i = 0; i < ARRAY_SIZE(bad_log); i++)
			if (strstr(msg, bad_log[i]))
				break;
		if (i < ARRAY_SIZE(bad_log))
			bad++;
		if ((bad && shown < 60) ||
		    (strstr(msg, "kvmshare") && rec[0] <= '4' && shown < 60)) {
			diag("round %d: kernel: %s", round_no, msg);
			shown++;
		}
	}
	return bad;
}

/* Watchdog: a phase that takes far too long is a hang; show why, quit. */
/*
 * What each worker does now; for one in a vCPU call, the call and the
 * mailbox as the host sees it (a guest that loops with the command the
 * host wrote, or with another one, tells a guest gone astray from one
 * whose memory differs from the host's view).
 */
static void dump_workers(void)
{
	unsigned int i;

	for (i = 0; i < cfg_threads; i++) {
		struct worker *w = &workers[i];
		int op = __atomic_load_n(&w->cur_op, __ATOMIC_RELAXED);
		uint64_t vop = __atomic_load_n(&w->vcall_op, __ATOMIC_ACQUIRE);
		const struct mvm_mbox *m;

		diag("worker %u (task %d): %s", i,
		     __atomic_load_n(&w->tid, __ATOMIC_RELAXED),
		     op >= 0 && op < NR_OPS ? op_names[op] : "-");
		if (!vop || !w->vcpu)
			continue;
		m = (const struct mvm_mbox *)(w->vcpu->vm->sys_mem +
					      MVM_MBOX_GPA +
					      w->vcpu->id * MVM_MBOX_SIZE);
		diag("  vCPU %d call op %lu (0x%lx, %lu, 0x%lx), KVM_RUN returned EINTR %lu times",
		     w->vcpu->id, vop, w->vcall_arg[0], w->vcall_arg[1],
		     w->vcall_arg[2],
		     __atomic_load_n(&w->vcpu->eintr, __ATOMIC_RELAXED));
		diag("  mailbox op %lu args 0x%lx %lu 0x%lx status 0x%lx",
		     m->op, m->arg[0], m->arg[1], m->arg[2], m->status);
	}
}

static void dump_state(void)
{
	char path[320];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pagers",
		 pool_name);
	ks_dump_file(diag, path, "pagers: ", 10);
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/restores",
		 pool_name);
	ks_dump_file(diag, path, "restores: ", 20);
	ks_dump_tasks(diag);
	dump_workers();
	ks_dump_kvm_trace(diag);
	ks_write_file("/proc/sysrq-trigger", "w");
	/* The running CPUs' kernel stacks, on the console. */
	ks_write_file("/proc/sysrq-trigger", "l");
}

/*
 * The vCPUs still in a call print what KVM holds for them
 * (mvm_dump_threads()).
 */
static void dump_vcpus(void)
{
	pthread_t t[MAX_THREADS];
	unsigned int i, n = 0;

	for (i = 0; i < cfg_threads; i++)
		if (__atomic_load_n(&workers[i].vcall_op, __ATOMIC_ACQUIRE))
			t[n++] = workers[i].thread;
	mvm_dump_threads(t, n);
}

/*
 * A vCPU call that has not come back in VCALL_STUCK_MS: ask it once for its
 * state. If its guest holds the host's registers, the call ends with
 * MVM_ERR_HOST_STATE; otherwise it goes on (and the phase's limit decides).
 */
static void watch_vcalls(long now)
{
	struct worker *w;
	uint64_t seq;
	unsigned int i;

	for (i = 0; i < cfg_threads; i++) {
		w = &workers[i];
		if (!__atomic_load_n(&w->vcall_op, __ATOMIC_ACQUIRE))
			continue;
		seq = __atomic_load_n(&w->vcall_seq, __ATOMIC_RELAXED);
		if (seq == w->vcall_asked ||
		    now - __atomic_load_n(&w->vcall_since, __ATOMIC_RELAXED) <
		    VCALL_STUCK_MS)
			continue;
		w->vcall_asked = seq;
		diag("watchdog: round %d: thread %d: vCPU op %lu out for %ld s: its state asked",
		     round_no, w->id,
		     (unsigned long)__atomic_load_n(&w->vcall_op,
						    __ATOMIC_RELAXED),
		     (now - w->vcall_since) / 1000);
		mvm_dump_threads(&w->thread, 1);
	}
}

static void *watchdog_main(void *arg)
{
	long since, limit, now;

	for (;;) {
		sleep(1);
		watch_vcalls((long)(now_s() * 1000));
		since = __atomic_load_n(&phase_since, __ATOMIC_RELAXED);
		limit = __atomic_load_n(&phase_limit, __ATOMIC_RELAXED);
		now = now_s() * 1000;
		if (now - since < limit)
			continue;
		diag("watchdog: round %d: '%s' has taken %ld s (limit %ld): stuck; seed 0x%lx",
		     round_no, __atomic_load_n(&phase, __ATOMIC_RELAXED),
		     (now - since) / 1000, limit / 1000, cfg_seed);
		dump_vcpus();
		dump_state();
		kmsg_scan();
		pthread_mutex_lock(&out_lock);
		printf("Bail out! stuck in '%s' (round %d, seed 0x%lx)\n",
		       phase, round_no, cfg_seed);
		fflush(stdout);
		_exit(1);
	}
	return NULL;
}

/* Configuration from the environment. */

static int parse_ops(const char *spec)
{
	char *copy = strdup(spec), *tok, *save = NULL;
	bool neg;
	int i;

	memset(cfg_ops, 0, sizeof(cfg_ops));
	for (tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		neg = *tok == '-';
		tok += neg;
		if (!strcmp(tok, "all")) {
			for (i = 0; i < NR_OPS; i++)
				cfg_ops[i] = !neg;
			continue;
		}
		for (i = 0; i < NR_OPS && strcmp(tok, op_names[i]); i++)
			;
		if (i == NR_OPS) {
			printf("Bail out! STRESS_OPS: unknown operation '%s'\n",
			       tok);
			free(copy);
			return -1;
		}
		cfg_ops[i] = !neg;
	}
	free(copy);
	return 0;
}

static const char *const replay_vars[] = {
	"STRESS_SECONDS", "STRESS_ROUNDS", "STRESS_THREADS", "STRESS_OPS",
};

static int configure(void)
{
	const char *v, *sep;
	int i;

	v = getenv("STRESS_SEED");
	cfg_seed = v && *v ? strtoull(v, NULL, 0) :
		   mix64(ks_now_ns() ^ ((uint64_t)getpid() << 32));
	v = getenv("STRESS_SECONDS");
	if (v && *v)
		cfg_seconds = strtoul(v, NULL, 0);
	v = getenv("STRESS_ROUNDS");
	if (v && *v)
		cfg_rounds = strtoul(v, NULL, 0);
	v = getenv("STRESS_THREADS");
	if (v && *v)
		cfg_threads = strtoul(v, NULL, 0);
	v = getenv("STRESS_VERBOSE");
	cfg_verbose = v && *v == '1';
	if (cfg_rounds < 1)
		cfg_rounds = 1;
	if (cfg_threads < 2)
		cfg_threads = 2;
	if (cfg_threads > MAX_THREADS)
		cfg_threads = MAX_THREADS;
	cfg_threads &= ~1U;
	v = getenv("STRESS_OPS");
	if (parse_ops(v && *v ? v : "all"))
		return -1;
	printf("# stress: STRESS_SEED=0x%lx STRESS_SECONDS=%u STRESS_ROUNDS=%u STRESS_THREADS=%u\n",
	       cfg_seed, cfg_seconds, cfg_rounds, cfg_threads);
	printf("# stress: STRESS_OPS=");
	for (i = 0, sep = ""; i < NR_OPS; i++) {
		if (cfg_ops[i]) {
			printf("%s%s", sep, op_names[i]);
			sep = ",";
		}
	}
	printf("\n# stress: replay: KVMSHARE_VM_APPEND=\"STRESS_SEED=0x%lx", cfg_seed);
	for (i = 0; i < (int)ARRAY_SIZE(replay_vars); i++) {
		v = getenv(replay_vars[i]);
		if (v && *v)
			printf(" %s=%s", replay_vars[i], v);
	}
	printf("\" make check SUITES=%s\n", getenv("KVMSHARE_SUITE") ? : "stress");
	return 0;
}

/* One round */

static int round_setup(void)
{
	char opts[128], path[128];
	int f, i, ret;

	snprintf(opts, sizeof(opts), "size=%luK,reserve=%luK,name=%s",
		 POOL_PAGES * 4, RESERVE_PAGES * 4, pool_name);
	ret = ks_pool_mount(pool_dir, sizeof(pool_dir), opts);
	if (ret) {
		diag("round %d: mount %s: %s", round_no, opts, strerror(-ret));
		return -1;
	}
	unlink(STORE_PATH);
	for (i = 0; i < 2; i++) {
		if (pagerd_start(i, i == 1)) {
			diag("round %d: cannot start %s %d", round_no, PAGERD, i);
			return -1;
		}
	}
	vm = mvm_create();
	if (!vm)
		diag("round %d: no KVM VM: no vCPU operations", round_no);
	for (f = 0; f < NFILES; f++) {
		snprintf(path, sizeof(path), "p%d", f);
		file_fd[f] = ks_part_create(pool_dir, path, FILE_PAGES * KS_PAGE);
		if (file_fd[f] < 0) {
			diag("round %d: create %s: %s", round_no, path,
			     strerror(-file_fd[f]));
			return -1;
		}
		fcntl(file_fd[f], F_SETFD, FD_CLOEXEC);
		file_map[f] = mmap(NULL, FILE_PAGES * KS_PAGE,
				   PROT_READ | PROT_WRITE, MAP_SHARED,
				   file_fd[f], 0);
		if (file_map[f] == MAP_FAILED) {
			file_map[f] = NULL;
			diag("round %d: mmap: %s", round_no, strerror(errno));
			return -1;
		}
		if (vm && mvm_set_slot(vm, 1 + f, page_gpa(f, 0), file_map[f],
				       FILE_PAGES * KS_PAGE)) {
			mvm_destroy(vm);
			vm = NULL;
		}
		for (i = 0; i < (int)FILE_PAGES; i++)
			model_set(f, i, SEED_ZERO, ZFROM_NONE, NR_OPS);
	}
	for (i = 0; i < (int)cfg_threads; i++) {
		struct worker *w = &workers[i];
		unsigned int per = cfg_threads / NFILES, k = i / NFILES;
		/* Owners' boundaries off the read-ahead windows' alignment. */
		uint64_t cut = FILE_PAGES / per;

		w->id = i;
		w->file = i % NFILES;
		w->lo = k ? k * cut - 5 : 0;
		w->hi = k + 1 < per ? (k + 1) * cut - 5 : FILE_PAGES;
		w->tail = k + 1 == per;
		w->rng = stream_seed(i);
		w->shadow_rng = stream_seed(200 + i);
		w->shadow_passes = 0;
		w->hot_n = 0;
		memset(w->count, 0, sizeof(w->count));
		w->vcpu = vm ? mvm_vcpu_create(vm, i) : NULL;
	}
	return 0;
}

/* Read back every page of every file; returns the mismatches. */
static unsigned long verify_all(void)
{
	unsigned long before = n_mismatch;
	uint8_t *buf = workers[0].buf;
	uint64_t p, n;
	ssize_t r;
	int f;

	for (f = 0; f < NFILES; f++) {
		for (p = 0; p < FILE_PAGES; p += n) {
			n = FILE_PAGES - p < PRIV_MAX_PAGES ? FILE_PAGES - p :
			    PRIV_MAX_PAGES;
			r = pread(file_fd[f], buf, n * KS_PAGE, p * KS_PAGE);
			if (r != (ssize_t)(n * KS_PAGE)) {
				report(&n_mismatch, "final read of p%d at page %lu: %zd (%s)",
				       f, p, r, strerror(errno));
				break;
			}
			for (uint64_t i = 0; i < n; i++)
				check_file_page(f, p + i, "final pread",
						buf + i * KS_PAGE);
		}
	}
	return n_mismatch - before;
}

struct totals {
	uint64_t pageouts, pageins, pagein_errors, pagein_timeouts;
	uint64_t pageout_errors, readahead, async, zero, faults, failures;
};

static void sum_stats(struct totals *t)
{
	struct kvmshare_part_stats st;
	int f;

	memset(t, 0, sizeof(*t));
	for (f = 0; f < NFILES; f++) {
		if (ks_part_stats(file_fd[f], &st))
			continue;
		t->pageouts += st.pageouts;
		t->pageins += st.pageins;
		t->pagein_errors += st.pagein_errors;
		t->pagein_timeouts += st.pagein_timeouts;
		t->pageout_errors += st.pageout_errors;
		t->readahead += st.readahead_pages;
		t->async += st.async_restores;
		t->zero += st.zero_elided;
		t->faults += st.faults;
		t->failures += st.fault_failures;
	}
}

static int count_lines(const char *path)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Sum of the in-flight column of debugfs pagers. */
static long long pagers_inflight(void)
{
	char path[128], line[256], role[16], state[16];
	unsigned long long id, infl;
	long long sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pagers",
		 pool_name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu %15s %15s %llu", &id, role, state,
			   &infl) == 4)
			sum += infl;
	fclose(f);
	return sum;
}

/* Everything of the files has left the pool: 0, or -1 after @secs. */
/*
 * Wait until the pool is empty again: its pages and partitions, and
 * unless @pages_only also its backing blocks, requests and page-ins.
 */
static int wait_empty(double secs, bool show, bool pages_only)
{
	char restores[128];
	long long used, blocks, pending, parts, infl;
	int rl;
	double end = now_s() + secs;

	snprintf(restores, sizeof(restores),
		 "/sys/kernel/debug/kvmshare/%s/restores", pool_name);
	for (;;) {
		used = ks_sysfs_num("%s/used_pages", pool_name);
		blocks = ks_sysfs_num("%s/blocks_used", pool_name);
		pending = ks_sysfs_num("%s/pending_requests", pool_name);
		parts = ks_sysfs_num("%s/nr_partitions", pool_name);
		rl = count_lines(restores);
		infl = pagers_inflight();
		if (!used && !parts &&
		    (pages_only ||
		     (!blocks && !pending && rl <= 1 && infl <= 0)))
			return 0;
		if (now_s() > end)
			break;
		usleep(100000);
	}
	if (show) {
		diag("round %d: after %.0f s: used_pages %lld blocks_used %lld",
		     round_no, secs, used, blocks);
		diag("round %d: pending_requests %lld nr_partitions %lld page-ins %d inflight %lld",
		     round_no, pending, parts, rl > 0 ? rl - 1 : rl, infl);
		ks_dump_file(diag, restores, "restores: ", 10);
	}
	return -1;
}

/* Destroys the round's VM and every vCPU of it, broken ones too. */
static void destroy_vm(void)
{
	int i;

	for (i = 0; i < (int)cfg_threads; i++) {
		mvm_vcpu_destroy(workers[i].vcpu);
		mvm_vcpu_destroy(workers[i].broken[0]);
		mvm_vcpu_destroy(workers[i].broken[1]);
		mvm_vcpu_destroy(workers[i].broken[2]);
		workers[i].vcpu = NULL;
		workers[i].broken[0] = NULL;
		workers[i].broken[1] = NULL;
		workers[i].broken[2] = NULL;
	}
	if (vm)
		mvm_destroy(vm);
	vm = NULL;
}

/* After a failed set-up: whatever was made goes. */
static void round_cleanup(void)
{
	char path[128];
	int i, f;

	for (i = 0; i < 2; i++)
		if (pd[i].pid) {
			kill(pd[i].pid, SIGKILL);
			pagerd_wait(i, 10);
		}
	destroy_vm();
	for (f = 0; f < NFILES; f++) {
		if (file_map[f])
			munmap(file_map[f], FILE_PAGES * KS_PAGE);
		file_map[f] = NULL;
		if (file_fd[f] >= 0)
			close(file_fd[f]);
		file_fd[f] = -1;
		snprintf(path, sizeof(path), "%s/p%d", pool_dir, f);
		unlink(path);
	}
	if (pool_dir[0]) {
		names_cleanup();
		ks_pool_umount(pool_dir);
	}
}

static void run_round(void)
{
	bool attached = cfg_ops[OP_UMOUNT_ATTACHED] && round_no % 2 == 0;
	double secs = (double)cfg_seconds / cfg_rounds;
	pthread_t chaos, pager;
	unsigned long long ops = 0, shadow = 0, vcalls;
	struct totals t;
	char line[1024];
	int i, f, st[2], len = 0, bad, ret;
	long long v;
	bool ok;

	n_mismatch = 0;
	n_opfail = 0;
	n_emulator = 0;
	n_pagerd_bad = 0;
	n_reports = 0;
	pd_kills = 0;
	pd_stops = 0;
	kmsg_mark();
	diag("round %d: %.1f s, pool %s at %s%s", round_no, secs, pool_name,
	     pool_dir[0] ? pool_dir : "(new)",
	     attached ? ", unmounted with the services attached" : "");
	set_phase("setup", 60);
	if (round_setup()) {
		tap(false, "round %d: set up a pool, two services and the files",
		    round_no);
		for (i = 1; i < 9; i++)
			tap(false, "round %d: (not set up)", round_no);
		round_cleanup();
		return;
	}

	set_phase("random operations", secs + 120);
	deadline = now_s() + secs;
	inj_at = now_s() + secs / 3;
	inj_claimed = 0;
	inj_told = false;
	__atomic_store_n(&stop_now, 0, __ATOMIC_RELAXED);
	for (i = 0; i < (int)cfg_threads; i++) {
		pthread_create(&workers[i].thread, NULL, worker_main,
			       &workers[i]);
		if (cfg_ops[OP_SHADOW])
			pthread_create(&workers[i].shadow, NULL, shadow_main,
				       &workers[i]);
	}
	pthread_create(&chaos, NULL, chaos_main, NULL);
	pthread_create(&pager, NULL, pager_main, NULL);
	for (i = 0; i < (int)cfg_threads; i++)
		pthread_join(workers[i].thread, NULL);
	__atomic_store_n(&stop_now, 1, __ATOMIC_RELAXED);
	for (i = 0; i < (int)cfg_threads && cfg_ops[OP_SHADOW]; i++)
		pthread_join(workers[i].shadow, NULL);
	pthread_join(chaos, NULL);
	pthread_join(pager, NULL);
	pagerd_reap();

	for (i = 0; i < NR_OPS; i++) {
		unsigned long long c = 0;
		int k;

		for (k = 0; k < (int)cfg_threads; k++)
			c += workers[k].count[i];
		ops += c;
		if (c)
			len += snprintf(line + len, sizeof(line) - len, " %s %llu",
					op_names[i], c);
	}
	for (i = 0; i < (int)cfg_threads; i++)
		shadow += workers[i].shadow_passes;
	diag("round %d: operations:%s; shadow passes %llu; services killed %u, stopped %u",
	     round_no, line, shadow, pd_kills, pd_stops);
	tap(!n_mismatch,
	    "round %d: %llu operations: every byte read matched the model (%lu mismatches)",
	    round_no, ops, n_mismatch);
	vcalls = 0;
	for (i = 0; i < (int)cfg_threads; i++)
		vcalls += workers[i].count[OP_VFILL] +
			  workers[i].count[OP_VVERIFY];
	tap(!n_opfail &&
	    n_emulator - inj_told <= emulator_faults_allowed(vcalls),
	    "round %d: no operation failed (%lu failures; %lu of %llu vCPU calls lost to the emulator's known fault, at most %lu allowed)",
	    round_no, n_opfail, n_emulator - inj_told, vcalls,
	    emulator_faults_allowed(vcalls));
	tap(inj_claimed && inj_told && workers[inj_worker].vcall_seq > inj_seq,
	    "round %d: an injected guest triple fault was told from a lost page: a fresh vCPU read thread %d's pages right, and %lu vCPU calls followed",
	    round_no, inj_worker,
	    inj_claimed ? workers[inj_worker].vcall_seq - inj_seq : 0);

	set_phase("final read-back", 120);
	for (f = 0; f < NFILES; f++) {
		struct kvmshare_part_attr a = { .flags = KVMSHARE_ATTR_TARGET };

		ioctl(file_fd[f], KVMSHARE_IOC_SET_ATTR, &a);
	}
	bad = verify_all();
	tap(!bad, "round %d: the final read-back of every page matches (%d mismatches)",
	    round_no, bad);

	sum_stats(&t);
	diag("round %d: faults %lu (refused %lu), page-outs %lu, page-ins %lu",
	     round_no, t.faults, t.failures, t.pageouts, t.pageins);
	diag("round %d: read ahead %lu, async %lu, zero %lu, failovers %lld, reissued %lld",
	     round_no, t.readahead, t.async, t.zero,
	     ks_sysfs_num("%s/failovers", pool_name),
	     ks_sysfs_num("%s/reissued_requests", pool_name));
	/* Page-ins need reads of paged-out pages: STRESS_OPS may have none. */
	tap(t.pageouts && !t.pagein_errors && !t.pagein_timeouts &&
	    !t.pageout_errors,
	    "round %d: paging ran (%lu out, %lu in) and no page-in or page-out failed (errors %lu, timeouts %lu, page-out errors %lu)",
	    round_no, t.pageouts, t.pageins, t.pagein_errors,
	    t.pagein_timeouts, t.pageout_errors);

	set_phase("deleting the files", 120);
	destroy_vm();
	for (f = 0; f < NFILES; f++) {
		char path[128];

		munmap(file_map[f], FILE_PAGES * KS_PAGE);
		file_map[f] = NULL;
		close(file_fd[f]);
		file_fd[f] = -1;
		snprintf(path, sizeof(path), "%s/p%d", pool_dir, f);
		if (unlink(path))
			diag("round %d: unlink %s: %s", round_no, path,
			     strerror(errno));
	}
	names_cleanup();
	if (attached) {
		/*
		 * Unmounted at once with the services attached: the
		 * discards may still be under way, but the pages are free.
		 */
		ret = wait_empty(20, true, true);
		tap(!ret,
		    "round %d: with the files deleted, the pool's pages and partitions are back to zero (discards may still be under way)",
		    round_no);
	} else {
		ret = wait_empty(20, true, false);
		tap(!ret,
		    "round %d: with the files deleted, the pool's pages, blocks, requests, page-ins and partitions are back to zero",
		    round_no);
	}

	set_phase("stopping the services", 120);
	ok = true;
	if (!attached) {
		for (i = 0; i < 2; i++)
			if (pd[i].pid)
				kill(pd[i].pid, SIGTERM);
		for (i = 0; i < 2; i++) {
			st[i] = pd[i].pid ? pagerd_wait(i, 30) : 0;
			if (st[i] == -1 || !WIFEXITED(st[i]) ||
			    WEXITSTATUS(st[i])) {
				diag("round %d: %s %d (service %lu): SIGTERM, nothing out:",
				     round_no, PAGERD, i, pd[i].id);
				diag("round %d: status 0x%x, want exit 0; its log:",
				     round_no, st[i]);
				ks_dump_file(diag, pd[i].log, "  ", 8);
				ok = false;
			}
		}
		v = ks_sysfs_num("%s/pagers", pool_name);
		if (v) {
			diag("round %d: %lld services still attached", round_no, v);
			ok = false;
		}
	}
	if (n_pagerd_bad)
		ok = false;
	tap(ok,
	    "round %d: the paging services ended only when told to, and stopped cleanly (%lu findings)",
	    round_no, n_pagerd_bad);

	set_phase("unmounting", 60);
	ret = ks_pool_umount(pool_dir);
	if (ret)
		diag("round %d: umount %s: %s", round_no, pool_dir,
		     strerror(-ret));
	if (attached) {
		/* The services must go away by themselves, or on SIGTERM. */
		for (i = 0; i < 2; i++) {
			if (!pd[i].pid)
				continue;
			st[i] = pagerd_wait(i, 3);
			if (st[i] == -1) {
				kill(pd[i].pid, SIGTERM);
				st[i] = pagerd_wait(i, 20);
			}
			diag("round %d: %s %d after the unmount: status 0x%x",
			     round_no, PAGERD, i, st[i]);
			if (st[i] == -1) {
				diag("round %d: %s %d does not end after the unmount; its log:",
				     round_no, PAGERD, i);
				ks_dump_file(diag, pd[i].log, "  ", 8);
				ret = -ETIMEDOUT;
				kill(pd[i].pid, SIGKILL);
				pagerd_wait(i, 10);
			}
		}
	}
	for (i = 0; i < 50 && ks_sysfs_exists("%s", pool_name); i++)
		usleep(100000);
	if (ks_sysfs_exists("%s", pool_name)) {
		diag("round %d: /sys/fs/kvmshare/%s is still there 5 s after the unmount",
		     round_no, pool_name);
		ret = ret ? : -EBUSY;
	}
	tap(!ret, "round %d: unmount%s succeeds and the pool's sysfs directory goes away",
	    round_no, attached ? " with the services attached" : "");
	if (ret) {
		/* Do not leave the services serving a pool no one uses. */
		for (i = 0; i < 2; i++)
			if (pd[i].pid) {
				kill(pd[i].pid, SIGKILL);
				pagerd_wait(i, 10);
			}
	}

	bad = kmsg_scan();
	tap(!bad, "round %d: the kernel log of the round is clean (%d bad lines)",
	    round_no, bad);
	if (n_mismatch || n_opfail || n_pagerd_bad || bad || ret)
		diag("round %d: FAILED with STRESS_SEED=0x%lx", round_no, cfg_seed);
}

/* The module unloads, and no request object outlives it. */
static void unload_check(void)
{
	char path[] = "/sys/kernel/slab/kvmshare_io", target[256], line[256];
	long long objects = -1;
	bool merged = false, listed = false;
	struct stat st;
	ssize_t n;
	FILE *f;
	int ret;

	set_phase("unloading", 60);
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		merged = true;
		diag("the kvmshare_io cache is merged with %s: not counted", target);
		diag("(to count it: KVMSHARE_VM_APPEND=slab_nomerge)");
	} else if (!lstat(path, &st)) {
		ks_write_file("/sys/kernel/slab/kvmshare_io/shrink", "1");
		f = fopen("/sys/kernel/slab/kvmshare_io/objects", "r");
		if (f) {
			if (fscanf(f, "%lld", &objects) != 1)
				objects = -1;
			fclose(f);
		}
		diag("kvmshare_io objects with every pool gone: %lld", objects);
	}
	kmsg_mark();
	ret = syscall(__NR_delete_module, "kvmshare", O_NONBLOCK);
	if (ret)
		diag("delete_module(kvmshare): %s", strerror(errno));
	f = fopen("/proc/slabinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "kvmshare_io ", 12))
			listed = true;
	if (f)
		fclose(f);
	if (!ret && listed && !merged)
		diag("kvmshare_io is still in /proc/slabinfo after the unload");
	n = kmsg_scan();
	tap(!ret && !n && (merged || objects <= 0) && !(listed && !merged),
	    "the module unloads and leaves no kvmshare_io object (%lld)",
	    objects);
	if (!ret && system("modprobe kvmshare"))
		diag("modprobe kvmshare failed");
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	static const char *const params[] = { "sample_ms", "pagein_cluster",
					      "async_restore" };
	char saved[3][32] = { "", "", "" }, path[128];
	pthread_t wd;
	unsigned int i;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (configure())
		return 1;
	printf("1..%u\n", cfg_rounds * 9 + 1);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(pool_name, sizeof(pool_name), "stress%d", getpid());
	for (i = 0; i < NFILES; i++)
		file_fd[i] = -1;
	for (i = 0; i < MAX_THREADS; i++) {
		workers[i].buf = aligned_alloc(KS_PAGE, PRIV_MAX_PAGES * KS_PAGE);
		if (!workers[i].buf)
			return 1;
	}
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		snprintf(path, sizeof(path), "/sys/module/kvmshare/parameters/%s",
			 params[i]);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(saved[i], sizeof(saved[i]), f))
				saved[i][0] = 0;
			fclose(f);
		}
	}
	/* Access sampling and eviction ten times a second. */
	ks_write_file("/sys/module/kvmshare/parameters/sample_ms", "100");
	set_phase("start", 60);
	pthread_create(&wd, NULL, watchdog_main, NULL);
	/* Where a guest triple-faulted (before any vCPU runs: it patches). */
	mvm_trace_shutdowns(true);

	for (round_no = 1; round_no <= (int)cfg_rounds; round_no++)
		run_round();
	mvm_trace_shutdowns(false);

	for (i = 0; i < ARRAY_SIZE(params); i++) {
		snprintf(path, sizeof(path), "/sys/module/kvmshare/parameters/%s",
			 params[i]);
		if (saved[i][0])
			ks_write_file(path, saved[i]);
	}
	unload_check();
	set_phase("end", 60);
	phase_report();
	unlink(STORE_PATH);
	printf("# stress: STRESS_SEED=0x%lx\n", cfg_seed);
	return 0;
}
