// SPDX-License-Identifier: GPL-2.0
/*
 * 2 MiB units benchmark (make bench; issue #18 step 8 of
 * Documentation/plans/large-pages.md), in the test VM:
 *
 *   bench: pool.huge_fault_vs_thp R          (goal <= 1.0)
 *   bench: pool.huge_fault_vs_4k R           (no goal)
 *   bench: pool.huge_access_vs_thp R         (goal <= 1.05)
 *   bench: pool.huge_access_vs_4k R          (no goal)
 *   bench: pool.huge_fault_pmd_share S       (no goal)
 *   bench: pool.huge_fault_thp_pmd_share S   (no goal)
 *   bench: pool.huge_share_after_pressure S  (goal >= 0.9)
 *   bench: pool.huge_share_after_pressure_kvm S    (no goal; TDP only)
 *   bench: pool.huge_share_after_pressure_random S (no goal)
 *
 * Three nested KVM guests (mvm), side by side, each with a RAM slot of
 * SLOT_MB (POOL_HUGE_BENCH_MB; by default 256 MiB, the size, and
 * 64 MiB under TCG, where a first touch costs about 0.7 ms a 4 KiB page)
 * mapped shared at a 2 MiB-aligned address (MAP_FIXED inside a
 * reservation, as QEMU maps memory-backend-file with align=2M):
 *
 *  huge  a partition file of a pool mounted huge=on (2 MiB units);
 *  thp   a memfd with madvise(MADV_HUGEPAGE) on the mapping and
 *        transparent_hugepage/shmem_enabled set to "advise" for the run
 *        (put back at the end): what a user picks for 2 MiB-backed guest
 *        RAM without the pool (QEMU's memory-backend-memfd with THP);
 *  4k    a partition file of a second pool, mounted huge=off (the pool's
 *        4 KiB mode).
 *
 * No side is prefaulted or given other advice; each process is in the
 * root memory cgroup (no charge for either). Per round (new files, new
 * VMs):
 *
 *  first touch: the guest writes one qword into every 4 KiB page of its
 *    slot (MVM_OP_TOUCH_WR), CHUNKS chunks, the sides taking turns and who
 *    goes first rotating every chunk, so that drift (the emulated VM
 *    shares its host) hits all alike. A figure is the median over every
 *    chunk of every round of huge's time over the other side's; below 1
 *    huge is faster.
 *  random access: then, every page populated, the guest reads one qword
 *    at each of ACCESS_PER_PAGE * pages offsets drawn once from a fixed
 *    seed (MVM_OP_TOUCH_LIST; the same list, a slot of its own, for every
 *    side), in the same turns; the guest's sums must agree with the host's.
 *
 * How each side is mapped, so that a ratio won by not being huge shows:
 * the share of what the VMM's mapping maps (its VMA's Rss in
 * /proc/self/smaps) that it maps by PMD (FilePmdMapped or ShmemPmdMapped)
 * after the first touch, the lowest over the rounds as a figure (of what
 * is mapped: the pool's access sampler unmaps the units it samples, every
 * sample_ms, and those are mapped neither way until touched again; the
 * share of the slot mapped at all is printed per round); KVM's pages_2m per VM is
 * printed when KVM uses NPT or EPT (kvm_amd.npt, kvm_intel.ept: without
 * them the count says nothing of the guest's mapping). The THP side must
 * have at least half its slot PMD-mapped in every round, or the run
 * fails (the baseline would not be what it claims).
 *
 * Share after pressure (no baseline: a share is no time, and the test VM
 * has no swap for a THP memfd to be paged to): a partition of the huge
 * pool with the in-test paging service (lib/kspager.c) attached, filled
 * by its guest (units), gets a target of a quarter of the slot; once the
 * units above it are paged out whole, the target is lifted and the guest
 * goes on reading its memory, one qword per page in order, again and
 * again (a thread of its own); every second for SHARE_SECS the share of
 * the slot mapped by PMD, made of units, resident, and (TDP) KVM's
 * pages_2m is printed. pool.huge_share_after_pressure is the PMD share at
 * SHARE_SECS. The same with the guest reading the random list instead
 * gives pool.huge_share_after_pressure_random, without a goal: random
 * faults page in 4 KiB (huge_pagein_sparse), and a range a VMA once
 * mapped 4 KiB keeps its PTE table (the plan's section 3.2 and risk 1).
 * The guest's sums are checked all along, every page by the host at
 * the end.
 *
 * Times under TCG are emulated and only comparable within one run.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../lib/ksutil.h"
#include "../lib/kspager.h"
#include "../lib/mvm.h"

#define UNIT		(2UL << 20)
#define UNIT_PAGES	(UNIT / KS_PAGE)
#define SLOT_MB_HW	256		/* the size */
#define SLOT_MB_TCG	64		/* under TCG, unless POOL_HUGE_BENCH_MB */
#define CHUNKS		16
#define ROUNDS		4
#define ACCESS_PER_PAGE	4
#define LIST_GPA	0x80000000UL	/* the access list's slot */
#define LIST_CALL	512		/* entries per call after pressure */
#define SHARE_SECS	30
#define SHARE_GOAL	0.9
#define SEED		0x4b5eULL

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define THP_SHMEM	THP_DIR "shmem_enabled"

enum kind { HUGE, THP, SMALL, NR_SIDES };
static const char * const side_name[NR_SIDES] = { "huge", "thp", "4k" };

static uint64_t slot_mb, slot_bytes, slot_pages, slot_units, chunk_pages;
static uint64_t nr_access;
static uint64_t *list;		/* byte offsets into the slot */
static int tdp;
static char huge_dir[64], small_dir[64], huge_name[32], small_name[32];

/* One guest; its slot is a fresh file mapped shared, 2 MiB-aligned. */
struct side {
	enum kind kind;
	char part[32];		/* partition name (pool sides) */
	int fd;
	uint8_t *resv;		/* PROT_NONE reservation the slot is in */
	uint8_t *ram;
	struct mvm *vm;
	struct mvm_vcpu *vcpu;
};

/* Under QEMU's TCG (its CPUID signature, "tcg-cpuid" on by default). */
static int under_tcg(void)
{
	unsigned int a, b, c, d;
	char sig[13];

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 31)))
		return 0;	/* no hypervisor */
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	return !strcmp(sig, "TCGTCGTCGTCG");
}

/* The selected value of a THP sysfs file ("[advise]"), or "?". */
static void thp_get(const char *path, char *buf, size_t len)
{
	char line[160], *open_br, *close_br = NULL;
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		open_br = strchr(line, '[');
		close_br = open_br ? strchr(open_br, ']') : NULL;
		if (close_br) {
			*close_br = 0;
			snprintf(buf, len, "%s", open_br + 1);
		}
	}
	fclose(f);
}

static char thp_old[32];

static void thp_restore(void)
{
	if (thp_old[0] && strcmp(thp_old, "?"))
		ks_write_file(THP_SHMEM, thp_old);
	thp_old[0] = 0;
}

/* shmem THP on madvise for the run, put back at exit. 0 or -1. */
static int thp_setup(void)
{
	char en[32], defrag[32];
	int ret;

	thp_get(THP_SHMEM, thp_old, sizeof(thp_old));
	if (!strcmp(thp_old, "?")) {
		printf("# %s: %s\n", THP_SHMEM, strerror(errno));
		return -1;
	}
	atexit(thp_restore);
	ret = ks_write_file(THP_SHMEM, "advise");
	thp_get(THP_DIR "enabled", en, sizeof(en));
	thp_get(THP_DIR "defrag", defrag, sizeof(defrag));
	printf("# shmem_enabled was %s, set to advise: %s (enabled %s, defrag %s)\n",
	       thp_old, ret ? strerror(-ret) : "ok", en, defrag);
	return ret ? -1 : 0;
}

static long long part_cnt(const char *part, const char *what)
{
	return ks_sysfs_num("%s/partitions/%s/%s", huge_name, part, what);
}

/*
 * kB of the mapping at @addr that /proc/self/smaps says are mapped by
 * PMD (FilePmdMapped plus ShmemPmdMapped), or -1; its Rss (kB mapped at
 * all) in @rss_kb if not NULL.
 */
static long long smaps_pmd_kb(const void *addr, long long *rss_kb)
{
	unsigned long lo, hi, want = (unsigned long)addr;
	long long v = -1;
	char line[512];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = want >= lo && want < hi;
			continue;
		}
		if (in && rss_kb && !strncmp(line, "Rss:", 4))
			*rss_kb = strtoll(line + 4, NULL, 10);
		if (in && (!strncmp(line, "FilePmdMapped:", 14) ||
			   !strncmp(line, "ShmemPmdMapped:", 15)))
			v = (v < 0 ? 0 : v) +
			    strtoll(strchr(line, ':') + 1, NULL, 10);
	}
	if (f)
		fclose(f);
	return v;
}

static double pmd_share(const void *addr)
{
	long long kb = smaps_pmd_kb(addr, NULL);

	return kb < 0 ? -1 : kb * 1024.0 / slot_bytes;
}

/*
 * The share of what the mapping at @addr maps that it maps by PMD, or -1;
 * the share of the slot mapped at all in @mapped. The pool's access
 * sampler unmaps the units it samples (sample_ms): what it unmapped is
 * neither 2 MiB- nor 4 KiB-mapped until the guest touches it again.
 */
static double pmd_share_of_mapped(const void *addr, double *mapped)
{
	long long rss = 0, kb = smaps_pmd_kb(addr, &rss);

	*mapped = rss * 1024.0 / slot_bytes;
	return kb < 0 ? -1 : rss > 0 ? (double)kb / rss : 0;
}

/*
 * KVM's 2M mappings of @vm over the slot's units; -1 without TDP. The
 * count is the VM's: its system memory and the list's slot (anonymous)
 * may add one or two.
 */
static double kvm_share(struct mvm *vm)
{
	long long p2m = tdp ? mvm_stat(vm, "pages_2m") : -1;

	return p2m < 0 ? -1 : (double)p2m / slot_units;
}

/* The word the guest writes at the start of page @off of the slot. */
static uint64_t word_at(uint64_t off, uint64_t seed)
{
	return off % KS_PAGE ? 0 : mvm_pattern(MVM_DATA_GPA + off, seed);
}

/* What MVM_OP_TOUCH_LIST sums over list entries [@first, +@n). */
static uint64_t list_sum(uint64_t first, uint64_t n, uint64_t seed)
{
	uint64_t i, s = 0;

	for (i = first; i < first + n; i++)
		s += word_at(list[i], seed);
	return s;
}

/* The random list: a page, and a qword in it, per entry (xorshift64). */
static void make_list(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, i;

	for (i = 0; i < nr_access; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		list[i] = (x % slot_pages) * KS_PAGE +
			  8 * ((x >> 40) % (KS_PAGE / 8));
	}
}

static int side_map(struct side *s)
{
	uintptr_t a;

	s->resv = mmap(NULL, slot_bytes + UNIT, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->resv == MAP_FAILED) {
		s->resv = NULL;
		return -1;
	}
	a = ((uintptr_t)s->resv + UNIT - 1) & ~(UNIT - 1);
	s->ram = mmap((void *)a, slot_bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_FIXED, s->fd, 0);
	if (s->ram == MAP_FAILED) {
		printf("# %s: mmap: %s\n", side_name[s->kind], strerror(errno));
		s->ram = NULL;
		return -1;
	}
	if (s->kind == THP && madvise(s->ram, slot_bytes, MADV_HUGEPAGE)) {
		printf("# MADV_HUGEPAGE: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* A fresh file of @kind named @name, mapped, with its guest. 0 or -1. */
static int side_open(struct side *s, enum kind k, const char *name)
{
	struct mvm_result res;

	memset(s, 0, sizeof(*s));
	s->kind = k;
	snprintf(s->part, sizeof(s->part), "%s", name);
	if (k == THP) {
		s->fd = memfd_create("pool-huge-bench", MFD_CLOEXEC);
		if (s->fd >= 0 && ftruncate(s->fd, slot_bytes)) {
			close(s->fd);
			s->fd = -1;
		}
	} else {
		s->fd = ks_part_create(k == HUGE ? huge_dir : small_dir,
				       name, slot_bytes);
	}
	if (s->fd < 0) {
		printf("# %s: file: %s\n", side_name[k],
		       strerror(s->fd == -1 ? errno : -s->fd));
		s->fd = -1;
		return -1;
	}
	if (side_map(s))
		return -1;
	s->vm = mvm_create();
	if (!s->vm ||
	    mvm_set_slot(s->vm, 1, MVM_DATA_GPA, s->ram, slot_bytes) ||
	    mvm_set_slot(s->vm, 2, LIST_GPA, list, nr_access * 8))
		return -1;
	s->vcpu = mvm_vcpu_create(s->vm, 0);
	/* First entry and the guest's own pages, outside the timing. */
	if (!s->vcpu || mvm_call(s->vcpu, MVM_OP_PING, 1, 0, 0, &res) ||
	    res.value != 2)
		return -1;
	return 0;
}

static void side_close(struct side *s)
{
	char path[128];

	if (s->vcpu)
		mvm_vcpu_destroy(s->vcpu);
	if (s->vm)
		mvm_destroy(s->vm);
	if (s->resv)
		munmap(s->resv, slot_bytes + UNIT);
	if (s->fd >= 0) {
		close(s->fd);
		if (s->kind != THP) {
			snprintf(path, sizeof(path), "%s/%s",
				 s->kind == HUGE ? huge_dir : small_dir,
				 s->part);
			unlink(path);
		}
	}
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* One guest command, timed; its time in ns, or 0 on error. */
static uint64_t side_call(struct side *s, enum mvm_op op, uint64_t a0,
			  uint64_t a1, uint64_t a2, uint64_t want_sum)
{
	struct mvm_result res;
	uint64_t t0, ns;
	int err;

	t0 = ks_now_ns();
	err = mvm_call(s->vcpu, op, a0, a1, a2, &res);
	ns = ks_now_ns() - t0;
	if (err)
		return 0;
	if (res.status != MVM_OK ||
	    (op == MVM_OP_TOUCH_LIST && res.value != want_sum)) {
		printf("# %s: guest status %llu sum 0x%llx, want 0x%llx\n",
		       side_name[s->kind], (unsigned long long)res.status,
		       (unsigned long long)res.value,
		       (unsigned long long)want_sum);
		return 0;
	}
	return ns ? ns : 1;
}

/* The host sees every word the guest wrote (by pread, mapping unchanged). */
static int host_check(int fd, const char *what, uint64_t seed)
{
	uint64_t i, v;

	for (i = 0; i < slot_pages; i++) {
		if (pread(fd, &v, 8, i * KS_PAGE) != 8 ||
		    v != word_at(i * KS_PAGE, seed)) {
			printf("# %s: page %llu reads 0x%llx\n", what,
			       (unsigned long long)i, (unsigned long long)v);
			return -1;
		}
	}
	return 0;
}

/* Per round and figure: CHUNKS ratios; per round and side: the shares. */
static double *fault_ratio[NR_SIDES], *access_ratio[NR_SIDES];
static double share_pmd[ROUNDS][NR_SIDES], share_mapped[ROUNDS][NR_SIDES];
static double fault_ms[ROUNDS][NR_SIDES], access_ms[ROUNDS][NR_SIDES];

/*
 * One round: three fresh sides, first touch then random access, chunk by
 * chunk in turns. 0 or -1.
 */
static int one_round(int r)
{
	uint64_t t[NR_SIDES], per = nr_access / CHUNKS, want;
	struct side side[NR_SIDES];
	char name[32];
	int c, i, k, ret = -1;

	for (i = 0; i < NR_SIDES; i++) {
		side[i].fd = -1;
		side[i].resv = NULL;
		side[i].vm = NULL;
		side[i].vcpu = NULL;
	}
	snprintf(name, sizeof(name), "vm%d", r);
	for (i = 0; i < NR_SIDES; i++)
		if (side_open(&side[i], i, name))
			goto out;

	for (c = 0; c < CHUNKS; c++) {
		for (k = 0; k < NR_SIDES; k++) {
			i = (c + r + k) % NR_SIDES;
			t[i] = side_call(&side[i], MVM_OP_TOUCH_WR,
					 MVM_DATA_GPA + c * chunk_pages * KS_PAGE,
					 chunk_pages, SEED, 0);
			if (!t[i])
				goto out;
			fault_ms[r][i] += t[i] / 1e6;
		}
		fault_ratio[THP][r * CHUNKS + c] = (double)t[HUGE] / t[THP];
		fault_ratio[SMALL][r * CHUNKS + c] = (double)t[HUGE] / t[SMALL];
	}
	for (i = 0; i < NR_SIDES; i++)
		share_pmd[r][i] = pmd_share_of_mapped(side[i].ram, &share_mapped[r][i]);

	for (c = 0; c < CHUNKS; c++) {
		want = list_sum(c * per, per, SEED);
		for (k = 0; k < NR_SIDES; k++) {
			i = (c + r + k) % NR_SIDES;
			t[i] = side_call(&side[i], MVM_OP_TOUCH_LIST,
					 MVM_DATA_GPA, per,
					 LIST_GPA + c * per * 8, want);
			if (!t[i])
				goto out;
			access_ms[r][i] += t[i] / 1e6;
		}
		access_ratio[THP][r * CHUNKS + c] = (double)t[HUGE] / t[THP];
		access_ratio[SMALL][r * CHUNKS + c] =
			(double)t[HUGE] / t[SMALL];
	}

	printf("# round %d:", r);
	for (i = 0; i < NR_SIDES; i++)
		printf(" %s touch %.0f ms access %.0f ms mapped %.3f 2M %.3f of it%s",
		       side_name[i], fault_ms[r][i], access_ms[r][i],
		       share_mapped[r][i], share_pmd[r][i],
		       i == NR_SIDES - 1 ? "" : ";");
	printf("\n");
	if (tdp) {
		printf("# round %d: KVM pages_2m", r);
		for (i = 0; i < NR_SIDES; i++)
			printf(" %s %lld (4k %lld)", side_name[i],
			       mvm_stat(side[i].vm, "pages_2m"),
			       mvm_stat(side[i].vm, "pages_4k"));
		printf("\n");
	}
	printf("# round %d: huge units %lld faults %lld fallbacks %lld\n", r,
	       part_cnt(name, "huge_units"), part_cnt(name, "huge_faults"),
	       part_cnt(name, "huge_fallbacks"));
	if (share_pmd[r][HUGE] < SHARE_GOAL)
		printf("# round %d: huge maps only %.0f%% by PMD (ratios partly 4 KiB's)\n",
		       r, share_pmd[r][HUGE] * 100);

	for (i = 0; i < NR_SIDES; i++)
		if (host_check(side[i].fd, side_name[i], SEED))
			goto out;
	ret = 0;
out:
	for (i = 0; i < NR_SIDES; i++)
		side_close(&side[i]);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile (0..1) of @n values, nearest rank. */
static double quantile(const double *in, int n, double q)
{
	double *v, x;

	v = malloc(n * sizeof(*v));
	if (!v || !n) {
		free(v);
		return 0;
	}
	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);
	x = v[(int)(q * (n - 1) + 0.5)];
	free(v);
	return x;
}

/* A ratio figure and its spread (quartiles, each round's median). */
static void figure(const char *name, const double *v, const char *goal)
{
	int r;

	printf("# pool.%s: median %.3f, quartiles %.3f..%.3f,", name,
	       ks_median(v, ROUNDS * CHUNKS),
	       quantile(v, ROUNDS * CHUNKS, 0.25),
	       quantile(v, ROUNDS * CHUNKS, 0.75));
	printf(" range %.3f..%.3f over %d chunks; per round",
	       quantile(v, ROUNDS * CHUNKS, 0),
	       quantile(v, ROUNDS * CHUNKS, 1), ROUNDS * CHUNKS);
	for (r = 0; r < ROUNDS; r++)
		printf(" %.3f", ks_median(v + r * CHUNKS, CHUNKS));
	printf("\n");
	printf("bench: pool.%s %.3f (%s)\n", name,
	       ks_median(v, ROUNDS * CHUNKS), goal);
}

/* Set @fd's target in pages (0: none). */
static int set_target(int fd, uint64_t target)
{
	struct kvmshare_part_attr a = { 0 };

	a.flags = KVMSHARE_ATTR_TARGET;
	a.target_pages = target;
	return ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a) ? -errno : 0;
}

/* The guest that goes on reading its memory after the pressure. */
struct reader {
	struct side *s;
	int random;
	int stop;
	uint64_t calls, bad;
	int err;
};

static void *reader_run(void *arg)
{
	struct reader *rd = arg;
	uint64_t u = 0, j = 0, i, want, n;
	struct mvm_result res;
	enum mvm_op op;
	uint64_t a0, a2;
	int err;

	while (!__atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE)) {
		if (rd->random) {
			n = LIST_CALL;
			if (j + n > nr_access)
				j = 0;
			op = MVM_OP_TOUCH_LIST;
			a0 = MVM_DATA_GPA;
			a2 = LIST_GPA + j * 8;
			want = list_sum(j, n, SEED);
			j += n;
		} else {
			n = UNIT_PAGES;
			op = MVM_OP_TOUCH_RD;
			a0 = MVM_DATA_GPA + u * UNIT;
			a2 = 0;
			for (want = 0, i = 0; i < n; i++)
				want += word_at(u * UNIT + i * KS_PAGE, SEED);
			u = (u + 1) % slot_units;
		}
		err = mvm_call(rd->s->vcpu, op, a0, n, a2, &res);
		if (err) {
			__atomic_store_n(&rd->err, err, __ATOMIC_RELEASE);
			break;
		}
		if (res.status != MVM_OK || res.value != want)
			rd->bad++;
		__atomic_add_fetch(&rd->calls, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* One line of the time series; returns the PMD share. */
static double sample(const char *tag, double t, struct side *s,
		     struct reader *rd)
{
	struct kvmshare_part_stats st = { 0 };
	double pmd = pmd_share(s->ram), kvm = kvm_share(s->vm);

	char k[32] = "";

	if (kvm >= 0)
		snprintf(k, sizeof(k), " kvm2M %.3f", kvm);
	ks_part_stats(s->fd, &st);
	printf("# %s t=%4.1fs: 2M %.3f units %.3f%s resident %.3f",
	       tag, t, pmd,
	       (double)part_cnt(s->part, "huge_units") / slot_units, k,
	       (double)st.resident_pages / slot_pages);
	printf(" pageins %lld sparse %lld fallbacks %lld collapses %lld calls %llu\n",
	       part_cnt(s->part, "huge_pageins"),
	       part_cnt(s->part, "huge_pagein_sparse"),
	       part_cnt(s->part, "huge_fallbacks"),
	       part_cnt(s->part, "huge_collapses"),
	       (unsigned long long)(rd ? __atomic_load_n(&rd->calls,
							  __ATOMIC_ACQUIRE) : 0));
	return pmd;
}

/*
 * Share after pressure: a guest on a partition of the huge pool (paging
 * service attached) fills it, a target of a quarter pages the rest out,
 * the target goes and the guest reads on (@random: the list, else in
 * order). *@pmd and *@kvm: the shares at SHARE_SECS. 0 or -1.
 */
static int after_pressure(int random, double *pmd, double *kvm)
{
	const char *tag = random ? "pressure random" : "pressure seq";
	uint64_t keep = slot_pages / 4, t0;
	struct reader rd = { 0 };
	struct side s;
	pthread_t thread;
	double t, reached = -1;
	int ret = -1, running = 0, sec, err;

	s.fd = -1;
	s.resv = NULL;
	s.vm = NULL;
	s.vcpu = NULL;
	if (side_open(&s, HUGE, random ? "pr_random" : "pr_seq"))
		goto out;
	if (!side_call(&s, MVM_OP_TOUCH_WR, MVM_DATA_GPA, slot_pages, SEED, 0))
		goto out;
	sample(tag, 0, &s, NULL);
	if (part_cnt(s.part, "huge_units") < (long long)slot_units * 9 / 10)
		printf("# %s: only %lld of %llu units made (no free 2 MiB block?)\n",
		       tag, part_cnt(s.part, "huge_units"),
		       (unsigned long long)slot_units);

	/* Pressure: a quarter of the slot may stay. */
	err = set_target(s.fd, keep);
	t0 = ks_now_ns();
	if (err || ks_wait_resident(s.fd, keep,
				    120 * ks_timeout_factor())) {
		printf("# %s: target %llu pages: %s\n", tag,
		       (unsigned long long)keep,
		       err ? strerror(-err) : "not reached in time");
		sample(tag, 0, &s, NULL);
		goto out;
	}
	printf("# %s: target %llu pages reached in %.1f s, huge_pageouts %lld\n",
	       tag, (unsigned long long)keep, (ks_now_ns() - t0) / 1e9,
	       part_cnt(s.part, "huge_pageouts"));
	sample(tag, 0, &s, NULL);

	/* The pressure ends: the pool has room again, the guest reads on. */
	if (set_target(s.fd, 0))
		goto out;
	rd.s = &s;
	rd.random = random;
	t0 = ks_now_ns();
	if (pthread_create(&thread, NULL, reader_run, &rd))
		goto out;
	running = 1;
	for (sec = 1; sec <= SHARE_SECS; sec++) {
		do {
			t = (ks_now_ns() - t0) / 1e9;
			if (t < sec)
				usleep((useconds_t)((sec - t) * 1e6) + 1000);
		} while (t < sec);
		*pmd = sample(tag, t, &s, &rd);
		if (reached < 0 && *pmd >= SHARE_GOAL)
			reached = t;
		if (__atomic_load_n(&rd.err, __ATOMIC_ACQUIRE))
			break;
	}
	*kvm = kvm_share(s.vm);
	__atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	running = 0;
	if (reached >= 0)
		printf("# %s: %.0f%% of the slot PMD-mapped after %.1f s\n",
		       tag, SHARE_GOAL * 100, reached);
	else
		printf("# %s: never %.0f%% of the slot PMD-mapped in %d s\n",
		       tag, SHARE_GOAL * 100, SHARE_SECS);
	if (rd.err || rd.bad) {
		printf("# %s: guest error %d, %llu bad sums\n", tag, rd.err,
		       (unsigned long long)rd.bad);
		goto out;
	}
	ret = host_check(s.fd, tag, SEED);
out:
	if (running) {
		__atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
		pthread_join(thread, NULL);
	}
	side_close(&s);
	return ret;
}

int main(void)
{
	double pmd_seq = -1, kvm_seq = -1, pmd_rand = -1, kvm_rand = -1;
	double lo_huge = 1, lo_thp = 1, m[ROUNDS];
	const char *env = getenv("POOL_HUGE_BENCH_MB");
	int r, i, ok, tcg = under_tcg(), ret, seq_ok = 0, rand_ok = 0;
	struct ks_pager pg;
	char opts[160];

	printf("TAP version 13\n1..6\n");
	slot_mb = env ? strtoull(env, NULL, 0) :
		  tcg ? SLOT_MB_TCG : SLOT_MB_HW;
	if (slot_mb < 32 || slot_mb % 32) {
		printf("# POOL_HUGE_BENCH_MB=%s: a multiple of 32 (MiB), at least 32\n",
		       env);
		slot_mb = 64;
	}
	slot_bytes = slot_mb << 20;
	slot_pages = slot_bytes / KS_PAGE;
	slot_units = slot_bytes / UNIT;
	chunk_pages = slot_pages / CHUNKS;
	nr_access = ACCESS_PER_PAGE * slot_pages;
	tdp = mvm_tdp();
	printf("# slot %llu MiB (%s; POOL_HUGE_BENCH_MB=N sets it)\n",
	       (unsigned long long)slot_mb,
	       env ? "POOL_HUGE_BENCH_MB" : tcg ? "TCG's default" :
	       "the issue's size");
	printf("# %d rounds, %d chunks of %llu pages, %llu random reads, KVM %s\n",
	       ROUNDS, CHUNKS, (unsigned long long)chunk_pages,
	       (unsigned long long)nr_access,
	       tdp ? "with NPT/EPT: pages_2m reported" :
	       "without NPT/EPT: pages_2m not reported");

	list = mmap(NULL, nr_access * 8, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < NR_SIDES; i++) {
		fault_ratio[i] = calloc(ROUNDS * CHUNKS, sizeof(double));
		access_ratio[i] = calloc(ROUNDS * CHUNKS, sizeof(double));
	}
	if (list == MAP_FAILED || !fault_ratio[NR_SIDES - 1] ||
	    !access_ratio[NR_SIDES - 1]) {
		printf("# out of memory\n");
		return 1;
	}
	make_list();

	/* Room for the slot, the low watermark (size / 64) and slack. */
	snprintf(huge_name, sizeof(huge_name), "ksbhuge%d", getpid());
	snprintf(small_name, sizeof(small_name), "ksb4k%d", getpid());
	snprintf(opts, sizeof(opts), "size=%lluM,name=%s,huge=on",
		 (unsigned long long)(slot_mb * 9 / 8 + 16), huge_name);
	ret = ks_pool_mount(huge_dir, sizeof(huge_dir), opts);
	if (!ret) {
		snprintf(opts, sizeof(opts), "size=%lluM,name=%s,huge=off",
			 (unsigned long long)(slot_mb * 9 / 8 + 16),
			 small_name);
		ret = ks_pool_mount(small_dir, sizeof(small_dir), opts);
		if (ret)
			ks_pool_umount(huge_dir);
	}
	ks_result(!ret, "mount a pool huge=on and a pool huge=off");
	if (ret) {
		printf("# mount: %s\n", strerror(-ret));
		return 1;
	}
	ok = !thp_setup();
	ks_result(ok, "baseline: shmem THP on madvise");

	for (r = 0; r < ROUNDS && ok; r++)
		ok = !one_round(r);
	thp_restore();
	ks_result(ok, "first touch and random reads on huge, THP and 4 KiB slots, every word seen");
	for (r = 0; r < ROUNDS && ok; r++) {
		if (share_pmd[r][HUGE] < lo_huge)
			lo_huge = share_pmd[r][HUGE];
		if (share_pmd[r][THP] < lo_thp)
			lo_thp = share_pmd[r][THP];
	}
	ks_result(ok && lo_thp >= 0.5,
		  "the THP side has at least half its slot PMD-mapped in every round");

	ret = ks_pager_attach(&pg, huge_dir, 2 * slot_pages, 256, 64, 0, -1);
	if (!ret) {
		ret = ks_pager_run(&pg);
		if (!ret) {
			seq_ok = !after_pressure(0, &pmd_seq, &kvm_seq);
			rand_ok = !after_pressure(1, &pmd_rand, &kvm_rand);
		}
		ks_pager_detach(&pg);
	}
	if (ret)
		printf("# paging service: %s\n", strerror(-ret));
	ks_result(!ret && seq_ok && rand_ok,
		  "units paged out under a target and read back after it, in order and at random, every word seen");
	ret = ks_pool_umount(huge_dir);
	if (ks_pool_umount(small_dir))
		ret = -1;
	ks_result(!ret, "nothing left in the pools");

	if (ok) {
		for (i = 0; i < NR_SIDES; i++) {
			for (r = 0; r < ROUNDS; r++)
				m[r] = fault_ms[r][i];
			printf("# %s: first touch %.0f pages/s", side_name[i],
			       slot_pages * 1e3 / ks_median(m, ROUNDS));
			for (r = 0; r < ROUNDS; r++)
				m[r] = access_ms[r][i];
			printf(", random reads %.0f/s\n",
			       nr_access * 1e3 / ks_median(m, ROUNDS));
		}
		figure("huge_fault_vs_thp", fault_ratio[THP], "goal <= 1.0");
		figure("huge_fault_vs_4k", fault_ratio[SMALL], "no goal");
		figure("huge_access_vs_thp", access_ratio[THP], "goal <= 1.05");
		figure("huge_access_vs_4k", access_ratio[SMALL], "no goal");
		printf("bench: pool.huge_fault_pmd_share %.3f (no goal)\n",
		       lo_huge);
		printf("bench: pool.huge_fault_thp_pmd_share %.3f (no goal)\n",
		       lo_thp);
	}
	if (seq_ok) {
		printf("bench: pool.huge_share_after_pressure %.3f (goal >= %.1f)\n",
		       pmd_seq, SHARE_GOAL);
		if (tdp)
			printf("bench: pool.huge_share_after_pressure_kvm %.3f (no goal)\n",
			       kvm_seq);
	}
	if (rand_ok)
		printf("bench: pool.huge_share_after_pressure_random %.3f (no goal)\n",
		       pmd_rand);
	return ks_failed() ? 1 : 0;
}
