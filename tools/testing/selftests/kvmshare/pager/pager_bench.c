// SPDX-License-Identifier: GPL-2.0
/*
 * pager benchmark (make bench), in the test VM: paging in through the pool
 * and kvmshare-pagerd against a userfaultfd VMM given the same read-ahead,
 * and paging out against that VMM evicting the same memory.
 *
 *   bench: pager.pagein_seq_vs_uffd_window R (goal >= 1.2)
 *   bench: pager.pagein_sparse_vs_uffd R     (goal >= 0.9)
 *   bench: pager.pagein_<pattern>_c<N>_vs_uffd_window R (no goal)
 *   bench: pager.pageout_vs_uffd R           (goal >= 1.0)
 *   bench: pager.refault_vs_shmem R          (no goal)
 *   bench: pager.pagein_seq_fault_around_ceiling R (no goal)
 *   bench: pager.pagein_seq_nocrc_vs_uffd_window R (no goal)
 *   bench: pager.pageout_nocrc_vs_uffd R     (no goal)
 *
 * The workload: a nested KVM guest (mvm) with NR_VCPUS vCPUs, each from its
 * own thread, reads one qword of pages of a data slot of NR_PAGES pages,
 * all of them away from memory, in one of four orders (MVM_OP_TOUCH_LIST):
 * sequential; a random permutation of all pages; sparse, one page at
 * random in each aligned window of 16, windows in random order; stride 17
 * (page i * 17 mod NR_PAGES: every page, neighbours far apart in time).
 * Each pattern runs with the module parameter pagein_cluster at 16 (the
 * default, read-ahead adapting) and at 1 (no read-ahead). The slot is
 * verified afterwards (not timed).
 *
 * Ours: the slot is a pool partition whose pages were written and then
 * evicted with a target to kvmshare-pagerd (file back end on tmpfs, one
 * thread); the guest's faults page them in. "Ours, no service CRC" is the
 * same on a second pool whose kvmshare-pagerd runs with --no-crc (the
 * pool still checks every page-in): within one run, the share of the
 * service's CRC32C passes (Documentation/plans/pager-v2.md, step 0); the
 * *_nocrc_* figures compare it with the VMM as the others do.
 *
 * PAGER_BENCH_TIMING=1 (environment; in the test VM pass it on the kernel
 * command line, KVMSHARE_VM_APPEND=PAGER_BENCH_TIMING=1) turns on both
 * pools' debugfs pager_timing and both services' --timing, and prints per
 * round, for each pool and its service, the phases of its page-out and
 * of its page-ins: count, mean and time per page paged.
 *
 * Baseline: the slot is a memfd whose pages a user-space VMM wrote out to
 * a tmpfs file (pwrite and fdatasync of 64 pages at a time, as many as the
 * service's slots) and punched out (FALLOC_FL_PUNCH_HOLE); then it is
 * registered with userfaultfd (missing faults) and one handler thread (the
 * service has one) resolves a fault at page p with one pread of the
 * aligned window of W pages around p and UFFDIO_COPY of the window,
 * skipping pages already there. W is pagein_cluster: the same read-ahead
 * as ours. For sparse access at pagein_cluster 16 a third side, W = 1,
 * runs too: the best a VMM would pick for that pattern, and what
 * pager.pagein_sparse_vs_uffd compares our default against.
 *
 * The sides exist side by side and take turns, a chunk of the pattern at a
 * time, the order rotating every chunk, so that drift (the emulated VM
 * shares its host) hits all alike; each round starts on new files and new
 * VMs. A page-in figure is the median over all chunks of the ratio of
 * rates (ours / userfaultfd; above 1 we are faster); the page-out figure
 * is the median over every round of every pattern of the VMM's eviction
 * time over ours. Times under TCG are emulated and only comparable within
 * one run.
 *
 * The fault path without paging: a partition and a memfd, every page
 * resident and mapped, read sequentially by a new guest (KVM's nested
 * page faults only: the host's page table has the pages), then again
 * after MADV_DONTNEED zapped the host's mappings (a host fault into the
 * pool or shmem as well). The difference is one host fault per page;
 * refault_vs_shmem is shmem's second read over ours. A read-ahead hit
 * costs such a host fault; mapping the read-ahead pages at the fault that
 * brings them in (fault-around, Documentation/plans/fault-around.md)
 * would save at most that per hit, so the sequential figure with the hits'
 * host faults taken out is the most fault-around can reach
 * (pagein_seq_fault_around_ceiling).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../lib/ksutil.h"
#include "../lib/kspager.h"
#include "../lib/mvm.h"

#define NR_VCPUS	4
#define NR_PAGES	4096UL			/* 16 MiB */
#define POOL_MB		(2 * NR_PAGES / 256 + 16)
#define STORE_BLOCKS	(4 * NR_PAGES)
#define CHUNKS		8
#define ROUNDS		2
#define VMM_BATCH	64			/* pages per pwrite + punch */
#define MAX_WINDOW	16
#define LIST_GPA	0x80000000UL		/* the access list's slot */
#define SEED		0x7a6eULL
#define DATA_PATH	"/dev/shm/ksbench-data"
#define VMM_STORE	"/dev/shm/ksbench-vmm"
#define CLUSTER_PARAM	"/sys/module/kvmshare/parameters/pagein_cluster"

static int tests, failed;

static void result(int ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", tests, what);
	fflush(stdout);
}

/*
 * A pool and its paging service: the reference daemon, or the in-test
 * thread. Pool 0 is ours; pool 1 is ours with kvmshare-pagerd --no-crc.
 */
struct svc {
	const char *what;
	char dir[64];
	char name[32];			/* the pool's */
	const char *store, *pidfile, *log;
	int nocrc;
	pid_t pid;
	struct ks_pager kp;
	unsigned int timing_lines;	/* --timing lines asked for */
};

static struct svc svc[2] = {
	{ .what = "ours", .store = "/dev/shm/ksbench-store",
	  .pidfile = "/tmp/ksbench-pagerd.pid",
	  .log = "/tmp/ksbench-pagerd.log", .kp = { .fd = -1 } },
	{ .what = "ours, no service crc", .store = "/dev/shm/ksbench-store-nocrc",
	  .pidfile = "/tmp/ksbench-pagerd-nocrc.pid",
	  .log = "/tmp/ksbench-pagerd-nocrc.log", .nocrc = 1,
	  .kp = { .fd = -1 } },
};

static int timing;			/* PAGER_BENCH_TIMING=1 */

/*
 * Run kvmshare-pagerd with its default options (--no-crc for @s->nocrc,
 * --timing with PAGER_BENCH_TIMING), and any given on the test VM's
 * kernel command line as pager_bench.pagerd=OPT[,OPT...] (for instance
 * KVMSHARE_VM_APPEND=pager_bench.pagerd=--slots=256), to try the
 * service's options without rebuilding.
 */
static void pagerd_exec(const struct svc *s, const char *backend,
			const char *blocks)
{
	char *argv[32] = {
		"kvmshare-pagerd", "--pool", (char *)s->dir, "--backend",
		(char *)backend, "--blocks", (char *)blocks, "--pidfile",
		(char *)s->pidfile,
	};
	static char cmdline[1024];
	char *opt, *save = NULL;
	int argc = 9;
	FILE *f;

	if (s->nocrc)
		argv[argc++] = "--no-crc";
	if (timing)
		argv[argc++] = "--timing";
	f = fopen("/proc/cmdline", "r");
	if (f && fgets(cmdline, sizeof(cmdline), f)) {
		opt = strstr(cmdline, "pager_bench.pagerd=");
		if (opt) {
			opt += strlen("pager_bench.pagerd=");
			opt[strcspn(opt, "\n ")] = 0;
			for (opt = strtok_r(opt, ",", &save); opt && argc < 31;
			     opt = strtok_r(NULL, ",", &save))
				argv[argc++] = opt;
		}
	}
	if (f)
		fclose(f);
	argv[argc] = NULL;
	execvp(argv[0], argv);
}

static int pagerd_start(struct svc *s)
{
	char blocks[32], backend[64];
	int i, status;

	unlink(s->pidfile);
	snprintf(blocks, sizeof(blocks), "%lu", STORE_BLOCKS);
	snprintf(backend, sizeof(backend), "file:%s", s->store);
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid) {
		int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* Its messages are not TAP: shown as comments at the end. */
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
			close(log);
		}
		pagerd_exec(s, backend, blocks);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if (!access(s->pidfile, F_OK))
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			printf("# kvmshare-pagerd exited with status %d\n",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			s->pid = 0;
			return -ENOENT;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void pager_stop(struct svc *s)
{
	char line[256];
	FILE *f;
	int status;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
		s->pid = 0;
	}
	f = fopen(s->log, "r");
	while (f && fgets(line, sizeof(line), f))
		printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
	if (f)
		fclose(f);
	unlink(s->log);
	if (s->kp.fd >= 0)
		ks_pager_detach(&s->kp);
	unlink(s->store);
}

/* The phases of a pool's debugfs pager_timing, and its service's. */
#define MAX_PHASES	16
struct timing {
	int n;
	char name[MAX_PHASES][24];
	unsigned long long count[MAX_PHASES], ns[MAX_PHASES];
	int svc_ok;			/* the service's line was read */
	unsigned long long batches, requests, take, validate, io, crc,
			   complete;
};

static void pool_timing_read(const struct svc *s, struct timing *t)
{
	char path[160], line[128];
	FILE *f;

	t->n = 0;
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pager_timing",
		 s->name);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && t->n < MAX_PHASES) {
		if (sscanf(line, "%23s %llu %llu", t->name[t->n],
			   &t->count[t->n], &t->ns[t->n]) == 3)
			t->n++;
	}
	if (f)
		fclose(f);
}

/*
 * The service's sums so far: SIGUSR1, then its numbered line in its log
 * (kvmshare-pagerd --timing). Only the daemon has them.
 */
static void svc_timing_read(struct svc *s, struct timing *t)
{
	char line[512], want[32], *p;
	int i, len;
	FILE *f;

	t->svc_ok = 0;
	if (s->pid <= 0 || kill(s->pid, SIGUSR1))
		return;
	len = snprintf(want, sizeof(want), "timing %u:", ++s->timing_lines);
	for (i = 0; i < 200 && !t->svc_ok; i++) {
		f = fopen(s->log, "r");
		while (f && fgets(line, sizeof(line), f)) {
			p = strstr(line, want);
			if (!p)
				continue;
			t->svc_ok = sscanf(p + len,
					   " batches %llu requests %llu ns take %llu validate %llu io %llu crc %llu complete %llu",
					   &t->batches, &t->requests, &t->take,
					   &t->validate, &t->io, &t->crc,
					   &t->complete) == 7;
		}
		if (f)
			fclose(f);
		if (!t->svc_ok)
			usleep(10000);
	}
}

/* PAGER_BENCH_TIMING: start a stage of pool @s (the sums from 0). */
static void timing_begin(struct svc *s, struct timing *t0)
{
	char path[160];

	if (!timing)
		return;
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pager_timing",
		 s->name);
	ks_write_file(path, "1");
	svc_timing_read(s, t0);
}

static void timing_off(struct svc *s)
{
	char path[160];

	if (!timing)
		return;
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pager_timing",
		 s->name);
	ks_write_file(path, "0");
}

static double us(unsigned long long ns, unsigned long long n)
{
	return n ? ns / 1e3 / n : 0;
}

/*
 * PAGER_BENCH_TIMING: print stage @stage of pool @s, begun with @t0: per
 * phase its count, mean and time per page of the stage's @pages; then
 * the service's phases per page.
 */
static void timing_end(struct svc *s, const char *stage, int round,
		       const struct timing *t0, unsigned long long pages)
{
	unsigned long long sum = 0;
	struct timing t;
	int i;

	if (!timing)
		return;
	pool_timing_read(s, &t);
	svc_timing_read(s, &t);
	printf("# timing %s, round %d, %s: %llu pages\n", s->what, round,
	       stage, pages);
	for (i = 0; i < t.n; i++) {
		if (!t.count[i])
			continue;
		/* kick_entry is within kick */
		if (strcmp(t.name[i], "kick_entry"))
			sum += t.ns[i];
		printf("#   pool %-13s %8llu x %8.2f us = %8.2f us/page\n",
		       t.name[i], t.count[i], us(t.ns[i], t.count[i]),
		       us(t.ns[i], pages));
	}
	printf("#   pool, all but kick_entry (in kick):       %8.2f us/page\n",
	       us(sum, pages));
	if (!t.svc_ok || !t0->svc_ok) {
		printf("#   service: no timing (not kvmshare-pagerd --timing)\n");
		return;
	}
	printf("#   service: %llu batches, %llu requests; us/page: ",
	       t.batches - t0->batches, t.requests - t0->requests);
	printf("take %.2f validate %.2f io %.2f crc %.2f complete %.2f\n",
	       us(t.take - t0->take, pages),
	       us(t.validate - t0->validate, pages), us(t.io - t0->io, pages),
	       us(t.crc - t0->crc, pages),
	       us(t.complete - t0->complete, pages));
}

/* The userfaultfd handler: one thread, as the service has one. */
struct uffd_handler {
	int uffd;
	int stop;			/* eventfd */
	int data;			/* the VMM's store: the evicted pages */
	uint64_t base;			/* start of the registered range */
	unsigned int window;		/* pages read and copied per fault */
	uint8_t present[NR_PAGES];	/* copied in */
	uint64_t copies;		/* pages copied */
	uint64_t faults;
	int err;
	int running;
	pthread_t thread;
};

/* One side: a guest of NR_VCPUS vCPUs, data slot at MVM_DATA_GPA. */
struct side {
	const char *what;
	int fd;
	char path[128];			/* a partition's, to unlink */
	uint8_t *ram;
	struct mvm *vm;
	struct mvm_vcpu *vcpu[NR_VCPUS];
	struct uffd_handler h;
	uint64_t total_ns;
};

/* The access list, shared by every side's guest (slot 2 at LIST_GPA). */
static uint64_t *list;
static uint64_t list_len;

enum pattern { PAT_SEQ, PAT_RANDOM, PAT_SPARSE, PAT_STRIDE, NR_PATTERNS };
static const char * const pattern_name[NR_PATTERNS] = {
	"seq", "random", "sparse", "stride17",
};

static void shuffle(uint64_t *v, uint64_t n)
{
	uint64_t i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = random() % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* Fill the list with pattern @p's byte offsets; returns its length. */
static uint64_t make_list(enum pattern p)
{
	uint64_t i, n = 0;

	switch (p) {
	case PAT_SEQ:
	case PAT_RANDOM:
		for (i = 0; i < NR_PAGES; i++)
			list[n++] = i;
		if (p == PAT_RANDOM)
			shuffle(list, n);
		break;
	case PAT_SPARSE:
		for (i = 0; i < NR_PAGES / 16; i++)
			list[n++] = i * 16 + random() % 16;
		shuffle(list, n);
		break;
	case PAT_STRIDE:
		for (i = 0; i < NR_PAGES; i++)
			list[n++] = i * 17 % NR_PAGES;
		break;
	default:
		break;
	}
	for (i = 0; i < n; i++)
		list[i] *= KS_PAGE;
	return n;
}

static void side_init(struct side *s, const char *what)
{
	memset(s, 0, sizeof(*s));
	s->what = what;
	s->fd = -1;
	s->h.uffd = -1;
	s->h.stop = -1;
	s->h.data = -1;
}

static int side_map(struct side *s)
{
	s->ram = mmap(NULL, NR_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, s->fd, 0);
	if (s->ram == MAP_FAILED) {
		printf("# %s: mmap: %s\n", s->what, strerror(errno));
		s->ram = NULL;
		return -1;
	}
	return 0;
}

static int side_guest(struct side *s)
{
	struct mvm_result res;
	int i;

	s->vm = mvm_create();
	if (!s->vm ||
	    mvm_set_slot(s->vm, 1, MVM_DATA_GPA, s->ram, NR_PAGES * KS_PAGE) ||
	    mvm_set_slot(s->vm, 2, LIST_GPA, list, NR_PAGES * 8))
		return -1;
	for (i = 0; i < NR_VCPUS; i++) {
		s->vcpu[i] = mvm_vcpu_create(s->vm, i);
		if (!s->vcpu[i])
			return -1;
		/* First entry, and each vCPU has its own mailbox. */
		if (mvm_call(s->vcpu[i], MVM_OP_PING, 100 + i, 0, 0, &res) ||
		    res.value != 101 + (uint64_t)i) {
			printf("# %s: vCPU %d: bad PING answer\n", s->what, i);
			return -1;
		}
	}
	return 0;
}

static void side_close(struct side *s)
{
	uint64_t one = 1;
	int i;

	for (i = 0; i < NR_VCPUS; i++)
		mvm_vcpu_destroy(s->vcpu[i]);
	mvm_destroy(s->vm);
	if (s->h.running) {
		if (write(s->h.stop, &one, sizeof(one)) == sizeof(one))
			pthread_join(s->h.thread, NULL);
	}
	if (s->h.stop >= 0)
		close(s->h.stop);
	if (s->h.uffd >= 0)
		close(s->h.uffd);
	if (s->h.data >= 0)
		close(s->h.data);
	if (s->ram)
		munmap(s->ram, NR_PAGES * KS_PAGE);
	if (s->fd >= 0)
		close(s->fd);
	if (s->path[0])
		unlink(s->path);
}

struct vcpu_job {
	struct mvm_vcpu *vcpu;
	pthread_barrier_t *start;
	uint64_t first, n;		/* entries of the list */
	int ret;
	uint64_t status;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *j = arg;
	struct mvm_result res;

	pthread_barrier_wait(j->start);
	j->ret = mvm_call(j->vcpu, MVM_OP_TOUCH_LIST, MVM_DATA_GPA, j->n,
			  LIST_GPA + j->first * 8, &res);
	j->status = res.status;
	return NULL;
}

/*
 * Every vCPU reads its share of chunk @c of the list, all at once, each
 * from its own thread. Returns the time in ns, or 0 on error.
 */
static uint64_t side_read(struct side *s, int c)
{
	uint64_t chunk = list_len / CHUNKS, share = chunk / NR_VCPUS, t0, ns;
	struct vcpu_job job[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	pthread_barrier_t start;
	int i, ok = 1;

	pthread_barrier_init(&start, NULL, NR_VCPUS + 1);
	for (i = 0; i < NR_VCPUS; i++) {
		job[i].vcpu = s->vcpu[i];
		job[i].start = &start;
		job[i].first = c * chunk + i * share;
		job[i].n = share;
		pthread_create(&th[i], NULL, vcpu_thread, &job[i]);
	}
	pthread_barrier_wait(&start);
	t0 = ks_now_ns();
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(th[i], NULL);
	ns = ks_now_ns() - t0;
	pthread_barrier_destroy(&start);
	for (i = 0; i < NR_VCPUS; i++) {
		if (job[i].ret || job[i].status != MVM_OK) {
			printf("# %s: vCPU %d: ret %d status %llu\n", s->what,
			       i, job[i].ret,
			       (unsigned long long)job[i].status);
			ok = 0;
		}
	}
	s->total_ns += ns;
	return ok ? ns : 0;
}

/* The guest checks every page of its slot (not timed). */
static int side_verify(struct side *s)
{
	struct mvm_result res;

	if (mvm_call(s->vcpu[0], MVM_OP_VERIFY, MVM_DATA_GPA, NR_PAGES, SEED,
		     &res) || res.status != MVM_OK) {
		printf("# %s: guest verify failed at 0x%llx\n", s->what,
		       (unsigned long long)res.addr);
		return -1;
	}
	return 0;
}

/*
 * Chunk @c of the list, read by each of @n sides in turn, who goes first
 * rotating every chunk and round; each side's time in @t. 0 or -1.
 */
static int read_in_turns(struct side *side, int n, int c, int round,
			 uint64_t *t)
{
	int k, i;

	for (k = 0; k < n; k++) {
		i = (c + round + k) % n;
		t[i] = side_read(&side[i], c);
		if (!t[i])
			return -1;
	}
	return 0;
}

/*
 * Ours: a partition written with the data, then evicted with a target,
 * all but one page, while the service runs. Fills @out_ns with the time
 * of the page-out (for NR_PAGES pages); 0 or -1.
 */
static int setup_pool(struct side *s, struct svc *sv, const char *name,
		      int round, const uint8_t *data, double *out_ns,
		      struct kvmshare_part_stats *st0)
{
	struct kvmshare_part_attr a = { .flags = KVMSHARE_ATTR_TARGET };
	const char *dir = sv->dir;
	struct kvmshare_part_stats st;
	struct timing tm0;
	uint64_t t0, ns;
	int i;

	s->fd = ks_part_create(dir, name, NR_PAGES * KS_PAGE);
	if (s->fd < 0) {
		printf("# partition: %s\n", strerror(-s->fd));
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s", dir, name);
	if (side_map(s))
		return -1;
	memcpy(s->ram, data, NR_PAGES * KS_PAGE);
	if (side_guest(s) || ks_part_stats(s->fd, st0))
		return -1;

	a.target_pages = 1;
	timing_begin(sv, &tm0);
	t0 = ks_now_ns();
	if (ioctl(s->fd, KVMSHARE_IOC_SET_ATTR, &a))
		return -1;
	for (i = 0; i < 600000; i++) {
		if (!ks_part_stats(s->fd, &st) && st.resident_pages <= 1)
			break;
		usleep(500);
	}
	ns = ks_now_ns() - t0;
	/* No target any more: what is paged in stays. */
	a.target_pages = 0;
	if (ioctl(s->fd, KVMSHARE_IOC_SET_ATTR, &a) ||
	    ks_part_stats(s->fd, &st))
		return -1;
	if (st.resident_pages > 1 ||
	    st.pageouts - st0->pageouts < NR_PAGES - 1) {
		printf("# page-out: resident %llu, %llu pageouts, %llu zero\n",
		       (unsigned long long)st.resident_pages,
		       (unsigned long long)(st.pageouts - st0->pageouts),
		       (unsigned long long)st.zero_pages);
		return -1;
	}
	*out_ns = (double)ns * NR_PAGES / (st.pageouts - st0->pageouts);
	timing_end(sv, "page-out", round, &tm0, st.pageouts - st0->pageouts);
	*st0 = st;
	return 0;
}

/*
 * Copy the pages of [@first, @first + @n) of @buf that are not there yet
 * into the registered range: UFFDIO_COPY of the whole run, and where a
 * page exists (EEXIST) go on after it. Wakes the faulting threads.
 */
static int uffd_copy_window(struct uffd_handler *h, uint8_t *buf,
			    uint64_t first, unsigned int n)
{
	uint64_t off = 0, len = (uint64_t)n * KS_PAGE;

	while (off < len) {
		struct uffdio_copy c = {
			.dst = h->base + first * KS_PAGE + off,
			.src = (uintptr_t)buf + off,
			.len = len - off,
		};

		if (h->present[first + off / KS_PAGE]) {
			off += KS_PAGE;
			continue;
		}
		if (!ioctl(h->uffd, UFFDIO_COPY, &c)) {
			memset(h->present + first + off / KS_PAGE, 1,
			       c.len / KS_PAGE);
			h->copies += c.len / KS_PAGE;
			return 0;
		}
		if (errno == EAGAIN && c.copy > 0) {
			/* Stopped before a page that is there. */
			memset(h->present + first + off / KS_PAGE, 1,
			       c.copy / KS_PAGE);
			h->copies += c.copy / KS_PAGE;
			off += c.copy;
		} else if (errno == EEXIST) {
			h->present[first + off / KS_PAGE] = 1;
			off += KS_PAGE;
		} else if (errno != EAGAIN) {
			return -errno;
		}
	}
	return 0;
}

static void *uffd_thread(void *arg)
{
	struct uffd_handler *h = arg;
	size_t wlen = (size_t)h->window * KS_PAGE;
	struct uffd_msg msg[64];
	uint8_t *buf;

	buf = aligned_alloc(KS_PAGE, wlen);
	if (!buf) {
		h->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = h->uffd, .events = POLLIN },
			{ .fd = h->stop, .events = POLLIN },
		};
		ssize_t n;
		int i, ret;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			h->err = errno;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(h->uffd, msg, sizeof(msg));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			h->err = errno;
			break;
		}
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			uint64_t page, first;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			page = (msg[i].arg.pagefault.address - h->base) /
			       KS_PAGE;
			/* Copied since the fault was raised: it was woken. */
			if (page >= NR_PAGES || h->present[page])
				continue;
			h->faults++;
			first = page - page % h->window;
			if (pread(h->data, buf, wlen, first * KS_PAGE) !=
			    (ssize_t)wlen) {
				h->err = EIO;
				continue;
			}
			ret = uffd_copy_window(h, buf, first, h->window);
			if (ret)
				h->err = -ret;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Baseline: a memfd with the data, evicted by the VMM to its store file
 * (pwrite + fdatasync of VMM_BATCH pages, then a punch), then registered
 * with userfaultfd and served by a handler thread reading @window pages
 * per fault. Fills @out_ns with the time of the eviction; 0 or -1.
 */
static int setup_uffd(struct side *s, const uint8_t *data,
		      unsigned int window, double *out_ns)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	uint64_t off, len = VMM_BATCH * KS_PAGE, t0;

	s->fd = memfd_create("pager-bench", MFD_CLOEXEC);
	if (s->fd < 0 || ftruncate(s->fd, NR_PAGES * KS_PAGE)) {
		printf("# memfd: %s\n", strerror(errno));
		return -1;
	}
	if (side_map(s))
		return -1;
	memcpy(s->ram, data, NR_PAGES * KS_PAGE);
	s->h.data = open(VMM_STORE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0600);
	if (s->h.data < 0)
		return -1;
	t0 = ks_now_ns();
	for (off = 0; off < NR_PAGES * KS_PAGE; off += len) {
		if (pwrite(s->h.data, s->ram + off, len, off) != (ssize_t)len ||
		    fdatasync(s->h.data) ||
		    fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      off, len)) {
			printf("# VMM eviction: %s\n", strerror(errno));
			return -1;
		}
	}
	*out_ns = ks_now_ns() - t0;
	/* The store file is unlinked: the next side makes its own. */
	unlink(VMM_STORE);

	s->h.window = window;
	s->h.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s->h.uffd < 0 || ioctl(s->h.uffd, UFFDIO_API, &api)) {
		printf("# userfaultfd: %s\n", strerror(errno));
		return -1;
	}
	s->h.base = (uintptr_t)s->ram;
	reg.range.start = s->h.base;
	reg.range.len = NR_PAGES * KS_PAGE;
	if (ioctl(s->h.uffd, UFFDIO_REGISTER, &reg)) {
		printf("# UFFDIO_REGISTER: %s\n", strerror(errno));
		return -1;
	}
	s->h.stop = eventfd(0, EFD_CLOEXEC);
	if (s->h.stop < 0 ||
	    pthread_create(&s->h.thread, NULL, uffd_thread, &s->h))
		return -1;
	s->h.running = 1;
	return side_guest(s);
}

/* One configuration's figures, over its rounds. */
struct config {
	enum pattern pat;
	unsigned int cluster;
	int sides;			/* 3, or 4 with the W = 1 VMM */
	double ratio[ROUNDS * CHUNKS];	/* ours / VMM, W = cluster */
	double ratio1[ROUNDS * CHUNKS];	/* ours / VMM, W = 1 */
	double ratio_nocrc[ROUNDS * CHUNKS]; /* ours, no service crc / VMM */
	double nocrc_crc[ROUNDS * CHUNKS]; /* ours, no service crc / ours */
	int n;
	double in_pool, in_uffd, in_uffd1, in_nocrc; /* accesses/s, summed */
	uint64_t hits, touched;		/* read-ahead hits, accesses */
};

/* Page-out: the VMM's eviction time over ours, every round. */
static double pageout_ratio[2 * NR_PATTERNS * ROUNDS];
static double pageout_nocrc_ratio[2 * NR_PATTERNS * ROUNDS];
static int nr_pageout;

/*
 * One round of configuration @cf: the sides set up, then read the list
 * chunk by chunk in turns; 0 or -1.
 */
static int one_round(int round, struct config *cf, const uint8_t *data)
{
	struct kvmshare_part_stats st0[2], st[2];
	struct timing tm0[2];
	struct side side[4];
	double out_pool, out_uffd, out1, out_nocrc;
	uint64_t t[4], touched;
	char name[32];
	int c, i, j, ret = -1;

	/* Contiguous: the first cf->sides take turns. */
	side_init(&side[0], "partition");
	side_init(&side[1], "userfaultfd");
	side_init(&side[2], "partition, no service crc");
	side_init(&side[3], "userfaultfd, window 1");
	snprintf(name, sizeof(name), "vm-%s-%u-%d", pattern_name[cf->pat],
		 cf->cluster, round);
	if (setup_pool(&side[0], &svc[0], name, round, data, &out_pool,
		       &st0[0]) ||
	    setup_uffd(&side[1], data, cf->cluster, &out_uffd) ||
	    setup_pool(&side[2], &svc[1], name, round, data, &out_nocrc,
		       &st0[1]) ||
	    (cf->sides > 3 && setup_uffd(&side[3], data, 1, &out1)))
		goto out;
	pageout_ratio[nr_pageout] = out_uffd / out_pool;
	pageout_nocrc_ratio[nr_pageout++] = out_uffd / out_nocrc;
	for (j = 0; j < 2; j++)
		timing_begin(&svc[j], &tm0[j]);
	for (c = 0; c < CHUNKS; c++) {
		if (read_in_turns(side, cf->sides, c, round, t))
			goto out;
		cf->ratio[cf->n] = (double)t[1] / t[0];
		cf->ratio_nocrc[cf->n] = (double)t[1] / t[2];
		cf->nocrc_crc[cf->n] = (double)t[0] / t[2];
		if (cf->sides > 3)
			cf->ratio1[cf->n] = (double)t[3] / t[0];
		cf->n++;
	}
	touched = list_len / CHUNKS / NR_VCPUS * NR_VCPUS * CHUNKS;
	for (j = 0; j < 2; j++) {
		if (ks_part_stats(side[2 * j].fd, &st[j]))
			goto out;
		timing_end(&svc[j], "page-in", round, &tm0[j],
			   st[j].pageins - st0[j].pageins);
		if (st[j].pagein_errors ||
		    st[j].pageins - st0[j].pageins < touched - 1) {
			printf("# %s: %llu page-ins, %llu errors\n", svc[j].what,
			       (unsigned long long)(st[j].pageins -
						    st0[j].pageins),
			       (unsigned long long)st[j].pagein_errors);
			goto out;
		}
	}
	if (side[1].h.err || side[3].h.err || side[1].h.copies < touched) {
		printf("# %llu UFFDIO_COPY pages, error %d\n",
		       (unsigned long long)side[1].h.copies, side[1].h.err);
		goto out;
	}
	printf("# %s c%u round %d: %llu faults, %llu page-ins (%llu ahead %llu hit), window %lld; ",
	       pattern_name[cf->pat], cf->cluster, round,
	       (unsigned long long)(st[0].faults - st0[0].faults),
	       (unsigned long long)(st[0].pageins - st0[0].pageins),
	       (unsigned long long)(st[0].readahead_pages -
				    st0[0].readahead_pages),
	       (unsigned long long)(st[0].readahead_hits -
				    st0[0].readahead_hits),
	       ks_sysfs_num("%s/partitions/%s/readahead_window", svc[0].name,
			    name));
	printf("VMM %llu faults, %llu pages; out %.0f/s, no service crc %.0f/s, VMM %.0f/s\n",
	       (unsigned long long)side[1].h.faults,
	       (unsigned long long)side[1].h.copies,
	       NR_PAGES * 1e9 / out_pool, NR_PAGES * 1e9 / out_nocrc,
	       NR_PAGES * 1e9 / out_uffd);
	for (i = 0; i < cf->sides; i++)
		if (side_verify(&side[i]))
			goto out;
	cf->hits += st[0].readahead_hits - st0[0].readahead_hits;
	cf->touched += touched;
	cf->in_pool += touched * 1e9 / side[0].total_ns;
	cf->in_uffd += touched * 1e9 / side[1].total_ns;
	cf->in_nocrc += touched * 1e9 / side[2].total_ns;
	if (cf->sides > 3)
		cf->in_uffd1 += touched * 1e9 / side[3].total_ns;
	ret = 0;
out:
	for (i = 0; i < 4; i++)
		side_close(&side[i]);
	return ret;
}

/*
 * The fault path without paging (see the top): a partition and a memfd,
 * resident, read sequentially by new guests twice, the host's mappings
 * zapped in between. Adds each side's time per access of both reads to
 * @npt and @refault (partition first); 0 or -1.
 */
static int fault_path(const char *dir, int round, const uint8_t *data,
		      double npt[2], double refault[2])
{
	struct side side[2];
	uint64_t t[2], touched;
	int c, i, phase, ret = -1;

	side_init(&side[0], "partition, resident");
	side_init(&side[1], "memfd, resident");
	snprintf(side[0].path, sizeof(side[0].path), "%s/vm-fault-%d", dir,
		 round);
	side[0].fd = ks_part_create(dir, side[0].path + strlen(dir) + 1,
				    NR_PAGES * KS_PAGE);
	side[1].fd = memfd_create("pager-bench-resident", MFD_CLOEXEC);
	if (side[0].fd < 0 || side[1].fd < 0 ||
	    ftruncate(side[1].fd, NR_PAGES * KS_PAGE)) {
		printf("# fault path: no partition or memfd\n");
		goto out;
	}
	list_len = make_list(PAT_SEQ);
	touched = list_len / CHUNKS / NR_VCPUS * NR_VCPUS * CHUNKS;
	for (i = 0; i < 2; i++) {
		if (side_map(&side[i]))
			goto out;
		memcpy(side[i].ram, data, NR_PAGES * KS_PAGE);
		if (side_guest(&side[i]))
			goto out;
	}
	for (phase = 0; phase < 2; phase++) {
		for (i = 0; phase && i < 2; i++) {
			if (madvise(side[i].ram, NR_PAGES * KS_PAGE,
				    MADV_DONTNEED)) {
				printf("# MADV_DONTNEED: %s\n", strerror(errno));
				goto out;
			}
		}
		for (c = 0; c < CHUNKS; c++) {
			if (read_in_turns(side, 2, c, round, t))
				goto out;
			for (i = 0; i < 2; i++) {
				if (phase)
					refault[i] += (double)t[i] / touched;
				else
					npt[i] += (double)t[i] / touched;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (side_verify(&side[i]))
			goto out;
	ret = 0;
out:
	for (i = 0; i < 2; i++)
		side_close(&side[i]);
	return ret;
}

/* The pages' data, as the guest's FILL would write it, in a tmpfs file. */
static int make_data(uint8_t **data)
{
	uint64_t i, q;
	int fd;

	fd = open(DATA_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, NR_PAGES * KS_PAGE))
		return -1;
	*data = mmap(NULL, NR_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fd, 0);
	if (*data == MAP_FAILED)
		return -1;
	for (i = 0; i < NR_PAGES; i++) {
		uint64_t *p = (uint64_t *)(*data + i * KS_PAGE);

		for (q = 0; q < KS_PAGE / 8; q++)
			p[q] = mvm_pattern(MVM_DATA_GPA + i * KS_PAGE, SEED);
	}
	return fd;
}

/* Wait until the pool's store holds nothing (DISCARDs served). */
static void wait_store_empty(const char *name)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (ks_sysfs_num("%s/blocks_used", name) == 0)
			return;
		usleep(5000);
	}
}

static void report(const char *name, double v, const char *goal)
{
	printf("bench: pager.%s %.3f (%s)\n", name, v, goal);
}

/*
 * Mount pool @s (prefix @pfx) and start its service: kvmshare-pagerd, or,
 * where it cannot run, the in-test service (which keeps no CRC32C: the
 * two pools are then served alike). 0 or -1.
 */
static int svc_start(struct svc *s, const char *pfx)
{
	char opts[128];
	int ret;

	snprintf(s->name, sizeof(s->name), "%s%d", pfx, getpid());
	snprintf(opts, sizeof(opts), "size=%luM,name=%s",
		 (unsigned long)POOL_MB, s->name);
	ret = ks_pool_mount(s->dir, sizeof(s->dir), opts);
	if (ret) {
		printf("# %s: mount: %s\n", s->what, strerror(-ret));
		s->dir[0] = 0;
		return -1;
	}
	ret = pagerd_start(s);
	if (ret) {
		/* The product cannot run here: the in-test service. */
		printf("# %s: kvmshare-pagerd did not start (%s): ",
		       s->what, strerror(-ret));
		printf("using lib/kspager.c (no CRC32C of its own)\n");
		ret = ks_pager_attach(&s->kp, s->dir, STORE_BLOCKS, 256, 64, 0,
				      -1);
		if (!ret)
			ret = ks_pager_run(&s->kp);
		printf("# %s: service: lib/kspager.c thread, memfd store\n",
		       s->what);
	} else {
		printf("# %s: service: kvmshare-pagerd%s%s, file back end on tmpfs\n",
		       s->what, s->nocrc ? " --no-crc" : "",
		       timing ? " --timing" : "");
	}
	return ret ? -1 : 0;
}

int main(void)
{
	static struct config cfg[2 * NR_PATTERNS];
	static const unsigned int clusters[2] = { MAX_WINDOW, 1 };
	double npt[2] = { 0, 0 }, refault[2] = { 0, 0 }, host_fault, t_seq;
	const char *env = getenv("PAGER_BENCH_TIMING");
	uint8_t *data = NULL;
	int r, k, ok = 1, ret, datafd, ncfg = 0;
	struct config *cf;
	char fig[64];

	timing = env && *env && strcmp(env, "0");
	printf("TAP version 13\n1..5\n");
	ret = svc_start(&svc[0], "kspgb");
	datafd = make_data(&data);
	list = mmap(NULL, NR_PAGES * 8, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	result(svc[0].dir[0] && datafd >= 0 && list != MAP_FAILED,
	       "mount a pool, write the backing data");
	if (!svc[0].dir[0] || datafd < 0 || list == MAP_FAILED)
		return 1;
	if (!ret)
		ret = svc_start(&svc[1], "kspgn");
	result(!ret, "paging services serve the pools (one with --no-crc)");
	printf("# %d vCPUs, %lu pages, %d rounds of %d chunks per pattern and cluster; timing %s\n",
	       NR_VCPUS, NR_PAGES, ROUNDS, CHUNKS, timing ? "on" : "off");
	if (ret)
		return 1;

	srandom(SEED);
	for (k = 0; k < 2 && ok; k++) {
		snprintf(fig, sizeof(fig), "%u", clusters[k]);
		if (ks_write_file(CLUSTER_PARAM, fig)) {
			printf("# cannot set pagein_cluster %s\n", fig);
			ok = 0;
			break;
		}
		for (r = 0; r < NR_PATTERNS && ok; r++) {
			int round;

			cf = &cfg[ncfg++];
			cf->pat = r;
			cf->cluster = clusters[k];
			cf->sides = r == PAT_SPARSE && clusters[k] > 1 ? 4 : 3;
			list_len = make_list(r);
			for (round = 0; round < ROUNDS && ok; round++) {
				ok = !one_round(round, cf, data);
				wait_store_empty(svc[0].name);
				wait_store_empty(svc[1].name);
			}
		}
	}
	ks_write_file(CLUSTER_PARAM, "16");
	result(ok, "the guests read back every page, paged in by the service and by userfaultfd");
	for (r = 0; r < ROUNDS && ok; r++)
		ok = !fault_path(svc[0].dir, r, data, npt, refault);
	result(ok, "the guests read back every resident page, before and after a zap");
	for (k = 0; k < 2; k++) {
		pager_stop(&svc[k]);
		timing_off(&svc[k]);
	}
	munmap(data, NR_PAGES * KS_PAGE);
	close(datafd);
	unlink(DATA_PATH);
	ret = ks_pool_umount(svc[0].dir);
	if (ks_pool_umount(svc[1].dir))
		ret = -1;
	result(ret == 0, "the pools unmount");
	if (!ok)
		return 1;
	for (k = 0; k < ncfg; k++) {
		cf = &cfg[k];
		printf("# %s, pagein_cluster %u: ours %.0f/s, ",
		       pattern_name[cf->pat], cf->cluster, cf->in_pool / ROUNDS);
		printf("no service crc %.0f/s, VMM window %u %.0f/s",
		       cf->in_nocrc / ROUNDS, cf->cluster, cf->in_uffd / ROUNDS);
		if (cf->sides > 3)
			printf(", VMM window 1 %.0f/s", cf->in_uffd1 / ROUNDS);
		printf("\n");
	}
	for (k = 0; k < ncfg; k++) {
		cf = &cfg[k];
		if (cf->pat == PAT_SEQ && cf->cluster == MAX_WINDOW) {
			report("pagein_seq_vs_uffd_window",
			       ks_median(cf->ratio, cf->n), "goal >= 1.2");
			report("pagein_seq_nocrc_vs_uffd_window",
			       ks_median(cf->ratio_nocrc, cf->n), "no goal");
			printf("# seq c16: time with the service's crc over without: %.3f\n",
			       ks_median(cf->nocrc_crc, cf->n));
			continue;
		}
		snprintf(fig, sizeof(fig), "pagein_%s_c%u_vs_uffd_window",
			 pattern_name[cf->pat], cf->cluster);
		report(fig, ks_median(cf->ratio, cf->n), "no goal");
		if (cf->sides > 3)
			report("pagein_sparse_vs_uffd",
			       ks_median(cf->ratio1, cf->n), "goal >= 0.9");
	}
	report("pageout_vs_uffd", ks_median(pageout_ratio, nr_pageout),
	       "goal >= 1.0");
	report("pageout_nocrc_vs_uffd",
	       ks_median(pageout_nocrc_ratio, nr_pageout), "no goal");

	/* Per access, over the rounds: ns. */
	for (k = 0; k < 2; k++)
		printf("# fault path, %s: %.0f ns per access mapped, %.0f ns zapped\n",
		       k ? "memfd" : "partition", npt[k] / ROUNDS,
		       refault[k] / ROUNDS);
	report("refault_vs_shmem", refault[1] / refault[0], "no goal");
	host_fault = (refault[0] - npt[0]) / ROUNDS;
	for (k = 0; k < ncfg; k++) {
		cf = &cfg[k];
		if (cf->pat != PAT_SEQ || cf->cluster != MAX_WINDOW ||
		    !cf->touched)
			continue;
		t_seq = ROUNDS * 1e9 / cf->in_pool;
		printf("# seq c16: ours %.0f ns per access, VMM %.0f; %.2f hits per access\n",
		       t_seq, ROUNDS * 1e9 / cf->in_uffd,
		       (double)cf->hits / cf->touched);
		printf("# a host fault: %.0f ns\n", host_fault);
		report("pagein_seq_fault_around_ceiling",
		       ROUNDS * 1e9 / cf->in_uffd /
		       (t_seq - (double)cf->hits / cf->touched * host_fault),
		       "no goal");
	}
	return failed ? 1 : 0;
}
